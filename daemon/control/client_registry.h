// SPDX-License-Identifier: Apache-2.0
#pragma once
// The registered clients of the control socket and what knobd keeps about them: each client's
// session, pid, knobs and latest report (kept after a disconnect, as "gone"), the sets waiting
// for an ack, and the operator's overrides (pause, mode). A name registered by several processes
// is one target with several instances; a name registered through a catch-all target is a
// target of its own (docs/protocol.md, "Targets and instances"). The tick reads it as an
// AppReportSource and publishes into it; the admin operations read it; the session layer
// (ControlApi) feeds it hellos, reports and acks.
//   - Publisher: Publish() sends `set` to every live instance of the target's client (advisory
//     in recommend mode, dropped while paused or in observe mode).
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
#include <string_view>
#include <unordered_map>
#include <vector>

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

// One process registered under a client name (a session). Several form one target.
struct ClientInstance {
  SessionId session = 0;
  pid_t pid = 0;
  std::string session_tag;
  std::optional<AppReport> latest;
  MonoTime latest_at{};
  uint64_t reports = 0;
  std::map<std::string, double> declared;  // knob values its hello announced
};

// One registered client name and the target it is; survives disconnects ("gone") so history
// and the latest report stay visible.
struct RegisteredClient {
  std::string name;
  std::string target;  // policy target it belongs to ("" when none)
  // The catch-all policy target this name's own target was created from ("" when the name has
  // a target of its own in the policy, or none).
  std::string template_target;
  // The first live instance (the one `targets` shows), none when every instance is gone.
  std::optional<SessionId> session;
  pid_t pid = 0;  // that instance's pid, else the last one seen
  // The uid that first registered the name: only it (or root) may register it again or add an
  // instance, so a target cannot be taken over or reported for by another user's process.
  uid_t uid = 0;
  std::string session_tag;
  std::vector<protocol::KnobInfo> knobs;
  std::map<SessionId, ClientInstance> instances;  // live ones
  // Counters of instances that have gone, so the merged counters never go backwards.
  AppReport retired;
  std::optional<AppReport> latest;  // the merge of the live instances' latest reports
  MonoTime latest_at{};
  MonoTime gone_since{};  // when the last instance left
  uint64_t reports = 0;
  uint64_t recommendations = 0;
};

class ClientRegistry final : public Publisher, public AppReportSource {
 public:
  ClientRegistry(const Clock& clock, Transport& transport);
  ClientRegistry(const ClientRegistry&) = delete;  // by_target_ points into clients_
  ClientRegistry& operator=(const ClientRegistry&) = delete;

  void SetPolicy(std::shared_ptr<const Policy> policy);
  const Policy& policy() const { return *policy_; }
  // Null: outcomes are dropped. The sink must outlive this object.
  void SetOutcomeSink(OutcomeSink* sink) { outcome_sink_ = sink; }

  // --- Fed by the session layer ---
  // The uid the name was first registered by, if it ever was.
  std::optional<uid_t> NameOwnerUid(const std::string& name) const;
  // Registers (or resumes) `hello.name` on `session` for peer `uid`; returns the welcome.
  protocol::Welcome Register(SessionId session, protocol::Hello hello, uid_t uid);
  // After the welcome: an instance joining a target in apply mode whose other instances run
  // other knob values than it announced (a worker respawned with its defaults) is sent theirs,
  // so one target runs one setting. Its acks settle nothing in the brain.
  void SyncInstance(SessionId session, const std::string& client);
  void StoreReport(SessionId session, const std::string& client, AppReport report);
  // NotFound (with the message to send) when no set with this id waits for this instance's ack.
  // A set counts as applied when every live instance acked it applied; when some applied and
  // others rejected (or did not ack before expiry), those that applied get the old value back
  // and the brain hears a rejection naming the partial apply.
  Status Ack(SessionId session, const std::string& client, const protocol::Ack& ack);
  // The session closed; the client stays as "gone".
  void Disconnect(SessionId session, const std::string& client);
  // Apply-mode sets not acked by every instance before their expiry go to the outcome sink as
  // kExpired (or, when some instances applied them, are rolled back there and reported).
  void ExpirePending();
  // Forgets the longest-gone clients beyond `keep` gone ones (their name, uid claim and last
  // report): services that register a new name per process (a pid in it) would otherwise grow
  // the registry, and knobd's memory, by one entry per restart forever. Returns how many.
  size_t ForgetGone(size_t keep);

  // --- Publisher ---
  void Publish(const Recommendation& rec) override;

  // --- AppReportSource ---
  std::map<std::string, pid_t> RegisteredPids() const override;
  std::map<std::string, std::vector<pid_t>> InstancePids() const override;
  // Each target gets the merge of its instances' latest reports, as one instance sees it
  // (daemon/control/report_merge.h).
  void MergeReports(const Policy& policy, Snapshot& snapshot) override;
  // Adds a target for every name registered through a catch-all (`registered: "*"`), copied
  // from it, and drops the catch-all itself (it is a template, never a service); then a paused
  // target decides nothing (observe) and a mode override wins over the policy.
  bool ApplyOverrides(Policy& policy) const override;
  // The policy as the tick sees it: ApplyOverrides applied to the current policy.
  Policy EffectivePolicy() const;

  // --- Operator overrides (until restart) ---
  void Pause(const std::string& target) { paused_.insert(target); }
  // False when the target was not paused.
  bool Resume(const std::string& target) { return paused_.erase(target) != 0; }
  void OverrideMode(const std::string& target, Mode mode) { mode_overrides_[target] = mode; }
  // Paused itself or through the catch-all it was created from.
  bool Paused(const std::string& target) const;
  std::optional<Mode> ModeOverride(const std::string& target) const;
  // Override, else the override of its catch-all, else the target's policy mode (its
  // catch-all's for a created target), else the global mode.
  Mode EffectiveMode(const std::string& target) const;

  // --- Read by the admin operations ---
  const std::map<std::string, RegisteredClient>& clients() const { return clients_; }
  size_t connected_clients() const;
  // The connected client of `target`, else a gone one, else a client registered under that name.
  const RegisteredClient* FindClientByTarget(const std::string& target) const;
  protocol::TargetInfo ClientTargetInfo(const RegisteredClient& c) const;
  // A policy target, a target created from a catch-all, or a registered client name.
  bool KnownTarget(const std::string& target) const;
  // Each live instance of the client, for `show`.
  std::vector<protocol::InstanceInfo> Instances(const RegisteredClient& c) const;

 private:
  // Sets c.target and c.template_target from the policy.
  void Resolve(RegisteredClient& c) const;
  // Created targets still in the tick (live, or gone for less than the retention).
  size_t CreatedTargets() const;
  RegisteredClient* MutableClientByTarget(const std::string& target);
  // The catch-all a created target came from ("" for any other).
  std::string TemplateOf(const std::string& target) const;
  // Leader, merged report and gone time after instances changed.
  void Refresh(RegisteredClient& c);
  // The clients whose target is `target`, in name order (null: none), and the current policy's
  // target of that name. Publish runs once per target per tick and asks both several times;
  // as scans of every client and every policy target they made a fan-out to N targets cost
  // O(N^2) (bench/control: ~5 us of the 14 us per publish at 1 000 targets).
  const std::vector<RegisteredClient*>* ClientsOf(const std::string& target) const;
  const TargetPolicy* PolicyTarget(std::string_view name) const;
  // Keep by_target_ in step with c.target (Resolve, ForgetGone).
  void Unindex(RegisteredClient& c) const;
  void Index(RegisteredClient& c) const;

  enum class InstanceAck { kWaiting, kApplied, kRejected };
  struct InstanceAckState {
    pid_t pid = 0;
    InstanceAck state = InstanceAck::kWaiting;
    std::string reason;
  };
  struct PendingSet {
    std::string client;
    std::map<SessionId, InstanceAckState> instances;
    MonoTime expires{};
    bool advisory = false;
    // Sent by the registry itself (the old value after a partial apply, an instance sync): acks
    // are taken without an outcome.
    bool internal = false;
    std::string knob;
    double old_value = 0, new_value = 0;
  };
  // Every instance answered (or, with `expired`, the time is up): tells the outcome sink and
  // rolls back a partial apply.
  void Settle(std::map<uint64_t, PendingSet>::iterator it, bool expired);

  const Clock& clock_;
  Transport& transport_;
  std::shared_ptr<const Policy> policy_;
  OutcomeSink* outcome_sink_ = nullptr;
  std::map<std::string, RegisteredClient> clients_;  // by registered name
  // ClientsOf's index, kept by Resolve (the only writer of a client's target) and ForgetGone;
  // map nodes never move, so the pointers hold until the client is erased. Mutable because
  // Resolve runs from const lookups' callers too.
  mutable std::unordered_map<std::string, std::vector<RegisteredClient*>> by_target_;
  // Into *policy_, which is immutable while held: rebuilt by SetPolicy.
  std::unordered_map<std::string_view, const TargetPolicy*> policy_targets_;
  std::map<uint64_t, PendingSet> pending_;
  std::set<std::string> paused_;
  std::map<std::string, Mode> mode_overrides_;
  uint64_t session_counter_ = 0;
  uint64_t sync_counter_ = 0;
};

}  // namespace knob
