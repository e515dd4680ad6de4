// SPDX-License-Identifier: Apache-2.0
// A unit's CPU quota and CPU set through knob-systemd-adapter (issue 15). This machine has no
// systemd manager, so the test builds the "unit" from real cgroup files: a group named
// knob-e2e-PID.service (cgroup v2 when its cpu and cpuset controllers are there, else the v1
// cpu, cpuset and name=systemd hierarchies), a real CPU-using child moved into it (busy 30 ms
// of every 100 ms), CPUQuota at 200% and every CPU allowed. knobd in apply mode selects the
// unit's processes (`select: {unit, registered}`) and the adapter's knobs. The adapter's own
// start-up line names the path it took; the test prints it and fails on a D-Bus path it cannot
// have here. Asserted: knobd lowers cpu_quota_percent (the child uses a fraction of it) and the
// cgroup's own files confirm each value the adapter reports; allowed_cpus, when knobd moved it,
// is what cpuset's effective CPUs say. Only direction, never exact values: the machine is shared.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/cpu_list.h"
#include "tests/integration/adapters/adapter_harness.h"

namespace knob::test {
namespace {

constexpr int kTuneSeconds = 60;

bool WriteTo(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}
std::string Trimmed(const std::string& path) {
  std::string s = ReadFile(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class SystemdAdapterE2eTest : public AdapterTest {
 protected:
  std::string Policy() const override {
    return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: unit-e2e
    select: {unit: )" +
           unit_ + R"(, registered: unit-e2e}
    mode: apply
    knobs:
      cpu_quota_percent: {min: 20, max: 200, max_step: 50%}
      allowed_cpus: {min: 1}
)";
  }

  // The group in every hierarchy it needs; false (with why_) when this host has none writable.
  bool MakeGroup() {
    const std::string root = "/sys/fs/cgroup";
    const std::string v2_controllers = Trimmed(root + "/cgroup.controllers");
    if (v2_controllers.find("cpu") != std::string::npos &&
        v2_controllers.find("cpuset") != std::string::npos) {
      (void)WriteTo(root + "/cgroup.subtree_control", "+cpu +cpuset");
      dirs_ = {root + "/" + unit_};
      cpu_ = cpuset_ = dirs_[0];
      v2_ = true;
    } else if (access((root + "/cpu/cpu.cfs_quota_us").c_str(), F_OK) == 0 &&
               access((root + "/cpuset/cpuset.cpus").c_str(), F_OK) == 0) {
      cpu_ = root + "/cpu/" + unit_;
      cpuset_ = root + "/cpuset/" + unit_;
      dirs_ = {cpu_, cpuset_};
      // The name=systemd hierarchy is where the `unit` selector finds a v1 unit's processes.
      if (access((root + "/systemd").c_str(), F_OK) == 0)
        dirs_.push_back(root + "/systemd/" + unit_);
    } else {
      why_ = "no cgroup with the cpu and cpuset controllers under " + root +
             " (cgroup.controllers: '" + v2_controllers + "', no v1 cpu/cpuset mounts)";
      return false;
    }
    for (const auto& d : dirs_) {
      if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
        why_ = "cannot create " + d + ": " + std::strerror(errno) + " (the test needs root)";
        return false;
      }
    }
    if (!v2_) {
      // A v1 cpuset takes no task before it has CPUs and memory nodes.
      if (!WriteTo(cpuset_ + "/cpuset.mems", Trimmed(root + "/cpuset/cpuset.mems")) ||
          !WriteTo(cpuset_ + "/cpuset.cpus", Trimmed(root + "/cpuset/cpuset.cpus"))) {
        why_ = "cannot set up " + cpuset_;
        return false;
      }
    } else {
      (void)WriteTo(cpuset_ + "/cpuset.cpus", Trimmed(root + "/cpuset.cpus.effective"));
    }
    return SetQuota(200);
  }
  bool SetQuota(int percent) {
    if (v2_) return WriteTo(cpu_ + "/cpu.max", std::to_string(percent * 1000) + " 100000");
    return WriteTo(cpu_ + "/cpu.cfs_period_us", "100000") &&
           WriteTo(cpu_ + "/cpu.cfs_quota_us", std::to_string(percent * 1000));
  }
  bool Join(pid_t pid) {
    for (const auto& d : dirs_)
      if (!WriteTo(d + "/cgroup.procs", std::to_string(pid))) return false;
    return true;
  }
  double QuotaPercent() {
    if (v2_) {
      std::istringstream in(Trimmed(cpu_ + "/cpu.max"));
      std::string q;
      double period = 0;
      in >> q >> period;
      return q == "max" || !(period > 0) ? std::nan("") : 100 * std::stod(q) / period;
    }
    double q = std::strtod(Trimmed(cpu_ + "/cpu.cfs_quota_us").c_str(), nullptr);
    double p = std::strtod(Trimmed(cpu_ + "/cpu.cfs_period_us").c_str(), nullptr);
    return q < 0 || !(p > 0) ? std::nan("") : 100 * q / p;
  }
  // In the canonical form the protocol uses ("0-1" from the kernel is "0,1").
  std::string EffectiveCpus() {
    auto cpus = ParseCpuList(
        Trimmed(cpuset_ + (v2_ ? "/cpuset.cpus.effective" : "/cpuset.effective_cpus")));
    return cpus.ok() ? FormatCpuList(*cpus) : "unreadable";
  }
  std::string ReportedList(const std::string& knob) {
    auto app = App("unit-e2e");
    if (!app || !(*app)["knobs"].is_object() || !(*app)["knobs"][knob].is_string()) return "";
    return (*app)["knobs"][knob].get<std::string>();
  }

  void TearDown() override {
    adapter_.reset();
    burner_.reset();
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) rmdir(it->c_str());
    AdapterTest::TearDown();
  }

  std::string unit_ = "knob-e2e-" + std::to_string(getpid()) + ".service";
  std::vector<std::string> dirs_;
  std::string cpu_, cpuset_, why_;
  bool v2_ = false;
  std::unique_ptr<Child> burner_, adapter_;
};

TEST_F(SystemdAdapterE2eTest, LowersUnusedQuotaThroughTheUnitsCgroup) {
  const std::string python = FindTool({"/usr/bin/python3"});
  ASSERT_FALSE(python.empty()) << "python3 is needed: apt-get install python3";
  const std::string adapter = kAdapters + "/knob-systemd-adapter";
  ASSERT_EQ(access(adapter.c_str(), X_OK), 0) << adapter << " not built";
  ASSERT_TRUE(MakeGroup()) << why_;

  std::ofstream(Path("burner.py")) << "import time\n"
                                      "while True:\n"
                                      "    end = time.monotonic() + 0.03\n"
                                      "    while time.monotonic() < end:\n"
                                      "        pass\n"
                                      "    time.sleep(0.07)\n";
  burner_ = std::make_unique<Child>(std::vector<std::string>{python, Path("burner.py")},
                                    Path("burner.out"), Path("burner.err"));
  ASSERT_TRUE(Join(burner_->pid())) << "cannot move the child into " << unit_;
  const std::string cpus_before = EffectiveCpus();
  ASSERT_EQ(QuotaPercent(), 200);

  ASSERT_GT(StartKnobd(1), 0);
  adapter_ = std::make_unique<Child>(
      std::vector<std::string>{adapter, "--unit", unit_, "--cgroup", "/" + unit_, "--name",
                               "unit-e2e", "--knobd-socket", Socket(), "--interval", "250ms",
                               "--min-quota", "20", "--max-quota", "200"},
      Path("adapter.out"), Path("adapter.err"));
  ASSERT_TRUE(WaitFor([&] { return App("unit-e2e").has_value(); }, seconds(20)))
      << ReadFile(Path("adapter.err"));
  std::string path_line;
  {
    std::istringstream in(ReadFile(Path("adapter.err")));
    for (std::string line; std::getline(in, line);)
      if (line.find("changing " + unit_) != std::string::npos) path_line = line;
  }
  std::printf("[ e2e ] systemd adapter path: %s\n", path_line.c_str());
  ASSERT_NE(path_line.find(v2_ ? "cgroup v2" : "cgroup v1"), std::string::npos)
      << "the adapter did not say it writes the cgroup files: " << path_line;
  EXPECT_EQ(ReportedList("allowed_cpus"), cpus_before);

  const double tune_seconds = WaitUntilSettled(
      [&] { return QuotaPercent(); }, [](double v) { return v < 200; }, seconds(kTuneSeconds));
  const double final_quota = QuotaPercent();
  const std::string final_cpus = EffectiveCpus();
  auto quota_steps = KnobSteps("unit-e2e", "cpu_quota_percent");
  std::string cpu_path, last_cpus_applied;
  bool cpus_rolled_back_last = false;
  for (const auto& r : History("unit-e2e")) {
    if (Str(r, "knob") != "allowed_cpus") continue;
    cpu_path += Str(r, "old_list") + "->" + Str(r, "new_list") + " (" + Str(r, "scenario") + ", " +
                Str(r, "outcome") + ") ";
    const std::string o = Str(r, "outcome");
    if (o == "verified" || o == "applied" || o == "rolled_back")
      last_cpus_applied = Str(r, "new_list");
    cpus_rolled_back_last = Str(r, "scenario") == "rollback";
  }
  std::printf(
      "[ e2e ] unit quota path: %s\n[ e2e ] unit allowed_cpus path: %s\n[ e2e ] %s: CPUQuota 200%% "
      "-> %.0f%% in %.0f s; AllowedCPUs %s -> %s\n",
      Describe(quota_steps).c_str(), cpu_path.c_str(), unit_.c_str(), final_quota, tune_seconds,
      cpus_before.c_str(), final_cpus.c_str());

  int lowered = 0;
  double last_applied = 200;
  for (const auto& s : quota_steps) {
    if (s.to < s.from && s.scenario != "rollback" &&
        (s.outcome == "verified" || s.outcome == "applied" || s.outcome == "rolled_back"))
      ++lowered;
    if (s.outcome == "verified" || s.outcome == "applied" || s.outcome == "rolled_back")
      last_applied = s.to;
  }
  EXPECT_GE(lowered, 1) << Describe(quota_steps) << "\n" << ReadFile(Path("knobd-1.log"));
  // The cgroup confirms: what its files say is what the adapter reports and knobd applied.
  auto reported = ReportedKnob("cpu_quota_percent", "unit-e2e");
  ASSERT_TRUE(reported.has_value());
  EXPECT_NEAR(*reported, final_quota, 0.5);
  if (!quota_steps.empty() && quota_steps.back().scenario != "rollback") {
    EXPECT_NEAR(last_applied, final_quota, 0.5) << Describe(quota_steps);
  }
  EXPECT_EQ(ReportedList("allowed_cpus"), final_cpus);
  if (!last_cpus_applied.empty() && !cpus_rolled_back_last) {
    EXPECT_EQ(last_cpus_applied, final_cpus) << cpu_path;
  }
}

}  // namespace
}  // namespace knob::test
