// SPDX-License-Identifier: Apache-2.0
// Every client applies knobd's `set` through its callback and acks it, against the real
// control server (daemon/control on a real loop and socket, the same code knobd runs): the
// example programs of docs/integrating.md (C++, C, Python, Go, Rust) each register, get three
// recommendations (in bounds: applied; out of bounds: rejected by the client library; a
// fraction: rejected by the program's own callback, except the C++ one, which takes any value)
// and report the new value back. Knobd's binary cannot be made to recommend on demand, which
// is why this drives the server in-process. Paths come from the environment (ctest sets them).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/integration/control/harness.h"

namespace knob::test {
namespace {

struct Program {
  std::string name;  // what it registers as
  std::vector<std::string> argv;
  bool rejects_fractions;
};

std::string Env(const char* var) {
  const char* v = std::getenv(var);
  return v != nullptr ? v : "";
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& socket) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("KNOBD_SOCKET", socket.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

class SetAckTest : public ::testing::TestWithParam<std::string> {};

Program ProgramFor(const std::string& lang) {
  std::string dir = Env("KNOB_EXAMPLES_BIN");
  if (lang == "cpp") return {"cpp-example", {dir + "/knob-example-cpp", "20"}, false};
  if (lang == "c") return {"c-example", {dir + "/knob-example-c", "20"}, true};
  if (lang == "go") return {"go-example", {Env("KNOB_GO_EXAMPLE"), "20"}, true};
  if (lang == "rust") return {"rust-example", {Env("KNOB_RUST_EXAMPLE"), "20"}, true};
  return {"python-example",
          {Env("KNOB_PYTHON3"), std::string(KNOB_SOURCE_DIR) + "/client/examples/python/service.py",
           "20"},
          true};
}

TEST_P(SetAckTest, AppliesInBoundsRejectsTheRestAndReportsTheNewValue) {
  Program prog = ProgramFor(GetParam());
  ASSERT_FALSE(prog.argv[0].empty()) << "ctest sets the example paths (ctest -R set_ack)";
  ASSERT_EQ(access(prog.argv[0].c_str(), X_OK), 0) << prog.argv[0] << " is not built";
  std::string dir = TempSocketDir();
  ControlSettings c;
  c.socket_path = dir + "/control.sock";
  c.max_message_bytes = 64 * 1024;
  c.max_clients = 16;
  c.max_messages_per_second = 1000;
  c.idle_timeout = std::chrono::seconds(60);
  Harness h(c);
  ASSERT_TRUE(h.start_status().ok()) << h.start_status().ToString();
  Policy policy;
  policy.source = "<set_ack_test>";
  policy.global.tick_interval = std::chrono::milliseconds(200);
  policy.global.control = c;
  TargetPolicy t;
  t.name = "example";
  t.selector.registered = prog.name;
  t.mode = Mode::kApply;
  policy.targets.push_back(t);
  auto shared = std::make_shared<const Policy>(std::move(policy));
  h.OnLoop([&] { h.server().SetPolicy(shared); });

  pid_t pid = Spawn(prog.argv, c.socket_path);
  ASSERT_GT(pid, 0);
  bool registered = h.WaitOnLoop(
      [&] { return h.server().api().clients().RegisteredPids().count(prog.name) == 1; });
  struct Case {
    uint64_t id;
    double value;
    Outcome want;
  };
  std::vector<Case> cases = {
      {1, 7, Outcome::kApplied},
      {2, 1000, Outcome::kRejected},
      {3, 7.5, prog.rejects_fractions ? Outcome::kRejected : Outcome::kApplied}};
  bool acked = false, reported = false;
  double reported_value = 0;
  if (registered) {
    for (const auto& k : cases) {
      Recommendation rec;
      rec.id = k.id;
      rec.target = "example";
      rec.knob = "workers";
      rec.old_value = 4;
      rec.new_value = k.value;
      rec.advisory = false;
      h.OnLoop([&] { h.server().api().clients().Publish(rec); });
      acked = h.WaitOnLoop([&] { return h.outcomes().size() == k.id; });
      if (!acked) break;
    }
    double want = prog.rejects_fractions ? 7 : 7.5;
    reported = h.WaitOnLoop([&] {
      Snapshot snap;
      snap.targets["example"].name = "example";
      h.server().api().clients().MergeReports(Policy{}, snap);
      const auto& app = snap.targets["example"].app;
      if (!app || app->knobs.count("workers") == 0) return false;
      reported_value = app->knobs.at("workers");
      return reported_value == want && app->pools.count("workers") == 1;
    });
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  unlink(c.socket_path.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(registered) << prog.name << " never registered";
  ASSERT_TRUE(acked) << "not every set was acked";
  auto outcomes = h.outcomes();
  ASSERT_EQ(outcomes.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(outcomes[i].id, cases[i].id);
    EXPECT_EQ(outcomes[i].outcome, cases[i].want)
        << "set " << cases[i].value << ": " << outcomes[i].reason;
  }
  EXPECT_TRUE(reported) << "the report kept workers = " << reported_value;
}

INSTANTIATE_TEST_SUITE_P(Examples, SetAckTest,
                         ::testing::Values("cpp", "c", "python", "go", "rust"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace knob::test
