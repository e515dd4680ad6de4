// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/client_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/format.h"
#include "core/protocol/codec.h"
#include "daemon/control/report_merge.h"

namespace knob {
namespace {

constexpr auto kDefaultSetExpiry = std::chrono::seconds(60);
// A created target stays this long after its last instance left, so a restarted service finds
// its history and `targets` shows it gone; then it is dropped from the tick (its learned state
// stays in the brain and its state file) so names that come and go do not grow every tick.
constexpr auto kCreatedTargetRetention = std::chrono::minutes(10);

}  // namespace

ClientRegistry::ClientRegistry(const Clock& clock, Transport& transport)
    : clock_(clock), transport_(transport), policy_(std::make_shared<Policy>()) {}

void ClientRegistry::SetPolicy(std::shared_ptr<const Policy> policy) {
  if (!policy) return;
  policy_ = std::move(policy);
  policy_targets_.clear();
  for (const TargetPolicy& t : policy_->targets) policy_targets_.emplace(t.name, &t);  // 1st wins
  for (auto& [name, c] : clients_) Resolve(c);
}

const TargetPolicy* ClientRegistry::PolicyTarget(std::string_view name) const {
  auto it = policy_targets_.find(name);
  return it == policy_targets_.end() ? nullptr : it->second;
}

const std::vector<RegisteredClient*>* ClientRegistry::ClientsOf(const std::string& target) const {
  auto it = by_target_.find(target);
  return it == by_target_.end() ? nullptr : &it->second;
}

void ClientRegistry::Unindex(RegisteredClient& c) const {
  if (c.target.empty()) return;
  auto it = by_target_.find(c.target);
  if (it == by_target_.end()) return;
  std::erase(it->second, &c);
  if (it->second.empty()) by_target_.erase(it);
}

void ClientRegistry::Index(RegisteredClient& c) const {
  if (c.target.empty()) return;
  auto& list = by_target_[c.target];
  // Name order, as a walk of clients_ would meet them (FindClientByTarget's fallback).
  auto at = std::lower_bound(list.begin(), list.end(), &c,
                             [](const auto* a, const auto* b) { return a->name < b->name; });
  list.insert(at, &c);
}

size_t ClientRegistry::connected_clients() const {
  size_t n = 0;
  for (const auto& [name, c] : clients_) n += c.session.has_value() ? 1 : 0;
  return n;
}

// Each created target is modelled, collected and exported every tick like a policy target; a
// host where hundreds of names pass through a catch-all (the soak test's 500 clients) must not
// pay for hundreds of models. Past this many, a new name gets no target (its reports are kept,
// not used) and a warning says so.
constexpr size_t kMaxCreatedTargets = 16;

size_t ClientRegistry::CreatedTargets() const {
  size_t n = 0;
  const MonoTime now = clock_.Now();
  for (const auto& [name, c] : clients_)
    if (!c.template_target.empty() && !c.target.empty() &&
        (c.session || now - c.gone_since <= kCreatedTargetRetention))
      ++n;
  return n;
}

void ClientRegistry::Resolve(RegisteredClient& c) const {
  const bool had_created = !c.template_target.empty() && !c.target.empty();
  Unindex(c);
  c.target.clear();
  c.template_target.clear();
  const TargetPolicy* t = policy_->FindRegistered(c.name);
  if (t == nullptr) return;
  if (t->selector.registered != "*") {
    c.target = t->name;
    Index(c);
    return;
  }
  if (!had_created && CreatedTargets() >= kMaxCreatedTargets) {
    spdlog::warn(
        "control: '{}' reached catch-all '{}', which has created {} targets already (the "
        "most knobd keeps); its reports are kept but not modelled: give it a target of "
        "its own in the policy",
        c.name, t->name, kMaxCreatedTargets);
    return;
  }
  // A name of its own, unless a policy target already has it: then the catch-all's name
  // qualifies it, so a client cannot pose as (or report for) a target it is not.
  c.template_target = t->name;
  c.target = PolicyTarget(c.name) == nullptr ? c.name : t->name + "/" + c.name;
  Index(c);
}

std::string ClientRegistry::TemplateOf(const std::string& target) const {
  if (const auto* clients = ClientsOf(target))
    for (const RegisteredClient* c : *clients)
      if (!c->template_target.empty()) return c->template_target;
  return {};
}

bool ClientRegistry::Paused(const std::string& target) const {
  if (paused_.count(target) != 0) return true;
  std::string tmpl = TemplateOf(target);
  return !tmpl.empty() && paused_.count(tmpl) != 0;
}

std::optional<Mode> ClientRegistry::ModeOverride(const std::string& target) const {
  auto it = mode_overrides_.find(target);
  if (it != mode_overrides_.end()) return it->second;
  std::string tmpl = TemplateOf(target);
  if (tmpl.empty()) return std::nullopt;
  it = mode_overrides_.find(tmpl);
  if (it == mode_overrides_.end()) return std::nullopt;
  return it->second;
}

Mode ClientRegistry::EffectiveMode(const std::string& target) const {
  if (auto o = ModeOverride(target)) return *o;
  if (const TargetPolicy* t = PolicyTarget(target)) return t->mode;
  if (const TargetPolicy* t = PolicyTarget(TemplateOf(target))) return t->mode;
  return policy_->global.mode;
}

std::optional<uid_t> ClientRegistry::NameOwnerUid(const std::string& name) const {
  auto it = clients_.find(name);
  if (it == clients_.end() || it->second.name.empty()) return std::nullopt;
  return it->second.uid;
}

void ClientRegistry::Refresh(RegisteredClient& c) {
  if (c.instances.empty()) {
    if (c.session) c.gone_since = clock_.Now();
    c.session.reset();
    return;  // the last merge stays, as a single client's last report always has
  }
  const ClientInstance& leader = c.instances.begin()->second;
  c.session = leader.session;
  c.pid = leader.pid;
  c.session_tag = leader.session_tag;
  std::vector<const AppReport*> live;
  for (const auto& [id, inst] : c.instances)
    if (inst.latest) live.push_back(&*inst.latest);
  if (!live.empty()) c.latest = MergeInstanceReports(live, c.retired);
}

protocol::Welcome ClientRegistry::Register(SessionId session, protocol::Hello hello, uid_t uid) {
  RegisteredClient& c = clients_[hello.name];
  bool resumed = c.reports > 0 || !c.name.empty();
  if (!resumed) c.uid = uid;
  c.name = hello.name;
  Resolve(c);
  ClientInstance& inst = c.instances[session];
  inst.session = session;
  inst.pid = hello.pid;
  inst.session_tag = "s" + std::to_string(++session_counter_) + "-" + std::to_string(hello.pid);
  for (const auto& k : hello.knobs) inst.declared[k.name] = k.value;
  // The first instance declares the knobs; later ones run the same program.
  if (c.instances.size() == 1 || c.knobs.empty()) c.knobs = std::move(hello.knobs);
  Refresh(c);
  if (c.instances.size() > 1) {
    spdlog::info("control: client '{}' pid {} joined as instance {} of target '{}'", c.name,
                 hello.pid, c.instances.size(), c.target);
  } else {
    spdlog::info("control: client '{}' pid {} {} (target '{}'{}, {} knobs)", c.name, hello.pid,
                 resumed ? "reconnected" : "registered", c.target,
                 c.template_target.empty() ? "" : ", from catch-all '" + c.template_target + "'",
                 c.knobs.size());
  }
  protocol::Welcome w;
  w.session = inst.session_tag;
  w.target = c.target;
  w.tick_interval_seconds = ToSeconds(policy_->global.tick_interval);
  if (w.tick_interval_seconds <= 0) w.tick_interval_seconds = 1;
  w.mode = std::string(ModeName(EffectiveMode(c.target)));
  return w;
}

// Ids of the sets knobd sends on its own (instance sync) stay clear of the brain's, which count
// up from 1, and exact in a double (a JSON number in any client).
constexpr uint64_t kSyncIdBase = uint64_t{1} << 52;

void ClientRegistry::SyncInstance(SessionId session, const std::string& client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  RegisteredClient& c = it->second;
  if (c.instances.size() < 2 || EffectiveMode(c.target) != Mode::kApply || Paused(c.target)) return;
  auto inst = c.instances.find(session);
  if (inst == c.instances.end()) return;
  const ClientInstance* ref = nullptr;
  for (const auto& [s, i] : c.instances) {
    if (s != session && i.latest) {
      ref = &i;
      break;
    }
  }
  if (ref == nullptr) return;
  for (const auto& [knob, declared] : inst->second.declared) {
    auto v = ref->latest->knobs.find(knob);
    if (v == ref->latest->knobs.end() || v->second == declared) continue;
    const uint64_t id = kSyncIdBase + ++sync_counter_;
    protocol::Set set;
    set.id = id;
    set.knob = knob;
    set.value = v->second;
    set.old_value = declared;
    set.reason = "instance sync: the other instances of '" + c.name + "' run " + knob + " = " +
                 FormatNumber(v->second);
    set.expires_in_seconds = ToSeconds(kDefaultSetExpiry);
    PendingSet p;
    p.client = c.name;
    p.expires = clock_.Now() + kDefaultSetExpiry;
    p.internal = true;
    p.knob = knob;
    p.instances[session] = InstanceAckState{inst->second.pid, InstanceAck::kWaiting, {}};
    pending_[id] = std::move(p);
    spdlog::info("control: new instance pid {} of '{}' runs {} = {}; sent the others' {}",
                 inst->second.pid, c.name, knob, FormatNumber(declared), FormatNumber(v->second));
    transport_.Send(session, protocol::Encode(protocol::Message(set)));
  }
}

void ClientRegistry::StoreReport(SessionId session, const std::string& client, AppReport report) {
  RegisteredClient& c = clients_[client];
  auto inst = c.instances.find(session);
  if (inst == c.instances.end()) return;
  report.received = clock_.WallNow();
  inst->second.latest = std::move(report);
  inst->second.latest_at = clock_.Now();
  ++inst->second.reports;
  c.latest_at = clock_.Now();
  ++c.reports;
  Refresh(c);
}

Status ClientRegistry::Ack(SessionId session, const std::string& client, const protocol::Ack& ack) {
  auto p = pending_.find(ack.id);
  auto waiting = [&] {
    if (p == pending_.end() || p->second.client != client) return false;
    auto i = p->second.instances.find(session);
    return i != p->second.instances.end() && i->second.state == InstanceAck::kWaiting;
  };
  if (!waiting()) {
    return NotFoundError("no pending set with id " + std::to_string(ack.id) + " for '" + client +
                         "' (already acked or expired)");
  }
  InstanceAckState& st = p->second.instances[session];
  st.state =
      ack.result == protocol::AckResult::kApplied ? InstanceAck::kApplied : InstanceAck::kRejected;
  st.reason = ack.reason;
  RegisteredClient& c = clients_[client];
  if (auto inst = c.instances.find(session); inst != c.instances.end()) {
    if (ack.value && inst->second.latest && !ack.knob.empty())
      inst->second.latest->knobs[ack.knob] = *ack.value;
    if (ack.list && inst->second.latest && !ack.knob.empty())
      inst->second.latest->knob_lists[ack.knob] = *ack.list;
    Refresh(c);
  }
  spdlog::info("control: '{}' pid {} {} {} {} ({}){}", client, st.pid,
               protocol::AckResultName(ack.result),
               p->second.internal ? "internal set" : "recommendation", ack.id, ack.knob,
               ack.reason.empty() ? "" : ": " + ack.reason);
  bool all = std::none_of(p->second.instances.begin(), p->second.instances.end(),
                          [](const auto& i) { return i.second.state == InstanceAck::kWaiting; });
  if (all) Settle(p, /*expired=*/false);
  return OkStatus();
}

void ClientRegistry::Settle(std::map<uint64_t, PendingSet>::iterator it, bool expired) {
  const uint64_t id = it->first;
  PendingSet set = std::move(it->second);
  pending_.erase(it);
  if (set.internal) {
    if (expired)
      spdlog::warn(
          "control: set {} ({}) sent by knobd to '{}' was not acked by every instance "
          "before expiry",
          id, set.knob, set.client);
    return;
  }
  size_t applied = 0, rejected = 0, waiting = 0;
  const InstanceAckState* first_rejected = nullptr;
  for (const auto& [s, st] : set.instances) {
    if (st.state == InstanceAck::kApplied) ++applied;
    if (st.state == InstanceAck::kWaiting) ++waiting;
    if (st.state == InstanceAck::kRejected) {
      ++rejected;
      if (first_rejected == nullptr) first_rejected = &st;
    }
  }
  const size_t n = set.instances.size();
  Outcome outcome = Outcome::kApplied;
  std::string reason;
  if (applied == n && n > 0) {
    reason = n == 1 ? set.instances.begin()->second.reason
                    : "applied by all " + std::to_string(n) + " instances";
  } else if (applied == 0 && rejected == 0) {
    if (set.advisory) return;
    outcome = Outcome::kExpired;
    reason = "no ack from '" + set.client + "' before expiry";
  } else if (applied == 0) {
    outcome = Outcome::kRejected;
    reason = n == 1
                 ? first_rejected->reason
                 : "rejected by " + std::to_string(rejected) + " of " + std::to_string(n) +
                       " instances (pid " + std::to_string(first_rejected->pid) +
                       (first_rejected->reason.empty() ? "" : ": " + first_rejected->reason) + ")";
  } else {
    // Some instances run the new value, the others the old one: the service is in a state
    // nobody decided on and no measurement can judge, so the ones that applied go back.
    outcome = Outcome::kRejected;
    reason = "partial apply: applied by " + std::to_string(applied) + " of " + std::to_string(n) +
             " instances, ";
    if (first_rejected != nullptr) {
      reason += "rejected by pid " + std::to_string(first_rejected->pid) +
                (first_rejected->reason.empty() ? "" : " (" + first_rejected->reason + ")");
    } else {
      reason += std::to_string(waiting) + " did not ack before expiry";
    }
    reason += "; rolled back to " + FormatNumber(set.old_value) + " on the instances that applied";
    if (!set.advisory) {
      RegisteredClient& c = clients_[set.client];
      PendingSet back;
      back.client = set.client;
      back.expires = clock_.Now() + kDefaultSetExpiry;
      back.internal = true;
      back.knob = set.knob;
      protocol::Set msg;
      msg.id = id;
      msg.knob = set.knob;
      msg.value = set.old_value;
      msg.old_value = set.new_value;
      msg.reason = "rollback: " + reason;
      msg.expires_in_seconds = ToSeconds(kDefaultSetExpiry);
      for (const auto& [s, st] : set.instances) {
        if (st.state != InstanceAck::kApplied || c.instances.count(s) == 0) continue;
        back.instances[s] = InstanceAckState{st.pid, InstanceAck::kWaiting, {}};
        transport_.Send(s, protocol::Encode(protocol::Message(msg)));
      }
      if (!back.instances.empty()) pending_[id] = std::move(back);
    }
    spdlog::warn("control: recommendation {} for '{}': {}", id, set.client, reason);
  }
  if (outcome_sink_) outcome_sink_->OnOutcome(id, outcome, reason);
}

void ClientRegistry::Disconnect(SessionId session, const std::string& client) {
  auto c = clients_.find(client);
  if (c == clients_.end()) return;
  auto inst = c->second.instances.find(session);
  if (inst == c->second.instances.end()) return;
  if (inst->second.latest) Retire(*inst->second.latest, c->second.retired);
  pid_t pid = inst->second.pid;
  c->second.instances.erase(inst);
  Refresh(c->second);
  if (c->second.instances.empty()) {
    spdlog::info("control: client '{}' (pid {}) disconnected; kept as gone", c->first, pid);
  } else {
    spdlog::info("control: instance pid {} of '{}' left; {} remain", pid, c->first,
                 c->second.instances.size());
  }
  // A departed instance will never ack: the set is settled by those that remain.
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (it->second.client == client && it->second.instances.erase(session) != 0 &&
        !it->second.instances.empty() &&
        std::none_of(it->second.instances.begin(), it->second.instances.end(),
                     [](const auto& i) { return i.second.state == InstanceAck::kWaiting; }))
      Settle(it, /*expired=*/false);
    it = next;
  }
}

size_t ClientRegistry::ForgetGone(size_t keep) {
  std::vector<std::pair<MonoTime, std::string>> gone;
  for (const auto& [name, c] : clients_)
    if (!c.session) gone.emplace_back(c.gone_since, name);
  if (gone.size() <= keep) return 0;
  const size_t forget = gone.size() - keep;
  std::nth_element(gone.begin(), gone.begin() + static_cast<long>(forget - 1), gone.end());
  for (size_t i = 0; i < forget; ++i) {
    auto it = clients_.find(gone[i].second);
    Unindex(it->second);
    clients_.erase(it);
  }
  spdlog::info("control: forgot {} gone client(s), the longest gone first (at most {} are kept)",
               forget, keep);
  return forget;
}

void ClientRegistry::ExpirePending() {
  MonoTime now = clock_.Now();
  std::vector<uint64_t> due;
  for (const auto& [id, p] : pending_)
    if (now >= p.expires) due.push_back(id);
  for (uint64_t id : due) {
    auto it = pending_.find(id);
    if (it != pending_.end()) Settle(it, /*expired=*/true);
  }
}

RegisteredClient* ClientRegistry::MutableClientByTarget(const std::string& target) {
  return const_cast<RegisteredClient*>(std::as_const(*this).FindClientByTarget(target));
}

// The connected client of `target`, else the last gone one in name order, else the client
// registered under that name.
const RegisteredClient* ClientRegistry::FindClientByTarget(const std::string& target) const {
  const RegisteredClient* fallback = nullptr;
  if (const auto* clients = ClientsOf(target)) {
    for (const RegisteredClient* c : *clients) {
      if (c->session) return c;
      fallback = c;
    }
  }
  if (fallback) return fallback;
  auto it = clients_.find(target);
  return it == clients_.end() ? nullptr : &it->second;
}

void ClientRegistry::Publish(const Recommendation& rec) {
  auto outcome = [&](Outcome o, std::string reason) {
    spdlog::info("control: recommendation {} for '{}' not delivered: {}", rec.id, rec.target,
                 reason);
    if (outcome_sink_) outcome_sink_->OnOutcome(rec.id, o, reason);
  };
  // A restore is the operator's own order: delivered, binding, whatever pause or mode says.
  const bool restore = rec.scenario == kRestoreScenario;
  if (!restore && Paused(rec.target)) {
    outcome(Outcome::kVetoed, "target '" + rec.target + "' is paused by the operator");
    return;
  }
  Mode mode = restore ? Mode::kApply : EffectiveMode(rec.target);
  if (mode == Mode::kObserve) {
    outcome(Outcome::kVetoed, "target '" + rec.target + "' is in observe mode");
    return;
  }
  bool advisory = mode != Mode::kApply;
  RegisteredClient* c = MutableClientByTarget(rec.target);
  if (c == nullptr || c->instances.empty()) {
    // Targets without a client are tuned by other publishers (or not at all); only an apply
    // that waits for an ack needs to learn it will never come.
    if (!advisory) outcome(Outcome::kExpired, "no client connected for '" + rec.target + "'");
    return;
  }
  protocol::Set set;
  set.id = rec.id;
  set.knob = rec.knob;
  set.value = rec.new_value;
  set.old_value = rec.old_value;
  if (!rec.new_list.empty()) set.list = rec.new_list;
  if (!rec.old_list.empty()) set.old_list = rec.old_list;
  set.reason = rec.reason;
  set.predicted = rec.predicted;
  set.advisory = advisory;
  Duration expiry = kDefaultSetExpiry;
  if (rec.expires.time_since_epoch().count() != 0) {
    expiry = std::chrono::duration_cast<Duration>(rec.expires - clock_.WallNow());
    if (expiry < Duration::zero()) expiry = Duration::zero();
  }
  set.expires_in_seconds = ToSeconds(expiry);
  PendingSet pending;
  pending.client = c->name;
  pending.expires = clock_.Now() + expiry;
  pending.advisory = advisory;
  pending.knob = rec.knob;
  pending.old_value = rec.old_value;
  pending.new_value = rec.new_value;
  const std::string encoded = protocol::Encode(protocol::Message(set));
  for (const auto& [session, inst] : c->instances) {
    pending.instances[session] = InstanceAckState{inst.pid, InstanceAck::kWaiting, {}};
    transport_.Send(session, encoded);
  }
  pending_[rec.id] = std::move(pending);
  ++c->recommendations;
}

std::map<std::string, pid_t> ClientRegistry::RegisteredPids() const {
  std::map<std::string, pid_t> out;
  for (const auto& [name, c] : clients_)
    if (c.session) out[name] = c.pid;
  return out;
}

std::map<std::string, std::vector<pid_t>> ClientRegistry::InstancePids() const {
  std::map<std::string, std::vector<pid_t>> out;
  for (const auto& [name, c] : clients_) {
    if (c.instances.size() < 2) continue;
    auto& pids = out[name];
    for (const auto& [session, inst] : c.instances) pids.push_back(inst.pid);
  }
  return out;
}

bool ClientRegistry::ApplyOverrides(Policy& policy) const {
  bool changed = false;
  const MonoTime now = clock_.Now();
  std::vector<TargetPolicy> created;
  std::unordered_map<std::string_view, const TargetPolicy*> by_name;  // first of a name wins
  for (const TargetPolicy& t : policy.targets) by_name.emplace(t.name, &t);
  for (const auto& [name, c] : clients_) {
    if (c.template_target.empty() || by_name.count(c.target) != 0) continue;
    if (!c.session && now - c.gone_since > kCreatedTargetRetention) continue;
    auto tmpl = by_name.find(c.template_target);
    if (tmpl == by_name.end()) continue;
    TargetPolicy t = *tmpl->second;
    t.name = c.target;
    t.selector.registered = c.name;
    created.push_back(std::move(t));
  }
  auto is_catch_all = [](const TargetPolicy& t) { return t.selector.registered == "*"; };
  if (std::any_of(policy.targets.begin(), policy.targets.end(), is_catch_all)) {
    policy.targets.erase(std::remove_if(policy.targets.begin(), policy.targets.end(), is_catch_all),
                         policy.targets.end());
    changed = true;
  }
  for (auto& t : created) {
    policy.targets.push_back(std::move(t));
    changed = true;
  }
  for (TargetPolicy& t : policy.targets) {
    if (auto o = ModeOverride(t.name)) {
      t.mode = *o;
      changed = true;
    }
    if (Paused(t.name)) {
      t.mode = Mode::kObserve;
      changed = true;
    }
  }
  return changed;
}

Policy ClientRegistry::EffectivePolicy() const {
  Policy p = *policy_;
  (void)ApplyOverrides(p);
  return p;
}

void ClientRegistry::MergeReports(const Policy& /*policy*/, Snapshot& snapshot) {
  for (const auto& [name, c] : clients_) {
    if (c.target.empty()) continue;
    auto it = snapshot.targets.find(c.target);
    if (it == snapshot.targets.end()) continue;
    TargetSnapshot& t = it->second;
    if (c.latest) t.app = PerInstance(*c.latest, std::max<size_t>(1, c.instances.size()));
    if (c.session && (t.state == TargetState::kPending || t.state == TargetState::kGone))
      t.state = TargetState::kActive;
    else if (!c.session && t.state == TargetState::kPending)
      t.state = TargetState::kGone;
  }
  for (auto& [name, t] : snapshot.targets)
    if (Paused(name)) t.paused = true;
}

bool ClientRegistry::KnownTarget(const std::string& target) const {
  return PolicyTarget(target) != nullptr || clients_.count(target) != 0 ||
         ClientsOf(target) != nullptr;
}

protocol::TargetInfo ClientRegistry::ClientTargetInfo(const RegisteredClient& c) const {
  protocol::TargetInfo t;
  t.name = c.target.empty() ? c.name : c.target;
  t.state = c.session ? "active" : "gone";
  t.mode = std::string(ModeName(EffectiveMode(t.name)));
  t.connected = c.session.has_value();
  t.pid = c.pid;
  if (c.latest) t.last_report_age_seconds = ToSeconds(clock_.Now() - c.latest_at);
  t.reports = c.reports;
  t.recommendations = c.recommendations;
  t.instances = static_cast<uint32_t>(c.instances.size());
  return t;
}

std::vector<protocol::InstanceInfo> ClientRegistry::Instances(const RegisteredClient& c) const {
  std::vector<protocol::InstanceInfo> out;
  for (const auto& [session, inst] : c.instances) {
    protocol::InstanceInfo i;
    i.pid = inst.pid;
    i.reports = inst.reports;
    if (inst.latest) i.last_report_age_seconds = ToSeconds(clock_.Now() - inst.latest_at);
    i.app = inst.latest;
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace knob
