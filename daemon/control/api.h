// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control socket's sessions, without the socket: identity checks, rate limits, idle
// timeouts, decoding, and dispatch of each message to where it belongs: hello, report and ack
// to the ClientRegistry (daemon/control/client_registry.h: the clients, their reports, pending
// sets and operator overrides; the tick's Publisher and AppReportSource), admin requests to the
// admin operations (daemon/control/admin_ops.h). The server (daemon/control/server.h) feeds it
// lines and connection events; it answers through the Transport. Unit tests drive it with a
// FakeClock and a recording Transport.
// Thread rule: loop thread only.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/policy.h"
#include "core/brain_queries.h"
#include "core/clock.h"
#include "core/protocol/messages.h"
#include "daemon/control/admin_backend.h"
#include "daemon/control/client_registry.h"
#include "daemon/control/control_metrics.h"

namespace prometheus {
class Registry;
}

namespace knob {

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool admin = false;  // root, the daemon's own uid, or a member of control.admin_group
};

class ControlApi {
 public:
  // `backend` and `registry` may be null. The policy must be set before the first hello.
  ControlApi(const Clock& clock, Transport& transport, AdminBackend* backend,
             prometheus::Registry* registry);
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  void SetPolicy(std::shared_ptr<const Policy> policy);
  // Null: outcomes are dropped. The sink must outlive this object.
  void SetOutcomeSink(OutcomeSink* sink) { clients_.SetOutcomeSink(sink); }
  void SetBackend(AdminBackend* backend) { backend_ = backend; }

  // --- Transport events ---
  void OnConnect(SessionId session, PeerIdentity peer);
  void OnLine(SessionId session, std::string_view line);
  void OnDisconnect(SessionId session);
  // A protocol failure the transport detected (oversized line, too many clients): counts it,
  // sends the error (the transport closes afterwards).
  void OnTransportError(SessionId session, protocol::ErrorCode code, std::string message);
  // Closes sessions idle longer than the idle timeout and expires unacked sets. Call about once
  // a second.
  void Sweep();

  // The registered clients: the tick's Publisher and AppReportSource.
  ClientRegistry& clients() { return clients_; }
  const ClientRegistry& clients() const { return clients_; }

  // --- Introspection (tests, status) ---
  size_t sessions() const { return sessions_.size(); }

 private:
  struct Session {
    PeerIdentity peer;
    MonoTime last_activity{};
    double tokens = 0;
    MonoTime tokens_at{};
    MonoTime last_rate_error{};
    bool rate_error_sent = false;
    std::string client_name;  // set by hello
  };

  void Send(SessionId s, const protocol::Message& m);
  void SendError(SessionId s, protocol::ErrorCode code, std::string message,
                 std::optional<uint64_t> id = std::nullopt);
  void Refuse(SessionId s, protocol::ErrorCode code, std::string message, std::string_view reason,
              bool close);
  bool TakeToken(Session& s);
  void HandleHello(SessionId id, Session& s, protocol::Hello hello);
  void HandleReport(SessionId id, Session& s, protocol::Report report);
  void HandleAck(SessionId id, Session& s, const protocol::Ack& ack);
  void HandleAdmin(SessionId id, Session& s, const protocol::AdminRequest& req);

  const Clock& clock_;
  Transport& transport_;
  AdminBackend* backend_;
  ControlMetrics metrics_;
  ClientRegistry clients_;
  std::map<SessionId, Session> sessions_;
};

}  // namespace knob
