// SPDX-License-Identifier: Apache-2.0
#include "daemon/daemon.h"

#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>

#include "config/policy_diff.h"
#include "config/policy_loader.h"
#include "config/units.h"
#include "daemon/fs_checks.h"
#include "daemon/logging.h"
#include "daemon/loop/signal.h"
#include "daemon/loop/timer.h"
#include "daemon/loop/work.h"
#include "daemon/metrics/exporter.h"
#include "daemon/metrics/process_metrics.h"
#include "daemon/metrics/self_metrics.h"
#include "daemon/systemd_notify.h"
#include "knob/version.h"

namespace knob {
namespace {

// SIGTERM must end the process within 2 s (systemd's and the tests' budget); a collection that
// is still running after this long is abandoned rather than waited for.
constexpr auto kShutdownDeadline = std::chrono::milliseconds(1500);

std::string JoinDiagnostics(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const auto& d : errors) {
    if (!out.empty()) out += '\n';
    out += d.ToString();
  }
  return out;
}

// Fields that name resources bound at startup; a reload cannot move them. Keep the running
// value so policy() never claims something that is not true.
void PinRestartOnly(const Policy& running, Policy& next) {
  auto pin = [](const char* key, const std::string& old_value, std::string& new_value) {
    if (old_value != new_value) {
      spdlog::warn("reload: {} changed ({} -> {}); it takes effect after a restart", key, old_value,
                   new_value);
      new_value = old_value;
    }
  };
  pin("global.metrics_listen", running.global.metrics_listen, next.global.metrics_listen);
  pin("global.state_dir", running.global.state_dir, next.global.state_dir);
  pin("global.control.socket_path", running.global.control.socket_path,
      next.global.control.socket_path);
  // The collectors' Env is built over these roots at startup.
  pin("global.collection.proc_root", running.global.collection.proc_root,
      next.global.collection.proc_root);
  pin("global.collection.sys_root", running.global.collection.sys_root,
      next.global.collection.sys_root);
}

}  // namespace

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == StatusCode::kInternal ? kExitRuntime : kExitConfig;
}

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)), loop_(new Loop) {}

Daemon::~Daemon() {
  // A collection still running reads the job and the collectors: let it finish before they go.
  while (collect_work_ && collect_work_->busy()) loop_->RunOnce();
  components_.clear();
}

Result<std::unique_ptr<Daemon>> Daemon::Create(DaemonOptions options) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(options)));
  const std::string& path = d->options_.config_path;

  PolicyLoad load = LoadPolicyFile(path);
  if (!load.ok()) {
    for (const auto& diag : load.errors) spdlog::error("{}", diag.ToString());
    return InvalidArgumentError("policy " + path +
                                " is unusable: " + std::to_string(load.errors.size()) +
                                " error(s); check it with: knobd --check-config " + path);
  }
  Policy policy = std::move(*load.policy);
  d->options_.overrides.ApplyTo(policy);
  if (!IsValidLogLevel(policy.global.log_level)) {
    return InvalidArgumentError("log level '" + policy.global.log_level +
                                "' is not one of trace, debug, info, warn, error, critical, off");
  }
  SetLogLevel(policy.global.log_level);
  d->policy_ = std::make_shared<const Policy>(std::move(policy));
  const Policy& p = *d->policy_;

  KNOB_RETURN_IF_ERROR(EnsureWritableDir(p.global.state_dir, "state directory"));
  KNOB_RETURN_IF_ERROR(CheckSocketPathCreatable(p.global.control.socket_path));

  d->registry_ = std::make_shared<prometheus::Registry>();
  auto metrics = SelfMetrics::Create(*d->registry_, d->clock().WallNow());
  if (!metrics.ok()) return metrics.status();
  d->self_metrics_ = std::move(*metrics);
  d->self_metrics_->RecordInitialLoad(d->clock().WallNow());

  auto exporter = MetricsExporter::Start(p.global.metrics_listen, d->registry_);
  if (!exporter.ok()) return exporter.status();
  d->exporter_ = std::move(*exporter);
  d->process_metrics_ = std::make_shared<ProcessMetrics>();
  d->exporter_->RegisterCollectable(d->process_metrics_);
  spdlog::info("metrics: http://{}/metrics", d->exporter_->BoundAddress());

  d->pipeline_ = std::make_unique<TickPipeline>(d->clock(), d->self_metrics_.get());
  d->notifier_ = std::make_unique<SystemdNotifier>();
  d->tick_timer_ = std::make_unique<Timer>(*d->loop_);
  d->watchdog_timer_ = std::make_unique<Timer>(*d->loop_);
  d->shutdown_deadline_ = std::make_unique<Timer>(*d->loop_);
  d->collect_work_ = std::make_unique<Work>(*d->loop_);
  return d;
}

prometheus::Registry& Daemon::registry() { return *registry_; }
std::shared_ptr<prometheus::Registry> Daemon::shared_registry() { return registry_; }
const std::string& Daemon::metrics_address() const { return exporter_->BoundAddress(); }

void Daemon::AddCollector(std::unique_ptr<Collector> collector) {
  spdlog::debug("collector {} added", collector->Name());
  pipeline_->AddCollector(std::move(collector));
}

void Daemon::SetDecider(std::unique_ptr<Decider> decider) {
  if (decider) {
    Status s = decider->Load(policy_->global.state_dir);
    if (s.code() == StatusCode::kNotFound) {
      spdlog::info("no saved state in {}; starting fresh", policy_->global.state_dir);
    } else if (!s.ok()) {
      spdlog::warn("loading saved state from {}: {}; starting fresh", policy_->global.state_dir,
                   s.ToString());
    } else {
      spdlog::info("restored learned state from {}", policy_->global.state_dir);
    }
  }
  pipeline_->SetDecider(std::move(decider));
}

void Daemon::AddPublisher(Publisher* publisher) { pipeline_->AddPublisher(publisher); }

std::vector<Recommendation> Daemon::RestoreKnobs(const std::string& target) {
  return pipeline_->Restore(*policy_, target);
}

void Daemon::AddPublisher(std::unique_ptr<Publisher> publisher) {
  pipeline_->AddPublisher(publisher.get());
  owned_publishers_.push_back(std::move(publisher));
}

void Daemon::SetAppReportSource(AppReportSource* source) { pipeline_->SetAppReportSource(source); }

void Daemon::AddComponent(std::unique_ptr<Component> component) {
  components_.push_back(std::move(component));
}

bool Daemon::collection_in_flight() const { return collect_work_ && collect_work_->busy(); }

std::string Daemon::StatusLine() const {
  size_t active = 0, total = policy_->targets.size();
  if (auto snap = pipeline_->last_snapshot()) {
    for (const auto& [name, t] : snap->targets) active += t.state == TargetState::kActive;
  }
  return std::to_string(total) + " targets, " + std::to_string(active) + " active; mode " +
         std::string(ModeName(policy_->global.mode)) + "; tick " +
         FormatDuration(policy_->global.tick_interval) + "; metrics " + exporter_->BoundAddress();
}

int Daemon::Run() {
  for (int signum : {SIGHUP, SIGTERM, SIGINT}) {
    auto sig = std::make_unique<Signal>(*loop_);
    Status s = sig->Start(signum, [this](int signo) {
      if (signo == SIGHUP) {
        Reload().IgnoreError();  // Reload logs every outcome itself
      } else {
        spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
        RequestStop();
      }
    });
    if (!s.ok()) {
      spdlog::error("cannot watch signal {}: {}", signum, s.ToString());
      return kExitRuntime;
    }
    signals_.push_back(std::move(sig));
  }

  for (auto& c : components_) {
    Status s = c->Start();
    if (!s.ok()) {
      spdlog::error("{}: {}", c->Name(), s.ToString());
      // Reverse iterators, not std::views::reverse: clang 14 (clang-tidy in CI) cannot parse
      // libstdc++ 12's views, and tidy fails on this file whenever it changes.
      std::for_each(started_components_.rbegin(), started_components_.rend(),
                    [](Component* started) { started->Stop(); });
      return ExitCodeFor(s);
    }
    started_components_.push_back(c.get());
  }

  StartTick(policy_->global.tick_interval);
  if (auto wd = SystemdNotifier::WatchdogInterval()) {
    notifier_->Watchdog();
    auto half = std::chrono::duration_cast<std::chrono::nanoseconds>(*wd) / 2;
    watchdog_timer_->Start(half, half, [this] { notifier_->Watchdog(); });
    spdlog::info("systemd watchdog: pinging every {}", FormatDuration(half));
  }

  spdlog::info("knobd {} running: policy {}, {} target(s), {} collector(s), mode {}, tick {}",
               KNOB_VERSION, policy_->source, policy_->targets.size(), pipeline_->collector_count(),
               ModeName(policy_->global.mode), FormatDuration(policy_->global.tick_interval));
  notifier_->Ready(StatusLine());

  Status s = loop_->Run();
  if (!s.ok()) {
    spdlog::error("event loop: {}", s.ToString());
    return kExitRuntime;
  }
  return exit_code_;
}

void Daemon::StartTick(std::chrono::nanoseconds interval) {
  // First tick at once, so /metrics shows real values right after READY.
  tick_timer_->Start(std::chrono::nanoseconds(0), interval, [this] { OnTick(); });
}

void Daemon::OnTick() {
  if (stopping_) return;
  auto job = pipeline_->Begin(policy_);
  if (!job) {
    spdlog::debug("tick skipped: the previous collection is still running");
    return;
  }
  job_ = std::move(job);
  CollectJob* raw = job_.get();
  TickPipeline* pipeline = pipeline_.get();
  Status s = collect_work_->Start([pipeline, raw] { pipeline->Collect(*raw); },
                                  [this](bool cancelled) { OnCollected(cancelled); });
  if (!s.ok()) {
    spdlog::error("cannot queue collection: {}", s.ToString());
    pipeline_->Abandon();
    job_.reset();
  }
}

void Daemon::OnCollected(bool cancelled) {
  if (cancelled) {
    pipeline_->Abandon();
    job_.reset();
  } else {
    TickResult r = pipeline_->Finish(std::move(job_));
    spdlog::trace("tick: {} collector error(s), {} published, {:.3f} s", r.collector_errors,
                  r.published, ToSeconds(r.duration));
    notifier_->Status(StatusLine());
    MaybeCheckpoint();
  }
  if (stopping_) FinishShutdown();
}

Status Daemon::Reload() {
  notifier_->Reloading();
  ++reloads_;
  const std::string& path = options_.config_path;
  spdlog::info("reloading policy from {}", path);
  PolicyLoad load = LoadPolicyFile(path);
  WallTime now = clock().WallNow();
  if (load.ok()) {
    options_.overrides.ApplyTo(*load.policy);
    if (!IsValidLogLevel(load.policy->global.log_level)) {
      load.errors.push_back(
          Diagnostic{path, 0, 0, "log level '" + load.policy->global.log_level + "' is unknown",
                     "trace, debug, info, warn, error, critical, off"});
      load.policy.reset();
    }
  }
  if (!load.ok()) {
    for (const auto& diag : load.errors) spdlog::error("{}", diag.ToString());
    spdlog::error("reload rejected ({} error(s)); the previous policy stays in force",
                  load.errors.size());
    self_metrics_->RecordReload(false, now);
    notifier_->Ready("reload failed; " + StatusLine());
    return InvalidArgumentError(JoinDiagnostics(load.errors));
  }

  Policy next = std::move(*load.policy);
  PinRestartOnly(*policy_, next);
  std::vector<std::string> changes = DescribePolicyChanges(*policy_, next);
  for (const auto& c : changes) spdlog::info("reload: {}", c);
  if (changes.empty()) spdlog::info("reload: policy unchanged");

  auto before = policy_;
  policy_ = std::make_shared<const Policy>(std::move(next));
  if (before->global.log_level != policy_->global.log_level) {
    SetLogLevel(policy_->global.log_level);
  }
  if (before->global.tick_interval != policy_->global.tick_interval && !stopping_) {
    tick_timer_->Start(policy_->global.tick_interval, policy_->global.tick_interval,
                       [this] { OnTick(); });
  }
  for (Component* c : started_components_) c->OnPolicyChanged(*before, *policy_);
  self_metrics_->RecordReload(true, now);
  notifier_->Ready(StatusLine());
  return OkStatus();
}

void Daemon::RequestStop() {
  if (stopping_) {
    spdlog::info("already stopping");
    return;
  }
  stopping_ = true;
  notifier_->Stopping();
  tick_timer_->Stop();
  if (collect_work_->busy()) {
    // Finish the tick in progress (OnCollected calls FinishShutdown), within the deadline.
    shutdown_deadline_->Start(kShutdownDeadline, std::chrono::nanoseconds(0), [this] {
      spdlog::error("collection still running after {} ms; stopping without it",
                    kShutdownDeadline.count());
      FinishShutdown();
    });
    return;
  }
  FinishShutdown();
}

// What was learned is also saved while running, not only at a clean stop, so a crash or a
// SIGKILL loses at most one checkpoint interval of learning.
void Daemon::MaybeCheckpoint() {
  Decider* decider = pipeline_->decider();
  if (decider == nullptr || stopping_) return;
  MonoTime now = clock().Now();
  if (last_checkpoint_ && now - *last_checkpoint_ < policy_->global.checkpoint_interval) return;
  if (!last_checkpoint_) {  // the first tick only starts the interval
    last_checkpoint_ = now;
    return;
  }
  last_checkpoint_ = now;
  Status s = decider->Save(policy_->global.state_dir);
  // A full or read-only disk fails every checkpoint: say so once, and once when it recovers.
  std::string error = s.ok() ? "" : s.ToString();
  if (error != checkpoint_error_) {
    if (!s.ok())
      spdlog::warn("checkpoint to {}: {}; learning since the last good checkpoint is not saved",
                   policy_->global.state_dir, error);
    else
      spdlog::info("checkpoint to {}: recovered", policy_->global.state_dir);
  }
  checkpoint_error_ = std::move(error);
}

void Daemon::FinishShutdown() {
  if (finished_) return;
  finished_ = true;
  shutdown_deadline_->Stop();
  watchdog_timer_->Stop();
  if (policy_->global.restore_on_stop) {
    // Before the control server says bye, so the sets are flushed to the clients with it.
    std::vector<Recommendation> recs = pipeline_->Restore(*policy_, "");
    for (const auto& r : recs) spdlog::info("restore_on_stop: {}", r.reason);
    spdlog::info("restore_on_stop: {} knob(s) sent back to their first-seen values", recs.size());
  }
  if (Decider* decider = pipeline_->decider()) {
    Status s = decider->Save(policy_->global.state_dir);
    if (s.ok()) {
      spdlog::info("state saved to {}", policy_->global.state_dir);
    } else {
      spdlog::error("saving state to {}: {}", policy_->global.state_dir, s.ToString());
    }
  }
  std::for_each(started_components_.rbegin(), started_components_.rend(),
                [](Component* started) { started->Stop(); });
  for (auto& sig : signals_) sig->Stop();
  spdlog::info("stopped after {} tick(s)", pipeline_->ticks_finished());
  loop_->Stop();
}

}  // namespace knob
