// SPDX-License-Identifier: Apache-2.0
#include "core/enum_names.h"
#include "core/recommendation.h"
#include "core/snapshot.h"

namespace knob {
namespace {

constexpr auto kTargetStateNames = MakeEnumNames<TargetState>({{TargetState::kPending, "pending"},
                                                               {TargetState::kActive, "active"},
                                                               {TargetState::kGone, "gone"},
                                                               {TargetState::kError, "error"},
                                                               {TargetState::kPaused, "paused"}},
                                                              "unknown");
constexpr auto kOutcomeNames = MakeEnumNames<Outcome>({{Outcome::kProposed, "proposed"},
                                                       {Outcome::kAdvisory, "advisory"},
                                                       {Outcome::kPending, "pending"},
                                                       {Outcome::kApplied, "applied"},
                                                       {Outcome::kRejected, "rejected"},
                                                       {Outcome::kVerified, "verified"},
                                                       {Outcome::kRolledBack, "rolled_back"},
                                                       {Outcome::kVetoed, "vetoed"},
                                                       {Outcome::kExpired, "expired"},
                                                       {Outcome::kOverridden, "overridden"},
                                                       {Outcome::kKept, "kept"}},
                                                      "unknown");

constexpr auto kVerdictNames = MakeEnumNames<Verdict>(
    {{Verdict::kAllow, "allow"}, {Verdict::kClamp, "clamp"}, {Verdict::kVeto, "veto"}}, "unknown");

}  // namespace

std::string_view VerdictName(Verdict v) { return kVerdictNames.Name(v); }
std::optional<Verdict> ParseVerdict(std::string_view s) { return kVerdictNames.Parse(s); }
std::string_view TargetStateName(TargetState s) { return kTargetStateNames.Name(s); }
std::string_view OutcomeName(Outcome o) { return kOutcomeNames.Name(o); }
std::optional<Outcome> ParseOutcome(std::string_view s) { return kOutcomeNames.Parse(s); }

}  // namespace knob
