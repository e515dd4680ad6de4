// SPDX-License-Identifier: Apache-2.0
// Slow cadences under a FakeClock over a generated fixture host of many processes: smaps_rollup
// reads are staggered and capped per tick (even when every pid falls in the same stagger slot),
// discovery lists /proc only every discovery_interval (sooner for a waiting target when a pid
// was allocated) while re-checking matched processes every tick, and the cpu collector asks
// taskstats only when a process's stat moved or once per thread_interval, staggered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "collectors/allocator.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "tests/support/counting_procfs.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using test::CountingProcFs;
using test::Harness;

// Writes a single-threaded process `pid` named `comm` into the fixture /proc.
void WriteProcess(Harness& h, int pid, const std::string& comm) {
  const std::string dir = "proc/" + std::to_string(pid);
  std::filesystem::create_directories(h.tree.Path(dir + "/task/" + std::to_string(pid)));
  const std::string stat = std::to_string(pid) + " (" + comm +
                           ") S 1 1 1 0 -1 0 10 0 0 0 5 3 0 0 20 0 1 0 4000 1000 10 "
                           "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  std::ofstream(h.tree.Path(dir + "/stat")) << stat;
  std::ofstream(h.tree.Path(dir + "/task/" + std::to_string(pid) + "/stat")) << stat;
  std::ofstream(h.tree.Path(dir + "/comm")) << comm << "\n";
  std::ofstream(h.tree.Path(dir + "/statm")) << "1000 100 50 10 0 80 0\n";
  std::ofstream(h.tree.Path(dir + "/smaps_rollup"))
      << "00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\nRss: 400 kB\nPss: 300 kB\n"
      << "Swap: 0 kB\n";
  std::ofstream(h.tree.Path(dir + "/status")) << "Name:\t" << comm << "\nThreads:\t1\n";
}

// Writes process `pid`'s stat with `utime` ticks and `threads` threads: the fields (with the
// fault counts) whose change makes the cpu collector treat the process as running.
void WriteStat(Harness& h, int pid, const std::string& comm, int utime, int threads) {
  h.tree.Write("proc/" + std::to_string(pid) + "/stat",
               std::to_string(pid) + " (" + comm + ") S 1 1 1 0 -1 0 10 0 0 0 " +
                   std::to_string(utime) + " 3 0 0 20 0 " + std::to_string(threads) +
                   " 0 4000 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 "
                   "0\n");
}

// A process `pid` with `n` idle threads (tids pid .. pid+n-1) whose stat says so.
void WriteThreadedProcess(Harness& h, int pid, int n);

Selector Comm(const std::string& c) {
  Selector s;
  s.comm = c;
  return s;
}

class CadenceTest : public ::testing::Test {
 protected:
  Harness h;
  CountingProcFs counting{h.faulty};
  Env env{h.clock, counting, h.sock_diag, h.perf};
};

TEST_F(CadenceTest, SmapsReadsAreCappedPerTickEvenWhenAllPidsShareASlot) {
  // 40 processes whose pids are all 0 mod 10: with a 10 s interval they share one stagger slot.
  for (int i = 0; i < 40; ++i) WriteProcess(h, 1000 + 10 * i, "many");
  h.policy.global.collection.smaps_interval = std::chrono::seconds(10);
  h.AddTarget("many", Comm("many"));
  Discovery d(env, h.registry);
  AllocatorCollector alloc(env, h.registry);
  Snapshot s = h.Tick({&d, &alloc});
  ASSERT_EQ(s.targets.at("many").processes.size(), 40u);
  EXPECT_EQ(alloc.detail_reads_last_tick(), 40u);  // first reads are never postponed
  // Cap = 2 * ceil(40 / 10) = 8 per tick; over 30 ticks each process is re-read 2-3 times.
  int total = 0;
  for (int t = 0; t < 30; ++t) {
    s = h.Tick({&d, &alloc});
    EXPECT_LE(alloc.detail_reads_last_tick(), 8u) << "tick " << t;
    total += static_cast<int>(alloc.detail_reads_last_tick());
    // No reading behind the snapshot is older than interval + the slip the cap causes.
    EXPECT_LE(s.time - s.targets.at("many").refreshed.at("memory_detail"),
              std::chrono::seconds(16));
  }
  EXPECT_GE(total, 80);
  EXPECT_LE(total, 130);
}

TEST_F(CadenceTest, SmapsReadsSpreadEvenlyOverTheInterval) {
  for (int i = 0; i < 60; ++i) WriteProcess(h, 2000 + i, "spread");
  h.policy.global.collection.smaps_interval = std::chrono::seconds(30);
  h.AddTarget("spread", Comm("spread"));
  Discovery d(env, h.registry);
  AllocatorCollector alloc(env, h.registry);
  h.Tick({&d, &alloc});
  for (int t = 0; t < 60; ++t) {
    h.Tick({&d, &alloc});
    // 60 processes over 30 slots: 2 per tick, never a burst.
    EXPECT_LE(alloc.detail_reads_last_tick(), 3u) << "tick " << t;
  }
}

TEST_F(CadenceTest, DiscoveryListsProcOnItsIntervalAndRechecksMatchedEveryTick) {
  for (int i = 0; i < 5; ++i) WriteProcess(h, 3000 + i, "svc");
  h.policy.global.collection.discovery_interval = std::chrono::seconds(5);
  h.AddTarget("svc", Comm("svc"));
  Discovery d(env, h.registry);
  Snapshot s = h.Tick({&d});
  ASSERT_EQ(s.targets.at("svc").processes.size(), 5u);
  EXPECT_EQ(counting.ListingsOf(""), 1);
  // A matched process exits between scans: gone at the next tick, without a listing.
  h.tree.Remove("proc/3002");
  const int comm_reads = counting.ReadsNamed("comm");
  s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("svc").processes.size(), 4u);
  EXPECT_EQ(counting.ListingsOf(""), 1);
  EXPECT_EQ(counting.ReadsNamed("comm") - comm_reads, 5);  // the 5 matched last tick, nothing else
  // A new process is found at the next scan (5 s after the first), not before.
  WriteProcess(h, 3010, "svc");
  for (int t = 0; t < 2; ++t) {
    s = h.Tick({&d});
    EXPECT_EQ(s.targets.at("svc").processes.size(), 4u);
  }
  s = h.Tick({&d});  // now = 4 s
  EXPECT_EQ(s.targets.at("svc").processes.size(), 4u);
  s = h.Tick({&d});  // now = 5 s: scan
  EXPECT_EQ(s.targets.at("svc").processes.size(), 5u);
  EXPECT_EQ(counting.ListingsOf(""), 2);
}

TEST_F(CadenceTest, WaitingTargetScansWhenAPidWasAllocated) {
  h.policy.global.collection.discovery_interval = std::chrono::seconds(30);
  h.AddTarget("late", Comm("late"));
  Discovery d(env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("late").state, TargetState::kPending);
  EXPECT_EQ(counting.ListingsOf(""), 1);
  // No pid allocated (loadavg's last pid unchanged): no listing while the target waits.
  for (int t = 0; t < 3; ++t) h.Tick({&d});
  EXPECT_EQ(counting.ListingsOf(""), 1);
  // The process starts: last pid moves, the next tick scans and finds it.
  WriteProcess(h, 4000, "late");
  h.tree.Write("proc/loadavg", "1.50 0.75 0.25 3/121 4000\n");
  s = h.Tick({&d});
  EXPECT_EQ(counting.ListingsOf(""), 2);
  ASSERT_EQ(s.targets.at("late").processes.size(), 1u);
  EXPECT_EQ(s.targets.at("late").state, TargetState::kActive);
  // Active now: pid allocations no longer trigger scans before the interval.
  h.tree.Write("proc/loadavg", "1.50 0.75 0.25 3/122 4001\n");
  h.Tick({&d});
  EXPECT_EQ(counting.ListingsOf(""), 2);
}

// taskstats answers from a table; a test changes an entry to make a process "run".
class TableSockDiag final : public SockDiag {
 public:
  std::map<pid_t, TaskStatsTotals> totals;
  int queries = 0;
  Status DumpTcp(uint32_t, bool, std::vector<TcpSocketInfo>&) override { return OkStatus(); }
  Status TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) override {
    ++queries;
    auto it = totals.find(tgid);
    if (it == totals.end()) return NotFoundError("no such task");
    out = it->second;
    return OkStatus();
  }
};

TEST_F(CadenceTest, TaskstatsAskedWhenStatMovesElseOncePerThreadInterval) {
  TableSockDiag ts;
  Env ts_env{h.clock, counting, ts, h.perf};
  for (int i = 0; i < 5; ++i) {
    WriteProcess(h, 5000 + i, "idle");
    ts.totals[5000 + i] = TaskStatsTotals{10, 2, 3, 1, 1000, 1000};
  }
  ts.totals[::getpid()] = TaskStatsTotals{};  // the collector's permission probe
  h.policy.global.collection.thread_interval = std::chrono::seconds(5);
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(0);  // stat every tick
  h.AddTarget("idle", Comm("idle"));
  Discovery d(ts_env, h.registry);
  CpuCollector cpu(ts_env, h.registry);
  cpu.AllowTaskStatsOnAnyRoot();
  Snapshot s = h.Tick({&d, &cpu});
  ASSERT_TRUE(cpu.using_taskstats());
  EXPECT_EQ(cpu.taskstats_queries(), 5u);
  EXPECT_EQ(s.targets.at("idle").cpu->voluntary_ctxt_switches, 5u * 3);
  // Nothing moves: stat is read every tick (process CPU), taskstats once per process per 5 s,
  // staggered by pid so no tick asks all five.
  std::vector<uint64_t> per_tick;
  for (int t = 0; t < 10; ++t) {
    const uint64_t before = cpu.taskstats_queries();
    s = h.Tick({&d, &cpu});
    per_tick.push_back(cpu.taskstats_queries() - before);
    EXPECT_LE(per_tick.back(), 2u) << "tick " << t;
    // The age of the run-queue reading stays within the interval.
    EXPECT_LE(s.time - s.targets.at("idle").refreshed.at("runqueue"), std::chrono::seconds(5));
  }
  uint64_t total = 0;
  for (uint64_t q : per_tick) total += q;
  EXPECT_EQ(total, 10u);  // 5 processes x 2 intervals
  EXPECT_EQ(cpu.stat_reads(), 5u * 11);
  // Process 5001's stat moves (it ran): taskstats is asked at once and its switches show.
  ts.totals[5001].nvcsw += 7;
  h.tree.Write("proc/5001/stat",
               "5001 (idle) S 1 1 1 0 -1 0 10 0 0 0 105 3 0 0 20 0 1 0 4000 1000 10 "
               "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  const uint64_t before = cpu.taskstats_queries();
  s = h.Tick({&d, &cpu});
  EXPECT_GE(cpu.taskstats_queries(), before + 1);
  EXPECT_DOUBLE_EQ(s.targets.at("idle").cpu->user_seconds, 4 * 0.05 + 1.05);
  EXPECT_EQ(s.targets.at("idle").cpu->voluntary_ctxt_switches, 5u * 3 + 7);
  // A skipped query delays increments, never loses them: 5003 ran without moving its stat.
  ts.totals[5003].nvcsw += 4;
  for (int t = 0; t < 5; ++t) s = h.Tick({&d, &cpu});
  EXPECT_EQ(s.targets.at("idle").cpu->voluntary_ctxt_switches, 5u * 3 + 7 + 4);
}

TEST_F(CadenceTest, IdleProcessStatReadOncePerIntervalUntilItMoves) {
  for (int i = 0; i < 4; ++i) WriteProcess(h, 6000 + i, "quiet");
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(5);
  h.AddTarget("quiet", Comm("quiet"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  auto reads = [&](int pid) { return counting.ReadsOf(std::to_string(pid) + "/stat"); };
  // Until nothing has moved for 5 s, every process is read every tick (the first tick's count
  // includes discovery's own read of a new process's stat).
  h.Tick({&d, &cpu});
  std::vector<int> first;
  for (int i = 0; i < 4; ++i) first.push_back(reads(6000 + i));
  for (int t = 0; t < 5; ++t) h.Tick({&d, &cpu});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(reads(6000 + i), first[i] + 5) << 6000 + i;
  // Then once per 5 s each, staggered by pid so they do not come due together.
  Snapshot s;
  int before = 0;
  for (int i = 0; i < 4; ++i) before += reads(6000 + i);
  for (int t = 0; t < 10; ++t) {
    int at_start = 0;
    for (int i = 0; i < 4; ++i) at_start += reads(6000 + i);
    s = h.Tick({&d, &cpu});
    int now = 0;
    for (int i = 0; i < 4; ++i) now += reads(6000 + i);
    EXPECT_LE(now - at_start, 1) << "tick " << t;
    EXPECT_LE(s.time - s.targets.at("quiet").refreshed.at("process"), std::chrono::seconds(5));
    EXPECT_EQ(s.targets.at("quiet").processes.size(), 4u);
  }
  int after = 0;
  for (int i = 0; i < 4; ++i) after += reads(6000 + i);
  EXPECT_EQ(after - before, 8);  // 4 processes x 2 intervals
  EXPECT_EQ(cpu.idle_skips(), 4u * 10 - 8);
  EXPECT_DOUBLE_EQ(s.targets.at("quiet").cpu->user_seconds, 4 * 0.05);
  // 6001 starts running: its CPU shows at its next read at the latest, and from then on it
  // is read every tick again.
  WriteStat(h, 6001, "quiet", 105, 1);
  int ticks = 0;
  for (; ticks < 6; ++ticks) {
    s = h.Tick({&d, &cpu});
    if (s.targets.at("quiet").cpu->user_seconds > 4 * 0.05) break;
  }
  EXPECT_LT(ticks, 5);
  EXPECT_DOUBLE_EQ(s.targets.at("quiet").cpu->user_seconds, 3 * 0.05 + 1.05);
  const int seen_at = reads(6001);
  for (int t = 0; t < 3; ++t) h.Tick({&d, &cpu});
  EXPECT_EQ(reads(6001), seen_at + 3);
}

TEST_F(CadenceTest, AllocatorReusesStatmOfAnIdleProcessUntilItsStatIsReadAgain) {
  WriteProcess(h, 6200, "mem");
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(5);
  h.AddTarget("mem", Comm("mem"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  AllocatorCollector alloc(env, h.registry, cpu.stat_cache());
  auto statm = [&] { return counting.ReadsOf("6200/statm"); };
  for (int t = 0; t < 6; ++t) h.Tick({&d, &cpu, &alloc});
  EXPECT_EQ(statm(), 6);  // busy until 5 s without a change: every tick
  // Idle: statm is read with the process's stat, once per 5 s, and RSS stays reported.
  Snapshot s;
  for (int t = 0; t < 10; ++t) {
    s = h.Tick({&d, &cpu, &alloc});
    ASSERT_TRUE(s.targets.at("mem").memory.has_value());
    EXPECT_EQ(s.targets.at("mem").memory->rss_bytes, 100u * static_cast<uint64_t>(getpagesize()));
  }
  EXPECT_EQ(statm(), 6 + 2);
  EXPECT_EQ(cpu.stat_reads(), 6u + 2);
}

TEST_F(CadenceTest, ProcessesOfATargetServingRequestsAreReadEveryTickEvenWhenIdle) {
  for (int i = 0; i < 3; ++i) WriteProcess(h, 6300 + i, "srv");
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(2);
  h.AddTarget("srv", Comm("srv"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  AppReport app;
  for (int t = 0; t < 10; ++t) {
    app.requests_total += 100;  // serving, though its processes' stat never moves
    h.apps["srv"] = app;
    h.Tick({&d, &cpu});
  }
  EXPECT_EQ(cpu.stat_reads(), 3u * 10);
  EXPECT_EQ(cpu.idle_skips(), 0u);
  // The requests stop: the idle processes are skipped again.
  for (int t = 0; t < 10; ++t) h.Tick({&d, &cpu});
  EXPECT_GT(cpu.idle_skips(), 0u);
}

TEST_F(CadenceTest, IdleProcessIntervalZeroReadsEveryProcessEveryTick) {
  for (int i = 0; i < 3; ++i) WriteProcess(h, 6100 + i, "still");
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(0);
  h.AddTarget("still", Comm("still"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  for (int t = 0; t < 12; ++t) h.Tick({&d, &cpu});
  EXPECT_EQ(cpu.stat_reads(), 3u * 12);
  EXPECT_EQ(cpu.idle_skips(), 0u);
}

// A process `pid` with threads tids[i] whose stat says utime = utimes[i] ticks, comm "w".
void WriteThreads(Harness& h, int pid, const std::vector<std::pair<int, int>>& tid_utime) {
  WriteProcess(h, pid, "busy");
  h.tree.Remove("proc/" + std::to_string(pid) + "/task");
  for (const auto& [tid, utime] : tid_utime) {
    const std::string dir = "proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
    std::filesystem::create_directories(h.tree.Path(dir));
    std::ofstream(h.tree.Path(dir + "/stat"))
        << tid << " (w) S 1 1 1 0 -1 0 10 0 0 0 " << utime
        << " 2 0 0 20 0 1 0 4000 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 "
           "0 0 0\n";
    std::ofstream(h.tree.Path(dir + "/schedstat")) << "100 200 3\n";
    std::ofstream(h.tree.Path(dir + "/status"))
        << "voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n";
  }
}

void WriteThreadedProcess(Harness& h, int pid, int n) {
  std::vector<std::pair<int, int>> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(pid + i, 1);
  WriteThreads(h, pid, threads);
  WriteStat(h, pid, "busy", 5, n);
}

TEST_F(CadenceTest, LargeProcessIsRelistedPeriodicallyOnlyWhenItsStatMoved) {
  WriteThreadedProcess(h, 7200, 70);
  auto write_stat = [&](int utime) { WriteStat(h, 7200, "busy", utime, 70); };
  h.policy.global.collection.thread_interval = std::chrono::seconds(1);
  h.policy.global.collection.thread_reads_per_tick = 4;  // a rotation takes ~18 ticks
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(0);
  h.AddTarget("busy", Comm("busy"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  const std::string task = "7200/task";
  h.Tick({&d, &cpu});
  ASSERT_EQ(counting.KeptListingsOf(task), 1);
  // Nothing moves for well past 6 thread intervals: no periodic re-listing.
  for (int t = 0; t < 15; ++t) h.Tick({&d, &cpu});
  EXPECT_EQ(counting.KeptListingsOf(task), 1);
  // It runs (and could have replaced a thread one for one): re-listed at the next tick, as 6
  // thread intervals have passed since the last listing.
  write_stat(50);
  h.Tick({&d, &cpu});
  EXPECT_EQ(counting.KeptListingsOf(task), 2);
  // Still moving: the next periodic listing comes 6 intervals later, not before.
  for (int t = 0; t < 5; ++t) {
    write_stat(60 + t);
    h.Tick({&d, &cpu});
  }
  EXPECT_EQ(counting.KeptListingsOf(task), 2);
  write_stat(70);
  h.Tick({&d, &cpu});
  EXPECT_EQ(counting.KeptListingsOf(task), 3);
}

TEST_F(CadenceTest, IdleProcessThreadsAreNotVisitedOnceAllWereReadSinceItsLastChange) {
  TableSockDiag ts;
  Env ts_env{h.clock, counting, ts, h.perf};
  WriteThreadedProcess(h, 7300, 20);
  auto write_stat = [&](int utime) { WriteStat(h, 7300, "busy", utime, 20); };
  ts.totals[7300] = TaskStatsTotals{10, 2, 3, 1, 1000, 1000};
  ts.totals[::getpid()] = TaskStatsTotals{};
  h.policy.global.collection.thread_interval = std::chrono::seconds(5);  // 4 visits a tick
  h.policy.global.collection.thread_reads_per_tick = 100;
  h.policy.global.collection.idle_process_interval = std::chrono::seconds(2);
  h.AddTarget("busy", Comm("busy"));
  Discovery d(ts_env, h.registry);
  CpuCollector cpu(ts_env, h.registry);
  cpu.AllowTaskStatsOnAnyRoot();
  Snapshot s = h.Tick({&d, &cpu});
  ASSERT_TRUE(cpu.using_taskstats());
  // Idle after 2 s; visits go on until every thread was read once (20 threads at 4 a tick)...
  int busy_ticks = 0;
  for (int t = 0; t < 12; ++t) {
    s = h.Tick({&d, &cpu});
    if (cpu.thread_reads_last_tick() > 0) ++busy_ticks;
  }
  EXPECT_GE(busy_ticks, 4);
  EXPECT_LE(busy_ticks, 6);
  // ...then stop, and the threads' age is that of the last stat read that found nothing moved.
  for (int t = 0; t < 10; ++t) {
    s = h.Tick({&d, &cpu});
    EXPECT_EQ(cpu.thread_reads_last_tick(), 0u) << "tick " << t;
    EXPECT_LE(s.time - s.targets.at("busy").refreshed.at("threads"), std::chrono::seconds(2));
  }
  // It runs again: visits resume once a stat read sees it (within the 2 s idle interval).
  write_stat(40);
  size_t reads = 0;
  for (int t = 0; t < 4; ++t) {
    s = h.Tick({&d, &cpu});
    reads += cpu.thread_reads_last_tick();
  }
  EXPECT_GE(reads, 8u);
}

TEST_F(CadenceTest, PerThreadSeriesForTheBusiestThreadsOnlyAndRemovedOnExit) {
  WriteThreads(h, 7000, {{7001, 10}, {7002, 500}, {7003, 30}, {7004, 400}, {7005, 20}});
  h.policy.global.collection.per_thread_metrics = true;
  h.policy.global.collection.per_thread_metrics_limit = 2;
  h.AddTarget("busy", Comm("busy"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  h.Tick({&d, &cpu});
  auto series = [&](int tid, const char* mode) {
    return h.Metric(
        "knobd_thread_cpu_seconds_total",
        {{"target", "busy"}, {"tid", std::to_string(tid)}, {"comm", "w"}, {"mode", mode}});
  };
  EXPECT_EQ(series(7002, "user"), 5.0);  // 500 ticks at USER_HZ 100
  EXPECT_EQ(series(7002, "system"), 0.02);
  EXPECT_EQ(series(7004, "user"), 4.0);
  EXPECT_FALSE(series(7001, "user").has_value());
  EXPECT_FALSE(series(7003, "user").has_value());
  // 7002 exits: its series go, the next busiest takes its place.
  h.tree.Remove("proc/7000/task/7002");
  h.tree.Write("proc/7000/stat",
               "7000 (busy) S 1 1 1 0 -1 0 10 0 0 0 5 3 0 0 20 0 4 0 4000 1000 10 "
               "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  for (int t = 0; t < 6; ++t) h.Tick({&d, &cpu});
  EXPECT_FALSE(series(7002, "user").has_value());
  EXPECT_FALSE(series(7002, "system").has_value());
  EXPECT_EQ(series(7004, "user"), 4.0);
  EXPECT_EQ(series(7003, "user"), 0.3);
  // Opting out removes every per-thread series.
  h.policy.global.collection.per_thread_metrics = false;
  h.Tick({&d, &cpu});
  EXPECT_FALSE(series(7004, "user").has_value());
}

TEST_F(CadenceTest, NoPerThreadSeriesByDefault) {
  WriteThreads(h, 7100, {{7101, 10}, {7102, 20}});
  h.AddTarget("busy", Comm("busy"));
  Discovery d(env, h.registry);
  CpuCollector cpu(env, h.registry);
  h.Tick({&d, &cpu});
  EXPECT_FALSE(h.Metric("knobd_thread_cpu_seconds_total",
                        {{"target", "busy"}, {"tid", "7102"}, {"comm", "w"}, {"mode", "user"}})
                   .has_value());
}

}  // namespace
}  // namespace knob
