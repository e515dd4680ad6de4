// SPDX-License-Identifier: Apache-2.0
// Never fight an operator (optimizers/override_hold.h): the detector on its own, then the brain
// under a simulated service whose knob an "operator" changes, all on a fake clock.
#include "optimizers/override_hold.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optimizers/brain.h"
#include "tests/support/brain_driver.h"
#include "tests/support/metric_value.h"
#include "tests/unit/optimizers/sim_service.h"

namespace knob {
namespace {

using ::knob::test::BrainDriver;
using ::knob::test::Delivery;
using ::knob::test::SimPolicy;
using ::knob::test::SimService;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + std::chrono::hours(1);

TEST(OverrideHoldTest, KnobdsOwnSetIsNotAnOverrideBeforeOrAfterItIsApplied) {
  OverrideHold h;
  EXPECT_TRUE(h.Check({{"limit", 32}}, kT0, seconds(60)).empty());  // first sight: taken as is
  h.Sent("limit", 32, 40, kT0 + seconds(30));
  EXPECT_TRUE(h.Check({{"limit", 32}}, kT0 + seconds(1), seconds(60)).empty());  // not yet
  EXPECT_TRUE(h.Check({{"limit", 40}}, kT0 + seconds(2), seconds(60)).empty());  // applied
  EXPECT_FALSE(h.Held("limit", kT0 + seconds(2)));
  // Once applied, the old value is someone else's again.
  auto o = h.Check({{"limit", 32}}, kT0 + seconds(3), seconds(60));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].expected, 40);
  EXPECT_EQ(o[0].reported, 32);
}

TEST(OverrideHoldTest, RoundedAckIsKnobdsValueButAnotherWholeNumberIsNot) {
  OverrideHold h;
  (void)h.Check({{"limit", 10}}, kT0, seconds(60));
  h.Sent("limit", 10, 12.6, kT0 + seconds(30));
  EXPECT_TRUE(h.Check({{"limit", 12}}, kT0 + seconds(1), seconds(60)).empty());
  EXPECT_TRUE(h.Check({{"limit", 12}}, kT0 + seconds(2), seconds(60)).empty());
  EXPECT_EQ(h.Check({{"limit", 14}}, kT0 + seconds(3), seconds(60)).size(), 1u);
  EXPECT_TRUE(OverrideHold::Matches(13, 12.6));
  EXPECT_FALSE(OverrideHold::Matches(11, 12));
}

TEST(OverrideHoldTest, HoldEndsAfterItsTimeAndAnExpiredSetNoLongerCounts) {
  OverrideHold h;
  (void)h.Check({{"limit", 10}}, kT0, seconds(60));
  h.Sent("limit", 10, 20, kT0 + seconds(5));
  // The set expired unapplied; the target applying it now is not knobd's doing any more.
  auto o = h.Check({{"limit", 20}}, kT0 + seconds(6), seconds(60));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_TRUE(h.Held("limit", kT0 + seconds(65)));
  EXPECT_FALSE(h.Held("limit", kT0 + seconds(66)));
  EXPECT_EQ(h.Holds(kT0 + seconds(7)).count("limit"), 1u);
  EXPECT_TRUE(h.Holds(kT0 + seconds(70)).empty());
}

// A restore is sent to a paused target, whose reports are settled as they come: the set stays
// known as in flight until it is seen applied or expires (OperatorTest saw a second restore
// re-sent in the tick between the first's delivery and the target's next report).
TEST(OverrideHoldTest, SettlingKeepsASetInFlightUntilSeenOrExpired) {
  OverrideHold h;
  (void)h.Check({{"limit", 8}}, kT0, seconds(60));
  h.Sent("limit", 8, 4, kT0 + seconds(30));
  EXPECT_TRUE(h.Sending("limit", 4, kT0 + seconds(1)));
  EXPECT_FALSE(h.Sending("limit", 5, kT0 + seconds(1)));
  h.Settle({{"limit", 8}}, kT0 + seconds(1));  // not applied yet
  EXPECT_TRUE(h.Sending("limit", 4, kT0 + seconds(2)));
  EXPECT_EQ(h.Current("limit"), 8);
  EXPECT_FALSE(h.Sending("limit", 4, kT0 + seconds(30))) << "expired";
  h.Settle({{"limit", 4}}, kT0 + seconds(3));  // seen applied
  EXPECT_FALSE(h.Sending("limit", 4, kT0 + seconds(3)));
  EXPECT_EQ(h.Current("limit"), 4);
}

TEST(OverrideHoldTest, OriginalIsTheValueBeforeKnobdsFirstChangeAndAnOverrideForgetsIt) {
  OverrideHold h;
  (void)h.Check({{"limit", 10}}, kT0, seconds(60));
  h.Sent("limit", 10, 12, kT0 + seconds(30));
  (void)h.Check({{"limit", 12}}, kT0 + seconds(1), seconds(60));
  h.Sent("limit", 12, 14, kT0 + seconds(30));
  EXPECT_EQ(h.originals().at("limit"), 10);
  (void)h.Check({{"limit", 50}}, kT0 + seconds(2), seconds(60));
  EXPECT_EQ(h.originals().count("limit"), 0u);  // 50 is the operator's: nothing of knobd's
  h.Sent("limit", 50, 55, kT0 + seconds(90));
  EXPECT_EQ(h.originals().at("limit"), 50);
}

TEST(OverrideHoldTest, StateRoundTripsAndACorruptFileIsRefusedWhole) {
  OverrideHold h;
  (void)h.Check({{"a", 10}, {"b", 1}}, kT0, seconds(60));
  h.Sent("a", 10, 12, kT0 + seconds(30));
  (void)h.Check({{"a", 10}, {"b", 7}}, kT0 + seconds(1), seconds(60));  // b overridden
  std::string text = EncodeOverrideState({{"web", &h}}, kT0 + seconds(1));
  std::map<std::string, OverrideHold> back;
  auto target = [&](const std::string& n) -> OverrideHold& { return back[n]; };
  ASSERT_TRUE(DecodeOverrideState(text, kT0 + seconds(11), target).ok());
  EXPECT_EQ(back["web"].originals().at("a"), 10);
  EXPECT_TRUE(back["web"].Held("b", kT0 + seconds(69)));
  EXPECT_FALSE(back["web"].Held("b", kT0 + seconds(71)));
  std::map<std::string, OverrideHold> none;
  auto t2 = [&](const std::string& n) -> OverrideHold& { return none[n]; };
  EXPECT_FALSE(
      DecodeOverrideState("{\"targets\":{\"web\":{\"originals\":{\"a\":\"x\"}}}}", kT0, t2).ok());
  EXPECT_FALSE(DecodeOverrideState("{\"targets\":", kT0, t2).ok());
  EXPECT_TRUE(none.empty());
}

// The SimService under a brain; `operator_value` is set by the test to play the operator.
struct Harness : BrainDriver {
  SimService sim;
  explicit Harness(Mode mode, Duration hold = seconds(120))
      : BrainDriver(WithHold(SimPolicy(mode), hold), Delivery::kApplyAck, /*metrics=*/true) {}
  std::vector<Recommendation> Tick(Delivery d = Delivery::kApplyAck) {
    return Step(seconds(1), sim.Tick(1.0), d);
  }
  static Policy WithHold(Policy p, Duration hold) {
    p.global.guard.override_hold = hold;
    return p;
  }
  std::vector<Recommendation> Records(Outcome o) const {
    std::vector<Recommendation> out;
    for (const auto& r : brain->History("web"))
      if (r.outcome == o) out.push_back(r);
    return out;
  }
  // Ticks until the brain publishes (at most n ticks); the first published, if any.
  std::optional<Recommendation> TickUntilPublished(int n, Delivery d = Delivery::kApplyAck) {
    for (int i = 0; i < n; ++i) {
      auto recs = Tick(d);
      if (!recs.empty()) return recs.front();
    }
    return std::nullopt;
  }

 protected:
  void Apply(const Recommendation& r) override { sim.limit = r.new_value; }
};

TEST(BrainOverrideTest, OperatorChangeIsRecordedOnceHeldThenRelearnedFromTheNewValue) {
  Harness h(Mode::kApply, seconds(120));
  auto first = h.TickUntilPublished(40);
  ASSERT_TRUE(first);
  for (int i = 0; i < 30; ++i) h.Tick();  // verified (or rolled back) by now
  h.sim.limit = 3;                        // the operator
  h.Tick();
  auto rec = h.Records(Outcome::kOverridden);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].knob, "concurrency_limit");
  EXPECT_EQ(rec[0].new_value, 3);
  EXPECT_EQ(rec[0].scenario, "override");
  EXPECT_NE(rec[0].reason.find("someone other than knobd"), std::string::npos) << rec[0].reason;
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_overrides_total",
                              {{"target", "web"}, {"knob", "concurrency_limit"}}),
            1.0);
  EXPECT_GT(test::MetricValue(h.registry, "knobd_override_hold_remaining_seconds",
                              {{"target", "web"}, {"knob", "concurrency_limit"}})
                .value_or(0),
            100);
  auto model = h.brain->Model("web");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->override_holds.size(), 1u);

  size_t published = h.published.size();
  for (int i = 0; i < 115; ++i) h.Tick();
  EXPECT_EQ(h.published.size(), published) << "knobd changed a knob the operator holds";
  EXPECT_EQ(h.sim.limit, 3);
  EXPECT_EQ(h.Records(Outcome::kOverridden).size(), 1u);  // one record, not one per tick
  // After the hold: tuning resumes from the operator's value, and the series is gone.
  auto next = h.TickUntilPublished(60);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->old_value, 3);
  EXPECT_FALSE(test::MetricValue(h.registry, "knobd_override_hold_remaining_seconds",
                                 {{"target", "web"}, {"knob", "concurrency_limit"}}));
}

TEST(BrainOverrideTest, OwnSetInFlightIsNeverAnOverride) {
  Harness h(Mode::kApply);
  auto first = h.TickUntilPublished(40, Delivery::kNone);
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i) h.Tick(Delivery::kNone);  // sent, target slow to apply
  h.sim.limit = first->new_value;                       // applied late, within its lifetime
  for (int i = 0; i < 5; ++i) h.Tick(Delivery::kNone);
  EXPECT_TRUE(h.Records(Outcome::kOverridden).empty());
  EXPECT_EQ(h.brain->Find(first->id)->outcome, Outcome::kApplied);
}

TEST(BrainOverrideTest, OperatorChangeDuringVerificationGivesTheChangeUpWithoutRollback) {
  Harness h(Mode::kApply);
  auto first = h.TickUntilPublished(40);
  ASSERT_TRUE(first);
  h.Tick();
  ASSERT_EQ(h.brain->Find(first->id)->outcome, Outcome::kApplied);
  h.sim.limit = 2;  // the operator, while knobd is verifying its change
  h.Tick();
  EXPECT_EQ(h.brain->Find(first->id)->outcome, Outcome::kExpired);
  for (int i = 0; i < 60; ++i) h.Tick();
  for (const auto& r : h.published) EXPECT_NE(r.scenario, "rollback") << r.reason;
  EXPECT_EQ(h.sim.limit, 2);
}

TEST(BrainOverrideTest, RestorePutsBackTheFirstSeenValueAlsoAfterARestart) {
  std::string dir = ::testing::TempDir() + "/override_restore";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Harness h(Mode::kApply);
  const double original = h.sim.limit;
  int changes = 0;
  for (int i = 0; i < 300 && changes < 2; ++i)
    if (!h.Tick().empty()) ++changes;
  ASSERT_GE(changes, 1);
  h.Tick();
  ASSERT_NE(h.sim.limit, original);
  ASSERT_TRUE(h.brain->Save(dir).ok());

  h.Restart();
  ASSERT_TRUE(h.brain->Load(dir).ok());
  EXPECT_TRUE(h.brain->Restore(h.policy, "web").empty());  // nothing reported yet: no current
  h.Tick(Delivery::kNone);
  auto restore = h.brain->Restore(h.policy, "");
  ASSERT_EQ(restore.size(), 1u);
  EXPECT_TRUE(h.brain->Restore(h.policy, "").empty()) << "asked again before it was applied";
  EXPECT_EQ(restore[0].scenario, kRestoreScenario);
  EXPECT_EQ(restore[0].new_value, original);
  EXPECT_EQ(restore[0].old_value, h.sim.limit);
  EXPECT_FALSE(restore[0].advisory);
  h.sim.limit = restore[0].new_value;
  h.brain->OnOutcome(restore[0].id, Outcome::kApplied, "");
  EXPECT_EQ(h.brain->Find(restore[0].id)->outcome, Outcome::kApplied);
  h.Tick(Delivery::kNone);  // the restored value is knobd's own: no override
  EXPECT_TRUE(h.Records(Outcome::kOverridden).empty());
  EXPECT_TRUE(h.brain->Restore(h.policy, "web").empty());  // already there
}

TEST(BrainOverrideTest, CorruptOriginalsFileIsMovedAsideAndSaid) {
  std::string dir = ::testing::TempDir() + "/override_corrupt";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + kOverrideStateFile) << "{\"targets\": [";
  Harness h(Mode::kApply);
  Status s = h.brain->Load(dir);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("moved aside"), std::string::npos) << s.message();
  EXPECT_TRUE(std::filesystem::exists(dir + "/" + kOverrideStateFile + ".corrupt"));
}

}  // namespace
}  // namespace knob
