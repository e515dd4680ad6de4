// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the control API asks the rest of knobd when an operator runs knobctl: daemon status,
// targets with their latest metrics and model, recommendation history, explanations, reload.
// The control API adds what it knows itself (connected clients, their reports, pause and mode
// overrides), so an implementation only answers from daemon and brain state. Every method has
// a default that says "not available", so a partial implementation is fine.
// Status codes map onto protocol errors: kNotFound -> unknown_target / unknown_recommendation,
// kInvalidArgument -> invalid_argument, anything else -> unavailable / internal.
// Thread rule: loop thread only.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/brain_queries.h"
#include "core/protocol/messages.h"
#include "core/recommendation.h"
#include "core/status.h"

namespace knob {

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;

  // version, pid, uptime, mode, policy source, tick interval, ticks, degraded features.
  // `targets` and `clients` are filled by the control API.
  virtual Result<protocol::StatusInfo> GetStatus() {
    return UnavailableError("status is not available");
  }
  // Policy targets with state and the first matched pid (connection fields are filled by the API).
  virtual Result<std::vector<protocol::TargetInfo>> GetTargets() {
    return UnavailableError("target list is not available");
  }
  // Flattened latest collector metrics and the model of one target. `app` and `knobs` are
  // filled by the control API from the client's reports.
  virtual Result<protocol::ShowInfo> Show(const std::string& target) {
    return UnavailableError("show is not available for " + target);
  }
  // Newest first; `limit` 0 means a sensible default.
  virtual Result<std::vector<Recommendation>> History(const std::string& target, uint32_t limit) {
    (void)limit;
    return UnavailableError("history is not available for " + target + " (no brain built)");
  }
  // The stored recommendation and one sentence per decision step.
  virtual Result<Explanation> Explain(uint64_t id) {
    return UnavailableError("explain is not available for " + std::to_string(id) +
                            " (no brain built)");
  }
  // Sends every knob knobd changed on `target` (all when empty) back to its first-seen value
  // (Decider::Restore), through the publishers; returns what was sent.
  virtual Result<std::vector<Recommendation>> Restore(const std::string& target) {
    return UnavailableError("restore is not available for " + target + " (no brain built)");
  }
  // Re-reads the policy; the message says what changed.
  virtual Result<std::string> Reload() { return UnavailableError("reload is not available"); }
};

}  // namespace knob
