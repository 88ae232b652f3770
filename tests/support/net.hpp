// Small socket and waiting helpers shared by the harness: free ports, TCP probes, and
// polling a real condition with a deadline (never a bare sleep standing in for an event).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace dw::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it back, close).
[[nodiscard]] std::uint16_t free_port();

/// True when a TCP connection to host:port is accepted within `timeout`.
[[nodiscard]] bool can_connect(const std::string& host, std::uint16_t port,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds{200});

/// Polls `condition` every `step` until it holds or `deadline` passes; returns the last result.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step = std::chrono::milliseconds{10});

/// FNV-1a over bytes: a cheap fingerprint to compare large outputs in assertion messages.
[[nodiscard]] std::uint64_t fnv1a(std::string_view bytes) noexcept;

}  // namespace dw::test
