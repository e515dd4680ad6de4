// SPDX-License-Identifier: Apache-2.0
#pragma once
// Small helpers every collector uses to expose what it saw on the Prometheus registry it was
// given. Registration follows core/prometheus.h's policy (FamilyOrUnscraped: a failure is
// logged and counted, and costs one metric, not the daemon).
//
//  - GaugeFamily / CounterFamily: register a family (name, help).
//  - GaugeVec / CounterVec / CounterFeed (core/prometheus.h): per-label-set series; given the
//    collector's TargetMetricTable they list themselves in it, so one table.ForgetTarget(t)
//    removes every per-target series the collector creates.
//  - SupportTracker: the degraded-mode rule. The first time a source is unsupported it sets
//    knobd_collector_supported{collector,source} to 0 and logs one warning with the reason;
//    when it comes back it sets 1 and logs one info line.
//
// Thread rule: used from the collection thread only (prometheus-cpp metrics themselves are
// safe to scrape concurrently).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <string_view>

#include "core/prometheus.h"
#include "core/status.h"

namespace knob {

prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& reg,
                                                   const std::string& name,
                                                   const std::string& help);
prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& reg,
                                                       const std::string& name,
                                                       const std::string& help);

// Remembers which targets a collector exported series for, and calls `forget` for each one that
// is no longer in the policy (a reload removed it), so its series disappear.
class TargetSweeper {
 public:
  template <typename Policy, typename Forget>
  void Sweep(const Policy& policy, Forget forget) {
    std::map<std::string, bool> now;
    for (const auto& t : policy.targets) now[t.name] = true;
    for (const auto& [name, unused] : seen_) {
      if (!now.count(name)) forget(name);
    }
    seen_ = std::move(now);
  }

 private:
  std::map<std::string, bool> seen_;
};

class SupportTracker {
 public:
  SupportTracker(prometheus::Registry& reg, std::string collector);
  // Records the outcome of using `source`. NotFound / Unavailable / PermissionDenied mark it
  // unsupported (logged once with `status`'s reason); OK marks it supported. Returns whether the
  // source is usable now. Other errors are transient and leave the state alone.
  bool Report(std::string_view source, const Status& status);
  bool Supported(std::string_view source) const;

 private:
  std::string collector_;
  prometheus::Family<prometheus::Gauge>* family_;
  std::map<std::string, int, std::less<>> state_;  // -1 unknown, 0 unsupported, 1 supported
};

}  // namespace knob
