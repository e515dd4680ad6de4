// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one way knobd registers Prometheus families, and its one failure policy.
//
// prometheus-cpp throws when a family cannot be registered (a name already registered with
// another type, help or constant labels, or an invalid name). knobd never lets that escape and
// never drops it silently:
//   - RegisterFamily returns the failure as a Status ("registering NAME: reason"); the caller
//     decides. Used where a missing metric is a startup error (knobd's own health metrics).
//   - FamilyOrUnscraped is for subsystems where a naming bug must cost one metric, not the
//     daemon (collectors, control socket, brain): it logs one error line naming the family and
//     the reason, counts it in RegistrationFailures(), and returns a family on a private
//     registry nobody scrapes, so the caller's code path stays the same.
// Registration runs once per family per subsystem, so "one line" is one line per failed family.
//
// Per-target series: GaugeVec / CounterVec keep one series per label set. A unit that labels
// series by target lists them in one TargetMetricTable, so ForgetTarget (the target left the
// policy or went away) removes exactly the series the unit creates, from the same list.
//
// Thread rule: register on one thread at a time (construction); a GaugeVec / CounterVec /
// table is used by one thread (its unit's); prometheus metric objects are safe to scrape
// concurrently; RegistrationFailures() may be read from any thread.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace knob {

struct FamilySpec {
  std::string name;  // knobd_<subsystem>_<name>_<unit>
  std::string help;
};

// T is prometheus::Counter, prometheus::Gauge or prometheus::Histogram.
template <typename T>
[[nodiscard]] Result<prometheus::Family<T>*> RegisterFamily(prometheus::Registry& registry,
                                                            const FamilySpec& spec);

template <typename T>
prometheus::Family<T>& FamilyOrUnscraped(prometheus::Registry& registry, const FamilySpec& spec);

// Families FamilyOrUnscraped could not register on the registry it was given, since start.
uint64_t RegistrationFailures();

// Anything that keeps per-target series (GaugeVec, CounterVec below).
class TargetSeries {
 public:
  virtual ~TargetSeries() = default;
  // Removes every series labelled target=`target`.
  virtual void ForgetTarget(const std::string& target) = 0;
};

// The per-target series of one unit, in the order it declared them. Members register themselves
// at construction (see GaugeVec / CounterVec), so a series cannot be created without being on
// the list its removal walks. Declare the table before the series it lists (members are
// constructed in declaration order).
class TargetMetricTable {
 public:
  void Add(TargetSeries& series) { series_.push_back(&series); }
  void ForgetTarget(const std::string& target) {
    for (TargetSeries* s : series_) s->ForgetTarget(target);
  }
  size_t size() const { return series_.size(); }

 private:
  std::vector<TargetSeries*> series_;
};

// Turns a raw cumulative kernel counter into Prometheus increments that never go backwards; a
// drop (the process restarted, a new history) counts the new value from zero.
class CounterFeed {
 public:
  void Observe(prometheus::Counter& c, double raw) {
    if (!has_ || raw < last_) {
      if (raw > 0) c.Increment(raw);
    } else if (raw > last_) {
      c.Increment(raw - last_);
    }
    has_ = true;
    last_ = raw;
  }

 private:
  bool has_ = false;
  double last_ = 0;
};

// Per-label-set counters fed from raw cumulative values.
class CounterVec final : public TargetSeries {
 public:
  CounterVec(prometheus::Registry& reg, const std::string& name, const std::string& help)
      : family_(&FamilyOrUnscraped<prometheus::Counter>(reg, {name, help})) {}
  // Listed in `table` (declared before this member), which removes its series per target.
  CounterVec(TargetMetricTable& table, prometheus::Registry& reg, const std::string& name,
             const std::string& help)
      : CounterVec(reg, name, help) {
    table.Add(*this);
  }
  void Observe(const prometheus::Labels& labels, double raw);
  // For events knobd counts itself (not a kernel cumulative value).
  void Increment(const prometheus::Labels& labels, double delta = 1);
  // Drops series whose labels contain target=`target` (target left the policy or went away).
  void ForgetTarget(const std::string& target) override;
  // Drops the one series with exactly these labels, if any (a thread that exited).
  void Forget(const prometheus::Labels& labels);

 private:
  struct Series {
    prometheus::Counter* counter;
    CounterFeed feed;
  };
  prometheus::Family<prometheus::Counter>* family_;
  std::map<prometheus::Labels, Series> series_;
};

class GaugeVec final : public TargetSeries {
 public:
  GaugeVec(prometheus::Registry& reg, const std::string& name, const std::string& help)
      : family_(&FamilyOrUnscraped<prometheus::Gauge>(reg, {name, help})) {}
  // Listed in `table` (declared before this member), which removes its series per target.
  GaugeVec(TargetMetricTable& table, prometheus::Registry& reg, const std::string& name,
           const std::string& help)
      : GaugeVec(reg, name, help) {
    table.Add(*this);
  }
  void Set(const prometheus::Labels& labels, double v);
  void ForgetTarget(const std::string& target) override;
  // Removes series with target=`target` that were not Set() since the last call to
  // BeginTarget(target): used for label sets that come and go (listen ports).
  void BeginTarget(const std::string& target);
  void EndTarget(const std::string& target);

 private:
  struct Series {
    prometheus::Gauge* gauge;
    bool touched = true;
  };
  prometheus::Family<prometheus::Gauge>* family_;
  std::map<prometheus::Labels, Series> series_;
};

}  // namespace knob
