// SPDX-License-Identifier: Apache-2.0
#pragma once
// AdminBackend over the running Daemon: status, targets and show from the policy and the last
// tick's snapshot, reload through Daemon::Reload. History, explain and show's model come from the
// brain through core/brain_queries.h (optimizers own them); without one those ops answer
// `unavailable` and show has no model.
// AttachControlServer() is the one call main.cc makes to put the control socket into knobd.
// Thread rule: loop thread only.

#include <memory>

#include "core/brain_queries.h"
#include "daemon/control/admin_backend.h"
#include "daemon/control/server.h"
#include "daemon/daemon.h"
#include "daemon/metrics/target_metrics.h"

namespace knob {

class DaemonAdminBackend final : public AdminBackend {
 public:
  // `brain` may be null (no brain built: history and explain are unavailable); it must outlive
  // this backend.
  DaemonAdminBackend(Daemon& daemon, const BrainQueries* brain);

  Result<protocol::StatusInfo> GetStatus() override;
  Result<std::vector<protocol::TargetInfo>> GetTargets() override;
  Result<protocol::ShowInfo> Show(const std::string& target) override;
  Result<std::vector<Recommendation>> History(const std::string& target, uint32_t limit) override;
  Result<Explanation> Explain(uint64_t id) override;
  Result<std::string> Reload() override;
  Result<std::vector<Recommendation>> Restore(const std::string& target) override;

 private:
  TargetPhase PhaseFor(const std::string& target, TargetState state) const;
  Daemon& daemon_;
  MonoTime started_;
  const BrainQueries* brain_;
};

// Flattens one target's collected metrics into "cpu.user_seconds"-style keys for `show`.
std::map<std::string, double> FlattenTargetMetrics(const TargetSnapshot& t);

// Creates the control server and its backend and wires them into `daemon` (component,
// publisher, app-report source). Acks and expiries go to `outcomes`; history, explain and show's
// model come from `brain`. Either may be null; both must outlive the Daemon's components.
// The daemon owns the server; the returned pointer stays valid until the Daemon is destroyed.
ControlServer* AttachControlServer(Daemon& daemon, OutcomeSink* outcomes,
                                   const BrainQueries* brain);

}  // namespace knob
