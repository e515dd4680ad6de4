// SPDX-License-Identifier: Apache-2.0
// The cpu collector's thread rotation under its per-tick read budget, and the taskstats path,
// over a fixture /proc with a FakeClock: every thread is visited within thread_interval when the
// budget allows, no tick reads more thread files than the budget, the rotation reaches every
// process when the budget is short, and counters never go backwards across rotation or when a
// thread exits.
#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "collectors/allocator.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "core/sock_diag.h"
#include "tests/support/counting_procfs.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using test::Harness;

// A SockDiag whose taskstats answers come from a table (pid -> totals).
class TaskStatsSockDiag final : public SockDiag {
 public:
  std::map<pid_t, TaskStatsTotals> totals;
  Status refuse;  // non-OK: every query fails with it
  int queries = 0;
  Status DumpTcp(uint32_t, bool, std::vector<TcpSocketInfo>&) override { return OkStatus(); }
  Status TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) override {
    ++queries;
    if (!refuse.ok()) return refuse;
    auto it = totals.find(tgid);
    if (it == totals.end()) return NotFoundError("no such task");
    out = it->second;
    return OkStatus();
  }
};

class RotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Selector s;
    s.comm = "a) (b\nc";  // pid 100 of the edge fixture
    h.AddTarget("weird", s);
    h.policy.global.collection.thread_interval = std::chrono::seconds(5);
  }

  // Replaces pid 100's threads with `n` threads (tids 1000...), each `wait_ns` of run-queue
  // delay in schedstat, last CPU (tid % 2).
  void MakeThreads(int n, uint64_t wait_ns) {
    h.tree.Remove("proc/100/task");
    for (int i = 0; i < n; ++i) WriteThread(1000 + i, wait_ns);
  }
  void WriteThread(int tid, uint64_t wait_ns) {
    const std::string t = std::to_string(tid);
    std::filesystem::create_directories(h.tree.Path("proc/100/task/" + t));
    std::ofstream(h.tree.Path("proc/100/task/" + t + "/stat"))
        << t << " (w) S 1 100 100 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5000 0 0 0 1 1 0 0 0 0 0 0 0 0 "
        << "0 0 17 " << (tid % 2) << " 0 0 0 0 0\n";
    std::ofstream(h.tree.Path("proc/100/task/" + t + "/schedstat")) << "0 " << wait_ns << " 1\n";
    std::ofstream(h.tree.Path("proc/100/task/" + t + "/status"))
        << "voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n";
  }

  Snapshot Tick(CpuCollector& cpu) { return h.Tick({&d, &cpu}); }

  Harness h;
  Discovery d{h.env, h.registry};
};

TEST_F(RotationTest, EveryThreadVisitedWithinThreadIntervalWhenBudgetAllows) {
  MakeThreads(200, 1000);
  CpuCollector cpu(h.env, h.registry);
  Snapshot s;
  for (int i = 0; i < 5; ++i) {
    s = Tick(cpu);
    EXPECT_LE(cpu.thread_reads_last_tick(), h.policy.global.collection.thread_reads_per_tick);
  }
  // Five ticks of a 5 s interval: all 200 threads read, the oldest visit 4 ticks old.
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, 200 * 1000 / 1e9);
  EXPECT_EQ(s.time - s.targets.at("weird").refreshed.at("threads"), std::chrono::seconds(4));
  EXPECT_EQ(s.time - s.targets.at("weird").refreshed.at("runqueue"), std::chrono::seconds(4));
  EXPECT_EQ(
      h.Metric("knobd_collector_sample_age_seconds", {{"target", "weird"}, {"part", "runqueue"}}),
      4);
  const auto& per_cpu = s.targets.at("weird").cpu->threads_per_cpu;
  ASSERT_EQ(per_cpu.size(), 2u);
  EXPECT_EQ(per_cpu[0] + per_cpu[1], 200);
}

TEST_F(RotationTest, ReadsPerTickNeverExceedTheBudgetAndRotationStretches) {
  MakeThreads(200, 1000);
  h.policy.global.collection.thread_reads_per_tick = 30;  // far below the 40 visits wanted
  CpuCollector cpu(h.env, h.registry);
  double last = 0;
  size_t total_reads = 0;
  int ticks = 0;
  Snapshot s;
  for (; ticks < 40; ++ticks) {
    s = Tick(cpu);
    EXPECT_LE(cpu.thread_reads_last_tick(), 30u) << "tick " << ticks;
    EXPECT_GT(cpu.thread_reads_last_tick(), 0u) << "tick " << ticks;
    total_reads += cpu.thread_reads_last_tick();
    const double rq = s.targets.at("weird").cpu->runqueue_delay_seconds;
    EXPECT_GE(rq, last) << "tick " << ticks;
    last = rq;
    if (rq == 200 * 1000 / 1e9) break;
  }
  // 200 visits of 2-3 files at <= 30 files a tick take at least 14 ticks, but they finish.
  EXPECT_GE(ticks, 13);
  EXPECT_LT(ticks, 40);
  EXPECT_DOUBLE_EQ(last, 200 * 1000 / 1e9);
  // The exposed age says the rotation took longer than thread_interval.
  EXPECT_GT(s.time - s.targets.at("weird").refreshed.at("threads"), std::chrono::seconds(5));
}

TEST_F(RotationTest, ShortBudgetStillReachesEveryProcess) {
  // Two target processes (100 with 200 threads, then 200 "web", in target-name order): the
  // budget runs out inside 100, and the next tick starts where it stopped, so 200's threads are
  // read too.
  Selector web;
  web.comm = "web";
  h.AddTarget("zweb", web);
  MakeThreads(200, 1000);
  h.policy.global.collection.thread_reads_per_tick = 10;
  CpuCollector cpu(h.env, h.registry);
  bool web_read = false;
  for (int i = 0; i < 60 && !web_read; ++i) {
    Snapshot s = Tick(cpu);
    EXPECT_LE(cpu.thread_reads_last_tick(), 10u);
    const auto& w = s.targets.at("zweb");
    web_read = w.cpu && w.refreshed.count("threads") > 0;
  }
  EXPECT_TRUE(web_read);
}

TEST_F(RotationTest, CountersNeverGoBackwardsWhenThreadsExitMidRotation) {
  MakeThreads(20, 1000);
  h.policy.global.collection.thread_reads_per_tick = 12;
  CpuCollector cpu(h.env, h.registry);
  double last = 0;
  for (int i = 0; i < 30; ++i) {
    // Threads keep accruing delay; every few ticks one exits (taking its share) and a new one
    // appears.
    for (int t = 0; t < 20; ++t) {
      if (std::filesystem::exists(h.tree.Path("proc/100/task/" + std::to_string(1000 + t)))) {
        WriteThread(1000 + t, 1000 + 100 * static_cast<uint64_t>(i));
      }
    }
    if (i % 4 == 3) {
      h.tree.Remove("proc/100/task/" + std::to_string(1000 + i / 4));
      WriteThread(2000 + i, 5);
    }
    Snapshot s = Tick(cpu);
    EXPECT_LE(cpu.thread_reads_last_tick(), 12u);
    const double rq = s.targets.at("weird").cpu->runqueue_delay_seconds;
    EXPECT_GE(rq, last) << "tick " << i;
    last = rq;
  }
  EXPECT_GT(last, 20 * 1000 / 1e9);
}

TEST_F(RotationTest, TaskStatsGivesCurrentTotalsAndDropsBecomeZeroIncrements) {
  TaskStatsSockDiag diag;
  diag.totals[100] = {/*cpu_delay_ns=*/2'000'000'000, /*cpu_count=*/50, /*nvcsw=*/7, /*nivcsw=*/3};
  Env env{h.clock, h.faulty, diag, h.perf};
  Discovery disc(env, h.registry);
  CpuCollector cpu(env, h.registry);
  cpu.AllowTaskStatsOnAnyRoot();
  MakeThreads(200, 1000);
  h.policy.global.collection.thread_reads_per_tick = 25;
  auto tick = [&] { return h.Tick({&disc, &cpu}); };
  Snapshot s = tick();
  ASSERT_TRUE(cpu.using_taskstats());
  const CpuStats& c1 = *s.targets.at("weird").cpu;
  EXPECT_DOUBLE_EQ(c1.runqueue_delay_seconds, 2.0);
  EXPECT_EQ(c1.timeslices, 50u);
  EXPECT_EQ(c1.voluntary_ctxt_switches, 7u);
  EXPECT_EQ(c1.nonvoluntary_ctxt_switches, 3u);
  // Current every tick: age 0.
  EXPECT_EQ(s.time - s.targets.at("weird").refreshed.at("runqueue"), Duration(0));
  // A visit only needs stat (last CPU): one file per thread, within the budget.
  EXPECT_EQ(cpu.thread_reads_last_tick(), 25u);

  // taskstats is asked when the process's stat moved (threads ran or exited), so each step
  // below moves stat's utime too, as the kernel would.
  int utime = 300;
  auto ran = [&] {
    h.tree.Write("proc/100/stat", "100 (a) (b\nc) S 1 100 100 0 -1 4194560 500 0 7 0 " +
                                      std::to_string(++utime) +
                                      " 100 0 0 20 0 3 0 5000 100000 200 18446744073709551615 1 "
                                      "1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  };
  // A thread exits: the kernel's sum over live threads drops. No increment, no decrease.
  diag.totals[100] = {1'500'000'000, 40, 5, 2};
  ran();
  s = tick();
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, 2.0);
  EXPECT_EQ(s.targets.at("weird").cpu->voluntary_ctxt_switches, 7u);
  // The live threads go on: their increments count on top.
  diag.totals[100] = {2'000'000'000, 45, 9, 2};
  ran();
  s = tick();
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds, 2.5);
  EXPECT_EQ(s.targets.at("weird").cpu->timeslices, 55u);
  EXPECT_EQ(s.targets.at("weird").cpu->voluntary_ctxt_switches, 11u);
  EXPECT_EQ(h.Metric("knobd_target_runqueue_delay_seconds_total", {{"target", "weird"}}), 2.5);
}

TEST_F(RotationTest, TaskStatsRefusedFallsBackToThreadFiles) {
  TaskStatsSockDiag diag;
  diag.refuse = PermissionDeniedError("taskstats: Operation not permitted");
  Env env{h.clock, h.faulty, diag, h.perf};
  Discovery disc(env, h.registry);
  CpuCollector cpu(env, h.registry);
  cpu.AllowTaskStatsOnAnyRoot();
  Snapshot s = h.Tick({&disc, &cpu});
  EXPECT_FALSE(cpu.using_taskstats());
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "cpu"}, {"source", "taskstats"}}),
            0);
  // The edge fixture's three threads, from schedstat.
  EXPECT_DOUBLE_EQ(s.targets.at("weird").cpu->runqueue_delay_seconds,
                   (50000 + 250000 + 700000) / 1e9);
  const int queries = diag.queries;
  h.Tick({&disc, &cpu});
  EXPECT_EQ(diag.queries, queries) << "an unsupported source is not retried every tick";
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

using test::CountingProcFs;

TEST(ProcStatCacheTest, AllocatorReusesTheCpuCollectorsStatOfTheSameTick) {
  for (bool shared : {true, false}) {
    Harness h;
    Selector s;
    s.comm = "a) (b\nc";
    h.AddTarget("weird", s);
    CountingProcFs counting(h.faulty);
    Env env{h.clock, counting, h.sock_diag, h.perf};
    Discovery d(env, h.registry);
    CpuCollector cpu(env, h.registry);
    AllocatorCollector alloc(env, h.registry, shared ? cpu.stat_cache() : nullptr);
    Snapshot snap = h.Tick({&d, &cpu, &alloc});
    ASSERT_TRUE(snap.targets.at("weird").memory.has_value());
    EXPECT_EQ(snap.targets.at("weird").memory->minor_faults, 500u);
    // Discovery and the cpu collector read it; the allocator only without the shared cache.
    EXPECT_EQ(counting.TouchesOf("100/stat"), shared ? 2 : 3) << "shared=" << shared;
    // Next tick, without the cpu collector: the previous tick's entry is not reused, the
    // allocator reads the file (discovery re-checks a known pid through comm, not stat).
    counting.Reset();
    h.Tick({&d, &alloc});
    EXPECT_EQ(counting.TouchesOf("100/stat"), 1) << "shared=" << shared;
  }
}

TEST(ThreadListTest, ReListedWhenTheThreadCountChangesNotEveryTick) {
  Harness h;
  Selector s;
  s.comm = "a) (b\nc";
  h.AddTarget("weird", s);
  CountingProcFs counting(h.faulty);
  Env env{h.clock, counting, h.sock_diag, h.perf};
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  for (int i = 0; i < 10; ++i) h.Tick({&d, &cpu});
  EXPECT_EQ(counting.TouchesOf("100/task"), 1)
      << "stat's thread count (3) matches the list: no re-list";
  // A fourth thread appears: stat says 4, so the small process re-lists on the next tick.
  std::filesystem::create_directories(h.tree.Path("proc/100/task/104"));
  h.tree.Write("proc/100/task/104/schedstat", "0 3000000 1\n");
  h.tree.Write("proc/100/task/104/stat",
               "104 (w) S 1 100 100 0 -1 0 0 0 0 0 1 1 0 0 20 0 4 0 5000 0 0 0 1 1 0 0 0 0 0 0 "
               "0 0 0 0 17 1 0 0 0 0 0\n");
  h.tree.Write("proc/100/task/104/status", "voluntary_ctxt_switches:\t1\n");
  h.tree.Write("proc/100/stat",
               "100 (a) (b\nc) S 1 100 100 0 -1 4194560 500 0 7 0 300 100 0 0 20 0 4 0 5000 "
               "100000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  Snapshot snap = h.Tick({&d, &cpu});
  EXPECT_EQ(counting.TouchesOf("100/task"), 2);
  EXPECT_DOUBLE_EQ(snap.targets.at("weird").cpu->runqueue_delay_seconds,
                   (50000 + 250000 + 700000 + 3000000) / 1e9);
}

// A hand-built TASKSTATS_CMD_GET reply: nlmsghdr, genlmsghdr, AGGR_TGID { PID, STATS }.
std::vector<char> TaskStatsReply(size_t stats_len, const taskstats& ts) {
  std::vector<char> b(NLMSG_LENGTH(GENL_HDRLEN) + 3 * NLA_HDRLEN + NLA_ALIGN(4) +
                      NLA_ALIGN(stats_len));
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(b.size());
  h.nlmsg_type = 30;
  std::memcpy(b.data(), &h, sizeof(h));
  size_t off = NLMSG_LENGTH(GENL_HDRLEN);
  nlattr outer{static_cast<uint16_t>(b.size() - off), TASKSTATS_TYPE_AGGR_TGID};
  std::memcpy(b.data() + off, &outer, sizeof(outer));
  off += NLA_HDRLEN;
  nlattr pid{NLA_HDRLEN + 4, TASKSTATS_TYPE_TGID};
  std::memcpy(b.data() + off, &pid, sizeof(pid));
  off += NLA_HDRLEN + NLA_ALIGN(4);
  nlattr st{static_cast<uint16_t>(NLA_HDRLEN + stats_len), TASKSTATS_TYPE_STATS};
  std::memcpy(b.data() + off, &st, sizeof(st));
  std::memcpy(b.data() + off + NLA_HDRLEN, &ts, std::min(stats_len, sizeof(ts)));
  return b;
}

TEST(TaskStatsParseTest, FullShortAndErrorReplies) {
  taskstats ts{};
  ts.cpu_count = 7;
  ts.cpu_delay_total = 123456789;
  ts.nvcsw = 11;
  ts.nivcsw = 3;
  auto full = TaskStatsReply(sizeof(ts), ts);
  TaskStatsTotals out;
  ASSERT_TRUE(ParseTaskStatsReply(full.data(), full.size(), out).ok());
  EXPECT_EQ(out.cpu_count, 7u);
  EXPECT_EQ(out.cpu_delay_ns, 123456789u);
  EXPECT_EQ(out.nvcsw, 11u);
  EXPECT_EQ(out.nivcsw, 3u);

  // An older kernel's shorter struct: fields past its end stay 0 (nvcsw came later than the
  // cpu delay fields).
  auto shorter = TaskStatsReply(offsetof(taskstats, nvcsw), ts);
  out = {};
  ASSERT_TRUE(ParseTaskStatsReply(shorter.data(), shorter.size(), out).ok());
  EXPECT_EQ(out.cpu_delay_ns, 123456789u);
  EXPECT_EQ(out.nvcsw, 0u);

  // A truncated datagram and a reply without stats are errors, not crashes.
  EXPECT_FALSE(ParseTaskStatsReply(full.data(), 10, out).ok());
  EXPECT_FALSE(ParseTaskStatsReply(full.data(), full.size() - 8, out).ok());

  // NLMSG_ERROR with -ESRCH: the task is gone.
  std::vector<char> err(NLMSG_LENGTH(sizeof(nlmsgerr)));
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(err.size());
  h.nlmsg_type = NLMSG_ERROR;
  nlmsgerr e{};
  e.error = -ESRCH;
  std::memcpy(err.data(), &h, sizeof(h));
  std::memcpy(err.data() + NLMSG_HDRLEN, &e, sizeof(e));
  EXPECT_EQ(ParseTaskStatsReply(err.data(), err.size(), out).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace knob
