// SPDX-License-Identifier: Apache-2.0
#include "collectors/discovery.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using test::Harness;

Selector Comm(const std::string& c) {
  Selector s;
  s.comm = c;
  return s;
}

TEST(DiscoveryTest, EachSelectorKindResolves) {
  Harness h;
  h.AddTarget("weird", Comm("a) (b\nc"));
  Selector exe_base;
  exe_base.exe = "server";
  h.AddTarget("exe_base", exe_base);
  Selector exe_full;
  exe_full.exe = "/usr/sbin/web";
  h.AddTarget("exe_full", exe_full);
  Selector cmd;
  cmd.cmdline_regex = "--port 80[0-9]+";
  h.AddTarget("cmdline", cmd);
  Selector cg;
  cg.cgroup = "/system.slice";
  h.AddTarget("cgroup", cg);
  Selector unit;
  unit.systemd_unit = "web.service";
  h.AddTarget("unit", unit);
  Selector pid;
  pid.pid = 300;
  h.AddTarget("pid", pid);
  Selector reg;
  reg.registered = "web-client";
  h.AddTarget("registered", reg);
  Selector adapter;  // the unit's processes, the knobs from an adapter registered elsewhere
  adapter.systemd_unit = "web.service";
  adapter.registered = "web-adapter";
  h.AddTarget("unit_adapter", adapter);
  Selector host;
  host.host = true;
  h.AddTarget("host", host);
  Selector both;  // AND: comm web but pid 100 -> nothing
  both.comm = "web";
  both.pid = 100;
  h.AddTarget("and", both);
  h.registered["web-client"] = 200;
  h.registered["web-adapter"] = 300;

  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  auto pids = [&](const std::string& t) {
    std::vector<pid_t> out;
    for (const auto& k : s.targets.at(t).processes) out.push_back(k.pid);
    return out;
  };
  EXPECT_EQ(pids("weird"), std::vector<pid_t>{100});
  EXPECT_EQ(s.targets.at("weird").processes[0].start_time_ticks, 5000u);
  EXPECT_EQ(pids("exe_base"), std::vector<pid_t>{100});
  EXPECT_EQ(pids("exe_full"), std::vector<pid_t>{200});
  EXPECT_EQ(pids("cmdline"), std::vector<pid_t>{100});
  EXPECT_EQ(pids("cgroup"), std::vector<pid_t>{200});
  EXPECT_EQ(pids("unit"), std::vector<pid_t>{200});
  EXPECT_EQ(pids("pid"), std::vector<pid_t>{300});
  EXPECT_EQ(pids("registered"), std::vector<pid_t>{200});
  EXPECT_EQ(pids("unit_adapter"), std::vector<pid_t>{200});
  EXPECT_TRUE(pids("host").empty());
  EXPECT_EQ(s.targets.at("host").state, TargetState::kActive);
  EXPECT_EQ(s.targets.at("and").state, TargetState::kPending);
  EXPECT_EQ(s.targets.at("unit").cgroup, "/system.slice/web.service");
  EXPECT_EQ(s.targets.at("weird").state, TargetState::kActive);
  EXPECT_EQ(h.Metric("knobd_target_processes", {{"target", "cgroup"}}), 1);
  EXPECT_EQ(h.Metric("knobd_target_up", {{"target", "and"}}), 0);
}

// issue 15: a name several processes registered is one target with all of them.
TEST(DiscoveryTest, RegisteredInstancesAreAllTheTargetsProcesses) {
  Harness h;
  Selector reg;
  reg.registered = "web-client";
  h.AddTarget("web", reg);
  h.registered["web-client"] = 100;
  h.instances["web-client"] = {100, 200, 999};  // 999 is not running
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  std::vector<pid_t> pids;
  for (const auto& k : s.targets.at("web").processes) pids.push_back(k.pid);
  EXPECT_EQ(pids, (std::vector<pid_t>{100, 200}));
  EXPECT_EQ(s.targets.at("web").state, TargetState::kActive);
}

TEST(DiscoveryTest, PendingActiveGone) {
  Harness h;
  h.AddTarget("web", Comm("web"));
  h.AddTarget("never", Comm("nope"));
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("web").state, TargetState::kActive);
  EXPECT_EQ(s.targets.at("never").state, TargetState::kPending);
  h.tree.Remove("proc/200");
  s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("web").state, TargetState::kGone);
  EXPECT_TRUE(s.targets.at("web").processes.empty());
}

TEST(DiscoveryTest, PidReuseYieldsANewProcessKey) {
  Harness h;
  h.AddTarget("web", Comm("web"));
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  ASSERT_EQ(s.targets.at("web").processes.size(), 1u);
  ProcessKey before = s.targets.at("web").processes[0];
  // Same pid, later start time: another process took pid 200. The kernel fails the kept comm
  // fd with ESRCH (its task is gone), then stat shows the new start time.
  h.faulty.Fail("200/comm", NotFoundError("200/comm: No such process"));
  h.tree.Write("proc/200/stat",
               "200 (web) S 1 200 200 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 1 0 9999 100000 200 "
               "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  s = h.Tick({&d});
  ASSERT_EQ(s.targets.at("web").processes.size(), 1u);
  ProcessKey after = s.targets.at("web").processes[0];
  EXPECT_EQ(after.pid, before.pid);
  EXPECT_NE(after, before);
  EXPECT_EQ(after.start_time_ticks, 9999u);
}

TEST(DiscoveryTest, PermissionDeniedIsAPerTargetErrorNotAFailure) {
  Harness h;
  Selector exe;
  exe.exe = "server";
  h.AddTarget("srv", exe);
  h.AddTarget("web", Comm("web"));
  h.faulty.Fail("100/exe", PermissionDeniedError("100/exe: Permission denied"));
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_TRUE(h.last_status.ok());
  const TargetSnapshot& t = s.targets.at("srv");
  EXPECT_EQ(t.state, TargetState::kError);
  EXPECT_NE(t.error.find("Permission denied"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("CAP_SYS_PTRACE"), std::string::npos) << t.error;
  EXPECT_EQ(s.targets.at("web").state, TargetState::kActive);
}

TEST(DiscoveryTest, BadRegexIsAnError) {
  Harness h;
  Selector cmd;
  cmd.cmdline_regex = "([unclosed";
  h.AddTarget("bad", cmd);
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("bad").state, TargetState::kError);
  EXPECT_NE(s.targets.at("bad").error.find("cmdline_regex"), std::string::npos);
}

// Regression (issue 12): with std::regex, `server.*--port` over a long command line recursed
// once per character and overflowed the collection worker's stack (4 KiB was enough on a
// 1 MiB thread stack). Any user can start a process with a megabyte of argv. RE2 matches it in
// linear time with a bounded stack; the test matches on a thread with the default 8 MiB stack.
TEST(DiscoveryTest, MegabyteCommandLineDoesNotOverflowTheStack) {
  Harness h;
  std::string argv = "server";
  argv += '\0';
  argv += std::string(1 << 20, 'a');
  argv += '\0';
  argv += "--port";
  argv += '\0';
  argv += "8080";
  h.tree.Write("proc/100/cmdline", argv);
  Selector cmd;
  cmd.cmdline_regex = "^server .*--port 80[0-9]+$";
  h.AddTarget("long", cmd);
  Selector miss;
  miss.cmdline_regex = "server.*--nope";
  h.AddTarget("miss", miss);
  Discovery d(h.env, h.registry);
  Snapshot s;
  std::thread worker([&] { s = h.Tick({&d}); });  // 8 MiB default stack, like the uv pool
  worker.join();
  ASSERT_TRUE(h.last_status.ok()) << h.last_status.ToString();
  ASSERT_EQ(s.targets.at("long").processes.size(), 1u);
  EXPECT_EQ(s.targets.at("long").processes[0].pid, 100);
  EXPECT_TRUE(s.targets.at("miss").processes.empty());
}

TEST(DiscoveryTest, VanishedBetweenListAndReadIsSkipped) {
  Harness h;
  h.AddTarget("weird", Comm("a) (b\nc"));
  h.faulty.Fail("100/stat", NotFoundError("100/stat: No such process"));
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_TRUE(h.last_status.ok());
  EXPECT_EQ(s.targets.at("weird").state, TargetState::kPending);
}

TEST(DiscoveryTest, ScansOnlyOnTheDiscoveryCadence) {
  Harness h;
  h.policy.global.collection.discovery_interval = std::chrono::seconds(5);
  h.AddTarget("web", Comm("web"));
  Discovery d(h.env, h.registry);
  h.Tick({&d});
  h.Tick({&d});
  h.Tick({&d});
  EXPECT_EQ(h.Metric("knobd_discovery_scans_total", {}), 1);
  h.Tick({&d});
  h.Tick({&d});
  h.Tick({&d});
  EXPECT_EQ(h.Metric("knobd_discovery_scans_total", {}), 2);
}

}  // namespace
}  // namespace knob
