// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <set>

#include "config/policy_loader.h"
#include "core/protocol/codec.h"
#include "tests/support/fake_clock.h"

namespace knob {
namespace {

using protocol::ErrorCode;

class RecordingTransport : public Transport {
 public:
  void Send(SessionId s, std::string encoded) override { sent[s].push_back(std::move(encoded)); }
  void Close(SessionId s) override { closed.push_back(s); }
  // Decoded messages sent to `s`, consumed.
  std::vector<protocol::Message> Take(SessionId s) {
    std::vector<protocol::Message> out;
    for (const auto& line : sent[s]) {
      auto m = protocol::Decode(line);
      EXPECT_TRUE(m.ok()) << line;
      if (m.ok()) out.push_back(*m);
    }
    sent[s].clear();
    return out;
  }
  std::map<SessionId, std::vector<std::string>> sent;
  std::vector<SessionId> closed;
};

std::shared_ptr<const Policy> TestPolicy(double rate = 100) {
  Policy p;
  p.source = "<test>";
  p.global.mode = Mode::kRecommend;
  p.global.tick_interval = std::chrono::milliseconds(500);
  p.global.control.max_messages_per_second = rate;
  p.global.control.idle_timeout = std::chrono::seconds(10);
  p.global.control.admin_group = "knobadm";
  TargetPolicy t;
  t.name = "svc";
  t.selector.registered = "example-service";
  t.mode = Mode::kApply;
  p.targets.push_back(t);
  TargetPolicy t2;
  t2.name = "other";
  t2.mode = Mode::kRecommend;
  p.targets.push_back(t2);
  return std::make_shared<const Policy>(std::move(p));
}

std::string HelloLine(const std::string& name, pid_t pid) {
  protocol::Hello h;
  h.name = name;
  h.pid = pid;
  h.knobs.push_back({"worker_threads", 4, 1, 64, "threads"});
  return protocol::Encode(h);
}

// A copy, so callers may pass a temporary.
template <typename T>
std::optional<T> Last(const std::vector<protocol::Message>& msgs) {
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
    if (auto* m = std::get_if<T>(&*it)) return *m;
  return std::nullopt;
}

class ControlApiTest : public ::testing::Test, public OutcomeSink {
 protected:
  ControlApiTest() : api_(clock_, transport_, nullptr, &registry_) {
    api_.SetPolicy(TestPolicy());
    api_.SetOutcomeSink(this);
  }
  void OnOutcome(uint64_t id, Outcome o, const std::string& r) override {
    outcomes_.push_back({id, o, r});
  }
  void Connect(SessionId s, pid_t pid, bool admin = false) {
    api_.OnConnect(s, PeerIdentity{pid, admin ? 0u : 1000u, 1000, admin});
  }
  void Register(SessionId s, pid_t pid, const std::string& name = "example-service") {
    Connect(s, pid);
    api_.OnLine(s, HelloLine(name, pid));
  }
  struct Out {
    uint64_t id;
    Outcome outcome;
    std::string reason;
  };
  test::FakeClock clock_;
  RecordingTransport transport_;
  prometheus::Registry registry_;
  ControlApi api_;
  std::vector<Out> outcomes_;
};

TEST_F(ControlApiTest, HelloGetsWelcomeWithTargetModeAndTick) {
  Register(1, 100);
  auto msgs = transport_.Take(1);
  const auto w = Last<protocol::Welcome>(msgs);
  ASSERT_NE(w, std::nullopt);
  EXPECT_EQ(w->target, "svc");
  EXPECT_EQ(w->mode, "apply");
  EXPECT_EQ(w->tick_interval_seconds, 0.5);
  EXPECT_EQ(api_.clients().RegisteredPids().at("example-service"), 100);
}

TEST_F(ControlApiTest, SpoofedPidIsRefusedAndClosed) {
  Connect(1, 100);
  api_.OnLine(1, HelloLine("example-service", 1));
  auto msgs = transport_.Take(1);
  const auto e = Last<protocol::Error>(msgs);
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kPidMismatch);
  EXPECT_EQ(transport_.closed, std::vector<SessionId>{1});
  EXPECT_TRUE(api_.clients().RegisteredPids().empty());
}

TEST_F(ControlApiTest, GarbageGetsErrorAndConnectionStays) {
  Connect(1, 100);
  api_.OnLine(1, "not json");
  api_.OnLine(1, "{\"v\":1,\"type\":\"launch\"}");
  api_.OnLine(1, "{\"v\":9,\"type\":\"bye\"}");
  auto msgs = transport_.Take(1);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(std::get<protocol::Error>(msgs[0]).code, ErrorCode::kBadJson);
  EXPECT_EQ(std::get<protocol::Error>(msgs[1]).code, ErrorCode::kUnknownType);
  EXPECT_EQ(std::get<protocol::Error>(msgs[2]).code, ErrorCode::kVersionMismatch);
  EXPECT_TRUE(transport_.closed.empty());
}

TEST_F(ControlApiTest, ReportBeforeHelloIsNotRegistered) {
  Connect(1, 100);
  api_.OnLine(1, "{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0}");
  const auto e = Last<protocol::Error>(transport_.Take(1));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kNotRegistered);
}

TEST_F(ControlApiTest, ReportIsMergedIntoTheTargetSnapshot) {
  Register(1, 100);
  api_.OnLine(1,
              "{\"v\":1,\"type\":\"report\",\"seq\":1,\"requests_total\":50,\"errors_total\":2,"
              "\"pools\":{\"workers\":{\"size\":4,\"busy\":3}}}");
  Snapshot snap;
  snap.targets["svc"].name = "svc";
  snap.targets["other"].name = "other";
  api_.clients().MergeReports(Policy{}, snap);
  ASSERT_TRUE(snap.targets["svc"].app);
  EXPECT_EQ(snap.targets["svc"].app->requests_total, 50);
  EXPECT_EQ(snap.targets["svc"].app->pools.at("workers").busy, 3);
  EXPECT_EQ(snap.targets["svc"].app->received, clock_.WallNow());
  EXPECT_EQ(snap.targets["svc"].state, TargetState::kActive);
  EXPECT_FALSE(snap.targets["other"].app);
}

TEST_F(ControlApiTest, DisconnectKeepsGoneAndReconnectResumes) {
  Register(1, 100);
  api_.OnLine(1, "{\"v\":1,\"type\":\"report\",\"requests_total\":5,\"errors_total\":0}");
  api_.OnDisconnect(1);
  EXPECT_TRUE(api_.clients().RegisteredPids().empty());
  Snapshot snap;
  snap.targets["svc"].name = "svc";
  api_.clients().MergeReports(Policy{}, snap);
  EXPECT_EQ(snap.targets["svc"].state, TargetState::kGone);
  ASSERT_TRUE(snap.targets["svc"].app);  // history stays
  Register(2, 101);
  EXPECT_NE(Last<protocol::Welcome>(transport_.Take(2)), std::nullopt);
  EXPECT_EQ(api_.clients().RegisteredPids().at("example-service"), 101);
}

// issue 15: a second process with the same name (a pre-fork worker, a replica) is one more
// instance of the same target, not a refused duplicate.
TEST_F(ControlApiTest, SecondLiveClientWithSameNameJoinsAsAnInstance) {
  Register(1, 100);
  Register(2, 200);
  const auto w = Last<protocol::Welcome>(transport_.Take(2));
  ASSERT_NE(w, std::nullopt);
  EXPECT_EQ(w->target, "svc");
  EXPECT_TRUE(transport_.closed.empty());
  const RegisteredClient* c = api_.clients().FindClientByTarget("svc");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->instances.size(), 2u);
  EXPECT_EQ(api_.clients().ClientTargetInfo(*c).instances, 2u);
  EXPECT_EQ(api_.clients().RegisteredPids().at("example-service"), 100);
  api_.OnDisconnect(1);  // the first leaves: the second leads
  EXPECT_EQ(api_.clients().RegisteredPids().at("example-service"), 200);
}

// The security rule holds for instances: only the name's uid may add one.
TEST_F(ControlApiTest, AnotherUidCannotJoinALiveName) {
  Register(1, 100);  // uid 1000
  api_.OnConnect(2, PeerIdentity{200, 2000, 2000, false});
  api_.OnLine(2, HelloLine("example-service", 200));
  const auto e = Last<protocol::Error>(transport_.Take(2));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(transport_.closed, std::vector<SessionId>{2});
  EXPECT_EQ(api_.clients().FindClientByTarget("svc")->instances.size(), 1u);
}

std::string ReportLine(int requests, int busy, int slow) {
  return "{\"v\":1,\"type\":\"report\",\"requests_total\":" + std::to_string(requests) +
         ",\"errors_total\":0,\"in_flight\":2,\"pools\":{\"workers\":{\"size\":4,\"busy\":" +
         std::to_string(busy) + "}},\"latency\":{\"bounds\":[0.01,0.1,1],\"counts\":[90,0," +
         std::to_string(slow) + "],\"sum\":1},\"knobs\":{\"worker_threads\":4}}";
}

TEST_F(ControlApiTest, InstancesReportsAreMergedAndSurviveARespawn) {
  Register(1, 100);
  Register(2, 200);
  api_.OnLine(1, ReportLine(100, 3, 0));
  api_.OnLine(2, ReportLine(50, 1, 10));
  Snapshot snap;
  snap.targets["svc"].name = "svc";
  api_.clients().MergeReports(Policy{}, snap);
  ASSERT_TRUE(snap.targets["svc"].app);
  const AppReport& a = *snap.targets["svc"].app;
  EXPECT_EQ(a.requests_total, 150);
  EXPECT_EQ(a.in_flight, 4);
  // The model sees what one instance sees: the pool knob is set on each.
  EXPECT_EQ(a.pools.at("workers").size, 4);
  EXPECT_EQ(a.pools.at("workers").busy, 2);
  EXPECT_EQ(a.latency_bucket_counts, (std::vector<uint64_t>{180, 0, 10}));
  ASSERT_TRUE(a.latency_p99_seconds);
  EXPECT_GT(*a.latency_p99_seconds, 0.1);  // the slow instance's tail is not averaged away
  // `show` has the sum and each instance.
  const RegisteredClient* c = api_.clients().FindClientByTarget("svc");
  ASSERT_TRUE(c->latest);
  EXPECT_EQ(c->latest->pools.at("workers").busy, 4);
  EXPECT_EQ(api_.clients().Instances(*c).size(), 2u);

  // A worker is respawned: its successor counts from zero, the target's counter does not.
  api_.OnDisconnect(2);
  Register(3, 300);
  api_.OnLine(3, ReportLine(5, 1, 0));
  api_.OnLine(1, ReportLine(120, 3, 0));
  Snapshot next;
  next.targets["svc"].name = "svc";
  api_.clients().MergeReports(Policy{}, next);
  EXPECT_EQ(next.targets["svc"].app->requests_total, 120 + 5 + 50);
}

TEST_F(ControlApiTest, SetGoesToEveryInstanceAndIsAppliedWhenAllAck) {
  Register(1, 100);
  Register(2, 200);
  transport_.Take(1);
  transport_.Take(2);
  Recommendation rec;
  rec.id = 11;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.old_value = 4;
  rec.new_value = 6;
  api_.clients().Publish(rec);
  ASSERT_NE(Last<protocol::Set>(transport_.Take(1)), std::nullopt);
  ASSERT_NE(Last<protocol::Set>(transport_.Take(2)), std::nullopt);
  const std::string applied =
      "{\"v\":1,\"type\":\"ack\",\"id\":11,\"knob\":\"worker_threads\",\"result\":"
      "\"applied\",\"value\":6}";
  api_.OnLine(1, applied);
  EXPECT_TRUE(outcomes_.empty()) << "applied by one of two instances is not applied";
  api_.OnLine(1, applied);  // the same instance twice is not the second instance
  EXPECT_EQ(Last<protocol::Error>(transport_.Take(1))->code, ErrorCode::kUnknownRecommendation);
  api_.OnLine(2, applied);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kApplied);
  EXPECT_NE(outcomes_[0].reason.find("all 2 instances"), std::string::npos) << outcomes_[0].reason;
}

TEST_F(ControlApiTest, PartialApplyIsReportedAndRolledBack) {
  Register(1, 100);
  Register(2, 200);
  transport_.Take(1);
  transport_.Take(2);
  Recommendation rec;
  rec.id = 12;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.old_value = 4;
  rec.new_value = 6;
  api_.clients().Publish(rec);
  transport_.Take(1);
  transport_.Take(2);
  api_.OnLine(1,
              "{\"v\":1,\"type\":\"ack\",\"id\":12,\"knob\":\"worker_threads\","
              "\"result\":\"applied\",\"value\":6}");
  api_.OnLine(2,
              "{\"v\":1,\"type\":\"ack\",\"id\":12,\"knob\":\"worker_threads\","
              "\"result\":\"rejected\",\"reason\":\"out of memory\"}");
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kRejected);
  EXPECT_NE(outcomes_[0].reason.find("partial apply: applied by 1 of 2"), std::string::npos)
      << outcomes_[0].reason;
  EXPECT_NE(outcomes_[0].reason.find("pid 200 (out of memory)"), std::string::npos)
      << outcomes_[0].reason;
  // The instance that applied gets the old value back; the one that refused gets nothing.
  const auto back = Last<protocol::Set>(transport_.Take(1));
  ASSERT_NE(back, std::nullopt);
  EXPECT_EQ(back->value, 4);
  EXPECT_EQ(back->old_value, 6);
  EXPECT_EQ(Last<protocol::Set>(transport_.Take(2)), std::nullopt);
  // Its ack of the rollback is taken quietly: the brain already has its outcome.
  api_.OnLine(1,
              "{\"v\":1,\"type\":\"ack\",\"id\":12,\"knob\":\"worker_threads\","
              "\"result\":\"applied\",\"value\":4}");
  EXPECT_EQ(Last<protocol::Error>(transport_.Take(1)), std::nullopt);
  EXPECT_EQ(outcomes_.size(), 1u);
}

TEST_F(ControlApiTest, PartialApplyByExpiryIsRolledBack) {
  Register(1, 100);
  Register(2, 200);
  Recommendation rec;
  rec.id = 13;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.old_value = 4;
  rec.new_value = 6;
  rec.expires = clock_.WallNow() + std::chrono::seconds(5);
  api_.clients().Publish(rec);
  transport_.Take(1);
  api_.OnLine(1, "{\"v\":1,\"type\":\"ack\",\"id\":13,\"result\":\"applied\"}");
  clock_.Advance(std::chrono::seconds(6));
  api_.Sweep();
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kRejected);
  EXPECT_NE(outcomes_[0].reason.find("1 did not ack before expiry"), std::string::npos)
      << outcomes_[0].reason;
  ASSERT_NE(Last<protocol::Set>(transport_.Take(1)), std::nullopt);
}

// A worker respawned with its defaults is brought to the value the other instances run.
TEST_F(ControlApiTest, JoiningInstanceGetsTheValueTheOthersRun) {
  Register(1, 100);
  api_.OnLine(1,
              "{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
              "\"knobs\":{\"worker_threads\":6}}");
  Register(2, 200);  // announces worker_threads = 4
  auto msgs = transport_.Take(2);
  ASSERT_NE(Last<protocol::Welcome>(msgs), std::nullopt);
  const auto set = Last<protocol::Set>(msgs);
  ASSERT_NE(set, std::nullopt) << "the new instance was left at its default";
  EXPECT_EQ(set->value, 6);
  EXPECT_EQ(set->old_value, 4);
  EXPECT_NE(set->reason.find("instance sync"), std::string::npos) << set->reason;
  api_.OnLine(2, "{\"v\":1,\"type\":\"ack\",\"id\":" + std::to_string(set->id) +
                     ",\"result\":\"applied\",\"value\":6}");
  EXPECT_EQ(Last<protocol::Error>(transport_.Take(2)), std::nullopt);
  EXPECT_TRUE(outcomes_.empty()) << "the brain did not decide it";
}

// An instance that leaves before it acks cannot hold the set hostage.
TEST_F(ControlApiTest, DepartedInstanceDoesNotBlockTheAck) {
  Register(1, 100);
  Register(2, 200);
  Recommendation rec;
  rec.id = 14;
  rec.target = "svc";
  api_.clients().Publish(rec);
  api_.OnLine(1, "{\"v\":1,\"type\":\"ack\",\"id\":14,\"result\":\"applied\"}");
  EXPECT_TRUE(outcomes_.empty());
  api_.OnDisconnect(2);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kApplied);
}

std::shared_ptr<const Policy> CatchAllPolicy() {
  Policy p = *TestPolicy();
  TargetPolicy any;
  any.name = "registered";
  any.selector.registered = "*";
  any.mode = Mode::kApply;
  any.constraints.error_rate = 0.02;
  p.targets.push_back(any);
  return std::make_shared<const Policy>(std::move(p));
}

// issue 15: two services through the catch-all are two targets, named as they registered.
TEST_F(ControlApiTest, CatchAllNamesBecomeTargetsOfTheirOwn) {
  auto policy = CatchAllPolicy();
  api_.SetPolicy(policy);
  Register(1, 100, "billing");
  Register(2, 200, "search");
  Register(3, 300, "other");  // a policy target's name: qualified, so it cannot pose as it
  EXPECT_EQ(Last<protocol::Welcome>(transport_.Take(1))->target, "billing");
  EXPECT_EQ(Last<protocol::Welcome>(transport_.Take(3))->target, "registered/other");
  Policy tick = *policy;
  ASSERT_TRUE(api_.clients().ApplyOverrides(tick));
  EXPECT_EQ(tick.FindTarget("registered"), nullptr) << "a catch-all is a template";
  const TargetPolicy* billing = tick.FindTarget("billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_EQ(billing->selector.registered, "billing");
  EXPECT_EQ(billing->mode, Mode::kApply);
  EXPECT_EQ(billing->constraints.error_rate, 0.02);
  ASSERT_NE(tick.FindTarget("registered/other"), nullptr);
  EXPECT_EQ(tick.FindTarget("registered/other")->selector.registered, "other");

  api_.OnLine(1, ReportLine(10, 1, 0));
  api_.OnLine(2, ReportLine(20, 1, 0));
  Snapshot snap;
  for (const auto& t : tick.targets) snap.targets[t.name].name = t.name;
  api_.clients().MergeReports(tick, snap);
  EXPECT_EQ(snap.targets["billing"].app->requests_total, 10);
  EXPECT_EQ(snap.targets["search"].app->requests_total, 20);

  // Pausing the catch-all pauses what it created; a created target can be paused alone.
  Connect(9, 1, /*admin=*/true);
  api_.OnLine(9, "{\"v\":1,\"type\":\"pause\",\"id\":1,\"target\":\"search\"}");
  EXPECT_TRUE(api_.clients().Paused("search"));
  EXPECT_FALSE(api_.clients().Paused("billing"));
  api_.OnLine(9, "{\"v\":1,\"type\":\"pause\",\"id\":2,\"target\":\"registered\"}");
  EXPECT_TRUE(api_.clients().Paused("billing"));
  api_.OnLine(9, "{\"v\":1,\"type\":\"targets\",\"id\":3}");
  const auto r = Last<protocol::AdminReply>(transport_.Take(9));
  ASSERT_TRUE(r && r->targets);
  std::set<std::string> names;
  for (const auto& t : *r->targets) names.insert(t.name);
  EXPECT_EQ(names,
            (std::set<std::string>{"svc", "other", "billing", "search", "registered/other"}));
}

// Hundreds of names through one catch-all must not cost hundreds of models: past the bound a
// name gets no target, and says so in its welcome.
TEST_F(ControlApiTest, CreatedTargetsAreBounded) {
  api_.SetPolicy(CatchAllPolicy());
  for (int i = 0; i < 17; ++i) Register(100 + i, 1000 + i, "svc-" + std::to_string(i));
  EXPECT_EQ(Last<protocol::Welcome>(transport_.Take(115))->target, "svc-15");
  EXPECT_EQ(Last<protocol::Welcome>(transport_.Take(116))->target, "");
  Policy tick = *CatchAllPolicy();
  api_.clients().ApplyOverrides(tick);
  EXPECT_EQ(tick.targets.size(), 2u + 16u);  // svc, other and the 16 created
}

// A created target whose service has gone stays listed for a while, then leaves the tick.
TEST_F(ControlApiTest, CreatedTargetLeavesTheTickLongAfterItsServiceWent) {
  auto policy = CatchAllPolicy();
  api_.SetPolicy(policy);
  Register(1, 100, "billing");
  api_.OnDisconnect(1);
  Policy soon = *policy;
  api_.clients().ApplyOverrides(soon);
  EXPECT_NE(soon.FindTarget("billing"), nullptr);
  clock_.Advance(std::chrono::minutes(11));
  Policy later = *policy;
  api_.clients().ApplyOverrides(later);
  EXPECT_EQ(later.FindTarget("billing"), nullptr);
  Register(2, 101, "billing");  // it comes back: so does its target
  Policy again = *policy;
  api_.clients().ApplyOverrides(again);
  EXPECT_NE(again.FindTarget("billing"), nullptr);
}

// issue 12: a gone service's name cannot be taken by another uid's process.
TEST_F(ControlApiTest, NameBelongsToItsFirstUid) {
  Register(1, 100);  // uid 1000
  api_.OnDisconnect(1);
  api_.OnConnect(2, PeerIdentity{200, 2000, 2000, false});
  api_.OnLine(2, HelloLine("example-service", 200));
  const auto e = Last<protocol::Error>(transport_.Take(2));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kPermissionDenied);
  EXPECT_NE(e->message.find("belongs to uid 1000"), std::string::npos) << e->message;
  EXPECT_EQ(transport_.closed, std::vector<SessionId>{2});
  EXPECT_TRUE(api_.clients().RegisteredPids().empty());
  Register(3, 300);  // the same uid again: resumes
  EXPECT_EQ(api_.clients().RegisteredPids().at("example-service"), 300);
}

TEST_F(ControlApiTest, PublishSendsSetAndAckReachesTheDecider) {
  Register(1, 100);
  transport_.Take(1);
  Recommendation rec;
  rec.id = 9;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.old_value = 4;
  rec.new_value = 6;
  rec.reason = "queue grows";
  api_.clients().Publish(rec);
  const auto set = Last<protocol::Set>(transport_.Take(1));
  ASSERT_NE(set, std::nullopt);
  EXPECT_EQ(set->id, 9u);
  EXPECT_EQ(set->value, 6);
  EXPECT_FALSE(set->advisory);  // svc is in apply mode
  api_.OnLine(1,
              "{\"v\":1,\"type\":\"ack\",\"id\":9,\"knob\":\"worker_threads\","
              "\"result\":\"rejected\",\"reason\":\"too many\"}");
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].id, 9u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kRejected);
  EXPECT_EQ(outcomes_[0].reason, "too many");
  // A second ack for the same id is unknown.
  api_.OnLine(1, "{\"v\":1,\"type\":\"ack\",\"id\":9,\"result\":\"applied\"}");
  const auto e = Last<protocol::Error>(transport_.Take(1));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kUnknownRecommendation);
}

// Publish finds a target's client and mode through indexes (bench/control: the scans made a
// fan-out quadratic); a reload that moves the client to another target, and forgetting a gone
// client, must move or drop its entry rather than leave a stale one.
TEST_F(ControlApiTest, PublishFollowsAReloadAndAForgottenClient) {
  Register(1, 100);
  transport_.Take(1);
  Recommendation rec;
  rec.id = 11;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.new_value = 6;
  api_.clients().Publish(rec);
  ASSERT_NE(Last<protocol::Set>(transport_.Take(1)), std::nullopt);

  Policy p = *TestPolicy();
  p.targets[0].selector.registered = "someone-else";
  p.targets[1].selector.registered = "example-service";  // "other", in recommend mode
  api_.SetPolicy(std::make_shared<const Policy>(p));
  rec.id = 12;
  api_.clients().Publish(rec);  // svc has no client now
  EXPECT_EQ(Last<protocol::Set>(transport_.Take(1)), std::nullopt);
  rec.id = 13;
  rec.target = "other";
  api_.clients().Publish(rec);
  const auto set = Last<protocol::Set>(transport_.Take(1));
  ASSERT_NE(set, std::nullopt);
  EXPECT_EQ(set->id, 13u);
  EXPECT_TRUE(set->advisory) << "the new target's mode (recommend), not the old one's (apply)";
  EXPECT_EQ(api_.clients().EffectiveMode("other"), Mode::kRecommend);
  EXPECT_TRUE(api_.clients().KnownTarget("other"));

  api_.OnDisconnect(1);
  EXPECT_EQ(api_.clients().ForgetGone(0), 1u);
  EXPECT_EQ(api_.clients().FindClientByTarget("other"), nullptr);
  rec.id = 14;
  api_.clients().Publish(rec);
  EXPECT_TRUE(transport_.sent[1].empty());
}

TEST_F(ControlApiTest, UnackedSetExpires) {
  Register(1, 100);
  Recommendation rec;
  rec.id = 3;
  rec.target = "svc";
  rec.expires = clock_.WallNow() + std::chrono::seconds(5);
  api_.clients().Publish(rec);
  api_.Sweep();
  EXPECT_TRUE(outcomes_.empty());
  clock_.Advance(std::chrono::seconds(6));
  api_.OnLine(1, "{\"v\":1,\"type\":\"bye\"}");  // keep it from idling out
  api_.Sweep();
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kExpired);
}

TEST_F(ControlApiTest, PauseAndObserveModeStopDelivery) {
  Register(1, 100);
  Connect(9, 1, /*admin=*/true);
  api_.OnLine(9, "{\"v\":1,\"type\":\"pause\",\"id\":1,\"target\":\"svc\"}");
  const auto r = Last<protocol::AdminReply>(transport_.Take(9));
  ASSERT_NE(r, std::nullopt);
  EXPECT_NE(r->message.find("paused svc"), std::string::npos);
  Recommendation rec;
  rec.id = 4;
  rec.target = "svc";
  transport_.Take(1);
  api_.clients().Publish(rec);
  EXPECT_EQ(Last<protocol::Set>(transport_.Take(1)), std::nullopt);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].outcome, Outcome::kVetoed);
  Snapshot snap;
  snap.targets["svc"].name = "svc";
  api_.clients().MergeReports(Policy{}, snap);
  EXPECT_TRUE(snap.targets["svc"].paused);

  api_.OnLine(9, "{\"v\":1,\"type\":\"resume\",\"id\":2,\"target\":\"svc\"}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"mode\",\"id\":3,\"target\":\"svc\",\"mode\":\"recommend\"}");
  EXPECT_EQ(api_.clients().ModeOverride("svc"), Mode::kRecommend);
  rec.id = 5;
  api_.clients().Publish(rec);
  const auto set = Last<protocol::Set>(transport_.Take(1));
  ASSERT_NE(set, std::nullopt);
  EXPECT_TRUE(set->advisory);

  api_.OnLine(9, "{\"v\":1,\"type\":\"mode\",\"id\":4,\"target\":\"svc\",\"mode\":\"fast\"}");
  const auto e = Last<protocol::Error>(transport_.Take(9));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e->id, 4u);
}

// Regression: knobctl mode/pause changed only delivery, while the brain kept deciding with the
// policy's mode. The tick now hands the decider a policy with the overrides applied.
TEST_F(ControlApiTest, OverridesRewriteTheTickPolicy) {
  Policy p = *TestPolicy();
  EXPECT_FALSE(
      api_.clients().ApplyOverrides(p));  // nothing to override: the tick shares the policy
  Connect(9, 1, /*admin=*/true);
  api_.OnLine(9, "{\"v\":1,\"type\":\"mode\",\"id\":1,\"target\":\"other\",\"mode\":\"apply\"}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"pause\",\"id\":2,\"target\":\"svc\"}");
  ASSERT_TRUE(api_.clients().ApplyOverrides(p));
  EXPECT_EQ(p.FindTarget("other")->mode, Mode::kApply);
  EXPECT_EQ(p.FindTarget("svc")->mode, Mode::kObserve);
  api_.OnLine(9, "{\"v\":1,\"type\":\"resume\",\"id\":3,\"target\":\"svc\"}");
  Policy q = *TestPolicy();
  ASSERT_TRUE(api_.clients().ApplyOverrides(q));
  EXPECT_EQ(q.FindTarget("svc")->mode, Mode::kApply);
}

TEST_F(ControlApiTest, AdminOpsNeedAdmin) {
  Connect(1, 100, /*admin=*/false);
  api_.OnLine(1, "{\"v\":1,\"type\":\"status\",\"id\":1}");
  const auto e = Last<protocol::Error>(transport_.Take(1));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kPermissionDenied);
  EXPECT_NE(e->message.find("knobadm"), std::string::npos);
}

TEST_F(ControlApiTest, StatusAndTargetsWithoutBackend) {
  Register(1, 100);
  api_.OnLine(1, "{\"v\":1,\"type\":\"report\",\"requests_total\":5,\"errors_total\":0}");
  Connect(9, 1, true);
  api_.OnLine(9, "{\"v\":1,\"type\":\"status\",\"id\":1}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"targets\",\"id\":2}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"show\",\"id\":3,\"target\":\"svc\"}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"show\",\"id\":4,\"target\":\"nope\"}");
  api_.OnLine(9, "{\"v\":1,\"type\":\"history\",\"id\":5,\"target\":\"svc\"}");
  auto msgs = transport_.Take(9);
  ASSERT_EQ(msgs.size(), 5u);
  const auto& st = std::get<protocol::AdminReply>(msgs[0]);
  ASSERT_TRUE(st.status);
  EXPECT_EQ(st.status->targets, 2u);
  EXPECT_EQ(st.status->clients, 1u);
  const auto& tg = std::get<protocol::AdminReply>(msgs[1]);
  ASSERT_TRUE(tg.targets);
  ASSERT_EQ(tg.targets->size(), 2u);
  EXPECT_EQ((*tg.targets)[0].name, "svc");
  EXPECT_TRUE((*tg.targets)[0].connected);
  EXPECT_EQ((*tg.targets)[0].reports, 1u);
  EXPECT_EQ((*tg.targets)[0].state, "active");
  const auto& sh = std::get<protocol::AdminReply>(msgs[2]);
  ASSERT_TRUE(sh.show && sh.show->app);
  EXPECT_EQ(sh.show->app->requests_total, 5);
  ASSERT_EQ(sh.show->knobs.size(), 1u);
  EXPECT_EQ(std::get<protocol::Error>(msgs[3]).code, ErrorCode::kUnknownTarget);
  EXPECT_EQ(std::get<protocol::Error>(msgs[4]).code, ErrorCode::kUnavailable);
}

TEST_F(ControlApiTest, RateLimitDropsAndAnswersOncePerSecond) {
  api_.SetPolicy(TestPolicy(/*rate=*/5));
  Register(1, 100);
  transport_.Take(1);
  for (int i = 0; i < 30; ++i)
    api_.OnLine(1, "{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0}");
  auto msgs = transport_.Take(1);
  ASSERT_EQ(msgs.size(), 1u);  // burst 10 accepted (hello took one), one rate error
  EXPECT_EQ(std::get<protocol::Error>(msgs[0]).code, ErrorCode::kRateLimited);
  clock_.Advance(std::chrono::seconds(1));
  api_.OnLine(1, "{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0}");
  EXPECT_TRUE(transport_.Take(1).empty());  // refilled
}

TEST_F(ControlApiTest, IdleSessionsAreClosed) {
  Connect(1, 100);
  clock_.Advance(std::chrono::seconds(5));
  api_.Sweep();
  EXPECT_TRUE(transport_.closed.empty());
  clock_.Advance(std::chrono::seconds(6));
  api_.Sweep();
  EXPECT_EQ(transport_.closed, std::vector<SessionId>{1});
  const auto e = Last<protocol::Error>(transport_.Take(1));
  ASSERT_NE(e, std::nullopt);
  EXPECT_EQ(e->code, ErrorCode::kIdleTimeout);
}

TEST_F(ControlApiTest, MetricsCountMessagesErrorsAndRejections) {
  Connect(1, 100);
  api_.OnLine(1, "garbage");
  api_.OnLine(1, HelloLine("example-service", 7));
  bool saw_error = false, saw_rejected = false, saw_clients = false;
  for (const auto& fam : registry_.Collect()) {
    if (fam.name == "knobd_control_errors_total") saw_error = !fam.metric.empty();
    if (fam.name == "knobd_control_rejected_total") saw_rejected = !fam.metric.empty();
    if (fam.name == "knobd_control_clients") saw_clients = fam.metric.at(0).gauge.value == 1;
  }
  EXPECT_TRUE(saw_error);
  EXPECT_TRUE(saw_rejected);
  EXPECT_TRUE(saw_clients);
}

}  // namespace
}  // namespace knob
