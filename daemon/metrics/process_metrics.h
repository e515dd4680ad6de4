// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobd's own process metrics under the names every Prometheus client library and node_exporter
// use (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ...), so the
// dashboards and alerts SREs already have work on knobd unchanged. Computed at scrape time (a
// prometheus Collectable) from the real /proc/self and getrusage/getrlimit, never from
// --proc-root (that one is for targets). knobd keeps many /proc files open by design, which is
// why open fds and the fd limit are here.
// Thread rule: Collect() runs on a CivetWeb scrape thread; it touches no shared state.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace knob {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  // `proc_self` is /proc/self in production; tests point it elsewhere to drop families.
  explicit ProcessMetrics(std::string proc_self = "/proc/self")
      : proc_self_(std::move(proc_self)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string proc_self_;
};

}  // namespace knob
