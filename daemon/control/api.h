#pragma once
// The control socket's behaviour, without the socket: sessions, identity checks, rate limits,
// the registry of registered clients and their latest reports, set/ack bookkeeping, operator
// overrides (pause, mode) and admin queries. The server (daemon/control/server.h) feeds it lines
// and connection events; it answers through the Transport. Unit tests drive it with a FakeClock
// and a recording Transport.
//
// It is also what the rest of knobd sees of the control socket:
//   - Publisher: Publish() sends `set` to the target's client (advisory in recommend mode,
//     dropped while paused or in observe mode).
//   - AppReportSource: RegisteredPids() / MergeReports() give the tick each client's pid and
//     latest report; paused targets are marked TargetState::kPaused.
//   - acks and expiries go to the outcome sink (the Decider's OnOutcome).
// Thread rule: loop thread only.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/policy.h"
#include "core/brain_queries.h"
#include "core/clock.h"
#include "core/protocol/messages.h"
#include "core/publisher.h"
#include "core/snapshot.h"
#include "daemon/control/admin_backend.h"
#include "daemon/tick.h"

namespace prometheus {
class Registry;
}

namespace knob {

using SessionId = uint64_t;

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool admin = false;  // root, the daemon's own uid, or a member of control.admin_group
};

// How the API talks back; the server implements it over streams.
class Transport {
 public:
  virtual ~Transport() = default;
  // One encoded message; the transport adds the newline.
  virtual void Send(SessionId session, std::string encoded) = 0;
  // Flush what was sent (best effort) and close. OnDisconnect follows.
  virtual void Close(SessionId session) = 0;
};

class ControlMetrics;

class ControlApi : public Publisher, public AppReportSource {
 public:
  // `backend` and `registry` may be null. The policy must be set before the first hello.
  ControlApi(const Clock& clock, Transport& transport, AdminBackend* backend,
             prometheus::Registry* registry);
  ~ControlApi() override;
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  void SetPolicy(std::shared_ptr<const Policy> policy);
  // Null: outcomes are dropped. The sink must outlive this object.
  void SetOutcomeSink(OutcomeSink* sink) { outcome_sink_ = sink; }
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

  // --- Publisher ---
  void Publish(const Recommendation& rec) override;

  // --- AppReportSource ---
  std::map<std::string, pid_t> RegisteredPids() const override;
  void MergeReports(const Policy& policy, Snapshot& snapshot) override;
  // A paused target decides nothing (observe); a mode override wins over the policy.
  bool ApplyOverrides(Policy& policy) const override;

  // --- Introspection (tests, status) ---
  size_t sessions() const { return sessions_.size(); }
  size_t connected_clients() const;
  // Operator override of a target's mode, if any.
  std::optional<Mode> ModeOverride(const std::string& target) const;
  bool Paused(const std::string& target) const { return paused_.count(target) != 0; }

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
  // One registered client name; survives disconnects ("gone") so history and the latest report
  // stay visible.
  struct Client {
    std::string name;
    std::string target;  // policy target it belongs to ("" when none)
    std::optional<SessionId> session;
    pid_t pid = 0;
    std::string session_tag;
    std::vector<protocol::KnobInfo> knobs;
    std::optional<AppReport> latest;
    MonoTime latest_at{};
    uint64_t reports = 0;
    uint64_t recommendations = 0;
  };
  struct PendingSet {
    std::string client;
    SessionId session = 0;
    MonoTime expires{};
    bool advisory = false;
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
  std::string ResolveTarget(const std::string& client_name) const;
  Mode EffectiveMode(const std::string& target) const;
  Client* FindClientByTarget(const std::string& target);
  protocol::TargetInfo ClientTargetInfo(const Client& c) const;
  bool KnownTarget(const std::string& target) const;

  const Clock& clock_;
  Transport& transport_;
  AdminBackend* backend_;
  std::unique_ptr<ControlMetrics> metrics_;
  std::shared_ptr<const Policy> policy_;
  OutcomeSink* outcome_sink_ = nullptr;
  std::map<SessionId, Session> sessions_;
  std::map<std::string, Client> clients_;  // by registered name
  std::map<uint64_t, PendingSet> pending_;
  std::set<std::string> paused_;
  std::map<std::string, Mode> mode_overrides_;
  uint64_t session_counter_ = 0;
};

}  // namespace knob
