// SPDX-License-Identifier: Apache-2.0
// Regression (issue 12): `knobctl pause` must survive a real tick. MergeReports runs before
// collection and discovery then sets each target's lifecycle state, so a pause stored as a
// state was overwritten and knobd_targets{state="paused"} stayed 0 in a running daemon.

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "collectors/discovery.h"
#include "daemon/control/api.h"
#include "daemon/metrics/self_metrics.h"
#include "daemon/tick.h"
#include "tests/support/metric_value.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

class NullTransport final : public Transport {
 public:
  void Send(SessionId /*session*/, std::string /*encoded*/) override {}
  void Close(SessionId /*session*/) override {}
};

TEST(PausedTickTest, PauseSurvivesDiscoveryAndShowsInTargetsGauge) {
  test::Harness h;
  Selector web;
  web.comm = "web";
  h.AddTarget("web", web);
  auto policy = std::make_shared<const Policy>(h.policy);

  NullTransport transport;
  prometheus::Registry control_registry;
  ControlApi api(h.clock, transport, nullptr, &control_registry);
  api.SetPolicy(policy);

  auto metrics = SelfMetrics::Create(h.registry, h.clock.WallNow());
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  TickPipeline pipeline(h.clock, metrics->get());
  pipeline.AddCollector(std::make_unique<Discovery>(h.env, h.registry));
  pipeline.SetAppReportSource(&api.clients());

  ASSERT_TRUE(pipeline.RunSync(policy).ok());
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "active"}}), 1.0);
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "paused"}}), 0.0);

  api.OnConnect(7, PeerIdentity{1, 0, 0, /*admin=*/true});
  api.OnLine(7, R"({"v":1,"type":"pause","id":1,"target":"web"})");
  ASSERT_TRUE(api.clients().Paused("web"));

  ASSERT_TRUE(pipeline.RunSync(policy).ok());
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "paused"}}), 1.0);
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "active"}}), 0.0);
  // The lifecycle state is still discovery's: the brain keeps observing a paused target.
  ASSERT_NE(pipeline.last_snapshot(), nullptr);
  const TargetSnapshot& t = pipeline.last_snapshot()->targets.at("web");
  EXPECT_TRUE(t.paused);
  EXPECT_EQ(t.state, TargetState::kActive);

  api.OnLine(7, R"({"v":1,"type":"resume","id":2,"target":"web"})");
  ASSERT_TRUE(pipeline.RunSync(policy).ok());
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "paused"}}), 0.0);
  EXPECT_EQ(test::MetricValue(h.registry, "knobd_targets", {{"state", "active"}}), 1.0);
}

}  // namespace
}  // namespace knob
