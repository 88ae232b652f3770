// Encoders for the direction-neutral COPY messages (see copy_messages.hpp).
#include "protocol/copy_messages.hpp"

#include "protocol/message_types.hpp"
#include "protocol/message_writer.hpp"

namespace dw::protocol {

void write_copy_data(std::vector<std::byte>& out, const copy_data& m) {
  static_assert(frontend_type::copy_data == backend_type::copy_data);
  message_writer{out}.begin(frontend_type::copy_data).bytes(m.data).finish();
}

void write_copy_done(std::vector<std::byte>& out, const copy_done&) {
  static_assert(frontend_type::copy_done == backend_type::copy_done);
  message_writer{out}.begin(frontend_type::copy_done).finish();
}

}  // namespace dw::protocol
