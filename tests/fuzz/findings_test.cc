// SPDX-License-Identifier: Apache-2.0
// Inputs the fuzzing found that a parser mishandled, one test each, as literal text. Each bug is
// fixed; the test stays as its regression test, and the comment says what was wrong.

#include <gtest/gtest.h>
#include <linux/netlink.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "collectors/parse/loadavg.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/pressure.h"
#include "collectors/parse/proc_stat.h"
#include "collectors/parse/smaps_rollup.h"
#include "config/policy_loader.h"
#include "core/protocol/codec.h"
#include "core/sock_diag.h"

namespace knob::parse {
namespace {

// collectors/parse/proc_stat.cc, ParseProcStat: `c.cpu = static_cast<int>(idx)` wraps any index
// above INT_MAX; "cpu2147483648" becomes -2147483648, takes the `c.cpu < 0` branch and silently
// replaces the aggregate "cpu" line (so host CPU% is computed from garbage). Fix: reject
// idx > INT_MAX (or any bound well above NR_CPUS, e.g. 1 << 20) as "stat: bad cpu name".
// The fix rejects the line, so the test asserts that; the total's check runs on a large index
// still in range (NR_CPUS goes to 8192), which must be a cpu of its own, not the aggregate.
TEST(FuzzFindingsTest, ProcStatHugeCpuIndexDoesNotReplaceTotal) {
  auto r = ParseProcStat("cpu  1 2 3 4\ncpu2147483648 9 9 9 9\n");
  ASSERT_FALSE(r.ok()) << "cpu2147483648 was accepted";
  EXPECT_EQ(r.status().message(), "stat: bad cpu name");
  auto in_range = ParseProcStat("cpu  1 2 3 4\ncpu8191 9 9 9 9\n");
  ASSERT_TRUE(in_range.ok()) << in_range.status().ToString();
  EXPECT_EQ(in_range->total.user, 1u);
  ASSERT_EQ(in_range->cpus.size(), 1u);
  EXPECT_EQ(in_range->cpus[0].cpu, 8191);
  EXPECT_EQ(in_range->cpus[0].user, 9u);
}

// Same line: "cpu4294967296" wraps to cpu 0 and duplicates it.
TEST(FuzzFindingsTest, ProcStatCpuIndexAboveIntMaxIsAnError) {
  EXPECT_FALSE(ParseProcStat("cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu4294967296 9 9 9 9\n").ok());
}

// collectors/parse/pid_status.cc, CountCpuList: `count += static_cast<uint32_t>(b - a + 1)` wraps
// ("0-4294967295" counts 0 CPUs, "0-18446744073709551615" too), and the sum itself can wrap.
// Fix: reject b beyond a sane bound (e.g. b >= 1 << 20; the kernel's NR_CPUS max is 8192) and
// accumulate in uint64_t with the same bound.
TEST(FuzzFindingsTest, PidStatusHugeCpuRangeIsAnError) {
  EXPECT_FALSE(ParsePidStatus("Name:\tx\nCpus_allowed_list:\t0-4294967295\n").ok());
  EXPECT_FALSE(ParsePidStatus("Name:\tx\nCpus_allowed_list:\t0-18446744073709551615\n").ok());
}

// collectors/parse/pid_status.cc `out = x * scale` and collectors/parse/smaps_rollup.cc
// `*dst = kb * 1024` wrap for kB values above 2^54: 18014398509481985 kB reads as 1024 bytes.
// Fix: `if (x > UINT64_MAX / scale) return false;` before multiplying (same in smaps_rollup).
TEST(FuzzFindingsTest, KilobyteOverflowIsAnError) {
  EXPECT_FALSE(ParsePidStatus("VmRSS:\t18014398509481985 kB\n").ok());
  EXPECT_FALSE(ParseSmapsRollup("Rss: 18014398509481985 kB\nPss: 1 kB\n").ok());
}

// collectors/parse/text.h ToDouble uses std::from_chars, which accepts "nan", "inf",
// "infinity" and a leading '-'; ParseLoadAvg and ParsePressure take them as loads/percentages.
// Fix: a ToNonNegativeFinite helper in text.h (ToDouble && std::isfinite(out) && out >= 0)
// used by both parsers (PSI could also cap at 100).
TEST(FuzzFindingsTest, LoadAvgRejectsNanInfNegative) {
  EXPECT_FALSE(ParseLoadAvg("nan 0.1 0.1 1/100 5\n").ok());
  EXPECT_FALSE(ParseLoadAvg("0.1 inf 0.1 1/100 5\n").ok());
  EXPECT_FALSE(ParseLoadAvg("0.1 0.1 -1 1/100 5\n").ok());
}
TEST(FuzzFindingsTest, PressureRejectsNanInfNegative) {
  EXPECT_FALSE(ParsePressure("some avg10=nan avg60=0 avg300=0 total=0\n").ok());
  EXPECT_FALSE(ParsePressure("some avg10=0 avg60=inf avg300=0 total=0\n").ok());
  EXPECT_FALSE(ParsePressure("some avg10=0 avg60=0 avg300=-5 total=0\n").ok());
}

// collectors/parse/pid_stat.cc: pid, ppid and processor are parsed as int64 and narrowed with
// static_cast<pid_t>/<int> (4294967297 becomes pid 1), and negative num_threads / rss_pages are
// accepted although the kernel prints them unsigned or >= 1. Fix: range-check before narrowing
// (1 <= pid <= INT_MAX, 0 <= ppid, 0 <= processor <= INT_MAX) and parse num_threads and rss with
// ToU64 or reject negatives.
TEST(FuzzFindingsTest, PidStatRejectsOutOfRangeAndNegative) {
  const std::string tail =
      " S 1 1 1 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 100 1000000 200 18446744073709551615 1 1 "
      "0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  ASSERT_TRUE(ParsePidStat("42 (x)" + tail).ok()) << "the well-formed base line must parse";
  EXPECT_FALSE(ParsePidStat("4294967297 (x)" + tail).ok());
  std::string negative_threads = tail;
  negative_threads.replace(negative_threads.find(" 20 0 1 0 "), 10, " 20 0 -3 0 ");
  EXPECT_FALSE(ParsePidStat("42 (x)" + negative_threads).ok());
}

// core/sock_diag.cc, WalkDiagDatagram and NetlinkError: an NLMSG_ERROR's `error` was negated
// to get the errno; a reply carrying INT_MIN made that undefined behaviour (netlink_fuzzer,
// UBSan: "negation of -2147483648 cannot be represented in type 'int'"). Fix: an error outside
// -4095..-1 is a malformed reply, reported as EIO. Under the sanitizer build this test aborts
// if the negation comes back.
TEST(FuzzFindingsTest, NetlinkErrorWithIntMinIsAnErrorNotUndefinedBehaviour) {
  struct {
    nlmsghdr h;
    nlmsgerr e;
  } reply{};
  reply.h.nlmsg_len = sizeof(reply);
  reply.h.nlmsg_type = NLMSG_ERROR;
  reply.e.error = INT_MIN;
  std::vector<char> buf(sizeof(reply));
  std::memcpy(buf.data(), &reply, sizeof(reply));
  std::vector<TcpSocketInfo> out;
  auto inet = ParseInetDiagDatagram(buf.data(), buf.size(), /*with_info=*/true, out);
  ASSERT_FALSE(inet.ok());
  EXPECT_NE(inet.status().message().find("sock_diag dump"), std::string::npos)
      << inet.status().ToString();
  EXPECT_FALSE(ParseUnixDiagDatagram(buf.data(), buf.size(), out).ok());
  // taskstats reads a genetlink reply: pad it to the genl header length first.
  buf.resize(sizeof(reply) + 4, 0);
  TaskStatsTotals totals;
  EXPECT_FALSE(ParseTaskStatsReply(buf.data(), buf.size(), totals).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace knob::parse

namespace knob {
namespace {

// config/policy_loader.cc called YAML::LoadAll, which in yaml-cpp 0.7.0 (Debian 12) loops
// forever on a stray ',' at document level, appending empty documents until std::bad_alloc or the
// OOM killer (jbeder/yaml-cpp#1040, fixed upstream in PR #1319, not in 0.7.0): a policy file,
// `knobd --check-config` or a reload with a leading ',' took the daemon and the host's memory
// down. The loader now parses the first document with YAML::Load and looks for a second one with
// a bounded YAML::Parser::HandleNextDocument walk.
TEST(FuzzFindingsTest, PolicyLoaderSurvivesYamlCppLoadAllLoop) {
  for (const char* text : {",\n", "- a\n,\n", "# policy\n,\nglobal:\n  mode: observe\n"}) {
    PolicyLoad load = LoadPolicyString(text);
    EXPECT_FALSE(load.ok()) << text;
    ASSERT_FALSE(load.errors.empty()) << text;
    EXPECT_EQ(load.errors[0].message.find("bad_alloc"), std::string::npos)
        << load.errors[0].ToString();
  }
}

}  // namespace
}  // namespace knob

namespace knob::protocol {
namespace {

// core/protocol/codec.cc:470-472 (TargetInfo) and :662-664 (StatusInfo) read "pid" as uint64 and
// narrow it with static_cast<pid_t>: 4294967295 decodes as -1, which Encode writes back as -1 and
// Decode then rejects, so a reply does not survive a decode/encode round trip (knobctl shows
// garbage pids). Hello already does it right (codec.cc:580). Fix: the same range check,
// `if (pid > 0x7fffffff) r.Fail("field 'pid': ...")`, for both.
TEST(FuzzFindingsTest, ReplyPidOutOfRangeIsAnError) {
  EXPECT_FALSE(Decode(R"({"v":1,"type":"reply","id":7,"op":"targets","targets":[{"connected":)"
                      R"(false,"mode":"","name":"","pid":4294967295,"recommendations":0,)"
                      R"("reports":0,"state":""}]})")
                   .ok());
  EXPECT_FALSE(Decode(R"({"v":1,"type":"reply","id":7,"op":"status","status":{"clients":0,)"
                      R"("degraded":[],"mode":"","pid":4294967295,"policy_source":"",)"
                      R"("targets":0,"tick_interval_seconds":0.0,"ticks":0,)"
                      R"("uptime_seconds":0.0,"version":""}})")
                   .ok());
}

}  // namespace
}  // namespace knob::protocol
