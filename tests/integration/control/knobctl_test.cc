// SPDX-License-Identifier: Apache-2.0
// knobctl against a real control server: output, --json, exit codes, helpful errors.
#include "daemon/knobctl/knobctl.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "daemon/knobctl/analyze_cli.h"
#include "daemon/knobctl/render.h"
#include "tests/integration/control/harness.h"

namespace knob::test {
namespace {

struct CtlRun {
  int code;
  std::string out, err;
};

std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

class KnobctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempSocketDir();
    ControlSettings c;
    c.socket_path = dir_ + "/control.sock";
    harness_ = std::make_unique<Harness>(c);
    ASSERT_TRUE(harness_->start_status().ok());
  }
  void TearDown() override {
    harness_.reset();
    rmdir(dir_.c_str());
  }
  CtlRun Ctl(std::vector<std::string> args, bool with_socket = true) {
    if (with_socket) {
      args.insert(args.begin(), dir_ + "/control.sock");
      args.insert(args.begin(), "--socket");
    }
    std::ostringstream out, err;
    int code = RunKnobctl(args, out, err);
    return {code, out.str(), err.str()};
  }
  std::string dir_;
  std::unique_ptr<Harness> harness_;
};

TEST_F(KnobctlTest, StatusPrintsAlignedKeyValues) {
  CtlRun r = Ctl({"status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("mode      recommend"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("targets   2"), std::string::npos) << r.out;
}

TEST_F(KnobctlTest, TargetsShowsConnectedClientAndPause) {
  RawConn c(dir_ + "/control.sock");
  protocol::Hello hello;
  hello.name = "example-service";
  hello.pid = getpid();
  hello.knobs.push_back({"worker_threads", 4, 1, 64, "threads"});
  ASSERT_TRUE(c.SendMessage(hello));
  ASSERT_TRUE(c.ReadMessage());
  CtlRun r = Ctl({"targets"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("TARGET  STATE"), std::string::npos) << r.out;
  std::string svc = LineStartingWith(r.out, "svc ");
  // Strings, not const char*: a pointer into to_string()'s temporary outlives it (ASan).
  for (const std::string& want :
       std::vector<std::string>{"active", "apply", "connected", std::to_string(getpid())})
    EXPECT_NE(svc.find(want), std::string::npos) << want << " in " << r.out;
  r = Ctl({"pause", "svc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("paused svc"), std::string::npos);
  r = Ctl({"targets"});
  EXPECT_NE(LineStartingWith(r.out, "svc ").find("paused"), std::string::npos) << r.out;
  r = Ctl({"show", "svc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("worker_threads"), std::string::npos) << r.out;

  // A second connection under the same name is a second instance (issue 15).
  RawConn second(dir_ + "/control.sock");
  ASSERT_TRUE(second.SendMessage(hello));
  ASSERT_TRUE(second.ReadMessage());
  r = Ctl({"targets"});
  EXPECT_NE(r.out.find("INST"), std::string::npos) << r.out;
  EXPECT_NE(LineStartingWith(r.out, "svc ").find(" 2 "), std::string::npos) << r.out;
  r = Ctl({"show", "svc"});
  EXPECT_NE(r.out.find("2 instances"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("instances (the report above is their sum"), std::string::npos) << r.out;
}

TEST_F(KnobctlTest, JsonIsTheDaemonsReply) {
  CtlRun r = Ctl({"--json", "targets"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = protocol::Decode(r.out.substr(0, r.out.find('\n')));
  ASSERT_TRUE(m.ok()) << r.out;
  ASSERT_TRUE(std::holds_alternative<protocol::AdminReply>(*m));
  EXPECT_EQ(std::get<protocol::AdminReply>(*m).targets->size(), 2u);
}

TEST_F(KnobctlTest, DaemonErrorsExitOne) {
  CtlRun r = Ctl({"show", "nope"});
  EXPECT_EQ(r.code, kKnobctlDaemonError);
  EXPECT_NE(r.err.find("unknown_target: no target or client named 'nope'"), std::string::npos)
      << r.err;
  r = Ctl({"history", "svc"});
  EXPECT_EQ(r.code, kKnobctlDaemonError);
  EXPECT_NE(r.err.find("unavailable"), std::string::npos) << r.err;
}

// `explain TARGET`: what knobd does with a target now, in the words of its show notes.
TEST_F(KnobctlTest, ExplainOfATargetSaysWhatKnobdDoesWithItNow) {
  CtlRun r = Ctl({"explain", "svc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("svc: pending, mode apply\n", 0), 0u) << r.out;  // no hello yet
  // The harness has no brain: nothing learned, and it says so rather than print nothing.
  EXPECT_NE(r.out.find("nothing to explain yet: knobd has no model of it"), std::string::npos)
      << r.out;
  r = Ctl({"explain", "abc"});
  EXPECT_EQ(r.code, kKnobctlDaemonError);
  EXPECT_NE(r.err.find("no target or client named 'abc'"), std::string::npos) << r.err;
}

TEST_F(KnobctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Ctl({}).code, kKnobctlUsage);
  EXPECT_EQ(Ctl({"frobnicate"}).code, kKnobctlUsage);
  EXPECT_EQ(Ctl({"show"}).code, kKnobctlUsage);
  CtlRun r = Ctl({"mode", "svc", "fast"});
  EXPECT_EQ(r.code, kKnobctlUsage);
  EXPECT_NE(r.err.find("observe, recommend or apply"), std::string::npos);
  EXPECT_EQ(Ctl({"--limit", "x", "history", "svc"}).code, kKnobctlUsage);
  r = Ctl({"show", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: knobctl"), std::string::npos);
}

TEST_F(KnobctlTest, CannotConnectExitsThreeWithAHint) {
  CtlRun r = Ctl({"--socket", dir_ + "/absent.sock", "status"}, false);
  EXPECT_EQ(r.code, kKnobctlCannotConnect);
  EXPECT_NE(r.err.find("cannot connect to " + dir_ + "/absent.sock"), std::string::npos);
  EXPECT_NE(r.err.find("is knobd running? (systemctl status knobd)"), std::string::npos);
}

TEST_F(KnobctlTest, SocketFromEnvironment) {
  std::string path = dir_ + "/control.sock";
  KnobctlEnv env;
  env.getenv = [&](const char* k) -> const char* {
    return std::string(k) == "KNOBD_SOCKET" ? path.c_str() : nullptr;
  };
  std::ostringstream out, err;
  EXPECT_EQ(RunKnobctl({"status"}, out, err, env), 0) << err.str();
}

TEST_F(KnobctlTest, SocketFromTheDaemonsVariable) {
  std::string path = dir_ + "/control.sock";
  KnobctlEnv env;
  env.getenv = [&](const char* k) -> const char* {
    return std::string(k) == "KNOBD_CONTROL_SOCKET" ? path.c_str() : nullptr;
  };
  std::ostringstream out, err;
  EXPECT_EQ(RunKnobctl({"status"}, out, err, env), 0) << err.str();
}

TEST_F(KnobctlTest, CheckConfigAndAnalyzeNeedNoDaemon) {
  std::string bad = dir_ + "/bad.yaml";
  {
    std::ofstream f(bad);
    f << "global:\n  tick_interval: fast\n";
  }
  CtlRun r = Ctl({"check-config", bad}, false);
  EXPECT_EQ(r.code, kKnobctlDaemonError);
  EXPECT_NE(r.err.find(bad + ":2:"), std::string::npos) << r.err;
  unlink(bad.c_str());
  r = Ctl({"check-config", KNOB_SOURCE_DIR "/config/knobd.yaml"}, false);
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"analyze", "usl", "x.csv"}, false);
  EXPECT_EQ(r.code, kKnobctlDaemonError);
  EXPECT_NE(r.err.find("not built"), std::string::npos);
}

TEST_F(KnobctlTest, VersionAndGetoptForms) {
  CtlRun r = Ctl({"--version"}, false);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("knobctl ", 0), 0u) << r.out;
  r = Ctl({"-V", "--json"}, false);
  EXPECT_TRUE(nlohmann::json::parse(r.out, nullptr, false).contains("knobctl")) << r.out;
  // --opt=value, options after the command, short option clusters.
  r = Ctl({"status", "--socket=" + dir_ + "/control.sock", "--timeout=5"}, false);
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"-j", "targets"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.front(), '{');
  // `--` ends options: a target named like an option reaches the daemon, which does not know it.
  r = Ctl({"show", "--", "--weird"});
  EXPECT_EQ(r.code, kKnobctlDaemonError) << r.err;
  EXPECT_NE(r.err.find("'--weird'"), std::string::npos) << r.err;
  r = Ctl({"--timeout"});
  EXPECT_EQ(r.code, kKnobctlUsage);
  EXPECT_NE(r.err.find("--timeout needs a value"), std::string::npos) << r.err;
  r = Ctl({"--bogus", "status"});
  EXPECT_EQ(r.code, kKnobctlUsage);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
  EXPECT_EQ(Ctl({"--color=sometimes", "status"}).code, kKnobctlUsage);
  EXPECT_EQ(Ctl({"--follow", "status"}).code, kKnobctlUsage);
}

TEST_F(KnobctlTest, TargetsHaveAPhaseColumnAndColourFollowsTheTerminal) {
  auto run = [&](std::vector<std::string> args, bool tty, const char* no_color) {
    KnobctlEnv env;
    env.tty = tty;
    env.width = 200;
    env.getenv = [no_color](const char* k) -> const char* {
      return std::string(k) == "NO_COLOR" ? no_color : nullptr;
    };
    args.insert(args.begin(), {"--socket", dir_ + "/control.sock"});
    std::ostringstream out, err;
    EXPECT_EQ(RunKnobctl(args, out, err, env), 0) << err.str();
    return out.str();
  };
  std::string plain = run({"targets"}, false, nullptr);
  EXPECT_NE(plain.find("PHASE"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("\033["), std::string::npos);
  EXPECT_NE(run({"targets"}, true, nullptr).find("\033["), std::string::npos);
  EXPECT_EQ(run({"targets"}, true, "1").find("\033["), std::string::npos) << "NO_COLOR ignored";
  EXPECT_EQ(run({"--color=never", "targets"}, true, nullptr).find("\033["), std::string::npos);
  EXPECT_NE(run({"--color=always", "targets"}, false, nullptr).find("\033["), std::string::npos);
}

TEST(KnobctlRenderTest, TablesFitTheTerminalWidth) {
  ctl::Table t({"ID", "REASON"});
  t.Row({"1", std::string(120, 'x')});
  std::ostringstream wide, narrow;
  t.Print(wide, ctl::Style{false, 0});
  t.Print(narrow, ctl::Style{false, 40});
  EXPECT_NE(wide.str().find(std::string(120, 'x')), std::string::npos);
  std::istringstream lines(narrow.str());
  for (std::string line; std::getline(lines, line);)
    EXPECT_LE(ctl::DisplayWidth(line), 40u) << line;
  EXPECT_NE(narrow.str().find("x~"), std::string::npos) << narrow.str();
}

TEST(KnobctlRenderTest, TimesCarryTheirZoneOrAnAge) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ctl::Age(now - std::chrono::seconds(42), now), "42s ago");
  EXPECT_EQ(ctl::Age(now - std::chrono::seconds(245), now), "4m05s ago");
  std::string t = ctl::Time(now);
  EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(t.back())) || t.back() == '0' ||
              t.find('+') != std::string::npos || t.find('-', 11) != std::string::npos)
      << "no zone in " << t;
  EXPECT_GT(t.size(), 20u) << t;
}

TEST(KnobctlAnalyzeTest, JsonAsciiPlotAndPng) {
  char dir[] = "/tmp/knobctl-analyze-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string csv = std::string(dir) + "/usl.csv", png = std::string(dir) + "/usl.png";
  std::ofstream(csv) << "concurrency,throughput\n1,100\n2,190\n4,340\n8,520\n16,600\n32,560\n";
  KnobctlEnv env;
  env.analyze = [](const AnalyzeRequest& a, std::ostream& o, std::ostream& e) {
    return ctl::RunAnalyzeCli(a, o, e);
  };
  std::ostringstream out, err;
  ASSERT_EQ(RunKnobctl({"--json", "analyze", "usl", csv}, out, err, env), 0) << err.str();
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out.str();
  EXPECT_GT(j["peak_concurrency"].get<double>(), 8);
  EXPECT_LT(j["peak_concurrency"].get<double>(), 32);
  EXPECT_EQ(j["points"].size(), 6u);
  std::ostringstream text, terr;
  ASSERT_EQ(RunKnobctl({"analyze", "usl", csv, "--plot=" + png}, text, terr, env), 0) << terr.str();
  EXPECT_NE(text.str().find("o data, * USL fit"), std::string::npos) << text.str();
  std::ifstream img(png, std::ios::binary);
  std::string head(8, '\0');
  img.read(head.data(), 8);
  EXPECT_EQ(head.substr(1, 3), "PNG") << "gnuplot wrote no PNG: " << terr.str();
  // mrc: a trace with more distinct keys than the sample budget still runs, rate lowered.
  const std::string trace = std::string(dir) + "/trace";
  {
    std::ofstream f(trace);
    for (int round = 0; round < 2; ++round)
      for (size_t k = 0; k < ctl::kMaxSampledKeys * 2; ++k) f << "key" << k << '\n';
  }
  std::ostringstream mrc, merr;
  ASSERT_EQ(RunKnobctl({"analyze", "mrc", trace, "--json"}, mrc, merr, env), 0) << merr.str();
  auto m = nlohmann::json::parse(mrc.str(), nullptr, false);
  ASSERT_FALSE(m.is_discarded()) << mrc.str();
  EXPECT_EQ(m["accesses"].get<double>(), 4.0 * ctl::kMaxSampledKeys);
  EXPECT_LE(m["sampled_keys"].get<double>(), ctl::kMaxSampledKeys);
  EXPECT_LT(m["sample_rate"].get<double>(), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace knob::test
