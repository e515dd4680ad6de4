// SPDX-License-Identifier: Apache-2.0
// knobctl against a real control server: output, --json, exit codes, helpful errors.
#include "daemon/knobctl/knobctl.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
  for (std::string want : {"active", "apply", "connected", std::to_string(getpid()).c_str()})
    EXPECT_NE(svc.find(want), std::string::npos) << want << " in " << r.out;
  r = Ctl({"pause", "svc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("paused svc"), std::string::npos);
  r = Ctl({"targets"});
  EXPECT_NE(LineStartingWith(r.out, "svc ").find("paused"), std::string::npos) << r.out;
  r = Ctl({"show", "svc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("worker_threads"), std::string::npos) << r.out;
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

TEST_F(KnobctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Ctl({}).code, kKnobctlUsage);
  EXPECT_EQ(Ctl({"frobnicate"}).code, kKnobctlUsage);
  EXPECT_EQ(Ctl({"show"}).code, kKnobctlUsage);
  CtlRun r = Ctl({"mode", "svc", "fast"});
  EXPECT_EQ(r.code, kKnobctlUsage);
  EXPECT_NE(r.err.find("observe, recommend or apply"), std::string::npos);
  EXPECT_EQ(Ctl({"explain", "abc"}).code, kKnobctlUsage);
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

}  // namespace
}  // namespace knob::test
