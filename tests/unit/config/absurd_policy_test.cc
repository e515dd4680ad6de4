// SPDX-License-Identifier: Apache-2.0
// Policies with absurd values (issue 12): each is refused with a positioned error that says
// what is wrong, or accepted and handled. Literal YAML, one case per value kind.

#include <gtest/gtest.h>

#include <string>

#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

// The single error a document must produce, positioned, with `needle` in its message.
::testing::AssertionResult RefusedAt(const std::string& yaml, int line, const std::string& needle) {
  PolicyLoad load = LoadPolicyString(yaml, "absurd.yaml");
  if (load.ok()) return ::testing::AssertionFailure() << "accepted";
  for (const Diagnostic& d : load.errors) {
    if (d.line == line && d.column > 0 && d.message.find(needle) != std::string::npos &&
        d.ToString().rfind("absurd.yaml:" + std::to_string(line) + ":", 0) == 0)
      return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << test::AllErrors(load);
}

const std::string kTarget =
    "targets:\n"
    "  - name: web\n"
    "    select: {comm: web}\n";

TEST(AbsurdPolicy, NegativeSizesAreRefused) {
  EXPECT_TRUE(
      RefusedAt("global:\n  control:\n    max_message_size: -64KiB\n", 3, "max_message_size"));
  EXPECT_TRUE(RefusedAt(kTarget + "    constraints: {memory: -1GiB}\n", 4, "memory"));
  EXPECT_TRUE(RefusedAt(kTarget + "    knobs:\n      cache_bytes: {min: -5MiB, max: 1GiB}\n", 5,
                        "cache_bytes"));
}

TEST(AbsurdPolicy, MinAboveMaxIsRefused) {
  EXPECT_TRUE(RefusedAt(kTarget + "    knobs:\n      worker_threads: {min: 64, max: 2}\n", 5,
                        "greater than max"));
}

TEST(AbsurdPolicy, ZeroAndNegativeIntervalsAreRefused) {
  EXPECT_TRUE(RefusedAt("global:\n  tick_interval: 0s\n", 2, "tick_interval"));
  EXPECT_TRUE(RefusedAt("global:\n  tick_interval: -1s\n", 2, "tick_interval"));
  EXPECT_TRUE(RefusedAt("global:\n  checkpoint_interval: 0s\n", 2, "checkpoint_interval"));
  EXPECT_TRUE(RefusedAt("global:\n  control:\n    idle_timeout: 0s\n", 3, "idle_timeout"));
  EXPECT_TRUE(
      RefusedAt("global:\n  collection:\n    discovery_interval: 0s\n", 3, "discovery_interval"));
}

TEST(AbsurdPolicy, HugeNumbersAreRefused) {
  EXPECT_TRUE(RefusedAt("global:\n  control:\n    max_clients: 1e309\n", 3, "max_clients"));
  EXPECT_TRUE(RefusedAt("global:\n  control:\n    max_messages_per_second: .nan\n", 3,
                        "max_messages_per_second"));
  EXPECT_TRUE(RefusedAt("global:\n  tick_interval: 99999999999999999999h\n", 2, "tick_interval"));
}

// Ten thousand targets are a big host, not an error: they load, each with its own name.
TEST(AbsurdPolicy, TenThousandTargetsLoad) {
  std::string yaml = "targets:\n";
  for (int i = 0; i < 10000; ++i)
    yaml +=
        "  - name: t" + std::to_string(i) + "\n    select: {comm: w" + std::to_string(i) + "}\n";
  PolicyLoad load = LoadPolicyString(yaml, "absurd.yaml");
  ASSERT_TRUE(load.ok()) << test::AllErrors(load).substr(0, 2000);
  EXPECT_EQ(load.policy->targets.size(), 10000u);
  // A duplicate among them is still found, at its line.
  yaml += "  - name: t77\n    select: {comm: x}\n";
  EXPECT_TRUE(RefusedAt(yaml, 20002, "t77"));
}

// A megabyte regex is refused by length (kMaxCmdlineRegexBytes) before anything compiles it.
TEST(AbsurdPolicy, MegabyteRegexIsRefused) {
  std::string yaml =
      "targets:\n  - name: web\n    select:\n      cmdline: '" + std::string(1 << 20, 'a') + "'\n";
  EXPECT_TRUE(RefusedAt(yaml, 4, "longer than the 4096 allowed"));
  // Just under the cap it compiles (RE2) and loads.
  std::string ok = "targets:\n  - name: web\n    select:\n      cmdline: '^" +
                   std::string(kMaxCmdlineRegexBytes - 2, 'a') + "$'\n";
  EXPECT_TRUE(LoadPolicyString(ok, "absurd.yaml").ok());
}

TEST(AbsurdPolicy, RegexSyntaxRE2CannotRunIsRefusedWithItsPosition) {
  EXPECT_TRUE(RefusedAt(
      kTarget.substr(0, kTarget.find("    select")) + "    select:\n      cmdline: '(a)\\1'\n", 4,
      "not a valid regular expression"));
}

TEST(AbsurdPolicy, SocketModeIsOneOfThreeAndPositioned) {
  EXPECT_EQ(
      test::MustLoad("global:\n  control:\n    socket_mode: '0600'\n").global.control.socket_mode,
      0600u);
  EXPECT_EQ(
      test::MustLoad("global:\n  control: {socket_mode: '0666'}\n").global.control.socket_mode,
      0666u);
  EXPECT_EQ(test::MustLoad("global: {}\n").global.control.socket_mode, 0660u);
  EXPECT_TRUE(RefusedAt("global:\n  control:\n    socket_mode: '0777'\n", 3, "socket_mode"));
  EXPECT_TRUE(RefusedAt("global:\n  control:\n    socket_mode: '0640'\n", 3, "socket_mode"));
}

}  // namespace
}  // namespace knob
