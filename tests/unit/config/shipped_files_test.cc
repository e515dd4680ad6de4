// SPDX-License-Identifier: Apache-2.0
// Every policy file we ship loads with zero errors, and says what it claims in its comments.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/builtin_profiles.h"
#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigDir = fs::path(KNOB_SOURCE_DIR) / "config";

TEST(ShippedPolicy, DefaultIsSafeAndWatchesHostAndRegisteredClients) {
  PolicyLoad load = LoadPolicyFile((kConfigDir / "knobd.yaml").string());
  ASSERT_TRUE(load.ok()) << test::AllErrors(load);
  const Policy& p = *load.policy;
  EXPECT_EQ(p.global.mode, Mode::kRecommend);
  EXPECT_EQ(p.global.metrics_listen.rfind("127.0.0.1:", 0), 0u) << "loopback only by default";
  EXPECT_EQ(p.global.control.socket_path, "/run/knobd/control.sock");
  EXPECT_EQ(p.global.state_dir, "/var/lib/knobd");
  bool host = false;
  for (const TargetPolicy& t : p.targets) {
    EXPECT_NE(t.mode, Mode::kApply) << t.name << ": the default policy never applies";
    host = host || t.selector.host;
  }
  EXPECT_TRUE(host);
  const TargetPolicy* example = p.FindRegistered("example-service");
  ASSERT_NE(example, nullptr);
  EXPECT_EQ(example->profile, "web-server");
  EXPECT_NE(p.FindRegistered("some-other-service"), nullptr) << "catch-all for registered clients";
}

TEST(ShippedPolicy, OneExamplePerBuiltinProfileAndAllLoad) {
  ASSERT_FALSE(BuiltinProfiles().empty()) << "no built-in profile: nothing to check";
  for (const auto& [name, profile] : BuiltinProfiles()) {
    fs::path path = kConfigDir / "examples" / (name + ".yaml");
    ASSERT_TRUE(fs::exists(path)) << path;
    PolicyLoad load = LoadPolicyFile(path.string());
    ASSERT_TRUE(load.ok()) << test::AllErrors(load);
    bool uses = false;
    for (const auto& [pname, p] : load.policy->profiles) {
      (void)p;
      if (pname == name) uses = true;
    }
    for (const TargetPolicy& t : load.policy->targets) uses = uses || t.profile == name;
    EXPECT_TRUE(uses) << path << " does not use profile " << name;
  }
}

TEST(ShippedPolicy, EveryYamlFileUnderConfigLoads) {
  int count = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(kConfigDir)) {
    if (e.path().extension() != ".yaml") continue;
    ++count;
    PolicyLoad load = LoadPolicyFile(e.path().string());
    EXPECT_TRUE(load.ok()) << test::AllErrors(load);
  }
  EXPECT_GE(count, 6);
}

TEST(ShippedDocs, EveryBuiltinProfileAndKeyIsDocumented) {
  std::ifstream in(fs::path(KNOB_SOURCE_DIR) / "docs" / "policy.md");
  ASSERT_TRUE(in) << "docs/policy.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& [name, p] : BuiltinProfiles()) {
    (void)p;
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << name;
  }
  for (const char* key : {"tick_interval",
                          "metrics_listen",
                          "log_level",
                          "state_dir",
                          "checkpoint_interval",
                          "socket",
                          "admin_group",
                          "max_message_size",
                          "max_clients",
                          "max_messages_per_second",
                          "idle_timeout",
                          "proc_root",
                          "sys_root",
                          "thread_interval",
                          "socket_dump_interval",
                          "fd_rescan_interval",
                          "smaps_interval",
                          "idle_process_interval",
                          "thread_reads_per_tick",
                          "use_taskstats",
                          "discovery_interval",
                          "per_thread_metrics",
                          "cooldown",
                          "verification_window",
                          "min_samples",
                          "default_max_step",
                          "regression_p99",
                          "min_signal_to_noise",
                          "hysteresis",
                          "extends",
                          "description",
                          "select",
                          "pid",
                          "comm",
                          "exe",
                          "cmdline",
                          "cgroup",
                          "unit",
                          "registered",
                          "host",
                          "profile",
                          "objective",
                          "constraints",
                          "p99_latency",
                          "error_rate",
                          "cpu_cores",
                          "memory",
                          "cpu_pressure",
                          "memory_pressure",
                          "io_pressure",
                          "runqueue_delay",
                          "knobs",
                          "min",
                          "max",
                          "max_step",
                          "enabled",
                          "mode",
                          "perf_counters"}) {
    EXPECT_NE(doc.find("`" + std::string(key) + "`"), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace knob
