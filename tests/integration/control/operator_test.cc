// SPDX-License-Identifier: Apache-2.0
// Never fight an operator, against the real knobd binary with a real client on its socket and
// the knobctl binary (issue 12): `restore` puts back the first-seen value kept in the state
// directory and pauses, `pause --all`, an operator's change is recorded once as an override,
// and restore_on_stop sends the first-seen value on SIGTERM.
// The knob is one no optimizer owns, so knobd's own tuning cannot race the test; knobd's
// earlier change is planted as the state file a previous run would have left.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "knob/client.h"
#include "tests/integration/control/harness.h"

namespace knob::test {
namespace {

using namespace std::chrono_literals;

const char* kKnobd = KNOB_BINARY_DIR "/daemon/knobd";
const char* kKnobctl = KNOB_BINARY_DIR "/daemon/knobctl/knobctl";

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kKnobd, X_OK), 0) << kKnobd << " is not built";
    ASSERT_EQ(access(kKnobctl, X_OK), 0) << kKnobctl << " is not built";
    dir_ = TempSocketDir();
    sock_ = dir_ + "/control.sock";
    mkdir((dir_ + "/state").c_str(), 0700);
    // What knobd would have left after it changed batch_limit from 4 (to the 8 the client has).
    std::ofstream(dir_ + "/state/originals.json")
        << R"({"version":1,"targets":{"svc":{"originals":{"batch_limit":4},"holds":{}}}})";
  }
  void TearDown() override {
    if (client_) client_->Stop();
    if (knobd_ > 0) {
      kill(knobd_, SIGKILL);
      waitpid(knobd_, nullptr, 0);
    }
    if (std::system(("rm -rf " + dir_).c_str()) != 0) ADD_FAILURE() << "cannot remove " << dir_;
  }

  void StartKnobd(bool restore_on_stop) {
    std::ofstream(dir_ + "/knobd.yaml")
        << "global:\n  tick_interval: 100ms\n  restore_on_stop: "
        << (restore_on_stop ? "true" : "false")
        << "\n  guard: {override_hold: 1h}\n"
           "targets:\n  - name: svc\n    select: {registered: example-service}\n"
           "    mode: apply\n    knobs:\n      batch_limit: {min: 1, max: 64}\n"
           "  - name: other\n    select: {registered: other-service}\n";
    knobd_ = fork();
    if (knobd_ == 0) {
      std::string log = dir_ + "/knobd.log";
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      execl(kKnobd, kKnobd, "--config", (dir_ + "/knobd.yaml").c_str(), "--control-socket",
            sock_.c_str(), "--state-dir", (dir_ + "/state").c_str(), "--metrics-listen",
            "127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_GT(knobd_, 0);
    ASSERT_TRUE(WaitFor([&] { return access(sock_.c_str(), F_OK) == 0; }))
        << "knobd did not create " << sock_ << "\n"
        << Log();
  }

  void StartClient() {
    ClientOptions o;
    o.name = "example-service";
    o.socket_path = sock_;
    o.initial_backoff = 50ms;
    o.max_backoff = 500ms;
    client_ = std::make_unique<Client>(o);
    client_->RegisterKnob({"batch_limit", 8, 1, 64, "requests"}, [this](double v) {
      received_.push_back(v);
      last_set_ = v;
      return SetResult::Applied();
    });
    client_->RecordRequest(3ms);
    ASSERT_TRUE(client_->Start().ok());
    ASSERT_TRUE(WaitFor([&] { return client_->connected() && client_->reports_sent() >= 3; }))
        << client_->last_error();
    std::this_thread::sleep_for(300ms);  // a few ticks: knobd has seen the reported value
  }

  std::pair<int, std::string> Knobctl(const std::string& args) {
    std::string cmd = std::string(kKnobctl) + " --socket " + sock_ + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (p && fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    int status = p ? pclose(p) : -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  static bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string Log() const {
    std::ifstream in(dir_ + "/knobd.log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  std::string dir_, sock_;
  pid_t knobd_ = -1;
  std::unique_ptr<Client> client_;
  std::atomic<double> last_set_{0};
  std::vector<double> received_;  // client thread only, read after it settles
};

TEST_F(OperatorTest, RestorePausesAndAnOperatorChangeAfterResumeIsOneOverride) {
  StartKnobd(false);
  StartClient();

  auto [code, out] = Knobctl("restore svc");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("restored batch_limit of svc from 8 to 4"), std::string::npos) << out;
  EXPECT_NE(out.find("paused svc"), std::string::npos) << out;
  ASSERT_TRUE(WaitFor([&] { return last_set_.load() == 4; })) << Log();
  std::tie(code, out) = Knobctl("targets");
  EXPECT_NE(out.find("paused"), std::string::npos) << out;
  std::tie(code, out) = Knobctl("--json history svc");
  EXPECT_NE(out.find(R"("scenario":"restore")"), std::string::npos) << out;
  // Nothing left to put back; a second restore says so.
  std::tie(code, out) = Knobctl("restore --all");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("nothing to restore"), std::string::npos) << out;

  std::tie(code, out) = Knobctl("resume svc");
  ASSERT_EQ(code, 0) << out;
  std::this_thread::sleep_for(400ms);           // resumed: knobd decides for svc again
  client_->UpdateKnobValue("batch_limit", 20);  // the operator
  ASSERT_TRUE(WaitFor([&] {
    return Knobctl("--json history svc").second.find(R"("outcome":"overridden")") !=
           std::string::npos;
  })) << Knobctl("--json history svc").second;
  std::this_thread::sleep_for(500ms);
  std::tie(code, out) = Knobctl("--json history svc");
  size_t overrides = 0;
  for (size_t at = 0; (at = out.find(R"("outcome":"overridden")", at)) != std::string::npos; ++at)
    ++overrides;
  EXPECT_EQ(overrides, 1u) << out;
  std::tie(code, out) = Knobctl("show svc");
  EXPECT_NE(out.find("override: batch_limit"), std::string::npos) << out;

  std::tie(code, out) = Knobctl("pause --all");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("paused 2 target(s) (other, svc)"), std::string::npos) << out;
  std::tie(code, out) = Knobctl("pause --all svc");
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = Knobctl("resume --all");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--all is for pause and restore"), std::string::npos) << out;
}

TEST_F(OperatorTest, RestoreOnStopSendsTheFirstSeenValueBeforeExiting) {
  StartKnobd(true);
  StartClient();
  kill(knobd_, SIGTERM);
  int status = 0;
  waitpid(knobd_, &status, 0);
  knobd_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Log();
  ASSERT_TRUE(WaitFor([&] { return last_set_.load() == 4; }, 5s)) << Log();
  EXPECT_NE(Log().find("restore_on_stop: 1 knob(s)"), std::string::npos) << Log();
  // The first-seen values outlive the run that used them.
  std::ifstream in(dir_ + "/state/originals.json");
  std::string state{std::istreambuf_iterator<char>(in), {}};
  EXPECT_NE(state.find("\"batch_limit\": 4"), std::string::npos) << state;
}

}  // namespace
}  // namespace knob::test
