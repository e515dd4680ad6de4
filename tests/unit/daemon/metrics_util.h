#pragma once
// Reads a value out of a prometheus::Registry, for asserting on metrics without HTTP.

#include <prometheus/registry.h>

#include <map>
#include <optional>
#include <string>

namespace knob::test {

// The value of the sample `name` whose labels include every pair in `labels`: counter, gauge,
// or for histograms the sample count. nullopt when absent.
inline std::optional<double> MetricValue(const prometheus::Registry& registry,
                                         const std::string& name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
        match = match && found;
      }
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default:
          return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

inline std::optional<double> HistogramSum(const prometheus::Registry& registry,
                                          const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].histogram.sample_sum;
  }
  return std::nullopt;
}

}  // namespace knob::test
