// Prometheus metrics as plain values (no Beast, no Asio), so proxy/ can report its counters
// through a callback without knowing how they are served. http_api renders them at /metrics
// in the text exposition format 0.0.4, after the gauges it derives from the status snapshot.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "control/control_protocol.hpp"

namespace dw::control {

enum class metric_type { counter, gauge };

/// One sample. Samples sharing a name form one metric family: its help and type are taken
/// from the first sample of that name.
struct metric_sample {
  std::string name;  ///< [a-zA-Z_:][a-zA-Z0-9_:]*, "dwproxy_" prefixed; counters end in _total
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<std::pair<std::string, std::string>> labels;  ///< name, value (any text)
  double value = 0;

  friend bool operator==(const metric_sample&, const metric_sample&) = default;
};

/// What the proxy adds to /metrics. Called on the HTTP API's thread, once per scrape, so it
/// must be thread-safe and quick (read atomics, do not wait on sessions).
using metrics_source = std::function<std::vector<metric_sample>()>;

/// The gauges (and the divergence counter) that the status snapshot already carries.
[[nodiscard]] std::vector<metric_sample> status_metrics(const status_data& s);

/// Text format 0.0.4: "# HELP" and "# TYPE" once per family, then its samples. Families keep
/// the order of their first sample. A sample with an invalid metric or label name is dropped:
/// one bad name must not make the whole scrape unparseable.
[[nodiscard]] std::string write_prometheus(std::span<const metric_sample> samples);

}  // namespace dw::control
