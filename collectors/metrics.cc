#include "collectors/metrics.h"

#include <spdlog/spdlog.h>

namespace knob {
namespace {

bool HasTarget(const prometheus::Labels& l, const std::string& target) {
  auto it = l.find("target");
  return it != l.end() && it->second == target;
}

}  // namespace

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

void CounterVec::Observe(const prometheus::Labels& labels, double raw) {
  auto it = series_.find(labels);
  if (it == series_.end()) {
    it = series_.emplace(labels, Series{&family_->Add(labels), CounterFeed{}}).first;
  }
  it->second.feed.Observe(*it->second.counter, raw);
}

void CounterVec::Increment(const prometheus::Labels& labels, double delta) {
  auto it = series_.find(labels);
  if (it == series_.end()) {
    it = series_.emplace(labels, Series{&family_->Add(labels), CounterFeed{}}).first;
  }
  it->second.counter->Increment(delta);
}

void CounterVec::ForgetTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target)) {
      family_->Remove(it->second.counter);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

void CounterVec::Forget(const prometheus::Labels& labels) {
  auto it = series_.find(labels);
  if (it == series_.end()) return;
  family_->Remove(it->second.counter);
  series_.erase(it);
}

void GaugeVec::Set(const prometheus::Labels& labels, double v) {
  auto it = series_.find(labels);
  if (it == series_.end()) it = series_.emplace(labels, Series{&family_->Add(labels)}).first;
  it->second.gauge->Set(v);
  it->second.touched = true;
}

void GaugeVec::ForgetTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target)) {
      family_->Remove(it->second.gauge);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

void GaugeVec::BeginTarget(const std::string& target) {
  for (auto& [l, s] : series_) {
    if (HasTarget(l, target)) s.touched = false;
  }
}

void GaugeVec::EndTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target) && !it->second.touched) {
      family_->Remove(it->second.gauge);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
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
