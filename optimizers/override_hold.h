// SPDX-License-Identifier: Apache-2.0
#pragma once
// Never fight an operator (docs/model.md "Overrides"): per target, which knob values knobd may
// see reported, which knobs someone else changed and are left alone for a while, and each knob's
// value from before knobd first changed it (what `knobctl restore` puts back).
//
// A reported value is knobd's own when it matches the last value the knob settled at, or a value
// knobd sent whose set has not expired (sent, not yet applied: the old value is still fine; or
// applied and acked rounded to a whole number: 40 for 40.4). Anything else is an override: the
// knob is held for the policy's guard.override_hold, a change of it in flight is given up, and
// the new value is where knobd starts from when the hold ends (the model's baseline at the new
// settings is measured afresh, as after any change).
//
// The first-seen values are forgotten for a knob that is overridden (it is someone else's now);
// when knobd changes it again, the value it found then is the one restore puts back.
// Thread rule: loop thread only.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace knob {

class OverrideHold {
 public:
  struct Override {
    std::string knob;
    double expected = 0;  // what knobd believed was in force
    double reported = 0;  // what the target reports now
    MonoTime until{};     // held until then
  };

  // knobd published a set of `knob` from `from` to `value` (any set: a change, a rollback, a
  // restore, advisory or not). Until `expires` the target may report either value.
  void Sent(const std::string& knob, double from, double value, MonoTime expires);

  // One tick's reported knob values. Returns the overrides detected in this report; a knob seen
  // for the first time is simply taken as it is. hold: guard.override_hold (zero: detected and
  // returned, but not held).
  std::vector<Override> Check(const std::map<std::string, double>& reported, MonoTime now,
                              Duration hold);
  // Takes the reported values as they are, without looking for overrides: knobd sends nothing
  // to this target now (observe mode, paused), so nothing it sees can be a fight. Sets still in
  // flight stay (a restore is sent to a paused target) until they expire.
  void Settle(const std::map<std::string, double>& reported, MonoTime now);
  // Whether a set of `knob` to `value` was sent and has neither been seen applied nor expired.
  bool Sending(const std::string& knob, double value, MonoTime now) const;

  bool Held(const std::string& knob, MonoTime now) const;
  // A hold read back from the state file (the knob's value is learned from the next report).
  void RestoreHold(const std::string& knob, MonoTime until);
  // Knobs held at `now`, with the end of their hold.
  std::map<std::string, MonoTime> Holds(MonoTime now) const;
  // The value each knob had before knobd first changed it (knobs it changed only).
  const std::map<std::string, double>& originals() const { return originals_; }
  void RestoreOriginal(const std::string& knob, double value) { originals_[knob] = value; }
  // The last value the target reported for `knob` that knobd accepted, if any.
  std::optional<double> Current(const std::string& knob) const;

  // Whether a reported value is the one knobd sent: equal, or that value rounded down or up to
  // a whole number (targets with integer knobs round what they are sent).
  static bool Matches(double reported, double sent);

 private:
  struct InFlight {
    double value = 0;
    MonoTime expires{};
  };
  struct Knob {
    std::optional<double> settled;    // none: not reported since a restart
    std::vector<InFlight> in_flight;  // oldest first
    std::optional<MonoTime> held_until;
  };
  std::map<std::string, Knob> knobs_;
  std::map<std::string, double> originals_;
};

// The state file `originals.json` in the state directory: per target, each knob's value from
// before knobd first changed it and the holds in force (as remaining seconds), so a restore
// after a restart still knows what to put back and a restart does not end a hold.
inline constexpr const char* kOverrideStateFile = "originals.json";
std::string EncodeOverrideState(const std::map<std::string, const OverrideHold*>& targets,
                                MonoTime now);
// `target(name)` returns the OverrideHold to fill for a target; InvalidArgument on a malformed
// file (nothing of it is used then).
Status DecodeOverrideState(const std::string& text, MonoTime now,
                           const std::function<OverrideHold&(const std::string&)>& target);

// knobd_override_hold_remaining_seconds{target,knob} (series only while held) and
// knobd_overrides_total{target,knob}. A null registry exports nothing.
class OverrideMetrics {
 public:
  explicit OverrideMetrics(prometheus::Registry* registry);
  ~OverrideMetrics();
  OverrideMetrics(const OverrideMetrics&) = delete;
  OverrideMetrics& operator=(const OverrideMetrics&) = delete;
  void Count(const std::string& target, const std::string& knob);
  void Export(const std::string& target, const OverrideHold& hold, MonoTime now);

 private:
  struct Families;
  std::unique_ptr<Families> f_;
};

}  // namespace knob
