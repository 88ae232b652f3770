// CopyData and CopyDone, the two messages both directions share with the same type byte and
// layout (PostgreSQL docs, "COPY Operations"). frontend_message and backend_message both hold
// these same structs, so the relay code handles COPY in either direction the same way.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace dw::protocol {

/// 'd': the body is the data, views the frame.
struct copy_data {
  std::span<const std::byte> data;
};
/// 'c': empty body.
struct copy_done {};

void write_copy_data(std::vector<std::byte>& out, const copy_data& m);
void write_copy_done(std::vector<std::byte>& out, const copy_done& m = {});

}  // namespace dw::protocol
