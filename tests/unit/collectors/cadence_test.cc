// Slow cadences under a FakeClock over a generated fixture host of many processes: smaps_rollup
// reads are staggered and capped per tick (even when every pid falls in the same stagger slot),
// discovery lists /proc only every discovery_interval (sooner for a waiting target when a pid
// was allocated) while re-checking matched processes every tick, and the cpu collector reuses a
// process's stat while taskstats says nothing ran.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "collectors/allocator.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using testing::Harness;

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

Selector Comm(const std::string& c) {
  Selector s;
  s.comm = c;
  return s;
}

// Counts reads of files whose path ends in `suffix`, by wrapping the harness's ProcFs.
class CountingProcFs final : public ProcFs {
 public:
  explicit CountingProcFs(ProcFs& inner) : inner_(inner) {}
  std::map<std::string, int> reads;  // by file name (after the last '/')
  int listings_of_root = 0;
  Status Read(FsRoot r, std::string_view p, std::string& out) override {
    Count(p);
    return inner_.Read(r, p, out);
  }
  Status ReadKept(FsRoot r, std::string_view p, std::string& out) override {
    Count(p);
    return inner_.ReadKept(r, p, out);
  }
  void Forget(FsRoot r, std::string_view prefix) override { inner_.Forget(r, prefix); }
  Status ListDir(FsRoot r, std::string_view p, std::vector<std::string>& out) override {
    if (p.empty()) ++listings_of_root;
    return inner_.ListDir(r, p, out);
  }
  Status ListDirKept(FsRoot r, std::string_view p, std::vector<std::string>& out) override {
    return inner_.ListDirKept(r, p, out);
  }
  Status ReadLink(FsRoot r, std::string_view p, std::string& out) override {
    return inner_.ReadLink(r, p, out);
  }
  const std::string& RootPath(FsRoot r) const override { return inner_.RootPath(r); }

 private:
  void Count(std::string_view p) {
    size_t slash = p.rfind('/');
    ++reads[std::string(slash == std::string_view::npos ? p : p.substr(slash + 1))];
  }
  ProcFs& inner_;
};

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
  EXPECT_EQ(counting.listings_of_root, 1);
  // A matched process exits between scans: gone at the next tick, without a listing.
  h.tree.Remove("proc/3002");
  const int comm_reads = counting.reads["comm"];
  s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("svc").processes.size(), 4u);
  EXPECT_EQ(counting.listings_of_root, 1);
  EXPECT_EQ(counting.reads["comm"] - comm_reads, 5);  // the 5 matched last tick, nothing else
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
  EXPECT_EQ(counting.listings_of_root, 2);
}

TEST_F(CadenceTest, WaitingTargetScansWhenAPidWasAllocated) {
  h.policy.global.collection.discovery_interval = std::chrono::seconds(30);
  h.AddTarget("late", Comm("late"));
  Discovery d(env, h.registry);
  Snapshot s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("late").state, TargetState::kPending);
  EXPECT_EQ(counting.listings_of_root, 1);
  // No pid allocated (loadavg's last pid unchanged): no listing while the target waits.
  for (int t = 0; t < 3; ++t) h.Tick({&d});
  EXPECT_EQ(counting.listings_of_root, 1);
  // The process starts: last pid moves, the next tick scans and finds it.
  WriteProcess(h, 4000, "late");
  h.tree.Write("proc/loadavg", "1.50 0.75 0.25 3/121 4000\n");
  s = h.Tick({&d});
  EXPECT_EQ(counting.listings_of_root, 2);
  ASSERT_EQ(s.targets.at("late").processes.size(), 1u);
  EXPECT_EQ(s.targets.at("late").state, TargetState::kActive);
  // Active now: pid allocations no longer trigger scans before the interval.
  h.tree.Write("proc/loadavg", "1.50 0.75 0.25 3/122 4001\n");
  h.Tick({&d});
  EXPECT_EQ(counting.listings_of_root, 2);
}

// taskstats answers from a table; a test changes an entry to make a process "run".
class TableSockDiag final : public SockDiag {
 public:
  std::map<pid_t, TaskStatsTotals> totals;
  Status DumpTcp(uint32_t, bool, std::vector<TcpSocketInfo>&) override { return OkStatus(); }
  Status TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) override {
    auto it = totals.find(tgid);
    if (it == totals.end()) return NotFoundError("no such task");
    out = it->second;
    return OkStatus();
  }
};

TEST_F(CadenceTest, CpuReusesStatWhileTaskstatsShowsNoThreadRan) {
  TableSockDiag ts;
  Env ts_env{h.clock, counting, ts, h.perf};
  for (int i = 0; i < 4; ++i) {
    WriteProcess(h, 5000 + i, "idle");
    ts.totals[5000 + i] = TaskStatsTotals{10, 2, 3, 1, 1000, 1000};
  }
  // Our own pid answers the collector's permission probe.
  ts.totals[::getpid()] = TaskStatsTotals{};
  h.AddTarget("idle", Comm("idle"));
  Discovery d(ts_env, h.registry);
  CpuCollector cpu(ts_env, h.registry);
  cpu.AllowTaskStatsOnAnyRoot();
  Snapshot s = h.Tick({&d, &cpu});
  ASSERT_TRUE(cpu.using_taskstats());
  EXPECT_EQ(cpu.stat_reads(), 4u);
  EXPECT_DOUBLE_EQ(s.targets.at("idle").cpu->user_seconds, 4 * 0.05);
  // Nothing ran: the stat is reused (except a process whose periodic refresh falls due).
  for (int t = 0; t < 5; ++t) s = h.Tick({&d, &cpu});
  EXPECT_LE(cpu.stat_reads(), 4u + 1u);
  EXPECT_DOUBLE_EQ(s.targets.at("idle").cpu->user_seconds, 4 * 0.05);
  // Process 5001 runs: its stat is read again at once and the new CPU time shows.
  const uint64_t before = cpu.stat_reads();
  ts.totals[5001].cpu_run_virtual_ns += 5'000'000;
  h.tree.Write("proc/5001/stat",
               "5001 (idle) S 1 1 1 0 -1 0 10 0 0 0 105 3 0 0 20 0 1 0 4000 1000 10 "
               "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  s = h.Tick({&d, &cpu});
  EXPECT_GE(cpu.stat_reads(), before + 1);
  EXPECT_DOUBLE_EQ(s.targets.at("idle").cpu->user_seconds, 3 * 0.05 + 1.05);
  // Within 30 ticks every process's stat was re-read at least once anyway.
  const uint64_t mark = cpu.stat_reads();
  for (int t = 0; t < 30; ++t) h.Tick({&d, &cpu});
  EXPECT_GE(cpu.stat_reads() - mark, 4u);
}

}  // namespace
}  // namespace knob
