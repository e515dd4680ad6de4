// SPDX-License-Identifier: Apache-2.0
// DescribePolicyChanges: one readable line per difference, for the reload log line.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/policy_diff.h"
#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

using test::MustLoad;

bool Has(const std::vector<std::string>& lines, const std::string& want) {
  return std::find(lines.begin(), lines.end(), want) != lines.end();
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += "  " + l + "\n";
  return s;
}

constexpr char kBefore[] = R"(
global:
  tick_interval: 1s
  mode: recommend
  guard: {cooldown: 30s}
targets:
  - name: web
    select: {registered: web}
    profile: web-server
    constraints: {p99_latency: 50ms}
    knobs:
      worker_threads: {max: 64}
  - name: old
    select: {pid: 7}
)";

TEST(DescribePolicyChanges, NothingChanged) {
  Policy a = MustLoad(kBefore);
  Policy b = MustLoad(kBefore);
  EXPECT_TRUE(DescribePolicyChanges(a, b).empty());
}

TEST(DescribePolicyChanges, OneLinePerDifference) {
  Policy a = MustLoad(kBefore);
  Policy b = MustLoad(R"(
global:
  tick_interval: 500ms
  mode: recommend
  log_level: debug
  guard: {cooldown: 1m, default_max_step: 5%}
  control: {max_message_size: 1MiB}
profiles:
  mine: {extends: edge}
targets:
  - name: web
    select: {registered: web-2}
    profile: web-server
    constraints: {p99_latency: 40ms, memory: 1GiB}
    knobs:
      worker_threads: {max: 32, max_step: 2}
      cache_bytes: {enabled: false}
      batch_size: {min: 1, max: 9}
    mode: apply
  - name: new
    select: {host: true}
)");
  std::vector<std::string> lines = DescribePolicyChanges(a, b);
  const char* want[] = {
      "tick_interval: 1s -> 500ms",
      "log_level: info -> debug",
      "control.max_message_size: 64KiB -> 1MiB",
      "guard.cooldown: 30s -> 1m",
      "guard.default_max_step: 10% -> 5%",
      "profile mine added",
      "target old removed",
      "target web select: {registered=web} -> {registered=web-2}",
      "target web mode: recommend -> apply",
      "target web constraint p99_latency: 50ms -> 40ms",
      "target web constraint memory: unset -> 1GiB",
      "target web knob worker_threads max: 64 -> 32",
      "target web knob worker_threads max_step: 25% -> 2",
      "target web knob cache_bytes enabled: true -> false",
      "target web knob batch_size added (min 1, max 9, max_step default)",
      "target new added (recommend, select {host})",
  };
  for (const char* w : want)
    EXPECT_TRUE(Has(lines, w)) << "missing '" << w << "' in:\n" << Join(lines);
  EXPECT_EQ(lines.size(), std::size(want)) << Join(lines);
}

TEST(DescribePolicyChanges, ProfileEditShowsInTargetsThatUseIt) {
  Policy a = MustLoad(
      "profiles: {p: {knobs: {worker_threads: {min: 1, max: 4}}}}\n"
      "targets: [{name: t, select: {pid: 1}, profile: p}]\n");
  Policy b = MustLoad(
      "profiles: {p: {knobs: {worker_threads: {min: 1, max: 8}}}}\n"
      "targets: [{name: t, select: {pid: 1}, profile: p}]\n");
  std::vector<std::string> lines = DescribePolicyChanges(a, b);
  EXPECT_TRUE(Has(lines, "profile p changed")) << Join(lines);
  EXPECT_TRUE(Has(lines, "target t knob worker_threads max: 4 -> 8")) << Join(lines);
  EXPECT_EQ(lines.size(), 2u) << Join(lines);
}

}  // namespace
}  // namespace knob
