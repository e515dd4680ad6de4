#include "collectors/all.h"

#include <gtest/gtest.h>

#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

TEST(MakeCollectorsTest, DiscoveryFirstThenTheFiveCollectors) {
  testing::Harness h;
  auto cs = MakeCollectors(h.env, h.registry, h.policy);
  std::vector<std::string> names;
  for (const auto& c : cs) names.emplace_back(c->Name());
  EXPECT_EQ(names,
            (std::vector<std::string>{"discovery", "cpu", "load", "allocator", "socket", "cache"}));
}

TEST(MakeCollectorsTest, AllRunOverTheFixtureHost) {
  testing::Harness h;
  Selector sel;
  sel.comm = "web";
  h.AddTarget("web", sel);
  auto cs = MakeCollectors(h.env, h.registry, h.policy);
  std::vector<Collector*> raw;
  for (auto& c : cs) raw.push_back(c.get());
  Snapshot s = h.Tick(raw);
  const TargetSnapshot& t = s.targets.at("web");
  EXPECT_EQ(t.state, TargetState::kActive);
  EXPECT_TRUE(t.cpu && t.memory && t.cgroup_pressure && t.sockets);
  EXPECT_FALSE(t.perf.has_value());  // perf_counters is off by default
  EXPECT_GT(s.host.load1, 0);
}

}  // namespace
}  // namespace knob
