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
// Per-target series: a unit that labels series by target lists them in one TargetMetricTable,
// so ForgetTarget (the target left the policy or went away) removes exactly the series the
// unit creates, from the same list.
//
// Thread rule: register on any one thread at a time (construction); prometheus metric objects
// are thread-safe; RegistrationFailures() may be read from any thread.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
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

// Anything that keeps per-target series (GaugeVec, CounterVec in collectors/metrics.h).
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

}  // namespace knob
