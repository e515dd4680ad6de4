// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/protocol/codec.h"
#include "daemon/control/admin_ops.h"

namespace knob {

using protocol::ErrorCode;

ControlApi::ControlApi(const Clock& clock, Transport& transport, AdminBackend* backend,
                       prometheus::Registry* registry)
    : clock_(clock),
      transport_(transport),
      backend_(backend),
      metrics_(registry),
      clients_(clock, transport) {}

void ControlApi::SetPolicy(std::shared_ptr<const Policy> policy) {
  clients_.SetPolicy(std::move(policy));
}

void ControlApi::Send(SessionId s, const protocol::Message& m) {
  transport_.Send(s, protocol::Encode(m));
}

void ControlApi::SendError(SessionId s, ErrorCode code, std::string message,
                           std::optional<uint64_t> id) {
  metrics_.Error(code);
  Send(s, protocol::Error{code, std::move(message), id});
}

void ControlApi::Refuse(SessionId s, ErrorCode code, std::string message, std::string_view reason,
                        bool close) {
  auto it = sessions_.find(s);
  if (it != sessions_.end()) {
    const auto& p = it->second.peer;
    spdlog::warn("control: refused {} from pid {} uid {}: {}", reason, p.pid, p.uid, message);
  }
  metrics_.Rejected(reason);
  SendError(s, code, std::move(message));
  if (close) transport_.Close(s);
}

void ControlApi::OnConnect(SessionId session, PeerIdentity peer) {
  Session s;
  s.peer = peer;
  s.last_activity = clock_.Now();
  s.tokens = 2 * clients_.policy().global.control.max_messages_per_second;
  s.tokens_at = s.last_activity;
  sessions_[session] = s;
  metrics_.SetClients(sessions_.size());
}

void ControlApi::OnDisconnect(SessionId session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (!it->second.client_name.empty()) clients_.Disconnect(session, it->second.client_name);
  sessions_.erase(it);
  metrics_.SetClients(sessions_.size());
}

void ControlApi::OnTransportError(SessionId session, ErrorCode code, std::string message) {
  std::string_view reason = protocol::ErrorCodeName(code);
  Refuse(session, code, std::move(message), reason, /*close=*/false);
}

bool ControlApi::TakeToken(Session& s) {
  const double rate = clients_.policy().global.control.max_messages_per_second;
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
    metrics_.Rejected("rate_limited");
    // One error per second at most: answering every dropped message would amplify the flood.
    if (!s.rate_error_sent || s.last_activity - s.last_rate_error >= std::chrono::seconds(1)) {
      s.rate_error_sent = true;
      s.last_rate_error = s.last_activity;
      SendError(id, ErrorCode::kRateLimited,
                "more than " +
                    std::to_string(clients_.policy().global.control.max_messages_per_second) +
                    " messages per second; messages are being dropped");
    }
    return;
  }
  protocol::DecodeError err;
  auto decoded = protocol::Decode(line, &err);
  if (!decoded.ok()) {
    metrics_.Message("invalid");
    SendError(id, err.code, err.message, err.id);
    return;
  }
  metrics_.Message(protocol::TypeName(*decoded));
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
  // A target reports and is steered only as itself: a name, once registered, belongs to that
  // uid for the daemon's lifetime (root may always take it: it can do anything anyway). Another
  // process of that uid with the same name joins the target as one more instance (a pre-fork
  // server's workers, replicas): docs/protocol.md, "Targets and instances".
  if (std::optional<uid_t> owner = clients_.NameOwnerUid(hello.name);
      owner && *owner != s.peer.uid && s.peer.uid != 0) {
    Refuse(id, ErrorCode::kPermissionDenied,
           "name '" + hello.name + "' belongs to uid " + std::to_string(*owner) +
               "; only that uid (or root) may register it",
           "name_owner", /*close=*/true);
    return;
  }
  s.client_name = hello.name;
  Send(id, clients_.Register(id, std::move(hello), s.peer.uid));
  clients_.SyncInstance(id, s.client_name);
}

void ControlApi::HandleReport(SessionId id, Session& s, protocol::Report report) {
  if (s.client_name.empty()) {
    SendError(id, ErrorCode::kNotRegistered, "send hello before report");
    return;
  }
  clients_.StoreReport(id, s.client_name, std::move(report.app));
}

void ControlApi::HandleAck(SessionId id, Session& s, const protocol::Ack& ack) {
  if (s.client_name.empty()) {
    SendError(id, ErrorCode::kNotRegistered, "send hello before ack");
    return;
  }
  Status acked = clients_.Ack(id, s.client_name, ack);
  if (!acked.ok()) SendError(id, ErrorCode::kUnknownRecommendation, acked.message());
}

void ControlApi::Sweep() {
  MonoTime now = clock_.Now();
  auto idle = clients_.policy().global.control.idle_timeout;
  std::vector<SessionId> idle_sessions;
  for (const auto& [id, s] : sessions_)
    if (idle.count() > 0 && now - s.last_activity > idle) idle_sessions.push_back(id);
  for (SessionId id : idle_sessions) {
    Refuse(id, ErrorCode::kIdleTimeout,
           "no complete message for " + std::to_string(ToSeconds(idle)) +
               " s; closing (targets should report every tick)",
           "idle_timeout", /*close=*/true);
  }
  clients_.ExpirePending();
  // As many gone clients as may be connected at once: enough for every service to restart
  // under its own name, bounded when names churn.
  clients_.ForgetGone(clients_.policy().global.control.max_clients);
}

void ControlApi::HandleAdmin(SessionId id, Session& s, const protocol::AdminRequest& req) {
  const std::string op(protocol::AdminOpName(req.op));
  if (!s.peer.admin) {
    std::string group = clients_.policy().global.control.admin_group;
    Refuse(id, ErrorCode::kPermissionDenied,
           "'" + op + "' needs root" +
               (group.empty() ? std::string() : " or membership in group '" + group + "'") +
               " (you are uid " + std::to_string(s.peer.uid) + ")",
           "permission_denied", /*close=*/false);
    return;
  }
  AdminContext ctx{clients_, backend_, s.peer.uid};
  protocol::AdminReply reply;
  if (std::optional<AdminFailure> failed = RunAdmin(ctx, req, reply)) {
    SendError(id, failed->code, std::move(failed->message), req.id);
    return;
  }
  Send(id, reply);
}

}  // namespace knob
