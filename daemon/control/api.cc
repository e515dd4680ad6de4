#include "daemon/control/api.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "core/protocol/codec.h"

namespace knob {

using protocol::ErrorCode;

// Prometheus families of the control server (docs/metrics.md, "Control"). With no registry, or
// if registration fails, every call is a no-op: metrics never break the socket.
class ControlMetrics {
 public:
  explicit ControlMetrics(prometheus::Registry* registry) {
    if (registry == nullptr) return;
    try {
      clients_ = &prometheus::BuildGauge()
                      .Name("knobd_control_clients")
                      .Help("Connections open on the control socket (targets and knobctl)")
                      .Register(*registry)
                      .Add({});
      messages_ = &prometheus::BuildCounter()
                       .Name("knobd_control_messages_total")
                       .Help("Messages received on the control socket, by type")
                       .Register(*registry);
      errors_ = &prometheus::BuildCounter()
                     .Name("knobd_control_errors_total")
                     .Help("Error replies sent on the control socket, by code")
                     .Register(*registry);
      rejected_ = &prometheus::BuildCounter()
                       .Name("knobd_control_rejected_total")
                       .Help("Connections or messages refused, by reason")
                       .Register(*registry);
    } catch (const std::exception& e) {
      spdlog::warn("control: metrics disabled: {}", e.what());
      clients_ = nullptr;
      messages_ = errors_ = rejected_ = nullptr;
    }
  }
  void SetClients(size_t n) {
    if (clients_) clients_->Set(static_cast<double>(n));
  }
  void Message(std::string_view type) { Inc(messages_, "type", type); }
  void Error(ErrorCode code) { Inc(errors_, "code", protocol::ErrorCodeName(code)); }
  void Rejected(std::string_view reason) { Inc(rejected_, "reason", reason); }

 private:
  static void Inc(prometheus::Family<prometheus::Counter>* f, const char* label,
                  std::string_view value) {
    if (f) f->Add({{label, std::string(value)}}).Increment();
  }
  prometheus::Gauge* clients_ = nullptr;
  prometheus::Family<prometheus::Counter>* messages_ = nullptr;
  prometheus::Family<prometheus::Counter>* errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* rejected_ = nullptr;
};

namespace {

constexpr auto kDefaultSetExpiry = std::chrono::seconds(60);

}  // namespace

ControlApi::ControlApi(const Clock& clock, Transport& transport, AdminBackend* backend,
                       prometheus::Registry* registry)
    : clock_(clock),
      transport_(transport),
      backend_(backend),
      metrics_(std::make_unique<ControlMetrics>(registry)),
      policy_(std::make_shared<Policy>()) {}

ControlApi::~ControlApi() = default;

void ControlApi::SetPolicy(std::shared_ptr<const Policy> policy) {
  if (!policy) return;
  policy_ = std::move(policy);
  for (auto& [name, c] : clients_) c.target = ResolveTarget(name);
}

size_t ControlApi::connected_clients() const {
  size_t n = 0;
  for (const auto& [name, c] : clients_) n += c.session.has_value() ? 1 : 0;
  return n;
}

std::optional<Mode> ControlApi::ModeOverride(const std::string& target) const {
  auto it = mode_overrides_.find(target);
  if (it == mode_overrides_.end()) return std::nullopt;
  return it->second;
}

void ControlApi::Send(SessionId s, const protocol::Message& m) {
  transport_.Send(s, protocol::Encode(m));
}

void ControlApi::SendError(SessionId s, ErrorCode code, std::string message,
                           std::optional<uint64_t> id) {
  metrics_->Error(code);
  Send(s, protocol::Error{code, std::move(message), id});
}

void ControlApi::Refuse(SessionId s, ErrorCode code, std::string message, std::string_view reason,
                        bool close) {
  auto it = sessions_.find(s);
  if (it != sessions_.end()) {
    const auto& p = it->second.peer;
    spdlog::warn("control: refused {} from pid {} uid {}: {}", reason, p.pid, p.uid, message);
  }
  metrics_->Rejected(reason);
  SendError(s, code, std::move(message));
  if (close) transport_.Close(s);
}

void ControlApi::OnConnect(SessionId session, PeerIdentity peer) {
  Session s;
  s.peer = peer;
  s.last_activity = clock_.Now();
  s.tokens = 2 * policy_->global.control.max_messages_per_second;
  s.tokens_at = s.last_activity;
  sessions_[session] = s;
  metrics_->SetClients(sessions_.size());
}

void ControlApi::OnDisconnect(SessionId session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (!it->second.client_name.empty()) {
    auto c = clients_.find(it->second.client_name);
    if (c != clients_.end() && c->second.session == session) {
      c->second.session.reset();
      spdlog::info("control: client '{}' (pid {}) disconnected; kept as gone", c->first,
                   c->second.pid);
    }
  }
  sessions_.erase(it);
  metrics_->SetClients(sessions_.size());
}

void ControlApi::OnTransportError(SessionId session, ErrorCode code, std::string message) {
  std::string_view reason = protocol::ErrorCodeName(code);
  Refuse(session, code, std::move(message), reason, /*close=*/false);
}

bool ControlApi::TakeToken(Session& s) {
  const double rate = policy_->global.control.max_messages_per_second;
  if (rate <= 0) return true;
  MonoTime now = clock_.Now();
  s.tokens = std::min(2 * rate, s.tokens + ToSeconds(now - s.tokens_at) * rate);
  s.tokens_at = now;
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}

void ControlApi::OnLine(SessionId id, std::string_view line) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  s.last_activity = clock_.Now();
  if (!TakeToken(s)) {
    metrics_->Rejected("rate_limited");
    // One error per second at most: answering every dropped message would amplify the flood.
    if (!s.rate_error_sent || s.last_activity - s.last_rate_error >= std::chrono::seconds(1)) {
      s.rate_error_sent = true;
      s.last_rate_error = s.last_activity;
      SendError(id, ErrorCode::kRateLimited,
                "more than " + std::to_string(policy_->global.control.max_messages_per_second) +
                    " messages per second; messages are being dropped");
    }
    return;
  }
  protocol::DecodeError err;
  auto decoded = protocol::Decode(line, &err);
  if (!decoded.ok()) {
    metrics_->Message("invalid");
    SendError(id, err.code, err.message, err.id);
    return;
  }
  metrics_->Message(protocol::TypeName(*decoded));
  protocol::Message msg = std::move(*decoded);
  if (auto* hello = std::get_if<protocol::Hello>(&msg)) {
    HandleHello(id, s, std::move(*hello));
  } else if (auto* report = std::get_if<protocol::Report>(&msg)) {
    HandleReport(id, s, std::move(*report));
  } else if (auto* ack = std::get_if<protocol::Ack>(&msg)) {
    HandleAck(id, s, *ack);
  } else if (std::holds_alternative<protocol::Bye>(msg)) {
    transport_.Close(id);
  } else if (auto* req = std::get_if<protocol::AdminRequest>(&msg)) {
    HandleAdmin(id, s, *req);
  } else if (std::holds_alternative<protocol::Error>(msg)) {
    spdlog::info("control: client pid {} reported an error: {}", s.peer.pid,
                 std::get<protocol::Error>(msg).message);
  } else {
    SendError(id, ErrorCode::kBadMessage,
              "'" + std::string(protocol::TypeName(msg)) +
                  "' is sent by the daemon, not to it; targets send hello/report/ack/bye");
  }
}

std::string ControlApi::ResolveTarget(const std::string& client_name) const {
  const TargetPolicy* t = policy_->FindRegistered(client_name);
  return t ? t->name : std::string();
}

Mode ControlApi::EffectiveMode(const std::string& target) const {
  if (auto o = ModeOverride(target)) return *o;
  if (const TargetPolicy* t = policy_->FindTarget(target)) return t->mode;
  return policy_->global.mode;
}

void ControlApi::HandleHello(SessionId id, Session& s, protocol::Hello hello) {
  if (!s.client_name.empty()) {
    SendError(id, ErrorCode::kAlreadyRegistered,
              "this connection already said hello as '" + s.client_name + "'");
    return;
  }
  if (hello.pid != s.peer.pid) {
    Refuse(id, ErrorCode::kPidMismatch,
           "hello pid " + std::to_string(hello.pid) + " is not the connecting process (pid " +
               std::to_string(s.peer.pid) + "); a process may only register itself",
           "pid_mismatch", /*close=*/true);
    return;
  }
  auto existing = clients_.find(hello.name);
  if (existing != clients_.end() && existing->second.session && *existing->second.session != id) {
    Refuse(id, ErrorCode::kAlreadyRegistered,
           "name '" + hello.name + "' is already registered by pid " +
               std::to_string(existing->second.pid) + "; use a distinct name per process",
           "already_registered", /*close=*/true);
    return;
  }
  Client& c = clients_[hello.name];
  bool resumed = c.reports > 0 || !c.name.empty();
  c.name = hello.name;
  c.target = ResolveTarget(hello.name);
  c.session = id;
  c.pid = hello.pid;
  c.knobs = std::move(hello.knobs);
  c.session_tag = "s" + std::to_string(++session_counter_) + "-" + std::to_string(hello.pid);
  s.client_name = hello.name;
  spdlog::info("control: client '{}' pid {} {} (target '{}', {} knobs)", c.name, c.pid,
               resumed ? "reconnected" : "registered", c.target, c.knobs.size());
  protocol::Welcome w;
  w.session = c.session_tag;
  w.target = c.target;
  w.tick_interval_seconds = ToSeconds(policy_->global.tick_interval);
  if (w.tick_interval_seconds <= 0) w.tick_interval_seconds = 1;
  w.mode = std::string(ModeName(EffectiveMode(c.target)));
  Send(id, w);
}

void ControlApi::HandleReport(SessionId id, Session& s, protocol::Report report) {
  if (s.client_name.empty()) {
    SendError(id, ErrorCode::kNotRegistered, "send hello before report");
    return;
  }
  Client& c = clients_[s.client_name];
  report.app.received = clock_.WallNow();
  c.latest = std::move(report.app);
  c.latest_at = clock_.Now();
  ++c.reports;
}

void ControlApi::HandleAck(SessionId id, Session& s, const protocol::Ack& ack) {
  if (s.client_name.empty()) {
    SendError(id, ErrorCode::kNotRegistered, "send hello before ack");
    return;
  }
  auto p = pending_.find(ack.id);
  if (p == pending_.end() || p->second.client != s.client_name) {
    SendError(id, ErrorCode::kUnknownRecommendation,
              "no pending set with id " + std::to_string(ack.id) + " for '" + s.client_name +
                  "' (already acked or expired)");
    return;
  }
  pending_.erase(p);
  Client& c = clients_[s.client_name];
  if (ack.value && c.latest && !ack.knob.empty()) c.latest->knobs[ack.knob] = *ack.value;
  Outcome o = ack.result == protocol::AckResult::kApplied ? Outcome::kApplied : Outcome::kRejected;
  spdlog::info("control: '{}' {} recommendation {} ({}){}", s.client_name,
               protocol::AckResultName(ack.result), ack.id, ack.knob,
               ack.reason.empty() ? "" : ": " + ack.reason);
  if (outcome_sink_) outcome_sink_(ack.id, o, ack.reason);
}

ControlApi::Client* ControlApi::FindClientByTarget(const std::string& target) {
  Client* fallback = nullptr;
  for (auto& [name, c] : clients_) {
    if (c.target == target) {
      if (c.session) return &c;
      fallback = &c;
    }
  }
  if (fallback) return fallback;
  auto it = clients_.find(target);
  return it == clients_.end() ? nullptr : &it->second;
}

void ControlApi::Publish(const Recommendation& rec) {
  auto outcome = [&](Outcome o, std::string reason) {
    spdlog::info("control: recommendation {} for '{}' not delivered: {}", rec.id, rec.target,
                 reason);
    if (outcome_sink_) outcome_sink_(rec.id, o, reason);
  };
  if (Paused(rec.target)) {
    outcome(Outcome::kVetoed, "target '" + rec.target + "' is paused by the operator");
    return;
  }
  Mode mode = EffectiveMode(rec.target);
  if (mode == Mode::kObserve) {
    outcome(Outcome::kVetoed, "target '" + rec.target + "' is in observe mode");
    return;
  }
  bool advisory = mode != Mode::kApply;
  Client* c = FindClientByTarget(rec.target);
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
  Send(*c->session, set);
}

void ControlApi::Sweep() {
  MonoTime now = clock_.Now();
  auto idle = policy_->global.control.idle_timeout;
  std::vector<SessionId> idle_sessions;
  for (const auto& [id, s] : sessions_)
    if (idle.count() > 0 && now - s.last_activity > idle) idle_sessions.push_back(id);
  for (SessionId id : idle_sessions) {
    Refuse(id, ErrorCode::kIdleTimeout,
           "no complete message for " + std::to_string(ToSeconds(idle)) +
               " s; closing (targets should report every tick)",
           "idle_timeout", /*close=*/true);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.expires) {
      uint64_t id = it->first;
      bool advisory = it->second.advisory;
      std::string client = it->second.client;
      it = pending_.erase(it);
      if (!advisory && outcome_sink_)
        outcome_sink_(id, Outcome::kExpired, "no ack from '" + client + "' before expiry");
    } else {
      ++it;
    }
  }
}

std::map<std::string, pid_t> ControlApi::RegisteredPids() const {
  std::map<std::string, pid_t> out;
  for (const auto& [name, c] : clients_)
    if (c.session) out[name] = c.pid;
  return out;
}

bool ControlApi::ApplyOverrides(Policy& policy) const {
  if (paused_.empty() && mode_overrides_.empty()) return false;
  for (TargetPolicy& t : policy.targets) {
    if (auto o = ModeOverride(t.name)) t.mode = *o;
    if (paused_.count(t.name) != 0) t.mode = Mode::kObserve;
  }
  return true;
}

void ControlApi::MergeReports(const Policy& /*policy*/, Snapshot& snapshot) {
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
    if (it != snapshot.targets.end()) it->second.state = TargetState::kPaused;
  }
}

bool ControlApi::KnownTarget(const std::string& target) const {
  return policy_->FindTarget(target) != nullptr || clients_.count(target) != 0;
}

protocol::TargetInfo ControlApi::ClientTargetInfo(const Client& c) const {
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

namespace {

ErrorCode CodeFor(const Status& s, ErrorCode not_found) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return not_found;
    case StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidArgument;
    case StatusCode::kUnavailable:
    case StatusCode::kUnimplemented:
    case StatusCode::kFailedPrecondition:
      return ErrorCode::kUnavailable;
    case StatusCode::kPermissionDenied:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

void ControlApi::HandleAdmin(SessionId id, Session& s, const protocol::AdminRequest& req) {
  using protocol::AdminOp;
  const std::string op(protocol::AdminOpName(req.op));
  if (!s.peer.admin) {
    std::string group = policy_->global.control.admin_group;
    Refuse(id, ErrorCode::kPermissionDenied,
           "'" + op + "' needs root" +
               (group.empty() ? std::string() : " or membership in group '" + group + "'") +
               " (you are uid " + std::to_string(s.peer.uid) + ")",
           "permission_denied", /*close=*/false);
    return;
  }
  auto fail = [&](ErrorCode code, std::string message) {
    SendError(id, code, std::move(message), req.id);
  };
  bool needs_target = req.op == AdminOp::kShow || req.op == AdminOp::kHistory ||
                      req.op == AdminOp::kPause || req.op == AdminOp::kResume ||
                      req.op == AdminOp::kMode;
  if (needs_target && !KnownTarget(req.target)) {
    fail(ErrorCode::kUnknownTarget,
         "no target or client named '" + req.target + "' (see `knobctl targets`)");
    return;
  }
  protocol::AdminReply reply;
  reply.op = req.op;
  reply.id = req.id;
  switch (req.op) {
    case AdminOp::kStatus: {
      protocol::StatusInfo st;
      if (backend_) {
        auto r = backend_->GetStatus();
        if (r.ok()) st = std::move(*r);
      }
      if (st.pid == 0) st.pid = getpid();
      if (st.mode.empty()) st.mode = std::string(ModeName(policy_->global.mode));
      if (st.policy_source.empty()) st.policy_source = policy_->source;
      if (st.tick_interval_seconds == 0)
        st.tick_interval_seconds = ToSeconds(policy_->global.tick_interval);
      std::set<std::string> names;
      for (const auto& t : policy_->targets) names.insert(t.name);
      for (const auto& [name, c] : clients_) names.insert(c.target.empty() ? name : c.target);
      st.targets = static_cast<uint32_t>(names.size());
      st.clients = static_cast<uint32_t>(connected_clients());
      reply.status = std::move(st);
      break;
    }
    case AdminOp::kTargets: {
      std::vector<protocol::TargetInfo> rows;
      if (backend_) {
        auto r = backend_->GetTargets();
        if (r.ok()) rows = std::move(*r);
      }
      if (rows.empty()) {
        for (const auto& t : policy_->targets) {
          protocol::TargetInfo row;
          row.name = t.name;
          row.state = "pending";
          rows.push_back(std::move(row));
        }
      }
      for (const auto& [name, c] : clients_) {
        protocol::TargetInfo ci = ClientTargetInfo(c);
        auto row = std::find_if(rows.begin(), rows.end(),
                                [&](const auto& r) { return r.name == ci.name; });
        if (row == rows.end()) {
          rows.push_back(ci);
          continue;
        }
        row->connected = ci.connected;
        row->pid = ci.pid != 0 ? ci.pid : row->pid;
        row->last_report_age_seconds = ci.last_report_age_seconds;
        row->reports = ci.reports;
        row->recommendations = std::max(row->recommendations, ci.recommendations);
        if (row->state == "pending" || row->state == "gone" || row->state.empty())
          row->state = ci.state;
      }
      for (auto& row : rows) {
        row.mode = std::string(ModeName(EffectiveMode(row.name)));
        if (Paused(row.name)) row.state = "paused";
      }
      reply.targets = std::move(rows);
      break;
    }
    case AdminOp::kShow: {
      protocol::ShowInfo info;
      if (backend_) {
        auto r = backend_->Show(req.target);
        if (r.ok()) info = std::move(*r);
      }
      info.target.name = req.target;
      if (info.target.state.empty()) info.target.state = "pending";
      if (Client* c = FindClientByTarget(req.target)) {
        protocol::TargetInfo ci = ClientTargetInfo(*c);
        info.target.connected = ci.connected;
        info.target.pid = ci.pid;
        info.target.last_report_age_seconds = ci.last_report_age_seconds;
        info.target.reports = ci.reports;
        info.target.recommendations = ci.recommendations;
        if (info.target.state == "pending" || info.target.state == "gone")
          info.target.state = ci.state;
        info.app = c->latest;
        info.knobs = c->knobs;
        if (c->latest)
          for (auto& k : info.knobs)
            if (auto v = c->latest->knobs.find(k.name); v != c->latest->knobs.end())
              k.value = v->second;
      }
      info.target.mode = std::string(ModeName(EffectiveMode(req.target)));
      if (Paused(req.target)) info.target.state = "paused";
      reply.show = std::move(info);
      break;
    }
    case AdminOp::kHistory: {
      if (!backend_) return fail(ErrorCode::kUnavailable, "history is not available");
      auto r = backend_->History(req.target, req.limit);
      if (!r.ok())
        return fail(CodeFor(r.status(), ErrorCode::kUnknownTarget), r.status().message());
      reply.history = std::move(*r);
      break;
    }
    case AdminOp::kExplain: {
      if (!backend_) return fail(ErrorCode::kUnavailable, "explain is not available");
      auto r = backend_->Explain(req.recommendation);
      if (!r.ok())
        return fail(CodeFor(r.status(), ErrorCode::kUnknownRecommendation), r.status().message());
      reply.recommendation = std::move(r->first);
      reply.explanation = std::move(r->second);
      break;
    }
    case AdminOp::kPause:
      paused_.insert(req.target);
      reply.message = "paused " + req.target +
                      ": knobd keeps observing it and sends no recommendation until resume";
      spdlog::info("control: operator uid {} paused '{}'", s.peer.uid, req.target);
      break;
    case AdminOp::kResume:
      reply.message =
          paused_.erase(req.target) ? "resumed " + req.target : req.target + " was not paused";
      spdlog::info("control: operator uid {} resumed '{}'", s.peer.uid, req.target);
      break;
    case AdminOp::kMode: {
      auto m = ParseMode(req.mode);
      if (!m)
        return fail(ErrorCode::kInvalidArgument,
                    "mode must be observe, recommend or apply, got '" + req.mode + "'");
      Mode before = EffectiveMode(req.target);
      mode_overrides_[req.target] = *m;
      reply.message = "mode of " + req.target + ": " + std::string(ModeName(before)) + " -> " +
                      std::string(ModeName(*m)) + " (until restart; the policy file is unchanged)";
      spdlog::info("control: operator uid {} set mode of '{}' to {}", s.peer.uid, req.target,
                   ModeName(*m));
      break;
    }
    case AdminOp::kReload: {
      if (!backend_) return fail(ErrorCode::kUnavailable, "reload is not available");
      auto r = backend_->Reload();
      if (!r.ok())
        return fail(CodeFor(r.status(), ErrorCode::kInvalidArgument), r.status().message());
      reply.message = std::move(*r);
      break;
    }
  }
  Send(id, reply);
}

}  // namespace knob
