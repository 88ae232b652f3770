// The Asio vocabulary of proxy/: aliases shared by every translation unit of this folder.
// Asio is compiled once in asio_impl.cpp (BOOST_ASIO_SEPARATE_COMPILATION).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dw::proxy {

namespace asio = boost::asio;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;

/// Completion token for coroutines that handle errors as values: `auto [ec, n] = co_await ...`.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

/// TCP and Unix-domain sockets share one type, so sessions need not be templates.
using socket_type = asio::generic::stream_protocol::socket;

}  // namespace dw::proxy
