// SPDX-License-Identifier: Apache-2.0
// The real knobd binary with the control server linked in: a C++ client registers, knobctl (the
// binary) sees it, knobd restarts, and the client reconnects on its own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

pid_t StartKnobd(const std::string& dir) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string log = dir + "/knobd.log";
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    execl(kKnobd, kKnobd, "--config", (dir + "/knobd.yaml").c_str(), "--control-socket",
          (dir + "/control.sock").c_str(), "--state-dir", (dir + "/state").c_str(),
          "--metrics-listen", "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::pair<int, std::string> Knobctl(const std::string& args) {
  std::string cmd = std::string(kKnobctl) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(KnobdControlTest, ClientAndKnobctlAgainstRealKnobdAcrossARestart) {
  if (access(kKnobd, X_OK) != 0 || access(kKnobctl, X_OK) != 0)
    GTEST_SKIP() << "knobd or knobctl not built";
  std::string dir = TempSocketDir();
  mkdir((dir + "/state").c_str(), 0700);
  {
    std::ofstream f(dir + "/knobd.yaml");
    f << "global:\n  tick_interval: 200ms\n  mode: recommend\n"
         "targets:\n  - name: svc\n    select: {registered: example-service}\n";
  }
  pid_t knobd = StartKnobd(dir);
  ASSERT_GT(knobd, 0);
  std::string sock = dir + "/control.sock";
  ASSERT_TRUE(WaitFor([&] { return access(sock.c_str(), F_OK) == 0; }))
      << "knobd did not create " << sock;

  ClientOptions o;
  o.name = "example-service";
  o.socket_path = sock;
  o.initial_backoff = 50ms;
  o.max_backoff = 500ms;
  Client client(o);
  client.RegisterKnob({"worker_threads", 4, 1, 64, "threads"},
                      [](double) { return SetResult::Applied(); });
  client.RecordRequest(3ms);
  ASSERT_TRUE(client.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return client.connected() && client.reports_sent() >= 2; }));
  EXPECT_EQ(client.target(), "svc");

  auto [code, out] = Knobctl("--socket " + sock + " targets");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("connected"), std::string::npos) << out;
  std::tie(code, out) = Knobctl("--socket " + sock + " show svc");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("worker_threads"), std::string::npos) << out;
  std::tie(code, out) = Knobctl("--socket " + sock + " show nope");
  EXPECT_EQ(code, 1) << out;

  // Restart knobd under the connected client.
  kill(knobd, SIGTERM);
  int status = 0;
  waitpid(knobd, &status, 0);
  EXPECT_TRUE(WaitFor([&] { return !client.connected(); }));
  knobd = StartKnobd(dir);
  EXPECT_TRUE(WaitFor([&] { return client.connected() && client.connections() >= 2; }))
      << client.last_error();
  std::tie(code, out) = Knobctl("--socket " + sock + " targets");
  EXPECT_NE(out.find("connected"), std::string::npos) << out;

  client.Stop();
  kill(knobd, SIGTERM);
  waitpid(knobd, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (std::system(("rm -rf " + dir).c_str()) != 0) ADD_FAILURE() << "cannot remove " << dir;
}

}  // namespace
}  // namespace knob::test
