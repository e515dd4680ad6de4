// SPDX-License-Identifier: Apache-2.0
#include "daemon/tick.h"

#include <spdlog/spdlog.h>

#include "daemon/metrics/self_metrics.h"

namespace knob {

TickPipeline::TickPipeline(const Clock& clock, SelfMetrics* metrics)
    : clock_(clock), metrics_(metrics) {}

TickPipeline::~TickPipeline() = default;

void TickPipeline::AddCollector(std::unique_ptr<Collector> collector) {
  if (metrics_ != nullptr) metrics_->InitCollector(std::string(collector->Name()));
  collectors_.push_back(std::move(collector));
}

void TickPipeline::SetDecider(std::unique_ptr<Decider> decider) { decider_ = std::move(decider); }

void TickPipeline::AddPublisher(Publisher* publisher) { publishers_.push_back(publisher); }

std::vector<Recommendation> TickPipeline::Restore(const Policy& policy, const std::string& target) {
  if (!decider_) return {};
  std::vector<Recommendation> recs = decider_->Restore(policy, target);
  for (const auto& rec : recs)
    for (Publisher* p : publishers_) p->Publish(rec);
  if (metrics_ != nullptr) metrics_->CountPublished(recs.size());
  return recs;
}

std::unique_ptr<CollectJob> TickPipeline::Begin(std::shared_ptr<const Policy> policy) {
  if (in_flight_) {
    if (metrics_ != nullptr) metrics_->CountSkippedTick();
    return nullptr;
  }
  in_flight_ = true;
  auto job = std::make_unique<CollectJob>();
  job->started = clock_.Now();
  job->snapshot.time = job->started;
  job->snapshot.wall_time = clock_.WallNow();
  // Overrides first: they add the targets created from a catch-all, which are seeded too.
  if (app_source_ != nullptr) {
    auto effective = std::make_shared<Policy>(*policy);
    if (app_source_->ApplyOverrides(*effective)) policy = std::move(effective);
  }
  for (const auto& t : policy->targets) {
    TargetSnapshot ts;
    ts.name = t.name;
    ts.state = TargetState::kPending;
    job->snapshot.targets.emplace(t.name, std::move(ts));
  }
  if (app_source_ != nullptr) {
    app_source_->MergeReports(*policy, job->snapshot);
    job->registered_pids = app_source_->RegisteredPids();
    job->instance_pids = app_source_->InstancePids();
  }
  job->policy = std::move(policy);
  return job;
}

void TickPipeline::Collect(CollectJob& job) {
  CollectContext ctx{*job.policy, job.started, job.registered_pids, &job.instance_pids};
  for (auto& c : collectors_) {
    Status s = c->Collect(ctx, job.snapshot);
    if (!s.ok()) job.errors.push_back({std::string(c->Name()), std::move(s)});
  }
}

TickResult TickPipeline::Finish(std::unique_ptr<CollectJob> job) {
  TickResult result;
  result.collector_errors = job->errors.size();
  std::map<std::string, std::string> errors_now;
  for (const auto& e : job->errors) {
    if (metrics_ != nullptr) metrics_->CountCollectorError(e.collector);
    std::string text = e.status.ToString();
    auto it = last_error_.find(e.collector);
    if (it == last_error_.end() || it->second != text) {
      spdlog::warn("collector {}: {}", e.collector, text);
    }
    errors_now[e.collector] = std::move(text);
  }
  for (const auto& [name, text] : last_error_) {
    if (errors_now.count(name) == 0) spdlog::info("collector {}: recovered", name);
  }
  last_error_ = std::move(errors_now);

  const Policy& policy = *job->policy;
  Snapshot& snap = job->snapshot;
  if (metrics_ != nullptr) metrics_->SetTargetsByState(snap);

  if (decider_) {
    decider_->Observe(policy, snap);
    std::vector<Recommendation> recs = decider_->Decide(policy, snap);
    for (const auto& rec : recs) {
      for (Publisher* p : publishers_) p->Publish(rec);
    }
    result.published = recs.size();
    if (metrics_ != nullptr) metrics_->CountPublished(recs.size());
  }

  last_snapshot_ = std::make_shared<const Snapshot>(std::move(snap));
  result.duration = clock_.Now() - job->started;
  if (metrics_ != nullptr) metrics_->ObserveTick(ToSeconds(result.duration));
  ++ticks_finished_;
  in_flight_ = false;
  return result;
}

Result<TickResult> TickPipeline::RunSync(std::shared_ptr<const Policy> policy) {
  auto job = Begin(std::move(policy));
  if (!job) return FailedPreconditionError("a tick is already in flight");
  Collect(*job);
  return Finish(std::move(job));
}

}  // namespace knob
