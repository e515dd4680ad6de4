// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one way tests read a metric back: from a prometheus::Registry (unit tests, no HTTP) or from
// the text a /metrics scrape returned (tests of a running knobd).
// Thread rule: test thread only.

#include <prometheus/registry.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace knob::test {

// Whether every `labels` pair is among the series' labels.
inline bool HasLabels(const prometheus::ClientMetric& m,
                      const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : labels) {
    bool found = false;
    for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
    if (!found) return false;
  }
  return true;
}

// The value of the first series of `name` whose labels include every `labels` pair (so a
// series with labels of its own, like knobd_build_info's, is found by name alone): a counter's or
// gauge's value, a histogram's sample count. nullopt when absent.
inline std::optional<double> MetricValue(const prometheus::Registry& registry,
                                         const std::string& name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      if (!HasLabels(m, labels)) continue;
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

// The sum of the observations of the first histogram series of `name` with `labels` (as
// MetricValue); nullopt when absent.
inline std::optional<double> HistogramSum(const prometheus::Registry& registry,
                                          const std::string& name,
                                          const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name || family.type != prometheus::MetricType::Histogram) continue;
    for (const auto& m : family.metric) {
      if (HasLabels(m, labels)) return m.histogram.sample_sum;
    }
  }
  return std::nullopt;
}

// The value of the first sample line "NAME{...} VALUE" or "NAME VALUE" of a text exposition
// whose text before the value is `series` (e.g. `knobd_config_reloads_total{result="success"}`,
// labels in the order the exporter writes them: sorted by name).
inline std::optional<double> SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Sum of the samples of `family` (with labels) whose labels include every `labels` pair; 0 when
// none does.
inline double SumSamples(const std::string& exposition, const std::string& family,
                         const std::map<std::string, std::string>& labels) {
  std::istringstream in(exposition);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0) continue;
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && line.find(k + "=\"" + v + "\"") != std::string::npos;
    if (!match) continue;
    auto sp = line.rfind(' ');
    if (sp != std::string::npos) sum += std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return sum;
}

}  // namespace knob::test
