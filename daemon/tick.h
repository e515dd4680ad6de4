// SPDX-License-Identifier: Apache-2.0
#pragma once
// One tick of knobd: collect -> observe/model -> decide -> publish. No libuv here: the daemon
// decides where each half runs (collection on a thread-pool worker, the rest on the loop
// thread), tests run all of it synchronously under a FakeClock.
//
//   Begin()   loop thread   seed a Snapshot with every policy target (pending; the policy as
//                           AppReportSource::ApplyOverrides made it), merge the
//                           latest app reports into it (collectors export app-reported values,
//                           collectors/all.h), copy the registered pids; refuses (and counts a
//                           skipped tick) while the previous tick is unfinished: an overrun is
//                           skipped, never queued.
//   Collect() worker thread every Collector in order; an error is recorded, the rest still run.
//   Finish()  loop thread   targets-by-state gauge, Decider::Observe, Decide, hand every
//                           recommendation to every Publisher, tick metrics.
//
// Thread rule: Begin/Finish/setters on the loop thread. Collect on one worker at a time; it
// touches only the job and the collectors, which nothing else touches while a job is out.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "config/policy.h"
#include "core/clock.h"
#include "core/publisher.h"
#include "core/snapshot.h"
#include "core/status.h"
#include "optimizers/decider.h"

namespace knob {

class SelfMetrics;

// What the control server knows about connected clients, as the tick needs it.
class AppReportSource {
 public:
  virtual ~AppReportSource() = default;
  // Pids of clients that said `hello`, by registered name. Loop thread, before collection.
  virtual std::map<std::string, pid_t> RegisteredPids() const = 0;
  // Fills snapshot.targets[name].app from each client's latest `report`. Loop thread, at the
  // start of a tick, before collection (so collectors and the decider both see it). Discovery
  // later sets the state of registered targets from RegisteredPids().
  virtual void MergeReports(const Policy& policy, Snapshot& snapshot) = 0;
  // Operator overrides (knobctl pause / mode) and the targets created from a catch-all applied
  // to this tick's copy of the policy, before the snapshot is seeded from it, so the decider
  // and the publishers agree on each target and its effective mode. Returns false when there
  // is nothing to override (the tick then shares the policy without copying it).
  virtual bool ApplyOverrides(Policy& /*policy*/) const { return false; }
  // Every live pid by registered name, for names several processes registered (their
  // instances); names with one process may be left out (RegisteredPids has them).
  virtual std::map<std::string, std::vector<pid_t>> InstancePids() const { return {}; }
};

struct CollectorError {
  std::string collector;
  Status status;
};

// The state of one tick between Begin and Finish; owned by whoever runs Collect.
struct CollectJob {
  std::shared_ptr<const Policy> policy;
  std::map<std::string, pid_t> registered_pids;
  std::map<std::string, std::vector<pid_t>> instance_pids;
  MonoTime started{};
  Snapshot snapshot;
  std::vector<CollectorError> errors;
};

struct TickResult {
  size_t collector_errors = 0;
  size_t published = 0;
  Duration duration{};
};

class TickPipeline {
 public:
  // `metrics` may be null (tests that only look at stages).
  TickPipeline(const Clock& clock, SelfMetrics* metrics);
  ~TickPipeline();
  TickPipeline(const TickPipeline&) = delete;
  TickPipeline& operator=(const TickPipeline&) = delete;

  void AddCollector(std::unique_ptr<Collector> collector);
  void SetDecider(std::unique_ptr<Decider> decider);
  Decider* decider() { return decider_.get(); }
  // The decider's restore sets (Decider::Restore) for `target` (all when empty), published to
  // every publisher now; returned for the caller's message.
  std::vector<Recommendation> Restore(const Policy& policy, const std::string& target);
  // Not owned: the publisher must outlive the pipeline (or stay until the loop stops).
  void AddPublisher(Publisher* publisher);
  // Not owned; null to detach.
  void SetAppReportSource(AppReportSource* source) { app_source_ = source; }
  size_t collector_count() const { return collectors_.size(); }

  // Null while the previous job is unfinished (the skipped tick is counted).
  std::unique_ptr<CollectJob> Begin(std::shared_ptr<const Policy> policy);
  void Collect(CollectJob& job);
  TickResult Finish(std::unique_ptr<CollectJob> job);
  // A job that will never finish (its worker was cancelled): lets the next Begin proceed.
  void Abandon() { in_flight_ = false; }
  bool in_flight() const { return in_flight_; }
  // Begin + Collect + Finish on the calling thread. Fails only if a job is already out.
  Result<TickResult> RunSync(std::shared_ptr<const Policy> policy);

  // The snapshot of the last finished tick (null before the first), for status and the
  // control server. Shared so a reader keeps it alive while the next tick replaces it.
  std::shared_ptr<const Snapshot> last_snapshot() const { return last_snapshot_; }
  uint64_t ticks_finished() const { return ticks_finished_; }

 private:
  const Clock& clock_;
  SelfMetrics* metrics_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::unique_ptr<Decider> decider_;
  std::vector<Publisher*> publishers_;
  AppReportSource* app_source_ = nullptr;
  bool in_flight_ = false;
  std::shared_ptr<const Snapshot> last_snapshot_;
  uint64_t ticks_finished_ = 0;
  // Last error text per collector, so a persistent failure is logged once, not every tick.
  std::map<std::string, std::string> last_error_;
};

}  // namespace knob
