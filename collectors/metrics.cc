// SPDX-License-Identifier: Apache-2.0
#include "collectors/metrics.h"

#include <spdlog/spdlog.h>

namespace knob {

// Several collectors share families (knobd_collector_supported, sample ages): prometheus-cpp's
// default InsertBehavior::Merge returns the existing family for the same name. A registry built
// with InsertBehavior::Throw would make the second one unscraped (logged and counted).
prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& reg,
                                                   const std::string& name,
                                                   const std::string& help) {
  return FamilyOrUnscraped<prometheus::Gauge>(reg, {name, help});
}

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& reg,
                                                       const std::string& name,
                                                       const std::string& help) {
  return FamilyOrUnscraped<prometheus::Counter>(reg, {name, help});
}

SupportTracker::SupportTracker(prometheus::Registry& reg, std::string collector)
    : collector_(std::move(collector)),
      family_(&GaugeFamily(reg, "knobd_collector_supported",
                           "1 when a collector's data source works on this host, 0 when the "
                           "kernel or permissions say no (reason logged once)")) {}

bool SupportTracker::Report(std::string_view source, const Status& status) {
  auto it = state_.find(source);
  if (it == state_.end()) it = state_.emplace(std::string(source), -1).first;
  int& st = it->second;
  auto& gauge = family_->Add({{"collector", collector_}, {"source", std::string(source)}});
  if (status.ok()) {
    if (st == 0) spdlog::info("{}: {} is available again", collector_, source);
    st = 1;
    gauge.Set(1);
    return true;
  }
  const bool unsupported = status.code() == StatusCode::kNotFound ||
                           status.code() == StatusCode::kUnavailable ||
                           status.code() == StatusCode::kPermissionDenied;
  if (!unsupported) return st != 0;
  if (st != 0) {
    spdlog::warn("{}: {} unsupported on this host, continuing without it: {}", collector_, source,
                 status.ToString());
  }
  st = 0;
  gauge.Set(0);
  return false;
}

bool SupportTracker::Supported(std::string_view source) const {
  auto it = state_.find(source);
  return it == state_.end() || it->second != 0;
}

}  // namespace knob
