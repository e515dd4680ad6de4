#include "core/recommendation.h"
#include "core/snapshot.h"

namespace knob {

std::string_view TargetStateName(TargetState s) {
  switch (s) {
    case TargetState::kPending:
      return "pending";
    case TargetState::kActive:
      return "active";
    case TargetState::kGone:
      return "gone";
    case TargetState::kError:
      return "error";
    case TargetState::kPaused:
      return "paused";
  }
  return "unknown";
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kProposed:
      return "proposed";
    case Outcome::kAdvisory:
      return "advisory";
    case Outcome::kPending:
      return "pending";
    case Outcome::kApplied:
      return "applied";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kVerified:
      return "verified";
    case Outcome::kRolledBack:
      return "rolled_back";
    case Outcome::kVetoed:
      return "vetoed";
    case Outcome::kExpired:
      return "expired";
  }
  return "unknown";
}

}  // namespace knob
