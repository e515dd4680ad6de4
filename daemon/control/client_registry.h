// SPDX-License-Identifier: Apache-2.0
#pragma once
// The registered clients of the control socket and what knobd keeps about them: each client's
// session, pid, knobs and latest report (kept after a disconnect, as "gone"), the sets waiting
// for an ack, and the operator's overrides (pause, mode). The tick reads it as an
// AppReportSource and publishes into it; the admin operations read it; the session layer
// (ControlApi) feeds it hellos, reports and acks.
//   - Publisher: Publish() sends `set` to the target's client (advisory in recommend mode,
//     dropped while paused or in observe mode).
//   - AppReportSource: RegisteredPids() / MergeReports() give the tick each client's pid and
//     latest report; paused targets get TargetSnapshot::paused (not a lifecycle
//     state: discovery sets the state after this runs).
//   - acks and expiries go to the OutcomeSink (the brain).
// Thread rule: loop thread only.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/policy.h"
#include "core/brain_queries.h"
#include "core/clock.h"
#include "core/protocol/messages.h"
#include "core/publisher.h"
#include "core/snapshot.h"
#include "daemon/tick.h"

namespace knob {

using SessionId = uint64_t;

// How the control side talks back; the server implements it over streams.
class Transport {
 public:
  virtual ~Transport() = default;
  // One encoded message; the transport adds the newline.
  virtual void Send(SessionId session, std::string encoded) = 0;
  // Flush what was sent (best effort) and close. OnDisconnect follows.
  virtual void Close(SessionId session) = 0;
};

// One registered client name; survives disconnects ("gone") so history and the latest report
// stay visible.
struct RegisteredClient {
  std::string name;
  std::string target;  // policy target it belongs to ("" when none)
  std::optional<SessionId> session;
  pid_t pid = 0;
  // The uid that first registered the name: only it (or root) may register it again, so a
  // gone service's target cannot be taken over by another user's process.
  uid_t uid = 0;
  std::string session_tag;
  std::vector<protocol::KnobInfo> knobs;
  std::optional<AppReport> latest;
  MonoTime latest_at{};
  MonoTime gone_at{};  // when the session closed (meaningful while !session)
  uint64_t reports = 0;
  uint64_t recommendations = 0;
};

class ClientRegistry final : public Publisher, public AppReportSource {
 public:
  ClientRegistry(const Clock& clock, Transport& transport);

  void SetPolicy(std::shared_ptr<const Policy> policy);
  const Policy& policy() const { return *policy_; }
  // Null: outcomes are dropped. The sink must outlive this object.
  void SetOutcomeSink(OutcomeSink* sink) { outcome_sink_ = sink; }

  // --- Fed by the session layer ---
  // The pid of another live session registered as `name`, if any (the name is taken).
  std::optional<pid_t> LiveOwner(const std::string& name, SessionId session) const;
  // The uid the name was first registered by, if it ever was.
  std::optional<uid_t> NameOwnerUid(const std::string& name) const;
  // Registers (or resumes) `hello.name` on `session` for peer `uid`; returns the welcome.
  protocol::Welcome Register(SessionId session, protocol::Hello hello, uid_t uid);
  void StoreReport(const std::string& client, AppReport report);
  // NotFound (with the message to send) when no set with this id waits for `client`'s ack.
  Status Ack(const std::string& client, const protocol::Ack& ack);
  // The session closed; the client stays as "gone".
  void Disconnect(SessionId session, const std::string& client);
  // Apply-mode sets not acked before their expiry go to the outcome sink as kExpired.
  void ExpirePending();
  // Forgets the longest-gone clients beyond `keep` gone ones (their name, uid claim and last
  // report): services that register a new name per process (a pid in it) would otherwise grow
  // the registry, and knobd's memory, by one entry per restart forever. Returns how many.
  size_t ForgetGone(size_t keep);

  // --- Publisher ---
  void Publish(const Recommendation& rec) override;

  // --- AppReportSource ---
  std::map<std::string, pid_t> RegisteredPids() const override;
  void MergeReports(const Policy& policy, Snapshot& snapshot) override;
  // A paused target decides nothing (observe); a mode override wins over the policy.
  bool ApplyOverrides(Policy& policy) const override;

  // --- Operator overrides (until restart) ---
  void Pause(const std::string& target) { paused_.insert(target); }
  // False when the target was not paused.
  bool Resume(const std::string& target) { return paused_.erase(target) != 0; }
  void OverrideMode(const std::string& target, Mode mode) { mode_overrides_[target] = mode; }
  bool Paused(const std::string& target) const { return paused_.count(target) != 0; }
  std::optional<Mode> ModeOverride(const std::string& target) const;
  // Override, else the target's policy mode, else the global mode.
  Mode EffectiveMode(const std::string& target) const;

  // --- Read by the admin operations ---
  const std::map<std::string, RegisteredClient>& clients() const { return clients_; }
  size_t connected_clients() const;
  // The connected client of `target`, else a gone one, else a client registered under that name.
  const RegisteredClient* FindClientByTarget(const std::string& target) const;
  protocol::TargetInfo ClientTargetInfo(const RegisteredClient& c) const;
  // A policy target or a registered client name.
  bool KnownTarget(const std::string& target) const;

 private:
  std::string ResolveTarget(const std::string& client_name) const;
  RegisteredClient* MutableClientByTarget(const std::string& target);

  struct PendingSet {
    std::string client;
    SessionId session = 0;
    MonoTime expires{};
    bool advisory = false;
  };

  const Clock& clock_;
  Transport& transport_;
  std::shared_ptr<const Policy> policy_;
  OutcomeSink* outcome_sink_ = nullptr;
  std::map<std::string, RegisteredClient> clients_;  // by registered name
  std::map<uint64_t, PendingSet> pending_;
  std::set<std::string> paused_;
  std::map<std::string, Mode> mode_overrides_;
  uint64_t session_counter_ = 0;
};

}  // namespace knob
