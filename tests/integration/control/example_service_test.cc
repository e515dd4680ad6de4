// SPDX-License-Identifier: Apache-2.0
// knob-example-service against a real control server: it registers, reports its pools and
// cache, and applies every knob live (acks "applied"), while knob-loadgen drives traffic.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/control/harness.h"

namespace knob::test {
namespace {

const char* kService = KNOB_BINARY_DIR "/bench/example_service/knob-example-service";
const char* kLoadgen = KNOB_BINARY_DIR "/bench/loadgen/knob-loadgen";

pid_t Spawn(std::vector<std::string> args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

TEST(ExampleServiceTest, RegistersReportsAndAppliesEveryKnob) {
  if (access(kService, X_OK) != 0 || access(kLoadgen, X_OK) != 0)
    GTEST_SKIP() << "bench binaries not built (KNOB_BUILD_BENCH=OFF)";
  std::string dir = TempSocketDir();
  ControlSettings c;
  c.socket_path = dir + "/control.sock";
  Harness h(c);
  ASSERT_TRUE(h.start_status().ok());
  std::string port = std::to_string(20000 + getpid() % 20000);
  pid_t service = Spawn({kService, "--port", port, "--socket", c.socket_path, "--duration", "25",
                         "--workers", "2", "--cpu-work-us", "50"});
  ASSERT_GT(service, 0);
  bool registered = h.WaitOnLoop(
      [&] { return h.server().api().clients().RegisteredPids().count("example-service") == 1; });
  pid_t load = Spawn({kLoadgen, "--port", port, "--duration", "4", "--connections", "4"});
  std::map<std::string, double> want = {{"worker_threads", 6},
                                        {"backend_pool", 2},
                                        {"concurrency_limit", 32},
                                        {"cache_bytes", 1 << 20}};
  bool acked = false, reported = false;
  if (registered) {
    uint64_t id = 100;
    for (const auto& [knob, value] : want) {
      Recommendation rec;
      rec.id = ++id;
      rec.target = "svc";
      rec.knob = knob;
      rec.new_value = value;
      h.OnLoop([&] { h.server().api().clients().Publish(rec); });
    }
    acked = h.WaitOnLoop([&] { return h.outcomes().size() == want.size(); });
    reported = h.WaitOnLoop([&] {
      Snapshot snap;
      snap.targets["svc"].name = "svc";
      h.server().api().clients().MergeReports(Policy{}, snap);
      const auto& app = snap.targets["svc"].app;
      if (!app || app->requests_total == 0) return false;
      for (const auto& [knob, value] : want)
        if (app->knobs.count(knob) == 0 || app->knobs.at(knob) != value) return false;
      return app->pools.count("workers") && app->pools.at("workers").size == 6 &&
             app->caches.count("main") && app->caches.at("main").capacity_bytes == (1 << 20);
    });
  }
  int status = 0;
  waitpid(load, &status, 0);
  kill(service, SIGTERM);
  int service_status = 0;
  waitpid(service, &service_status, 0);
  unlink(c.socket_path.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(registered);
  ASSERT_TRUE(acked);
  for (const auto& o : h.outcomes()) EXPECT_EQ(o.outcome, Outcome::kApplied) << o.reason;
  EXPECT_TRUE(reported);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "loadgen saw no successful request";
  EXPECT_TRUE(WIFEXITED(service_status) && WEXITSTATUS(service_status) == 0);
}

}  // namespace
}  // namespace knob::test
