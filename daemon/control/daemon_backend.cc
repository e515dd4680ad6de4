// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/daemon_backend.h"

#include <unistd.h>

#include <set>

#include "knob/version.h"

namespace knob {

DaemonAdminBackend::DaemonAdminBackend(Daemon& daemon, const BrainQueries* brain)
    : daemon_(daemon), started_(daemon.clock().Now()), brain_(brain) {}

Result<protocol::StatusInfo> DaemonAdminBackend::GetStatus() {
  protocol::StatusInfo s;
  const Policy& p = daemon_.policy();
  s.version = KNOB_VERSION;
  s.pid = getpid();
  s.uptime_seconds = ToSeconds(daemon_.clock().Now() - started_);
  s.mode = std::string(ModeName(p.global.mode));
  s.policy_source = p.source;
  s.tick_interval_seconds = ToSeconds(p.global.tick_interval);
  s.ticks = daemon_.ticks_finished();
  if (auto snap = daemon_.last_snapshot()) {
    for (const auto& [name, t] : snap->targets)
      if (t.state == TargetState::kError && !t.error.empty())
        s.degraded.push_back(name + ": " + t.error);
  }
  return s;
}

// The same phase knobd_target_phase exports (daemon/metrics/target_metrics.h); operator
// overrides are applied by the targets handler, which knows them.
TargetPhase DaemonAdminBackend::PhaseFor(const std::string& target, TargetState state) const {
  PhaseInputs in;
  in.state = state;
  in.min_samples = daemon_.policy().global.guard.min_samples;
  if (brain_ != nullptr) {
    auto newest = brain_->History(target, 1);
    if (!newest.empty()) in.newest_outcome = newest.front().outcome;
    if (auto m = brain_->Model(target)) {
      if (auto it = m->model.find("observations"); it != m->model.end())
        in.observations = static_cast<size_t>(it->second);
      if (auto it = m->model.find("usl.confidence"); it != m->model.end())
        in.confidence = it->second;
    }
  }
  return PhaseOf(in);
}

Result<std::vector<protocol::TargetInfo>> DaemonAdminBackend::GetTargets() {
  std::vector<protocol::TargetInfo> rows;
  auto snap = daemon_.last_snapshot();
  auto add = [&](const std::string& name, Mode mode) {
    protocol::TargetInfo row;
    row.name = name;
    row.mode = std::string(ModeName(mode));
    row.state = "pending";
    if (snap) {
      auto it = snap->targets.find(name);
      if (it != snap->targets.end()) {
        row.state = std::string(TargetStateName(it->second.state));
        if (!it->second.processes.empty()) row.pid = it->second.processes.front().pid;
        row.phase = std::string(TargetPhaseName(PhaseFor(name, it->second.state)));
      }
    }
    rows.push_back(std::move(row));
  };
  std::set<std::string> listed;
  const Policy& policy = daemon_.policy();
  for (const auto& tp : policy.targets) {
    // A catch-all is a template: the services it matched are listed under their own names.
    if (tp.selector.registered == "*") continue;
    add(tp.name, tp.mode);
    listed.insert(tp.name);
  }
  if (snap) {
    for (const auto& [name, t] : snap->targets) {
      if (listed.count(name) != 0) continue;
      const TargetPolicy* from = policy.FindRegistered(name);
      add(name, from != nullptr ? from->mode : policy.global.mode);
    }
  }
  return rows;
}

std::map<std::string, double> FlattenTargetMetrics(const TargetSnapshot& t) {
  std::map<std::string, double> m;
  m["processes"] = static_cast<double>(t.processes.size());
  if (t.cpu) {
    m["cpu.user_seconds"] = t.cpu->user_seconds;
    m["cpu.system_seconds"] = t.cpu->system_seconds;
    m["cpu.runqueue_delay_seconds"] = t.cpu->runqueue_delay_seconds;
    m["cpu.threads"] = t.cpu->threads;
    m["cpu.allowed_cpus"] = t.cpu->allowed_cpus;
    m["cpu.voluntary_ctxt_switches"] = static_cast<double>(t.cpu->voluntary_ctxt_switches);
    m["cpu.nonvoluntary_ctxt_switches"] = static_cast<double>(t.cpu->nonvoluntary_ctxt_switches);
    if (t.cpu->cgroup_throttled_seconds)
      m["cpu.cgroup_throttled_seconds"] = *t.cpu->cgroup_throttled_seconds;
  }
  if (t.memory) {
    m["memory.rss_bytes"] = static_cast<double>(t.memory->rss_bytes);
    m["memory.anon_bytes"] = static_cast<double>(t.memory->anon_bytes);
    m["memory.swap_bytes"] = static_cast<double>(t.memory->swap_bytes);
    m["memory.major_faults"] = static_cast<double>(t.memory->major_faults);
    if (t.memory->pss_bytes) m["memory.pss_bytes"] = static_cast<double>(*t.memory->pss_bytes);
  }
  if (t.sockets) {
    for (const auto& [state, n] : t.sockets->tcp_by_state) m["tcp." + state] = n;
    m["tcp.retransmits_total"] = static_cast<double>(t.sockets->retransmits_total);
    m["tcp.rtt_seconds_mean"] = t.sockets->rtt_seconds_mean;
    for (const auto& l : t.sockets->listeners) {
      std::string k = "listen." + std::to_string(l.port);
      m[k + ".accept_queue"] = l.accept_queue;
      m[k + ".backlog"] = l.backlog;
    }
  }
  if (t.cgroup_pressure) {
    auto add = [&](const char* name, const std::optional<Pressure>& p) {
      if (p && p->some) m[std::string("pressure.") + name + ".some_avg10"] = p->some->avg10;
    };
    add("cpu", t.cgroup_pressure->cpu);
    add("memory", t.cgroup_pressure->memory);
    add("io", t.cgroup_pressure->io);
  }
  return m;
}

Result<protocol::ShowInfo> DaemonAdminBackend::Show(const std::string& target) {
  protocol::ShowInfo info;
  info.target.name = target;
  info.target.state = "pending";
  const TargetPolicy* tp = daemon_.policy().FindTarget(target);
  // A target created from a catch-all has the catch-all's limits.
  if (tp == nullptr) tp = daemon_.policy().FindRegistered(target);
  if (tp != nullptr) {
    info.target.mode = std::string(ModeName(tp->mode));
    // The limits, so a client (knobctl top) can show headroom without the policy file.
    const Constraints& c = tp->constraints;
    if (c.p99_latency) info.metrics["limit.p99_latency_seconds"] = ToSeconds(*c.p99_latency);
    if (c.error_rate) info.metrics["limit.error_rate"] = *c.error_rate;
    if (c.cpu_cores) info.metrics["limit.cpu_cores"] = *c.cpu_cores;
    if (c.memory_bytes) info.metrics["limit.memory_bytes"] = static_cast<double>(*c.memory_bytes);
  }
  if (auto snap = daemon_.last_snapshot()) {
    auto it = snap->targets.find(target);
    if (it != snap->targets.end()) {
      info.target.state = std::string(TargetStateName(it->second.state));
      if (!it->second.processes.empty()) info.target.pid = it->second.processes.front().pid;
      for (auto& [k, v] : FlattenTargetMetrics(it->second)) info.metrics[k] = v;
      if (!it->second.error.empty()) info.notes.push_back(it->second.error);
    }
  }
  if (brain_) {
    if (std::optional<ModelView> view = brain_->Model(target)) {
      for (auto& [key, value] : view->model) info.model[key] = value;
      for (auto& note : view->notes) info.notes.push_back(std::move(note));
    }
  }
  return info;
}

Result<std::vector<Recommendation>> DaemonAdminBackend::History(const std::string& target,
                                                                uint32_t limit) {
  if (!brain_) return AdminBackend::History(target, limit);
  return brain_->History(target, limit);
}

Result<Explanation> DaemonAdminBackend::Explain(uint64_t id) {
  if (!brain_) return AdminBackend::Explain(id);
  return brain_->Explain(id);
}

Result<std::vector<Recommendation>> DaemonAdminBackend::Restore(const std::string& target) {
  if (brain_ == nullptr) return AdminBackend::Restore(target);
  return daemon_.RestoreKnobs(target);
}

Result<std::string> DaemonAdminBackend::Reload() {
  Status s = daemon_.Reload();
  if (!s.ok()) return s;
  return std::string("policy reloaded from " + daemon_.config_path());
}

ControlServer* AttachControlServer(Daemon& daemon, OutcomeSink* outcomes,
                                   const BrainQueries* brain) {
  auto backend = std::make_unique<DaemonAdminBackend>(daemon, brain);
  auto server = std::make_unique<ControlServer>(daemon.loop(), daemon.clock(), &daemon.registry());
  server->SetPolicy(daemon.shared_policy());
  server->api().SetOutcomeSink(outcomes);
  server->AdoptBackend(std::move(backend));
  ControlServer* out = server.get();
  daemon.SetAppReportSource(&server->api().clients());
  daemon.AddPublisher(&server->api().clients());
  daemon.AddComponent(std::move(server));
  return out;
}

}  // namespace knob
