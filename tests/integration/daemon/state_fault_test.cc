// SPDX-License-Identifier: Apache-2.0
// Faults around the state directory (issue 12), against the real knobd binary: SIGKILL at
// random moments while it checkpoints, a corrupt or truncated state file at startup, and a
// state directory that fills up. The state must never be unreadable; a bad file is moved aside
// and logged, and knobd starts with what it can trust.

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <random>

#include "optimizers/brain_state.h"
#include "tests/integration/daemon/knobd_process.h"

namespace knob::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Checkpoints every second, so SIGKILL lands near a write often; a host target keeps the brain
// observing something.
const char* kPolicy = R"(global:
  tick_interval: 100ms
  checkpoint_interval: 1s
  log_level: info
targets:
  - name: host
    select: {host: true}
    mode: observe
)";

class StateFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.path() + "/knobd.yaml", kPolicy);
    state_ = dir_.path() + "/state";
    std::filesystem::create_directories(state_);
  }
  std::unique_ptr<KnobdProcess> Start(const std::string& log) {
    return std::make_unique<KnobdProcess>(
        std::vector<std::string>{"--config", dir_.path() + "/knobd.yaml", "--state-dir", state_,
                                 "--control-socket", dir_.path() + "/run/control.sock",
                                 "--metrics-listen", "127.0.0.1:0"},
        dir_.path() + "/" + log);
  }
  std::string StateFile() const { return state_ + "/brain-state.json"; }

  TempDir dir_;
  std::string state_;
};

TEST_F(StateFaultTest, CorruptOrTruncatedStateIsMovedAsideAndLogged) {
  int runs = 0;
  for (const std::string& bad : {std::string("{\"version\":1,\"records\":[{\"id\":"),
                                 std::string("\x00\x01garbage", 9), std::string("[]")}) {
    std::filesystem::remove(StateFile() + ".corrupt");
    WriteFile(StateFile(), bad);
    // A fresh log per start: an old "running:" line must not satisfy the wait below.
    auto k = Start("corrupt-" + std::to_string(++runs) + ".log");
    ASSERT_TRUE(k->WaitForLog("running:")) << k->Log();
    EXPECT_TRUE(k->LogContains("moved aside to " + StateFile() + ".corrupt")) << k->Log();
    EXPECT_TRUE(std::filesystem::exists(StateFile() + ".corrupt"));
    EXPECT_EQ(ReadFile(StateFile() + ".corrupt"), bad);
    // It runs, and a clean stop writes a state it can read back.
    k->Signal(SIGTERM);
    EXPECT_EQ(k->WaitExit(seconds(20)), 0) << k->Log();
    auto d = DecodeBrainState(ReadFile(StateFile()));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
  }
}

// KNOB_FAULT_ITERATIONS=100 is the full run (docs/benchmarks.md); the test command runs 15.
TEST_F(StateFaultTest, KillNineDuringCheckpointsNeverLeavesAnUnreadableState) {
  const char* env = std::getenv("KNOB_FAULT_ITERATIONS");
  const int iterations = env != nullptr ? std::atoi(env) : 15;
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> delay_ms(900, 2600);  // around the first checkpoints
  int saved = 0;
  for (int i = 0; i < iterations; ++i) {
    auto k = Start("kill-" + std::to_string(i) + ".log");
    ASSERT_TRUE(k->WaitForLog("running:")) << k->Log();
    EXPECT_FALSE(k->LogContains("moved aside")) << "iteration " << i << ": " << k->Log();
    EXPECT_FALSE(k->LogContains("loading saved state")) << "iteration " << i << ": " << k->Log();
    std::this_thread::sleep_for(milliseconds(delay_ms(rng)));
    k->Signal(SIGKILL);
    ASSERT_EQ(k->WaitExit(seconds(10)), -1);
    if (std::filesystem::exists(StateFile())) {
      ++saved;
      auto d = DecodeBrainState(ReadFile(StateFile()));
      ASSERT_TRUE(d.ok()) << "iteration " << i << ": " << d.status().ToString();
    }
  }
  EXPECT_GT(saved, 0) << "no checkpoint was ever written: the test tested nothing";
  RecordProperty("iterations", iterations);
  RecordProperty("states_checked", saved);
}

// A state directory with no room left (a 64 KiB tmpfs): the checkpoint fails, is logged once,
// knobd keeps running, and the last good state stays readable.
TEST_F(StateFaultTest, FullDiskUnderTheStateDirIsLoggedOnceAndSurvived) {
  ASSERT_EQ(geteuid(), 0u) << "mounting a size-limited tmpfs needs root";
  if (::mount("tmpfs", state_.c_str(), "tmpfs", 0, "size=64k,mode=0755") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); the full-disk case is documented in docs/benchmarks.md";
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{state_};
  {
    auto k = Start("first.log");
    ASSERT_TRUE(k->WaitForLog("running:")) << k->Log();
    k->Signal(SIGTERM);
    ASSERT_EQ(k->WaitExit(seconds(20)), 0) << k->Log();
  }
  const std::string good = ReadFile(StateFile());
  ASSERT_TRUE(DecodeBrainState(good).ok());
  // Fill the rest of the tmpfs.
  {
    std::ofstream filler(state_ + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) &&
           filler.flush()) {
    }
  }
  auto k = Start("full.log");
  ASSERT_TRUE(k->WaitForLog("running:")) << k->Log();
  ASSERT_TRUE(k->WaitForLog("checkpoint to " + state_, seconds(20))) << k->Log();
  std::this_thread::sleep_for(seconds(3));  // several more failing checkpoints
  std::string log = k->Log();
  size_t warnings = 0;
  for (size_t at = log.find("checkpoint to " + state_); at != std::string::npos;
       at = log.find("checkpoint to " + state_, at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_FALSE(k->WaitExit(milliseconds(0)).has_value()) << log;
  // The failed writes never touched the last good state.
  EXPECT_EQ(ReadFile(StateFile()), good);
  std::filesystem::remove(state_ + "/filler");
  ASSERT_TRUE(k->WaitForLog("checkpoint to " + state_ + ": recovered", seconds(20))) << k->Log();
}

}  // namespace
}  // namespace knob::test
