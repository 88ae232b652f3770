#include "proxy/framed_reader.hpp"

namespace dw::proxy {

awaitable<boost::system::result<protocol::frame>> framed_reader::next() {
  for (;;) {
    auto f = decoder_.next(buffer_);
    if (!f) co_return f.error();
    if (*f) co_return **f;
    auto bytes = co_await io_.read_some();
    if (!bytes) co_return bytes.error();
    if (bytes->empty()) co_return error_code{asio::error::eof};
    buffer_.insert(buffer_.end(), bytes->begin(), bytes->end());
  }
}

void framed_reader::consume(const protocol::frame& f) {
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(f.wire_size));
}

}  // namespace dw::proxy
