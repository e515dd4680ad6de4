// SPDX-License-Identifier: Apache-2.0
#pragma once
// A proposed knob change with everything needed to explain, verify and undo it.
// Produced by optimizers/, reviewed by guards, delivered by publishers, stored in history.
// Thread rule: plain value.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace knob {

enum class Outcome {
  kProposed,    // made, not yet delivered
  kAdvisory,    // delivered in recommend mode; the target decides
  kPending,     // sent in apply mode, waiting for the ack
  kApplied,     // acked as applied, verification running
  kRejected,    // the target refused (reason in outcome_reason)
  kVerified,    // the verification window confirmed it
  kRolledBack,  // made things worse; the old value was restored
  kVetoed,      // a guard refused it
  kExpired,     // no ack before expiry
  kOverridden,  // someone else set this value (an operator, a deploy, the service): not knobd's
  kKept,        // applied and kept, but its effect on the objective was inside the noise
};

// The scenario of a recommendation that puts back a knob's value from before knobd first
// changed it (`knobctl restore`, restore_on_stop): delivered as binding even to a paused target
// or one in recommend or observe mode, and never verified.
inline constexpr std::string_view kRestoreScenario = "restore";
std::string_view OutcomeName(Outcome o);                  // "proposed" "advisory" ... lowercase
std::optional<Outcome> ParseOutcome(std::string_view s);  // the inverse of OutcomeName

// What one guard rule did to a proposal. Its text form ("allow" "clamp" "veto") is what the wire,
// the state file and knobctl show.
enum class Verdict { kAllow, kClamp, kVeto };
std::string_view VerdictName(Verdict v);
std::optional<Verdict> ParseVerdict(std::string_view s);  // the inverse of VerdictName

struct GuardVerdict {
  std::string guard;  // "bounds" "max_step" "cooldown" "hysteresis" "constraint" ...
  Verdict verdict = Verdict::kAllow;
  std::string reason;  // one sentence
};

struct Recommendation {
  uint64_t id = 0;
  std::string target;
  std::string knob;
  double old_value = 0;
  double new_value = 0;
  // A list-valued knob (a CPU list, core/cpu_list.h): the lists; old/new_value are their sizes.
  std::string old_list = {}, new_list = {};
  std::string optimizer;                    // "concurrency" "pool_size" "scheduling"
  std::string scenario;                     // short id of why, from the optimizer's scenario table
  std::string reason;                       // one sentence a human reads
  std::map<std::string, double> triggers;   // numbers that triggered it
  std::map<std::string, double> predicted;  // predicted quantities after the change
  std::map<std::string, double> realized;   // measured after the verification window
  std::string binding_constraint;           // empty if none binds
  double confidence = 0;                    // 0..1
  std::vector<std::string> trade_offs;
  std::vector<GuardVerdict> verdicts;
  bool advisory = true;  // recommend mode: the target decides
  Outcome outcome = Outcome::kProposed;
  std::string outcome_reason;
  WallTime created{};
  WallTime expires{};
};

}  // namespace knob
