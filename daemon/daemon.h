// SPDX-License-Identifier: Apache-2.0
#pragma once
// The running knobd: owns the libuv loop, the policy in force, the metrics endpoint and the tick.
// Startup (Create): load the policy (any Diagnostic -> refuse), apply CLI/env overrides, check
// the state dir and the control socket's directory, bind the metrics endpoint. Run(): start the
// components (the control server), signals, the tick timer and the watchdog, tell systemd READY,
// and serve until SIGTERM/SIGINT. Later subsystems plug in through the setters below and the
// Component interface; none of them needs to edit this file.
// Thread rule: everything on the loop thread (the thread that calls Run()), except registry(),
// which is thread-safe, and construction, which happens before Run().

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "config/policy.h"
#include "core/clock.h"
#include "core/publisher.h"
#include "core/recommendation.h"
#include "core/snapshot.h"
#include "core/status.h"
#include "daemon/cli.h"
#include "daemon/loop/loop.h"
#include "daemon/tick.h"
#include "optimizers/decider.h"

namespace prometheus {
class Registry;
}

namespace knob {

class MetricsExporter;
class ProcessMetrics;
class SelfMetrics;
class Signal;
class SystemdNotifier;
class Timer;
class Work;

// Exit statuses (docs/knobd.8.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitConfig = 2;
// A startup failure's exit status: kInternal is a runtime failure, everything else (bad policy,
// port in use, unwritable directory) is the operator's configuration.
int ExitCodeFor(const Status& status);

// Something that lives on the daemon's loop beside the tick: the control server.
class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view Name() const = 0;
  // Once, after the metrics endpoint listens and before READY=1. A failure stops startup
  // (exit status from ExitCodeFor).
  virtual Status Start() = 0;
  // A reload put a new, valid policy in force (restart-only fields already pinned).
  virtual void OnPolicyChanged(const Policy& /*before*/, const Policy& /*after*/) {}
  // Shutdown began: stop accepting, close handles. Must not block.
  virtual void Stop() = 0;
};

struct DaemonOptions {
  std::string config_path;
  PolicyOverrides overrides;
  const Clock* clock = &SystemClock::Instance();
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Create(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // --- Plug points (call before Run(), from the thread that will run it) ---
  Loop& loop() { return *loop_; }
  prometheus::Registry& registry();
  std::shared_ptr<prometheus::Registry> shared_registry();
  const Clock& clock() const { return *options_.clock; }
  void AddCollector(std::unique_ptr<Collector> collector);
  void SetDecider(std::unique_ptr<Decider> decider);
  void AddPublisher(Publisher* publisher);                  // not owned; outlives Run()
  void AddPublisher(std::unique_ptr<Publisher> publisher);  // owned by the daemon
  void SetAppReportSource(AppReportSource* source);         // not owned; null detaches
  void AddComponent(std::unique_ptr<Component> component);

  // --- Read on the loop thread at any time ---
  const Policy& policy() const { return *policy_; }
  std::shared_ptr<const Policy> shared_policy() const { return policy_; }
  std::shared_ptr<const Snapshot> last_snapshot() const { return pipeline_->last_snapshot(); }
  uint64_t ticks_finished() const { return pipeline_->ticks_finished(); }
  const std::string& config_path() const { return options_.config_path; }
  const std::string& metrics_address() const;
  // `knobctl restore`: every knob knobd changed on `target` (all targets when empty) is sent
  // back to its first-seen value now, through the publishers. What was sent, for the reply.
  std::vector<Recommendation> RestoreKnobs(const std::string& target);

  // Re-reads the policy file. OK: the new policy is in force from the next tick, one log line
  // per change. Otherwise every Diagnostic is logged, the old policy stays, and the returned
  // status (InvalidArgument) carries them one per line. Also what SIGHUP does.
  Status Reload();
  // Starts a graceful shutdown (what SIGTERM does): finish the tick, save, stop.
  void RequestStop();

  // Serves until stopped. Returns the exit status.
  int Run();
  // True if a collection was still running when Run() returned (the shutdown deadline hit):
  // the caller should _exit instead of destroying the Daemon, which would wait for it.
  bool collection_in_flight() const;

 private:
  explicit Daemon(DaemonOptions options);
  void StartTick(std::chrono::nanoseconds interval);
  void OnTick();
  void OnCollected(bool cancelled);
  void FinishShutdown();
  void MaybeCheckpoint();
  std::string StatusLine() const;

  DaemonOptions options_;
  std::unique_ptr<Loop> loop_;
  std::shared_ptr<const Policy> policy_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<SelfMetrics> self_metrics_;
  std::optional<MonoTime> last_checkpoint_;
  std::string checkpoint_error_;  // the last checkpoint's failure, logged once
  std::shared_ptr<ProcessMetrics> process_metrics_;
  std::unique_ptr<MetricsExporter> exporter_;
  std::unique_ptr<TickPipeline> pipeline_;
  std::unique_ptr<SystemdNotifier> notifier_;
  std::vector<std::unique_ptr<Publisher>> owned_publishers_;
  std::vector<std::unique_ptr<Component>> components_;
  std::vector<Component*> started_components_;

  std::unique_ptr<Timer> tick_timer_;
  std::unique_ptr<Timer> watchdog_timer_;
  std::unique_ptr<Timer> shutdown_deadline_;
  std::vector<std::unique_ptr<Signal>> signals_;
  std::unique_ptr<Work> collect_work_;
  std::unique_ptr<CollectJob> job_;

  bool stopping_ = false;
  bool finished_ = false;
  int exit_code_ = kExitOk;
  uint64_t reloads_ = 0;
};

}  // namespace knob
