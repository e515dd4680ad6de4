// SPDX-License-Identifier: Apache-2.0
#include "collectors/all.h"

#include <gtest/gtest.h>

#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

TEST(MakeCollectorsTest, DiscoveryFirstThenTheFiveCollectors) {
  test::Harness h;
  auto cs = MakeCollectors(h.env, h.registry, h.policy);
  std::vector<std::string> names;
  for (const auto& c : cs) names.emplace_back(c->Name());
  EXPECT_EQ(names,
            (std::vector<std::string>{"discovery", "cpu", "load", "allocator", "socket", "cache"}));
}

TEST(MakeCollectorsTest, AllRunOverTheFixtureHost) {
  test::Harness h;
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

TEST(MakeCollectorsTest, KeptFdBudgetLeavesAReserve) {
  EXPECT_EQ(KeptFdBudgetFor(20000), 17500u);    // this VM's hard limit
  EXPECT_EQ(KeptFdBudgetFor(262144), 229376u);  // the unit's LimitNOFILE
  EXPECT_EQ(KeptFdBudgetFor(1024), 512u);       // an unraised default soft limit
  EXPECT_EQ(KeptFdBudgetFor(4096), 3072u);
  EXPECT_EQ(KeptFdBudgetFor(0), 0u);
  EXPECT_EQ(KeptFdBudgetFor(uint64_t{1} << 30), 262144u);
}

}  // namespace
}  // namespace knob
