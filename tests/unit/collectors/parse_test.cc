// SPDX-License-Identifier: Apache-2.0
// Table tests for the pure parsers on literal kernel text: valid, empty, truncated, extra
// fields, huge values and older-kernel formats.
#include <gtest/gtest.h>

#include <string>

#include "collectors/parse/cgroup.h"
#include "collectors/parse/loadavg.h"
#include "collectors/parse/netstat.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/pressure.h"
#include "collectors/parse/proc_stat.h"
#include "collectors/parse/schedstat.h"
#include "collectors/parse/smaps_rollup.h"
#include "collectors/parse/statm.h"

namespace knob::parse {
namespace {

constexpr std::string_view kStatTail =
    " S 5402 5402 5399 0 -1 4194560 127 0 3 0 250 75 0 0 20 0 4 0 262512 7467008 851 "
    "18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 0 0 0 17 1 0 0 0 0 0\n";

TEST(PidStatTest, CommWithSpacesParensAndNewline) {
  for (const std::string comm :
       {"bash", "my prog", "a) (b", "x)", "(", "new\nline", ") S 1 2", ""}) {
    std::string text = "5410 (" + comm + ")" + std::string(kStatTail);
    auto r = ParsePidStat(text);
    ASSERT_TRUE(r.ok()) << comm << ": " << r.status().ToString();
    EXPECT_EQ(r->comm, comm);
    EXPECT_EQ(r->pid, 5410);
    EXPECT_EQ(r->state, 'S');
    EXPECT_EQ(r->ppid, 5402);
    EXPECT_EQ(r->minflt, 127u);
    EXPECT_EQ(r->majflt, 3u);
    EXPECT_EQ(r->utime_ticks, 250u);
    EXPECT_EQ(r->stime_ticks, 75u);
    EXPECT_EQ(r->num_threads, 4);
    EXPECT_EQ(r->starttime_ticks, 262512u);
    EXPECT_EQ(r->rss_pages, 851);
    ASSERT_TRUE(r->processor.has_value());
    EXPECT_EQ(*r->processor, 1);
  }
}

TEST(PidStatTest, RejectsBrokenInput) {
  for (std::string_view text : {"", "5410", "5410 (bash", "5410 (bash) S 1 2 3",
                                "x (bash) S 5402 5402 5399 0 -1 4194560 127 0 3 0 250 75 0 0 20 "
                                "0 4 0 262512 7467008 851",
                                "1 (a) S 5402 5402 5399 0 -1 4194560 127 0 3 0 250 75 0 0 20 0 "
                                "4 0 notanumber 7467008 851",
                                // pid above INT_MAX used to narrow to pid 1 (fuzz finding).
                                "4294967297 (a) S 5402 5402 5399 0 -1 4194560 127 0 3 0 250 75 0 "
                                "0 20 0 4 0 262512 7467008 851",
                                // negative num_threads
                                "1 (a) S 5402 5402 5399 0 -1 4194560 127 0 3 0 250 75 0 0 20 0 "
                                "-4 0 262512 7467008 851"}) {
    EXPECT_FALSE(ParsePidStat(text).ok()) << text;
  }
}

TEST(PidStatTest, OldKernelWithoutProcessorAndHugeValues) {
  auto r = ParsePidStat(
      "1 (init) R 0 1 1 0 -1 0 18446744073709551615 0 0 0 18446744073709551615 0 0 0 20 0 1 0 "
      "99 0 0\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->minflt, 18446744073709551615u);
  EXPECT_EQ(r->utime_ticks, 18446744073709551615u);
  EXPECT_FALSE(r->processor.has_value());
  // One past uint64 max overflows and is rejected, not wrapped.
  EXPECT_FALSE(ParsePidStat("1 (init) R 0 1 1 0 -1 0 18446744073709551616 0 0 0 1 0 0 0 20 0 1 "
                            "0 99 0 0\n")
                   .ok());
}

TEST(PidStatusTest, ParsesKnownKeysIgnoresOthers) {
  auto r = ParsePidStatus(
      "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nThreads:\t3\nVmRSS:\t    3404 kB\n"
      "RssAnon:\t     512 kB\nVmSwap:\t       8 "
      "kB\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4,6-7\n"
      "voluntary_ctxt_switches:\t33\nnonvoluntary_ctxt_switches:\t2\nNewKey:\twhatever\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->threads, 3u);
  EXPECT_EQ(r->vm_rss_bytes, 3404u * 1024);
  EXPECT_EQ(r->rss_anon_bytes, 512u * 1024);
  EXPECT_EQ(r->vm_swap_bytes, 8u * 1024);
  EXPECT_EQ(r->cpus_allowed, 5u);
  EXPECT_EQ(r->voluntary_ctxt_switches, 33u);
  EXPECT_EQ(r->nonvoluntary_ctxt_switches, 2u);
}

TEST(PidStatusTest, KernelThreadHasNoVmLines) {
  auto r = ParsePidStatus("Name:\tkworker/0:1\nThreads:\t1\nvoluntary_ctxt_switches:\t9\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->vm_rss_bytes.has_value());
  EXPECT_EQ(r->voluntary_ctxt_switches, 9u);
}

TEST(PidStatusTest, RejectsEmptyAndMalformed) {
  EXPECT_FALSE(ParsePidStatus("").ok());
  EXPECT_FALSE(ParsePidStatus("VmRSS:\tlots kB\n").ok());
  EXPECT_FALSE(ParsePidStatus("Cpus_allowed_list:\t3-1\n").ok());
  // Used to wrap (fuzz findings): 2^54+1 kB, and a range counting 2^32 cpus as 0.
  EXPECT_FALSE(ParsePidStatus("VmRSS:\t18014398509481985 kB\n").ok());
  EXPECT_FALSE(ParsePidStatus("Cpus_allowed_list:\t0-4294967295\n").ok());
}

TEST(CpuListTest, Counts) {
  EXPECT_EQ(CountCpuList("0"), 1u);
  EXPECT_EQ(CountCpuList("0-1"), 2u);
  EXPECT_EQ(CountCpuList("0-3,8,10-11\n"), 7u);
  EXPECT_EQ(CountCpuList(""), 0u);
  EXPECT_FALSE(CountCpuList("a-b").has_value());
}

TEST(SchedstatTest, Table) {
  auto r = ParseSchedstat("1187432 20871 7\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->run_ns, 1187432u);
  EXPECT_EQ(r->wait_ns, 20871u);
  EXPECT_EQ(r->timeslices, 7u);
  EXPECT_TRUE(ParseSchedstat("1 2 3 4\n").ok());  // extra fields tolerated
  EXPECT_FALSE(ParseSchedstat("").ok());
  EXPECT_FALSE(ParseSchedstat("1 2").ok());
  EXPECT_FALSE(ParseSchedstat("1 2 x").ok());
}

TEST(SmapsRollupTest, ValidAndKernelThread) {
  auto r = ParseSmapsRollup(
      "55d0c5a6c000-7ffd4b5fe000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:                3404 kB\nPss:                 964 kB\nPss_Anon:            400 kB\n"
      "Anonymous:           512 kB\nSwap:                  4 kB\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rss_bytes, 3404u * 1024);
  EXPECT_EQ(r->pss_bytes, 964u * 1024);
  EXPECT_EQ(r->anonymous_bytes, 512u * 1024);
  EXPECT_EQ(r->swap_bytes, 4096u);
  EXPECT_FALSE(ParseSmapsRollup("").ok());
  EXPECT_FALSE(ParseSmapsRollup("Rss: x kB\nPss: 1 kB\n").ok());
  EXPECT_FALSE(ParseSmapsRollup("Rss: 18014398509481985 kB\nPss: 1 kB\n").ok());
}

TEST(StatmTest, Table) {
  auto r = ParseStatm("1823 851 597 226 0 250 0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->resident_pages, 851u);
  EXPECT_EQ(r->shared_pages, 597u);
  EXPECT_FALSE(ParseStatm("").ok());
  EXPECT_FALSE(ParseStatm("1 2").ok());
  EXPECT_FALSE(ParseStatm("1 2 -3").ok());
}

TEST(ProcStatTest, PerCpuAndQuirks) {
  auto r = ParseProcStat(
      "cpu  1932 0 1798 249324 349 0 21 18 100 0\n"
      "cpu0 493 0 580 125665 4 0 5 5 40 0\n"
      "cpu3 1438 0 1218 123658 344 0 15 12 60 0\n"
      "intr 123 0 0\nctxt 99\nbtime 1\nprocs_running 3\nprocs_blocked 1\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->cpus.size(), 2u);
  EXPECT_EQ(r->cpus[1].cpu, 3);  // cpu1, cpu2 offline: index from the name
  // guest (40) is inside user already: busy = user+nice+system+irq+softirq+steal.
  EXPECT_EQ(r->cpus[0].BusyTicks(), 493u + 580 + 5 + 5);
  EXPECT_EQ(r->cpus[0].TotalTicks(), 493u + 580 + 5 + 5 + 125665 + 4);
  EXPECT_EQ(r->procs_running, 3u);
  EXPECT_EQ(r->procs_blocked, 1u);
}

TEST(ProcStatTest, OldKernelFourColumnsAndErrors) {
  auto r = ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total.steal, 0u);
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("cpu 1 2\n").ok());
  EXPECT_FALSE(ParseProcStat("cpu 1 2 3 x\n").ok());
  EXPECT_FALSE(ParseProcStat("cpuX 1 2 3 4\ncpu 1 2 3 4\n").ok());
  // An index above INT_MAX used to wrap negative and replace the total (fuzz finding).
  EXPECT_FALSE(ParseProcStat("cpu 1 2 3 4\ncpu2147483648 9 9 9 9\n").ok());
}

TEST(LoadAvgTest, Table) {
  auto r = ParseLoadAvg("0.00 0.02 1234.50 1/88 5390\n");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->load15, 1234.5);
  EXPECT_EQ(r->runnable, 1u);
  EXPECT_EQ(r->total, 88u);
  EXPECT_EQ(r->last_pid, 5390u);
  auto no_last = ParseLoadAvg("0.00 0.02 0.00 1/88\n");
  ASSERT_TRUE(no_last.ok());
  EXPECT_FALSE(no_last->last_pid.has_value());
  EXPECT_FALSE(ParseLoadAvg("").ok());
  EXPECT_FALSE(ParseLoadAvg("0.00 0.02 0.00").ok());
  EXPECT_FALSE(ParseLoadAvg("0.00 0.02 0.00 188 5390").ok());
  for (const char* text :
       {"nan 0.1 0.1 1/88 5390", "0.1 inf 0.1 1/88 5390", "0.1 0.1 -1 1/88 5390"}) {
    EXPECT_FALSE(ParseLoadAvg(text).ok()) << text;
  }
}

TEST(PressureTest, SomeAndFull) {
  auto r = ParsePressure(
      "some avg10=1.50 avg60=0.28 avg300=0.19 total=4235776\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551615\n");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->some && r->full);
  EXPECT_DOUBLE_EQ(r->some->avg10, 1.5);
  EXPECT_EQ(r->some->total_us, 4235776u);
  EXPECT_EQ(r->full->total_us, 18446744073709551615u);
}

TEST(PressureTest, OlderKernelCpuHasNoFull) {
  auto r = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->full.has_value());
}

TEST(PressureTest, Rejects) {
  EXPECT_FALSE(ParsePressure("").ok());
  EXPECT_FALSE(ParsePressure("some avg10=0.00 avg60=0.00\n").ok());
  EXPECT_FALSE(ParsePressure("some avg10=x avg60=0.00 avg300=0.00 total=1\n").ok());
  EXPECT_FALSE(ParsePressure("full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n").ok());
  for (const char* text :
       {"some avg10=nan avg60=0 avg300=0 total=0\n", "some avg10=0 avg60=inf avg300=0 total=0\n",
        "some avg10=0 avg60=0 avg300=-5 total=0\n",
        "some avg10=100.01 avg60=0 avg300=0 total=0\n"}) {
    EXPECT_FALSE(ParsePressure(text).ok()) << text;
  }
}

TEST(PidCgroupTest, V1V2AndHybrid) {
  auto hybrid = ParsePidCgroup(
      "9:name=systemd:/\n4:memory:/process_api/189b\n2:cpu,cpuacct:/a\n0::/user.slice/x.service\n");
  ASSERT_TRUE(hybrid.ok());
  EXPECT_EQ(hybrid->unified, "/user.slice/x.service");
  EXPECT_EQ(hybrid->v1.at("memory"), "/process_api/189b");
  EXPECT_EQ(hybrid->v1.at("cpu"), "/a");
  EXPECT_EQ(hybrid->v1.at("cpuacct"), "/a");
  EXPECT_EQ(hybrid->v1.at("name=systemd"), "/");

  auto v2 = ParsePidCgroup("0::/system.slice/nginx.service\n");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->unified, "/system.slice/nginx.service");
  EXPECT_TRUE(v2->v1.empty());

  auto v1 = ParsePidCgroup("1:name=systemd:/system.slice/a:b.service\n");
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->unified.has_value());
  EXPECT_EQ(v1->v1.at("name=systemd"), "/system.slice/a:b.service");  // ':' in path kept

  EXPECT_FALSE(ParsePidCgroup("").ok());
  EXPECT_FALSE(ParsePidCgroup("garbage\n").ok());
}

TEST(CgroupCpuTest, StatAndMax) {
  auto st = ParseCgroupCpuStat(
      "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 10\nnr_throttled 3\n"
      "throttled_usec 2500\nnr_bursts 0\n");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->nr_throttled, 3u);
  EXPECT_EQ(st->throttled_usec, 2500u);
  auto no_ctl = ParseCgroupCpuStat("usage_usec 1\nuser_usec 1\nsystem_usec 0\n");
  ASSERT_TRUE(no_ctl.ok());
  EXPECT_FALSE(no_ctl->nr_throttled.has_value());
  EXPECT_FALSE(ParseCgroupCpuStat("").ok());

  auto unlimited = ParseCgroupCpuMax("max 100000\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->has_value());
  auto half = ParseCgroupCpuMax("50000 100000\n");
  ASSERT_TRUE(half.ok());
  EXPECT_DOUBLE_EQ(**half, 0.5);
  EXPECT_FALSE(ParseCgroupCpuMax("").ok());
  EXPECT_FALSE(ParseCgroupCpuMax("50000 0\n").ok());
}

TEST(NetstatTest, ListenCounters) {
  auto r = ParseNetstatListen(
      "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPHPHits\n"
      "TcpExt: 0 17 19 5\n"
      "IpExt: InNoRoutes\nIpExt: 0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->listen_overflows, 17u);
  EXPECT_EQ(r->listen_drops, 19u);
  EXPECT_FALSE(ParseNetstatListen("").ok());
  EXPECT_FALSE(ParseNetstatListen("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1\n").ok());
  EXPECT_FALSE(ParseNetstatListen("IpExt: ListenOverflows ListenDrops\nIpExt: 1 2\n").ok());
}

}  // namespace
}  // namespace knob::parse
