// SPDX-License-Identifier: Apache-2.0
// Several real processes registering one name are one target (issue 15): C++ instances
// (knob-example-service, knob::Client) and Python instances (client/python) against the real
// control server on a real loop and socket (the code knobd runs; in-process because knobd's
// binary cannot be made to recommend on demand). Counters are summed and stay monotone when an
// instance leaves, a set reaches every instance and is applied only when all acked, a partial
// apply is rolled back on the instances that took it, and distinct names under a catch-all are
// targets of their own. Paths come from the environment (ctest sets them).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "tests/integration/control/harness.h"

namespace knob::test {
namespace {

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

void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

class InstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(Cpp().c_str(), X_OK), 0) << Cpp() << " is not built (run through ctest)";
    ASSERT_FALSE(Env("KNOB_PYTHON3").empty()) << "ctest sets KNOB_PYTHON3";
    dir_ = TempSocketDir();
    ControlSettings c;
    c.socket_path = dir_ + "/control.sock";
    c.max_clients = 32;
    c.max_messages_per_second = 1000;
    c.idle_timeout = std::chrono::seconds(60);
    h_ = std::make_unique<Harness>(c);
    ASSERT_TRUE(h_->start_status().ok()) << h_->start_status().ToString();
    Policy policy;
    policy.source = "<instances_test>";
    policy.global.tick_interval = std::chrono::milliseconds(200);
    policy.global.control = c;
    TargetPolicy shared;
    shared.name = "shop";
    shared.selector.registered = "shop";
    shared.mode = Mode::kApply;
    policy.targets.push_back(shared);
    TargetPolicy any;
    any.name = "fleet";
    any.selector.registered = "*";
    any.mode = Mode::kApply;
    policy.targets.push_back(any);
    policy_ = std::make_shared<const Policy>(std::move(policy));
    h_->OnLoop([&] { h_->server().SetPolicy(policy_); });
  }
  void TearDown() override {
    for (pid_t p : pids_) Stop(p);
    h_.reset();
    unlink((dir_ + "/control.sock").c_str());
    rmdir(dir_.c_str());
  }
  static std::string Cpp() { return Env("KNOB_EXAMPLE_SERVICE"); }
  pid_t StartCpp(const std::string& name) {
    pid_t p = Spawn({Cpp(), "--name", name, "--port", "0", "--socket", dir_ + "/control.sock"},
                    dir_ + "/control.sock");
    pids_.push_back(p);
    return p;
  }
  pid_t StartPython(const std::string& name, bool reject = false) {
    std::vector<std::string> args = {
        Env("KNOB_PYTHON3"),
        std::string(KNOB_SOURCE_DIR) + "/tests/integration/clients/instance_client.py", name};
    if (reject) args.push_back("--reject");
    pid_t p = Spawn(args, dir_ + "/control.sock");
    pids_.push_back(p);
    return p;
  }
  void StopOne(pid_t pid) {
    Stop(pid);
    pids_.erase(std::find(pids_.begin(), pids_.end(), pid));
  }
  // Live instances of `target` (0 when it has no client); loop thread.
  size_t Instances(const std::string& target) {
    const RegisteredClient* c = h_->server().api().clients().FindClientByTarget(target);
    return c == nullptr ? 0 : c->instances.size();
  }
  bool WaitInstances(const std::string& target, size_t n) {
    return h_->WaitOnLoop([&] { return Instances(target) == n; }, std::chrono::seconds(20));
  }
  // Every live instance of `target` (but `except`) has reported `worker_threads` == v.
  bool WaitKnob(const std::string& target, double v, pid_t except = 0) {
    return h_->WaitOnLoop([&] {
      const RegisteredClient* c = h_->server().api().clients().FindClientByTarget(target);
      if (c == nullptr || c->instances.empty()) return false;
      for (const auto& [s, inst] : c->instances) {
        if (inst.pid == except) continue;
        if (!inst.latest) return false;
        auto k = inst.latest->knobs.find("worker_threads");
        if (k == inst.latest->knobs.end() || k->second != v) return false;
      }
      return true;
    });
  }
  void Publish(uint64_t id, double from, double to) {
    Recommendation rec;
    rec.id = id;
    rec.target = "shop";
    rec.knob = "worker_threads";
    rec.old_value = from;
    rec.new_value = to;
    h_->OnLoop([&] { h_->server().api().clients().Publish(rec); });
  }
  // The merged report the brain would get for `target` this tick.
  std::optional<AppReport> Merged(const std::string& target) {
    std::optional<AppReport> out;
    h_->OnLoop([&] {
      Snapshot snap;
      snap.targets[target].name = target;
      h_->server().api().clients().MergeReports(*policy_, snap);
      out = snap.targets[target].app;
    });
    return out;
  }

  std::string dir_;
  std::unique_ptr<Harness> h_;
  std::shared_ptr<const Policy> policy_;
  std::vector<pid_t> pids_;
};

TEST_F(InstancesTest, CppAndPythonInstancesOfOneNameAreOneTarget) {
  const pid_t cpp1 = StartCpp("shop");
  StartCpp("shop");
  StartPython("shop");
  ASSERT_TRUE(WaitInstances("shop", 3)) << "three processes named shop are three instances";
  ASSERT_TRUE(WaitKnob("shop", 4));

  // Counters summed: the merge is the sum of what each instance last reported.
  ASSERT_TRUE(h_->WaitOnLoop([&] {
    const RegisteredClient* c = h_->server().api().clients().FindClientByTarget("shop");
    double sum = 0;
    for (const auto& [s, inst] : c->instances) sum += inst.latest->requests_total;
    return sum > 0 && c->latest && c->latest->requests_total == sum;
  }));

  // A set goes to all three; applied once all three acked.
  Publish(1, 4, 6);
  ASSERT_TRUE(h_->WaitOnLoop([&] { return h_->outcomes().size() == 1; }));
  EXPECT_EQ(h_->outcomes()[0].outcome, Outcome::kApplied) << h_->outcomes()[0].reason;
  EXPECT_NE(h_->outcomes()[0].reason.find("all 3 instances"), std::string::npos);
  ASSERT_TRUE(WaitKnob("shop", 6)) << "every instance reports the new value";

  // A fourth instance refuses the next set: the three that applied it are set back.
  const pid_t refuser = StartPython("shop", /*reject=*/true);
  ASSERT_TRUE(WaitInstances("shop", 4));
  Publish(2, 6, 8);
  ASSERT_TRUE(h_->WaitOnLoop([&] { return h_->outcomes().size() == 2; }));
  const OutcomeRecord partial = h_->outcomes()[1];
  EXPECT_EQ(partial.outcome, Outcome::kRejected);
  EXPECT_NE(partial.reason.find("partial apply: applied by 3 of 4 instances"), std::string::npos)
      << partial.reason;
  EXPECT_NE(partial.reason.find("this instance keeps its workers"), std::string::npos)
      << partial.reason;
  EXPECT_TRUE(WaitKnob("shop", 6, refuser)) << "the partial apply was not rolled back everywhere";
  EXPECT_TRUE(h_->WaitOnLoop([&] {
    for (const auto& [s, inst] : h_->server().api().clients().FindClientByTarget("shop")->instances)
      if (inst.pid == refuser && inst.latest) return inst.latest->knobs.at("worker_threads") == 4;
    return false;
  })) << "the refusing instance changed anyway";

  // A worker leaves: the target keeps counting from where the four left off.
  const double before = Merged("shop")->requests_total;
  StopOne(cpp1);
  ASSERT_TRUE(WaitInstances("shop", 3));
  EXPECT_GE(Merged("shop")->requests_total, before) << "an instance leaving reset the counter";
}

TEST_F(InstancesTest, DistinctNamesUnderACatchAllAreTargetsOfTheirOwn) {
  StartCpp("cart");
  StartPython("search");
  StartPython("search");
  ASSERT_TRUE(WaitInstances("cart", 1));
  ASSERT_TRUE(WaitInstances("search", 2));
  Policy tick;
  h_->OnLoop([&] { tick = h_->server().api().clients().EffectivePolicy(); });
  EXPECT_EQ(tick.FindTarget("fleet"), nullptr);
  ASSERT_NE(tick.FindTarget("cart"), nullptr);
  ASSERT_NE(tick.FindTarget("search"), nullptr);
  EXPECT_EQ(tick.FindTarget("search")->mode, Mode::kApply);
  ASSERT_TRUE(h_->WaitOnLoop([&] {
    Snapshot snap;
    for (const auto& t : tick.targets) snap.targets[t.name].name = t.name;
    h_->server().api().clients().MergeReports(tick, snap);
    return snap.targets["cart"].app && snap.targets["search"].app &&
           snap.targets["cart"].app->knobs.count("backend_pool") == 1 &&
           snap.targets["search"].app->knobs.count("backend_pool") == 0;
  })) << "each name's reports land in its own target";
}

}  // namespace
}  // namespace knob::test
