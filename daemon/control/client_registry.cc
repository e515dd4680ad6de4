// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/client_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "core/protocol/codec.h"

namespace knob {
namespace {

constexpr auto kDefaultSetExpiry = std::chrono::seconds(60);

// The connected client of `target`, else a gone one, else one registered under that name;
// const or not, as `clients` is.
template <typename Clients>
auto* ClientOfTarget(Clients& clients, const std::string& target) {
  decltype(&clients.begin()->second) fallback = nullptr;
  for (auto& [name, c] : clients) {
    if (c.target == target) {
      if (c.session) return &c;
      fallback = &c;
    }
  }
  if (fallback) return fallback;
  auto it = clients.find(target);
  return it == clients.end() ? nullptr : &it->second;
}

}  // namespace

ClientRegistry::ClientRegistry(const Clock& clock, Transport& transport)
    : clock_(clock), transport_(transport), policy_(std::make_shared<Policy>()) {}

void ClientRegistry::SetPolicy(std::shared_ptr<const Policy> policy) {
  if (!policy) return;
  policy_ = std::move(policy);
  for (auto& [name, c] : clients_) c.target = ResolveTarget(name);
}

size_t ClientRegistry::connected_clients() const {
  size_t n = 0;
  for (const auto& [name, c] : clients_) n += c.session.has_value() ? 1 : 0;
  return n;
}

std::optional<Mode> ClientRegistry::ModeOverride(const std::string& target) const {
  auto it = mode_overrides_.find(target);
  if (it == mode_overrides_.end()) return std::nullopt;
  return it->second;
}

std::string ClientRegistry::ResolveTarget(const std::string& client_name) const {
  const TargetPolicy* t = policy_->FindRegistered(client_name);
  return t ? t->name : std::string();
}

Mode ClientRegistry::EffectiveMode(const std::string& target) const {
  if (auto o = ModeOverride(target)) return *o;
  if (const TargetPolicy* t = policy_->FindTarget(target)) return t->mode;
  return policy_->global.mode;
}

std::optional<pid_t> ClientRegistry::LiveOwner(const std::string& name, SessionId session) const {
  auto existing = clients_.find(name);
  if (existing != clients_.end() && existing->second.session &&
      *existing->second.session != session)
    return existing->second.pid;
  return std::nullopt;
}

std::optional<uid_t> ClientRegistry::NameOwnerUid(const std::string& name) const {
  auto it = clients_.find(name);
  if (it == clients_.end() || it->second.name.empty()) return std::nullopt;
  return it->second.uid;
}

protocol::Welcome ClientRegistry::Register(SessionId session, protocol::Hello hello, uid_t uid) {
  RegisteredClient& c = clients_[hello.name];
  bool resumed = c.reports > 0 || !c.name.empty();
  if (!resumed) c.uid = uid;
  c.name = hello.name;
  c.target = ResolveTarget(hello.name);
  c.session = session;
  c.pid = hello.pid;
  c.knobs = std::move(hello.knobs);
  c.session_tag = "s" + std::to_string(++session_counter_) + "-" + std::to_string(hello.pid);
  spdlog::info("control: client '{}' pid {} {} (target '{}', {} knobs)", c.name, c.pid,
               resumed ? "reconnected" : "registered", c.target, c.knobs.size());
  protocol::Welcome w;
  w.session = c.session_tag;
  w.target = c.target;
  w.tick_interval_seconds = ToSeconds(policy_->global.tick_interval);
  if (w.tick_interval_seconds <= 0) w.tick_interval_seconds = 1;
  w.mode = std::string(ModeName(EffectiveMode(c.target)));
  return w;
}

void ClientRegistry::StoreReport(const std::string& client, AppReport report) {
  RegisteredClient& c = clients_[client];
  report.received = clock_.WallNow();
  c.latest = std::move(report);
  c.latest_at = clock_.Now();
  ++c.reports;
}

Status ClientRegistry::Ack(const std::string& client, const protocol::Ack& ack) {
  auto p = pending_.find(ack.id);
  if (p == pending_.end() || p->second.client != client) {
    return NotFoundError("no pending set with id " + std::to_string(ack.id) + " for '" + client +
                         "' (already acked or expired)");
  }
  pending_.erase(p);
  RegisteredClient& c = clients_[client];
  if (ack.value && c.latest && !ack.knob.empty()) c.latest->knobs[ack.knob] = *ack.value;
  if (ack.list && c.latest && !ack.knob.empty()) c.latest->knob_lists[ack.knob] = *ack.list;
  Outcome o = ack.result == protocol::AckResult::kApplied ? Outcome::kApplied : Outcome::kRejected;
  spdlog::info("control: '{}' {} recommendation {} ({}){}", client,
               protocol::AckResultName(ack.result), ack.id, ack.knob,
               ack.reason.empty() ? "" : ": " + ack.reason);
  if (outcome_sink_) outcome_sink_->OnOutcome(ack.id, o, ack.reason);
  return OkStatus();
}

void ClientRegistry::Disconnect(SessionId session, const std::string& client) {
  auto c = clients_.find(client);
  if (c != clients_.end() && c->second.session == session) {
    c->second.session.reset();
    c->second.gone_at = clock_.Now();
    spdlog::info("control: client '{}' (pid {}) disconnected; kept as gone", c->first,
                 c->second.pid);
  }
}

size_t ClientRegistry::ForgetGone(size_t keep) {
  std::vector<std::pair<MonoTime, std::string>> gone;
  for (const auto& [name, c] : clients_)
    if (!c.session) gone.emplace_back(c.gone_at, name);
  if (gone.size() <= keep) return 0;
  const size_t forget = gone.size() - keep;
  std::nth_element(gone.begin(), gone.begin() + static_cast<long>(forget - 1), gone.end());
  for (size_t i = 0; i < forget; ++i) clients_.erase(gone[i].second);
  spdlog::info("control: forgot {} gone client(s), the longest gone first (at most {} are kept)",
               forget, keep);
  return forget;
}

void ClientRegistry::ExpirePending() {
  MonoTime now = clock_.Now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.expires) {
      uint64_t id = it->first;
      bool advisory = it->second.advisory;
      std::string client = it->second.client;
      it = pending_.erase(it);
      if (!advisory && outcome_sink_)
        outcome_sink_->OnOutcome(id, Outcome::kExpired,
                                 "no ack from '" + client + "' before expiry");
    } else {
      ++it;
    }
  }
}

RegisteredClient* ClientRegistry::MutableClientByTarget(const std::string& target) {
  return ClientOfTarget(clients_, target);
}

const RegisteredClient* ClientRegistry::FindClientByTarget(const std::string& target) const {
  return ClientOfTarget(clients_, target);
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
  if (c == nullptr || !c->session) {
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
  pending_[rec.id] = PendingSet{c->name, *c->session, clock_.Now() + expiry, advisory};
  ++c->recommendations;
  transport_.Send(*c->session, protocol::Encode(protocol::Message(set)));
}

std::map<std::string, pid_t> ClientRegistry::RegisteredPids() const {
  std::map<std::string, pid_t> out;
  for (const auto& [name, c] : clients_)
    if (c.session) out[name] = c.pid;
  return out;
}

bool ClientRegistry::ApplyOverrides(Policy& policy) const {
  if (paused_.empty() && mode_overrides_.empty()) return false;
  for (TargetPolicy& t : policy.targets) {
    if (auto o = ModeOverride(t.name)) t.mode = *o;
    if (paused_.count(t.name) != 0) t.mode = Mode::kObserve;
  }
  return true;
}

void ClientRegistry::MergeReports(const Policy& /*policy*/, Snapshot& snapshot) {
  for (const auto& [name, c] : clients_) {
    if (c.target.empty()) continue;
    auto it = snapshot.targets.find(c.target);
    if (it == snapshot.targets.end()) continue;
    TargetSnapshot& t = it->second;
    if (c.latest) t.app = c.latest;
    if (c.session && (t.state == TargetState::kPending || t.state == TargetState::kGone))
      t.state = TargetState::kActive;
    else if (!c.session && t.state == TargetState::kPending)
      t.state = TargetState::kGone;
  }
  for (const auto& name : paused_) {
    auto it = snapshot.targets.find(name);
    if (it != snapshot.targets.end()) it->second.paused = true;
  }
}

bool ClientRegistry::KnownTarget(const std::string& target) const {
  return policy_->FindTarget(target) != nullptr || clients_.count(target) != 0;
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
  return t;
}

}  // namespace knob
