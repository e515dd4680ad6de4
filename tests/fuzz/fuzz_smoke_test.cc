// SPDX-License-Identifier: Apache-2.0
// Deterministic mutation fuzzing of every pure parser, the protocol codec and framing, and the
// policy loader (STYLE.md: parsers are "table-tested with literal text ... and fuzzed").
// Seeds are the real inputs the project already keeps: fixture /proc trees under tests/data/proc,
// the JSON examples in docs/protocol.md, config/examples/*.yaml and config/knobd.yaml. Each target
// gets a bounded number of mutants (KNOB_FUZZ_ITERATIONS overrides, for a longer local run) from
// a fixed-seed generator, so a failure names the iteration that reproduces it.
// Two kinds of test per target: *NeverCrashes only requires that the parser returns (ok or an
// error Status) without crashing, hanging or tripping ASan/UBSan; *OkResultsAreSane also checks
// what an ok result promises. Inputs fuzzing found mishandled are pinned in findings_test.cc.

#include <gtest/gtest.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

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
#include "config/policy_loader.h"
#include "core/protocol/codec.h"
#include "core/protocol/framing.h"
#include "tests/fuzz/mutator.h"

namespace knob::fuzz {
namespace {

namespace fs = std::filesystem;

size_t Iterations(size_t default_count) {
  if (const char* env = std::getenv("KNOB_FUZZ_ITERATIONS")) {
    long n = std::strtol(env, nullptr, 10);
    if (n > 0) return static_cast<size_t>(n);
  }
  return default_count;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Which parser a fixture file feeds, from its place in the tree.
std::string Kind(const fs::path& p) {
  std::string name = p.filename().string();
  std::string parent = p.parent_path().filename().string();
  if (name.size() > 9 && name.ends_with(".pressure")) return "pressure";
  if (parent == "pressure") return "pressure";
  if (name == "stat") return parent == "proc" ? "proc_stat" : "pid_stat";
  if (name == "status" || name == "schedstat" || name == "smaps_rollup" || name == "statm" ||
      name == "loadavg" || name == "netstat" || name == "cpu.stat" || name == "cpu.max") {
    return name;
  }
  if (name == "cgroup") return "pid_cgroup";
  return "";
}

const std::map<std::string, std::vector<std::string>>& FixtureSeeds() {
  static const auto* seeds = [] {
    auto* m = new std::map<std::string, std::vector<std::string>>();
    for (const auto& e :
         fs::recursive_directory_iterator(fs::path(KNOB_SOURCE_DIR) / "tests" / "data" / "proc")) {
      if (!e.is_regular_file()) continue;
      std::string kind = Kind(e.path());
      if (!kind.empty()) (*m)[kind].push_back(ReadFile(e.path()));
    }
    // Shapes the fixtures lack: older kernels and the other branch of each format.
    (*m)["cpu.max"].push_back("max 100000\n");
    (*m)["cpu.stat"].push_back("usage_usec 37651353\nuser_usec 1\nsystem_usec 2\n");
    (*m)["pid_cgroup"].push_back("0::/\n");
    (*m)["pressure"].push_back("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    return m;
  }();
  return *seeds;
}

const std::vector<std::string>& Seeds(const std::string& kind) {
  static const std::vector<std::string> kEmpty;
  auto it = FixtureSeeds().find(kind);
  return it == FixtureSeeds().end() ? kEmpty : it->second;
}

// Runs `check` on `n` mutants of the kind's seeds; stops at the first failed expectation so one
// bug does not print thousands of lines.
void Fuzz(const std::vector<std::string>& seeds, uint32_t rng_seed, size_t n,
          std::vector<std::string> dict, const std::function<void(const std::string&)>& check) {
  ASSERT_FALSE(seeds.empty()) << "no seeds: fixture tree moved?";
  Mutator mut(rng_seed, std::move(dict));
  for (const std::string& s : seeds) {
    SCOPED_TRACE("seed input");
    check(s);
    if (::testing::Test::HasFailure()) return;
  }
  for (size_t i = 0; i < n; ++i) {
    std::string input = mut.Next(seeds);
    SCOPED_TRACE(::testing::Message() << "iteration " << i << ", input (" << input.size()
                                      << " bytes): " << ::testing::PrintToString(input));
    check(input);
    if (::testing::Test::HasFailure()) return;
  }
}

constexpr size_t kProcIterations = 3000;
const std::vector<std::string> kProcDict = {
    "kB",           " kB\n",  "cpu",     "cpu0",      "some",   "full",
    "avg10=",       "total=", "TcpExt:", "Threads:",  "VmRSS:", "Cpus_allowed_list:",
    "0-4294967295", "0::",    "max",     "usage_usec"};

bool Sane(double x, double hi) { return std::isfinite(x) && x >= 0 && x <= hi; }

// ---- /proc and cgroup parsers: only "returns" ----

template <typename Parse>
void NeverCrashes(const std::string& kind, uint32_t rng_seed, Parse parse) {
  Fuzz(Seeds(kind), rng_seed, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse(in);
    if (!r.ok()) {
      EXPECT_FALSE(r.status().ToString().empty());
    }
  });
}

TEST(FuzzSmokeTest, PidStatNeverCrashes) { NeverCrashes("pid_stat", 1, parse::ParsePidStat); }
TEST(FuzzSmokeTest, PidStatusNeverCrashes) { NeverCrashes("status", 2, parse::ParsePidStatus); }
TEST(FuzzSmokeTest, SchedstatNeverCrashes) { NeverCrashes("schedstat", 3, parse::ParseSchedstat); }
TEST(FuzzSmokeTest, SmapsRollupNeverCrashes) {
  NeverCrashes("smaps_rollup", 4, parse::ParseSmapsRollup);
}
TEST(FuzzSmokeTest, StatmNeverCrashes) { NeverCrashes("statm", 5, parse::ParseStatm); }
TEST(FuzzSmokeTest, ProcStatNeverCrashes) { NeverCrashes("proc_stat", 6, parse::ParseProcStat); }
TEST(FuzzSmokeTest, LoadAvgNeverCrashes) { NeverCrashes("loadavg", 7, parse::ParseLoadAvg); }
TEST(FuzzSmokeTest, PressureNeverCrashes) { NeverCrashes("pressure", 8, parse::ParsePressure); }
TEST(FuzzSmokeTest, PidCgroupNeverCrashes) { NeverCrashes("pid_cgroup", 9, parse::ParsePidCgroup); }
TEST(FuzzSmokeTest, CgroupCpuStatNeverCrashes) {
  NeverCrashes("cpu.stat", 10, parse::ParseCgroupCpuStat);
}
TEST(FuzzSmokeTest, CgroupCpuMaxNeverCrashes) {
  NeverCrashes("cpu.max", 11, parse::ParseCgroupCpuMax);
}
TEST(FuzzSmokeTest, NetstatListenNeverCrashes) {
  NeverCrashes("netstat", 12, parse::ParseNetstatListen);
}

// ---- /proc and cgroup parsers: what an ok result promises ----

TEST(FuzzSmokeTest, ProcStatOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("proc_stat"), 106, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse::ParseProcStat(in);
    if (!r.ok()) return;
    ++ok;
    for (const auto& c : r->cpus) EXPECT_GE(c.cpu, 0);
    EXPECT_EQ(r->total.cpu, -1);
  });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

// The kernel writes load averages as non-negative decimals; nan, inf or a negative load is
// garbage the models would propagate.
TEST(FuzzSmokeTest, LoadAvgOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("loadavg"), 107, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse::ParseLoadAvg(in);
    if (!r.ok()) return;
    ++ok;
    EXPECT_TRUE(Sane(r->load1, 1e9) && Sane(r->load5, 1e9) && Sane(r->load15, 1e9))
        << r->load1 << " " << r->load5 << " " << r->load15;
  });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

// PSI averages are percentages, 0..100.
TEST(FuzzSmokeTest, PressureOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("pressure"), 108, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse::ParsePressure(in);
    if (!r.ok()) return;
    ++ok;
    for (const auto& l : {r->some, r->full}) {
      if (!l) continue;
      EXPECT_TRUE(Sane(l->avg10, 100) && Sane(l->avg60, 100) && Sane(l->avg300, 100))
          << l->avg10 << " " << l->avg60 << " " << l->avg300;
    }
  });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

TEST(FuzzSmokeTest, CgroupCpuMaxOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("cpu.max"), 111, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse::ParseCgroupCpuMax(in);
    if (!r.ok() || !r->has_value()) return;
    ++ok;
    EXPECT_TRUE(std::isfinite(**r) && **r >= 0) << **r;
  });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

// The kernel never prints a negative pid, thread count or rss.
TEST(FuzzSmokeTest, PidStatOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("pid_stat"), 101, Iterations(kProcIterations), kProcDict, [&](const std::string& in) {
    auto r = parse::ParsePidStat(in);
    if (!r.ok()) return;
    ++ok;
    EXPECT_GT(r->pid, 0);
    EXPECT_GE(r->ppid, 0);
    EXPECT_GE(r->num_threads, 0);
    EXPECT_GE(r->rss_pages, 0);
    if (r->processor) {
      EXPECT_GE(*r->processor, 0);
    }
  });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

TEST(FuzzSmokeTest, PidCgroupOkResultsAreSane) {
  size_t ok = 0;  // inputs that parsed: the property was checked on each
  Fuzz(Seeds("pid_cgroup"), 109, Iterations(kProcIterations), kProcDict,
       [&](const std::string& in) {
         auto r = parse::ParsePidCgroup(in);
         if (!r.ok()) return;
         ++ok;
         EXPECT_TRUE(r->unified.has_value() || !r->v1.empty() ||
                     in.find("::") != std::string::npos || in.find(':') != std::string::npos);
         for (const auto& [controller, path] : r->v1) {
           EXPECT_EQ(controller.find(','), std::string::npos) << controller;
           EXPECT_EQ(path.find('\n'), std::string::npos) << path;
         }
       });
  EXPECT_GT(ok, 0u) << "no input parsed: nothing was checked";
}

// ---- protocol codec ----

std::vector<std::string> ProtocolSeeds() {
  std::vector<std::string> seeds;
  // Every JSON object in docs/protocol.md, an example may span several lines.
  std::istringstream doc(ReadFile(fs::path(KNOB_SOURCE_DIR) / "docs" / "protocol.md"));
  std::string line, acc;
  int depth = 0;
  while (std::getline(doc, line)) {
    if (depth == 0 && (line.empty() || line[0] != '{')) continue;
    for (char c : line) depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    acc += line;
    if (depth <= 0) {
      seeds.push_back(acc);
      acc.clear();
      depth = 0;
    }
  }
  // One of each message type as Encode writes it, so the rarer types are seeded too.
  auto add = [&](protocol::Message m) { seeds.push_back(protocol::Encode(m)); };
  add(protocol::Hello{"svc", 42, {{"worker_threads", 8, 1, 64, "threads"}}, {"requests"}, "x/1"});
  add(protocol::Report{});
  add(protocol::Ack{});
  add(protocol::Bye{"done"});
  add(protocol::Welcome{});
  add(protocol::Set{});
  add(protocol::Error{protocol::ErrorCode::kBadMessage, "m", 3});
  for (int op = 0; op <= static_cast<int>(protocol::AdminOp::kRestore); ++op) {
    protocol::AdminRequest rq;
    rq.op = static_cast<protocol::AdminOp>(op);
    rq.id = 7;
    rq.target = "web";
    rq.mode = "apply";
    add(rq);
    protocol::AdminReply rp;
    rp.op = rq.op;
    rp.id = 7;
    rp.status = protocol::StatusInfo{};
    rp.targets = std::vector<protocol::TargetInfo>{protocol::TargetInfo{}};
    rp.show = protocol::ShowInfo{};
    rp.explanation = {"why"};
    add(rp);
  }
  return seeds;
}

const std::vector<std::string> kJsonDict = {"{",
                                            "}",
                                            "[",
                                            "]",
                                            "\"",
                                            "\\",
                                            "null",
                                            "true",
                                            "false",
                                            "1e400",
                                            "-1e400",
                                            "[]",
                                            "{}",
                                            "\"v\":1,",
                                            "\"v\":2,",
                                            "\"type\":",
                                            "\"id\":",
                                            "\"value\":",
                                            "\\u0000",
                                            "\\ud800",
                                            ",",
                                            "\"type\":\"hello\"",
                                            "\"type\":\"reply\"",
                                            "\"op\":\"show\""};

TEST(FuzzSmokeTest, ProtocolDecodeNeverCrashes) {
  Fuzz(ProtocolSeeds(), 20, Iterations(4000), kJsonDict, [](const std::string& in) {
    protocol::DecodeError err;
    auto r = protocol::Decode(in, &err);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_FALSE(err.message.empty());
    }
  });
}

// Whatever decodes must survive Encode and decode again to the same encoding: the daemon echoes
// and logs decoded messages, and a client must be able to read what the daemon writes.
TEST(FuzzSmokeTest, ProtocolDecodeEncodeRoundTrips) {
  Fuzz(ProtocolSeeds(), 21, Iterations(4000), kJsonDict, [](const std::string& in) {
    auto r = protocol::Decode(in);
    if (!r.ok()) return;
    EXPECT_FALSE(protocol::TypeName(*r).empty());
    std::string once = protocol::Encode(*r);
    EXPECT_EQ(once.find('\n'), std::string::npos) << once;
    auto again = protocol::Decode(once);
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\nencoded: " << once;
    EXPECT_EQ(again->index(), r->index());
    EXPECT_EQ(protocol::Encode(*again), once);
  });
}

// ---- framing ----

// Splits like LineFramer should when no line is near the limit: complete lines, one trailing
// '\r' stripped, blank lines dropped (they are keep-alives); the unterminated tail stays pending.
std::vector<std::string> ReferenceLines(const std::string& stream, size_t* pending) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = stream.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string l = stream.substr(start, nl - start);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  *pending = stream.size() - start;
  return out;
}

TEST(FuzzSmokeTest, FramingSplitsLikeReferenceAndHonoursLimit) {
  std::vector<std::string> seeds = ProtocolSeeds();
  std::string all;
  for (const auto& s : seeds) all += s + "\n";
  seeds.push_back(all);
  seeds.push_back("a\r\nb\r\n\r\n\n");
  Mutator chunker(31, {});
  std::mt19937 rng(32);
  Fuzz(seeds, 30, Iterations(3000), {"\n", "\r\n", "\r"}, [&](const std::string& in) {
    size_t limit = 1 + rng() % 600;
    protocol::LineFramer f(limit);
    std::vector<std::string> lines;
    bool overflowed = false;
    for (size_t pos = 0; pos < in.size();) {
      size_t n = 1 + rng() % 97;
      std::vector<std::string> got;
      bool ok = f.Feed(std::string_view(in).substr(pos, n), got);
      if (overflowed) {
        EXPECT_FALSE(ok);
        EXPECT_TRUE(got.empty());
      }
      if (!ok) overflowed = true;
      EXPECT_LE(f.pending_bytes(), limit);
      for (auto& l : got) {
        EXPECT_LE(l.size(), limit);
        EXPECT_EQ(l.find('\n'), std::string::npos);
        lines.push_back(std::move(l));
      }
      pos += n;
    }
    EXPECT_EQ(f.overflowed(), overflowed);
    size_t pending = 0;
    std::vector<std::string> want = ReferenceLines(in, &pending);
    size_t longest = pending;
    size_t start = 0;
    for (size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1)
      longest = std::max(longest, nl - start + 1);
    if (longest < limit) {
      EXPECT_FALSE(overflowed);
      EXPECT_EQ(lines, want);
      EXPECT_EQ(f.pending_bytes(), pending);
    }
  });
}

// ---- policy loader ----

std::vector<std::string> PolicySeeds() {
  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(fs::path(KNOB_SOURCE_DIR) / "config" / "examples"))
    if (e.path().extension() == ".yaml") seeds.push_back(ReadFile(e.path()));
  fs::path main_yaml = fs::path(KNOB_SOURCE_DIR) / "config" / "knobd.yaml";
  if (fs::exists(main_yaml)) seeds.push_back(ReadFile(main_yaml));
  return seeds;
}

const std::vector<std::string> kYamlDict = {": ",
                                            "- ",
                                            "  ",
                                            "    ",
                                            "&a ",
                                            "*a",
                                            "<<: *a",
                                            "!!str ",
                                            "!!binary ",
                                            "{",
                                            "}",
                                            "[",
                                            "]",
                                            "~",
                                            "null",
                                            "'",
                                            "\"",
                                            "|",
                                            ">",
                                            "#",
                                            "---\n",
                                            "...\n",
                                            "? ",
                                            "1e400",
                                            "-5",
                                            "0s",
                                            "-1s",
                                            "99999999999h",
                                            "10%",
                                            "-10%",
                                            "1000%",
                                            "1TiB",
                                            "18446744073709551615B",
                                            "apply",
                                            "observe",
                                            "recommend",
                                            "targets:",
                                            "knobs:",
                                            "min: ",
                                            "max: ",
                                            "\t"};

// Counts documents the way YAML::LoadAll walks them, but stops early.

TEST(FuzzSmokeTest, PolicyLoaderNeverCrashesAndDiagnosesEveryFailure) {
  Fuzz(PolicySeeds(), 40, Iterations(400), kYamlDict, [](const std::string& in) {
    PolicyLoad load = LoadPolicyString(in, "fuzz.yaml");
    EXPECT_EQ(load.ok(), load.errors.empty());
    for (const Diagnostic& d : load.errors) {
      EXPECT_FALSE(d.message.empty());
      EXPECT_GE(d.line, 0);
      EXPECT_GE(d.column, 0);
      EXPECT_EQ(d.file, "fuzz.yaml");
    }
  });
}

}  // namespace
}  // namespace knob::fuzz
