// Micro-benchmarks of the codec hot path, reported in bytes/s and messages/s: framing a
// realistic backend result stream (what the relay does for every byte), fully decoding it (what
// it avoids for DataRow), decoding the client messages routing needs (Query, Parse, Bind), and
// encoding the ErrorResponse the proxy sends when it fails a client.
// Run: build/<preset>/bench/dw_bench_codec  (use the release or bench preset for real numbers).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

#include "protocol/backend_messages.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/frontend_messages.hpp"

namespace {

namespace p = dw::protocol;

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span{s.data(), s.size()});
}

// SELECT id, name, created_at FROM users LIMIT rows: the shape of a typical OLTP read, with a
// NULL every tenth row.
std::vector<std::byte> backend_result_stream(int rows) {
  std::vector<std::byte> out;
  p::write_row_description(out, {{{"id", 16385, 1, 20, 8, -1, 0},
                                  {"name", 16385, 2, 25, -1, -1, 0},
                                  {"created_at", 16385, 3, 1184, 8, -1, 0}}});
  for (int i = 0; i < rows; ++i) {
    const std::string id = std::to_string(100000 + i);
    const std::string name = "customer-" + std::to_string(i) + "@example.com";
    const std::string ts = "2024-05-17 12:34:56.789+00";
    p::data_row row{{as_bytes(id), as_bytes(name), as_bytes(ts)}};
    if (i % 10 == 0) row.columns[1] = std::nullopt;
    p::write_data_row(out, row);
  }
  p::write_command_complete(out, {"SELECT " + std::to_string(rows)});
  p::write_ready_for_query(out, 'I');
  return out;
}

void set_bytes(benchmark::State& state, std::size_t per_iteration) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
}

p::frame_decoder backend_decoder() { return p::frame_decoder{p::direction::backend}; }

p::frame_decoder typed_frontend_decoder() {
  p::frame_decoder d{p::direction::frontend};
  d.expect_typed_messages();
  return d;
}

// Framing only, as the relay does: find each boundary, never look inside.
void bm_scan_backend_stream(benchmark::State& state) {
  const auto stream = backend_result_stream(static_cast<int>(state.range(0)));
  const auto decoder = backend_decoder();
  std::size_t frames = 0;
  for (auto _ : state) {
    std::span<const std::byte> in{stream};
    while (true) {
      auto f = decoder.next(in);
      if (!f || !*f) break;
      in = in.subspan((*f)->wire_size);
      ++frames;
    }
    benchmark::DoNotOptimize(in.data());
  }
  set_bytes(state, stream.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
}
BENCHMARK(bm_scan_backend_stream)->Arg(1000)->Arg(10000);

// Framing plus a full decode of every message: the cost the pass-through rule avoids.
void bm_decode_backend_stream(benchmark::State& state) {
  const auto stream = backend_result_stream(static_cast<int>(state.range(0)));
  const auto decoder = backend_decoder();
  std::size_t frames = 0;
  for (auto _ : state) {
    std::span<const std::byte> in{stream};
    while (true) {
      auto f = decoder.next(in);
      if (!f || !*f) break;
      auto m = p::decode_backend(**f);
      benchmark::DoNotOptimize(m);
      in = in.subspan((*f)->wire_size);
      ++frames;
    }
  }
  set_bytes(state, stream.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
}
BENCHMARK(bm_decode_backend_stream)->Arg(1000);

// Frames one client message and decodes it, as the session does before routing.
void decode_frontend_loop(benchmark::State& state, const std::vector<std::byte>& wire) {
  const auto decoder = typed_frontend_decoder();
  for (auto _ : state) {
    auto f = decoder.next(wire);
    auto m = p::decode_frontend(**f);
    benchmark::DoNotOptimize(m);
  }
  set_bytes(state, wire.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_decode_query(benchmark::State& state) {
  std::vector<std::byte> wire;
  p::write_query(wire,
                 "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = "
                 "o.customer_id WHERE o.created_at > now() - interval '1 day' ORDER BY o.id "
                 "LIMIT 50");
  decode_frontend_loop(state, wire);
}
BENCHMARK(bm_decode_query);

void bm_decode_parse(benchmark::State& state) {
  std::vector<std::byte> wire;
  p::write_parse(wire, {"stmt_42",
                        "UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND branch = $3",
                        {1700, 20, 23}});
  decode_frontend_loop(state, wire);
}
BENCHMARK(bm_decode_parse);

void bm_decode_bind(benchmark::State& state) {
  const std::string amount = "125.50";
  const std::string id = "9876543210";
  const std::string branch = "7";
  const std::string note = "monthly transfer, reference 2024-05-17/0042";
  std::vector<std::byte> wire;
  p::write_bind(wire,
                {"",
                 "stmt_42",
                 {0},
                 {as_bytes(amount), as_bytes(id), as_bytes(branch), as_bytes(note), std::nullopt},
                 {1}});
  decode_frontend_loop(state, wire);
}
BENCHMARK(bm_decode_bind);

// The proxy's fail_client() answer, into a reused buffer as a session would.
void bm_encode_error_response(benchmark::State& state) {
  std::vector<std::byte> out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    p::write_error_response(out, "FATAL", "28P01",
                            "password authentication failed for user \"app\"");
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, out.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(bm_encode_error_response);

}  // namespace
