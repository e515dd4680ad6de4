// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobd's own resident memory and CPU time, computed at scrape time (a prometheus Collectable),
// read from the real /proc/self and getrusage, never from --proc-root (that one is for targets).
// Thread rule: Collect() runs on a CivetWeb scrape thread; it touches no shared state.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace knob {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  explicit ProcessMetrics(std::string statm_path = "/proc/self/statm")
      : statm_path_(std::move(statm_path)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string statm_path_;
};

}  // namespace knob
