// SPDX-License-Identifier: Apache-2.0
// CPU, load and allocator collectors over the edge fixture, with faults injected.
#include <gtest/gtest.h>
#include <unistd.h>

#include "collectors/allocator.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "collectors/load.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using test::Harness;

Selector Comm(const std::string& c) {
  Selector s;
  s.comm = c;
  return s;
}

class CpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::sysconf(_SC_CLK_TCK), 100) << "fixture numbers assume USER_HZ=100";
    h.AddTarget("weird", Comm("a) (b\nc"));
    h.AddTarget("web", Comm("web"));
  }
  Snapshot Tick() { return h.Tick({&d, &cpu}); }
  Harness h;
  Discovery d{h.env, h.registry};
  CpuCollector cpu{h.env, h.registry};
};

TEST_F(CpuTest, SumsOverThreadsAndReadsHost) {
  Snapshot s = Tick();
  ASSERT_TRUE(s.targets.at("weird").cpu.has_value()) << s.targets.at("weird").error;
  const CpuStats& c = *s.targets.at("weird").cpu;
  EXPECT_DOUBLE_EQ(c.user_seconds, 3.0);
  EXPECT_DOUBLE_EQ(c.system_seconds, 1.0);
  EXPECT_EQ(c.threads, 3u);
  // schedstat and status describe one thread each: summed over threads 100, 102, 103.
  EXPECT_DOUBLE_EQ(c.runqueue_delay_seconds, (50000 + 250000 + 700000) / 1e9);
  EXPECT_EQ(c.timeslices, 45u);
  EXPECT_EQ(c.voluntary_ctxt_switches, 35u);
  EXPECT_EQ(c.nonvoluntary_ctxt_switches, 5u);
  EXPECT_EQ(c.threads_per_cpu, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.allowed_cpus, 2u);
  EXPECT_FALSE(c.cgroup_nr_throttled.has_value());  // /user.slice has no cpu.stat here

  ASSERT_EQ(s.host.cpu_busy_seconds.size(), 2u);
  EXPECT_DOUBLE_EQ(s.host.cpu_busy_seconds[0], 9.23);  // guest (50) not added twice
  EXPECT_DOUBLE_EQ(s.host.cpu_total_seconds[0], 53.83);
  EXPECT_EQ(s.host.online_cpus, 2u);

  const CpuStats& w = *s.targets.at("web").cpu;
  EXPECT_EQ(w.cgroup_nr_throttled, 25u);
  EXPECT_DOUBLE_EQ(*w.cgroup_throttled_seconds, 1.5);
  EXPECT_DOUBLE_EQ(*w.cgroup_cpu_quota_cores, 0.5);

  EXPECT_EQ(h.Metric("knobd_target_cpu_seconds_total", {{"target", "weird"}, {"mode", "user"}}),
            3.0);
  EXPECT_EQ(h.Metric("knobd_target_threads", {{"target", "weird"}}), 3);
  EXPECT_EQ(h.Metric("knobd_target_cgroup_throttled_periods_total", {{"target", "web"}}), 25);
  EXPECT_TRUE(s.targets.at("weird").refreshed.count("threads"));
}

TEST_F(CpuTest, ExitedThreadsNeverMakeCountersGoBackwards) {
  Snapshot s1 = Tick();
  const double before = s1.targets.at("weird").cpu->runqueue_delay_seconds;
  h.tree.Remove("proc/100/task/102");
  h.tree.Write("proc/100/stat",
               "100 (a) (b\nc) S 1 100 100 0 -1 4194560 500 0 7 0 300 100 0 0 20 0 2 0 5000 "
               "100000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  Snapshot s2 = Tick();
  const CpuStats& c = *s2.targets.at("weird").cpu;
  EXPECT_EQ(c.threads, 2u);
  EXPECT_DOUBLE_EQ(c.runqueue_delay_seconds, before);
  EXPECT_EQ(c.timeslices, 45u);
  EXPECT_EQ(c.voluntary_ctxt_switches, 35u);
  // The surviving threads keep counting on top of the dead thread's share.
  h.tree.Write("proc/100/task/103/schedstat", "0 1700000 6\n");
  Snapshot s3 = Tick();
  EXPECT_DOUBLE_EQ(s3.targets.at("weird").cpu->runqueue_delay_seconds, before + 0.001);
}

TEST_F(CpuTest, ProcessVanishingMidCollectionIsSkippedAndCounted) {
  // Discovery reads 100/stat first; the cpu collector's read (the second) finds it gone.
  h.faulty.Fail("100/stat", NotFoundError("100/stat: No such process"), /*skip_reads=*/1);
  Snapshot s = Tick();
  EXPECT_TRUE(h.last_status.ok());
  EXPECT_FALSE(s.targets.at("weird").cpu.has_value());
  EXPECT_TRUE(s.targets.at("web").cpu.has_value());
  EXPECT_EQ(h.Metric("knobd_collector_vanished_processes_total", {{"collector", "cpu"}}), 1);
}

TEST_F(CpuTest, MalformedThreadFileBecomesZeroNotCrash) {
  h.faulty.ShortRead("task/102/schedstat", 3);
  Snapshot s = Tick();
  ASSERT_TRUE(s.targets.at("weird").cpu.has_value());
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, (50000 + 700000) / 1e9);
}

TEST_F(CpuTest, LargeProcessesAreReadInRotation) {
  // 200 threads, each with 1000 ns of run-queue wait: at a 1 s tick and 5 s thread interval a
  // fifth is read per tick, all of them after five ticks.
  std::string stat_tail =
      " S 1 100 100 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5000 0 0 0 1 1 0 0 0 0 0 0 0 0 0 0 17 0 "
      "0 0 0 0 0\n";
  h.tree.Remove("proc/100/task");
  for (int i = 0; i < 200; ++i) {
    std::string tid = std::to_string(1000 + i);
    std::filesystem::create_directories(h.tree.Path("proc/100/task/" + tid));
    std::ofstream(h.tree.Path("proc/100/task/" + tid + "/stat")) << tid << " (w)" << stat_tail;
    std::ofstream(h.tree.Path("proc/100/task/" + tid + "/schedstat")) << "0 1000 1\n";
    std::ofstream(h.tree.Path("proc/100/task/" + tid + "/status")) << "Threads:\t200\n";
  }
  Snapshot s = Tick();
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, 40 * 1000 / 1e9);
  for (int i = 0; i < 4; ++i) s = Tick();
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, 200 * 1000 / 1e9);
  // The oldest thread reading is four ticks old.
  EXPECT_EQ(s.time - s.targets.at("weird").refreshed.at("threads"), std::chrono::seconds(4));
}

TEST_F(CpuTest, TargetRemovedByReloadLosesItsSeries) {
  Tick();
  ASSERT_TRUE(h.Metric("knobd_target_threads", {{"target", "web"}}).has_value());
  h.policy.targets.pop_back();  // "web"
  Tick();
  EXPECT_FALSE(h.Metric("knobd_target_threads", {{"target", "web"}}).has_value());
  EXPECT_TRUE(h.Metric("knobd_target_threads", {{"target", "weird"}}).has_value());
}

TEST_F(CpuTest, IowaitGoingBackwardsNeverShrinksHostTotals) {
  Snapshot s1 = Tick();
  h.tree.Write("proc/stat",
               "cpu  1000 10 500 9000 10 0 20 5 50 0\ncpu0 600 10 300 4400 1 0 10 3 50 0\n"
               "cpu1 400 0 200 4600 40 0 10 2 0 0\n");
  Snapshot s2 = Tick();
  EXPECT_GE(s2.host.cpu_total_seconds[0], s1.host.cpu_total_seconds[0]);
}

TEST(LoadTest, HostLoadPsiAndCgroupPsi) {
  Harness h;
  h.AddTarget("web", Comm("web"));
  Discovery d(h.env, h.registry);
  LoadCollector load(h.env, h.registry);
  Snapshot s = h.Tick({&d, &load});
  EXPECT_DOUBLE_EQ(s.host.load1, 1.5);
  EXPECT_EQ(s.host.runnable_tasks, 3u);
  EXPECT_EQ(s.host.total_tasks, 120u);
  ASSERT_TRUE(s.host.pressure.cpu.has_value());
  EXPECT_DOUBLE_EQ(s.host.pressure.cpu->some->avg10, 12.5);
  EXPECT_FALSE(s.host.pressure.cpu->full.has_value());  // pre-5.13 cpu file
  EXPECT_EQ(s.host.pressure.io->full->total_us, 1000000u);
  ASSERT_TRUE(s.targets.at("web").cgroup_pressure.has_value());
  EXPECT_DOUBLE_EQ(s.targets.at("web").cgroup_pressure->cpu->full->avg60, 5.0);
  EXPECT_EQ(h.Metric("knobd_host_pressure_ratio",
                     {{"resource", "cpu"}, {"kind", "some"}, {"window", "10s"}}),
            0.125);
  EXPECT_EQ(h.Metric("knobd_target_pressure_ratio",
                     {{"target", "web"}, {"resource", "cpu"}, {"kind", "some"}, {"window", "10s"}}),
            0.4);
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "load"}, {"source", "psi"}}), 1);
}

class PsiMissingTest : public ::testing::TestWithParam<StatusCode> {};

TEST_P(PsiMissingTest, DegradesOnceWithGauge) {
  Harness h;
  h.faulty.Fail("pressure/", Status(GetParam(), "pressure/cpu: injected"));
  LoadCollector load(h.env, h.registry);
  Snapshot s = h.Tick({&load});
  EXPECT_TRUE(h.last_status.ok());
  EXPECT_FALSE(s.host.pressure.cpu.has_value());
  EXPECT_DOUBLE_EQ(s.host.load1, 1.5);  // the rest still works
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "load"}, {"source", "psi"}}), 0);
  int reads = h.faulty.reads();
  h.Tick({&load});
  EXPECT_EQ(h.faulty.reads() - reads, 1);  // only loadavg: PSI is not retried every tick
}

INSTANTIATE_TEST_SUITE_P(EnoentAndEopnotsupp, PsiMissingTest,
                         ::testing::Values(StatusCode::kNotFound, StatusCode::kUnavailable));

TEST(AllocatorTest, SmapsRollupThenStatusFallbackAndAppFragmentation) {
  Harness h;
  h.AddTarget("weird", Comm("a) (b\nc"));
  Selector kthread;
  kthread.pid = 300;
  h.AddTarget("kthread", kthread);
  AppReport app;
  app.allocator = AppReport::Allocator{"jemalloc", 100e6, 110e6, 150e6, 200e6, 10e6};
  h.apps["weird"] = app;
  Discovery d(h.env, h.registry);
  AllocatorCollector alloc(h.env, h.registry);
  Snapshot s = h.Tick({&d, &alloc});
  const MemoryStats& m = *s.targets.at("weird").memory;
  EXPECT_EQ(m.rss_bytes, 4096u * 1024);
  EXPECT_EQ(m.pss_bytes, 2048u * 1024);
  EXPECT_EQ(m.anon_bytes, 1024u * 1024);
  EXPECT_EQ(m.swap_bytes, 8u * 1024);
  EXPECT_EQ(m.minor_faults, 500u);
  EXPECT_EQ(m.major_faults, 7u);
  EXPECT_DOUBLE_EQ(*m.allocator_fragmentation_ratio, 1.5);
  EXPECT_EQ(h.Metric("knobd_target_allocator_bytes",
                     {{"target", "weird"}, {"allocator", "jemalloc"}, {"stat", "resident"}}),
            150e6);
  const MemoryStats& k = *s.targets.at("kthread").memory;
  EXPECT_EQ(k.rss_bytes, 0u);
  EXPECT_FALSE(k.pss_bytes.has_value());
  EXPECT_EQ(h.Metric("knobd_target_resident_memory_bytes", {{"target", "weird"}}), 4096.0 * 1024);
}

TEST(AllocatorTest, SmapsRollupOnItsOwnCadenceStatmEveryTick) {
  Harness h;
  h.policy.global.collection.smaps_interval = std::chrono::seconds(5);
  h.AddTarget("weird", Comm("a) (b\nc"));
  Discovery d(h.env, h.registry);
  AllocatorCollector alloc(h.env, h.registry);
  h.Tick({&d, &alloc});
  h.tree.Write("proc/100/statm", "25000 2048 768 100 0 2000 0\n");
  h.tree.Write("proc/100/smaps_rollup",
               "0-1 ---p 00000000 00:00 0 [rollup]\nRss: 8192 kB\nPss: 9999 kB\nSwap: 0 kB\n");
  Snapshot s = h.Tick({&d, &alloc});
  EXPECT_EQ(s.targets.at("weird").memory->rss_bytes, 2048u * 4096);  // statm: at once
  EXPECT_EQ(s.targets.at("weird").memory->pss_bytes, 2048u * 1024);  // smaps: not yet
  EXPECT_EQ(s.time - s.targets.at("weird").refreshed.at("memory_detail"), std::chrono::seconds(1));
  for (int i = 0; i < 4; ++i) s = h.Tick({&d, &alloc});
  EXPECT_EQ(s.targets.at("weird").memory->pss_bytes, 9999u * 1024);
}

TEST(AllocatorTest, ShortReadOfSmapsRollupFallsBackToStatus) {
  Harness h;
  h.AddTarget("weird", Comm("a) (b\nc"));
  h.faulty.ShortRead("100/smaps_rollup", 20);
  Discovery d(h.env, h.registry);
  AllocatorCollector alloc(h.env, h.registry);
  Snapshot s = h.Tick({&d, &alloc});
  const MemoryStats& m = *s.targets.at("weird").memory;
  EXPECT_EQ(m.rss_bytes, 4096u * 1024);  // VmRSS
  EXPECT_FALSE(m.pss_bytes.has_value());
}

}  // namespace
}  // namespace knob
