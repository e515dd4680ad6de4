// SPDX-License-Identifier: Apache-2.0
// Profile merge precedence: built-in < user profile (extends) < target, field by field.

#include <gtest/gtest.h>

#include <chrono>

#include "config/builtin_profiles.h"
#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

using std::chrono::milliseconds;
using test::MustLoad;

TEST(BuiltinProfiles, TheFiveFamiliesExistAndAreSane) {
  const auto& profiles = BuiltinProfiles();
  ASSERT_EQ(profiles.size(), 5u);
  for (const char* name :
       {"web-server", "microservice", "data-pipeline", "stream-processing", "edge"}) {
    auto it = profiles.find(name);
    ASSERT_NE(it, profiles.end()) << name;
    const Profile& p = it->second;
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty()) << name;
    EXPECT_TRUE(p.knobs.count("worker_threads")) << name;
    EXPECT_TRUE(p.knobs.count("concurrency_limit")) << name;
    EXPECT_TRUE(p.knobs.count("cache_bytes")) << name;
    EXPECT_TRUE(p.knobs.count("connection_pool") || p.knobs.count("backend_pool")) << name;
    for (const auto& [knob, k] : p.knobs) {
      ASSERT_TRUE(k.min && k.max) << name << " " << knob;
      EXPECT_LE(*k.min, *k.max) << name << " " << knob;
      EXPECT_GT(*k.min, 0) << name << " " << knob;
      EXPECT_TRUE(k.max_step_fraction || k.max_step_abs) << name << " " << knob;
      EXPECT_TRUE(k.enabled);
    }
  }
  const Profile& edge = profiles.at("edge");
  EXPECT_EQ(edge.objective, Objective::kMinimizeCpuPerRequest);
  ASSERT_TRUE(edge.constraints.memory_bytes.has_value()) << "edge runs under a memory cap";
  EXPECT_EQ(profiles.at("web-server").objective, Objective::kMinimizeP99Latency);
  EXPECT_EQ(profiles.at("data-pipeline").objective, Objective::kMaximizeThroughput);
}

TEST(PolicyMerge, TargetInheritsTheWholeProfile) {
  Policy p = MustLoad("targets:\n  - {name: w, select: {pid: 1}, profile: web-server}\n");
  ASSERT_EQ(p.targets.size(), 1u);
  const Profile& web = BuiltinProfiles().at("web-server");
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.profile, "web-server");
  EXPECT_EQ(t.objective, web.objective);
  EXPECT_EQ(t.constraints, web.constraints);
  EXPECT_EQ(t.knobs, web.knobs);
}

TEST(PolicyMerge, TargetOverridesFieldByField) {
  Policy p = MustLoad(R"(
targets:
  - name: w
    select: {pid: 1}
    profile: web-server
    objective: {maximize: throughput}
    constraints: {p99_latency: 20ms}
    knobs:
      worker_threads: {max: 8}
      backend_pool: {max_step: 2}
      cache_bytes: {enabled: false}
      batch_size: {min: 1, max: 10}
)");
  const Profile& web = BuiltinProfiles().at("web-server");
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.objective, Objective::kMaximizeThroughput);
  // Constraints: per key.
  EXPECT_EQ(t.constraints.p99_latency, milliseconds(20));
  EXPECT_EQ(t.constraints.error_rate, web.constraints.error_rate);
  EXPECT_EQ(t.constraints.cpu_pressure, web.constraints.cpu_pressure);
  // Knobs: per knob, per field.
  EXPECT_EQ(t.knobs.at("worker_threads").max, 8);
  EXPECT_EQ(t.knobs.at("worker_threads").min, web.knobs.at("worker_threads").min);
  EXPECT_EQ(t.knobs.at("worker_threads").max_step_fraction,
            web.knobs.at("worker_threads").max_step_fraction);
  // max_step is one field: writing a number replaces the profile's percent.
  EXPECT_EQ(t.knobs.at("backend_pool").max_step_abs, 2);
  EXPECT_FALSE(t.knobs.at("backend_pool").max_step_fraction.has_value());
  EXPECT_EQ(t.knobs.at("backend_pool").max, web.knobs.at("backend_pool").max);
  EXPECT_FALSE(t.knobs.at("cache_bytes").enabled);
  EXPECT_EQ(t.knobs.at("cache_bytes").max, web.knobs.at("cache_bytes").max);
  // A knob the profile does not have is added.
  EXPECT_EQ(t.knobs.at("batch_size").max, 10);
  EXPECT_EQ(t.knobs.size(), web.knobs.size() + 1);
}

TEST(PolicyMerge, UserProfileExtendsAndTargetWinsOverIt) {
  Policy p = MustLoad(R"(
profiles:
  fast-web:
    extends: web-server
    description: tighter
    constraints: {p99_latency: 30ms, memory: 1GiB}
    knobs:
      worker_threads: {max: 16}
targets:
  - name: w
    select: {pid: 1}
    profile: fast-web
    constraints: {memory: 512MiB}
    knobs:
      worker_threads: {min: 4}
)");
  ASSERT_TRUE(p.profiles.count("fast-web"));
  const Profile& fast = p.profiles.at("fast-web");
  EXPECT_EQ(fast.description, "tighter");
  EXPECT_EQ(fast.objective, Objective::kMinimizeP99Latency) << "inherited from web-server";
  EXPECT_EQ(fast.constraints.p99_latency, milliseconds(30));
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.profile, "fast-web");
  EXPECT_EQ(t.constraints.p99_latency, milliseconds(30));      // user profile
  EXPECT_EQ(t.constraints.memory_bytes, uint64_t{512} << 20);  // target
  EXPECT_EQ(t.constraints.error_rate, BuiltinProfiles().at("web-server").constraints.error_rate);
  EXPECT_EQ(t.knobs.at("worker_threads").min, 4);                   // target
  EXPECT_EQ(t.knobs.at("worker_threads").max, 16);                  // user profile
  EXPECT_EQ(t.knobs.at("worker_threads").max_step_fraction, 0.25);  // built-in
}

TEST(PolicyMerge, UserProfileNamedLikeABuiltinExtendsIt) {
  Policy p = MustLoad(R"(
profiles:
  edge:
    constraints: {memory: 64MiB}
targets:
  - {name: d, select: {pid: 1}, profile: edge}
)");
  const Profile& builtin = BuiltinProfiles().at("edge");
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.constraints.memory_bytes, uint64_t{64} << 20);
  EXPECT_EQ(t.constraints.cpu_cores, builtin.constraints.cpu_cores);
  EXPECT_EQ(t.objective, Objective::kMinimizeCpuPerRequest);
  EXPECT_EQ(t.knobs, builtin.knobs);
  EXPECT_EQ(p.profiles.at("edge").constraints.memory_bytes, uint64_t{64} << 20);
}

TEST(PolicyMerge, ProfileChainsResolveInOrder) {
  Policy p = MustLoad(R"(
profiles:
  c: {extends: b, knobs: {worker_threads: {max: 3}}}
  b: {extends: a, objective: {minimize: cpu_per_request}}
  a: {knobs: {worker_threads: {min: 1, max: 100, max_step: 1}}}
targets:
  - {name: t, select: {pid: 1}, profile: c}
)");
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.objective, Objective::kMinimizeCpuPerRequest);
  EXPECT_EQ(t.knobs.at("worker_threads").min, 1);
  EXPECT_EQ(t.knobs.at("worker_threads").max, 3);
  EXPECT_EQ(t.knobs.at("worker_threads").max_step_abs, 1);
  EXPECT_EQ(p.profiles.size(), BuiltinProfiles().size() + 3);
}

TEST(PolicyMerge, ModeInheritsFromGlobalUnlessOverridden) {
  Policy p = MustLoad(R"(
global: {mode: apply}
targets:
  - {name: a, select: {pid: 1}, profile: edge}
  - {name: b, select: {pid: 2}, profile: edge, mode: observe}
)");
  EXPECT_EQ(p.targets[0].mode, Mode::kApply);
  EXPECT_EQ(p.targets[1].mode, Mode::kObserve);
}

}  // namespace
}  // namespace knob
