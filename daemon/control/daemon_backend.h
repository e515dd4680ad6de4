#pragma once
// AdminBackend over the running Daemon: status, targets and show from the policy and the last
// tick's snapshot, reload through Daemon::Reload. History and explain come from the brain,
// plugged in with SetHistory/SetExplain (optimizers own the history); without them those ops
// answer `unavailable`.
// AttachControlServer() is the one call main.cc makes to put the control socket into knobd.
// Thread rule: loop thread only.

#include <functional>
#include <memory>

#include "daemon/control/admin_backend.h"
#include "daemon/control/server.h"
#include "daemon/daemon.h"

namespace knob {

class DaemonAdminBackend final : public AdminBackend {
 public:
  using HistoryFn =
      std::function<Result<std::vector<Recommendation>>(const std::string& target, uint32_t limit)>;
  using ExplainFn =
      std::function<Result<std::pair<Recommendation, std::vector<std::string>>>(uint64_t id)>;
  // Fills `show`'s model numbers ("usl.alpha") and notes for a target (the brain owns them).
  using ModelFn =
      std::function<void(const std::string& target, std::map<std::string, double>& model,
                         std::vector<std::string>& notes)>;

  explicit DaemonAdminBackend(Daemon& daemon);
  void SetHistory(HistoryFn fn) { history_ = std::move(fn); }
  void SetExplain(ExplainFn fn) { explain_ = std::move(fn); }
  void SetModel(ModelFn fn) { model_ = std::move(fn); }

  Result<protocol::StatusInfo> GetStatus() override;
  Result<std::vector<protocol::TargetInfo>> GetTargets() override;
  Result<protocol::ShowInfo> Show(const std::string& target) override;
  Result<std::vector<Recommendation>> History(const std::string& target, uint32_t limit) override;
  Result<std::pair<Recommendation, std::vector<std::string>>> Explain(uint64_t id) override;
  Result<std::string> Reload() override;

 private:
  Daemon& daemon_;
  MonoTime started_;
  HistoryFn history_;
  ExplainFn explain_;
  ModelFn model_;
};

// Flattens one target's collected metrics into "cpu.user_seconds"-style keys for `show`.
std::map<std::string, double> FlattenTargetMetrics(const TargetSnapshot& t);

// Creates the control server and its backend, wires them into `daemon` (component, publisher,
// app-report source) and returns them so the caller can connect the brain:
//   auto control = AttachControlServer(daemon);
//   control.server->api().SetOutcomeSink([decider](uint64_t id, Outcome o, const std::string& r) {
//     decider->OnOutcome(id, o, r); });
//   control.backend->SetHistory(...); control.backend->SetExplain(...);
// The daemon owns both; the pointers stay valid until the Daemon is destroyed.
struct AttachedControl {
  ControlServer* server = nullptr;
  DaemonAdminBackend* backend = nullptr;
};
AttachedControl AttachControlServer(Daemon& daemon);

}  // namespace knob
