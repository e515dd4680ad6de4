// SPDX-License-Identifier: Apache-2.0
// The end-to-end proof of issue 5: the real knobd binary, in apply mode, tunes the real
// knob-example-service while the real knob-loadgen drives it over loopback, and
//   (1) moves a knob and the service acks it (history outcome applied/verified, and the
//       knobd_recommendations_total counter on /metrics);
//   (2) the service's throughput at the final setting is clearly higher than at the deliberately
//       bad starting setting (worker_threads = 1), measured by the load generator itself, while
//       the p99 constraint holds at the final setting;
//   (3) every recorded step respects the knob's bounds and max_step, and every rollback restores
//       the value it left;
//   (4) after SIGTERM and a restart with the same state directory, the history is still there.
// Everything is asserted against knobd's stored record (`knobctl --json history/show`, /metrics)
// and the load generator's own summary, never against log text (logs only tell us the ports).
//
// Why worker_threads = 1: each request waits ~2 ms on the loopback backend for a cache miss, so
// one worker serialises that I/O wait and the service runs far below what two cores can do; more
// workers overlap it. The gain (typically 2-3x) does not depend on an idle machine, so the test
// asserts a 25% margin, not exact numbers or exact convergence (a loaded 2-core CI VM moves the
// optimum around; the unit tests in tests/unit/optimizers pin convergence under a fake clock).
//
// Bounded: tuning stops after 3 verified raises or 50 s, whichever comes first; the whole test
// takes ~25 s here and at most ~110 s. Every child is stopped by RAII, also when an assertion
// fails. KNOB_E2E_KEEP=1 keeps the temporary directory (policy, logs, state) and prints its
// path; KNOB_E2E_RAISES / KNOB_E2E_TUNE_SECONDS lengthen the tuning phase (run_e2e.sh).
#include "tests/integration/e2e/e2e_harness.h"

namespace knob::test {
namespace {

constexpr const char* kTarget = "example-service";
constexpr const char* kKnob = "worker_threads";
constexpr double kKnobMin = 1, kKnobMax = 12;
constexpr double kStepFraction = 0.5, kStepAbs = 3;  // max_step: [50%, 3]
constexpr double kSloSeconds = 0.2;                  // p99_latency: 200ms
constexpr int kConnections = 16;

// The policy under test: one registered target, apply mode, a throughput objective with a p99
// constraint, and guard timings short enough to take several verified steps in well under a
// minute (tick 250 ms, so min_samples 6 is 1.5 s of observations per side of a change).
std::string WorkerPolicy() {
  return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: example-service
    select: {registered: example-service}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 200ms}
    knobs:
      worker_threads: {min: 1, max: 12, max_step: [50%, 3]}
)";
}

class TuningE2eTest : public E2eTest {
 protected:
  std::string Policy() const override { return WorkerPolicy(); }
  std::optional<double> ReportedKnob() { return E2eTest::ReportedKnob(kKnob); }
  std::optional<LoadResult> MeasureLoad(const std::string& name, int duration_s) {
    return E2eTest::MeasureLoad(name, duration_s, {"--connections", std::to_string(kConnections)});
  }
};

bool IsRaise(const json& r) {
  return Str(r, "knob") == kKnob && Str(r, "scenario") != "rollback" &&
         Num(r, "new_value") > Num(r, "old_value");
}

TEST_F(TuningE2eTest, ApplyModeRaisesThroughputWithinConstraintsAndSurvivesRestart) {
  const auto t0 = SteadyClock::now();
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);

  // Baseline first: the target is paused (observed, no sets) while the load generator measures
  // the bad starting setting.
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  StartService({"--workers", "1"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitFor([&] { return ReportedKnob() == 1.0; }, seconds(30), milliseconds(250)))
      << "the service never registered and reported worker_threads = 1\n"
      << knobd_->Err();

  auto before = MeasureLoad("baseline", 6);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(before->throughput_rps, 0);
  ASSERT_EQ(ReportedKnob(), 1.0) << "knobd changed the knob while the target was paused";

  // Tune under load: resume, and stop after 3 verified raises or 50 s (KNOB_E2E_RAISES and
  // KNOB_E2E_TUNE_SECONDS change both, to watch a longer run by hand).
  const int want_raises = EnvInt("KNOB_E2E_RAISES", 3);
  const int tune_seconds = EnvInt("KNOB_E2E_TUNE_SECONDS", 50);
  StartLoad("tuning", {"--connections", std::to_string(kConnections)});
  const auto tuning_start = SteadyClock::now();
  ASSERT_TRUE(Knobctl({"resume", kTarget}).has_value());
  WaitFor(
      [&] {
        int verified = 0;
        for (const auto& r : History())
          if (IsRaise(r) && Str(r, "outcome") == "verified") ++verified;
        return verified >= want_raises;
      },
      seconds(tune_seconds), milliseconds(500));
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  const double tuning_seconds =
      std::chrono::duration<double>(SteadyClock::now() - tuning_start).count();
  auto during = StopLoad();

  // A set sent just before the pause may still be in flight: wait until the service's reported
  // value is stable, so the final measurement is of one setting.
  std::optional<double> final_setting;
  WaitFor(
      [&] {
        auto a = ReportedKnob();
        std::this_thread::sleep_for(milliseconds(600));
        auto b = ReportedKnob();
        final_setting = b;
        return a && a == b;
      },
      seconds(10), milliseconds(0));
  ASSERT_TRUE(final_setting.has_value());
  auto after = MeasureLoad("final", 6);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(ReportedKnob(), final_setting) << "the setting moved during the final measurement";

  std::vector<json> history = History();
  std::string scrape = HttpGet(metrics_port, "/metrics");

  // (1) knobd moved the knob in apply mode and the service acked it.
  int applied = 0, raises = 0, rollbacks = 0;
  for (const auto& r : history) {
    std::string outcome = Str(r, "outcome");
    if (outcome == "applied" || outcome == "verified" || outcome == "kept" ||
        outcome == "rolled_back") {
      ++applied;
      EXPECT_TRUE(r.contains("advisory") && r["advisory"].is_boolean() &&
                  !r["advisory"].get<bool>())
          << "apply mode must send binding sets: " << r.dump();
    }
    if (IsRaise(r) && outcome == "verified") ++raises;
    // Every step is explained: a sentence and every guard's verdict.
    EXPECT_NE(Str(r, "reason").find(" of example-service from "), std::string::npos) << r.dump();
    EXPECT_TRUE(r.contains("verdicts") && r["verdicts"].is_array() && !r["verdicts"].empty())
        << r.dump();
    if (Str(r, "scenario") == "rollback") ++rollbacks;
  }
  EXPECT_GE(applied, 1) << "no change was applied; history:\n" << json(history).dump(1);
  EXPECT_GE(raises, 1) << json(history).dump(1);
  EXPECT_GT(*final_setting, kKnobMin) << "knobd left worker_threads at its bad starting value";
  EXPECT_GE(SumSamples(scrape, "knobd_recommendations_total",
                       {{"target", kTarget}, {"knob", kKnob}, {"outcome", "verified"}}),
            1.0)
      << scrape;

  // (2) Higher throughput at the final setting, p99 inside the constraint.
  EXPECT_GT(after->throughput_rps, 1.25 * before->throughput_rps) << "baseline:\n"
                                                                  << before->text << "final:\n"
                                                                  << after->text;
  EXPECT_LE(after->p99_ms, kSloSeconds * 1e3) << after->text;
  for (const auto& r : history) {
    if (Str(r, "outcome") != "verified" || !r.contains("realized")) continue;
    double p99 = Num(r["realized"], "p99_seconds");
    if (!std::isnan(p99)) {
      EXPECT_LE(p99, kSloSeconds) << "verified despite a violation: " << r.dump();
    }
  }

  // (3) Bounds and max_step on every recorded step; rollbacks restore exactly the value left.
  const std::map<uint64_t, json> by_id = ById(history);
  for (const auto& r : history) {
    if (Str(r, "knob") != kKnob) continue;
    double from = Num(r, "old_value"), to = Num(r, "new_value");
    EXPECT_GE(to, kKnobMin) << r.dump();
    EXPECT_LE(to, kKnobMax) << r.dump();
    if (Str(r, "scenario") == "rollback") {
      // "... rolled back #ID: ...": the rollback returns to that change's old value.
      const json* undone = UndoneChange(r, by_id);
      ASSERT_NE(undone, nullptr) << Str(r, "reason");
      EXPECT_EQ(to, Num(*undone, "old_value")) << r.dump();
      EXPECT_EQ(Str(*undone, "outcome"), "rolled_back");
      continue;
    }
    double limit = std::min(std::max(1.0, std::floor(std::fabs(from) * kStepFraction)), kStepAbs);
    EXPECT_LE(std::fabs(to - from), limit + 1e-9) << "step beyond max_step: " << r.dump();
  }

  // `knobctl show` carries what the model learned (observations, and the USL fit or why none).
  auto model_observations = [&]() -> double {
    auto r = Knobctl({"show", kTarget});
    if (!r || !(*r)["show"].is_object() || !(*r)["show"].contains("model")) return 0;
    return Num((*r)["show"]["model"], "observations", 0);
  };
  const double learned = model_observations();
  EXPECT_GT(learned, 0) << "knobctl show has no model";

  // (4) SIGTERM saves the state; a restart with the same state dir serves the same history.
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  struct stat st {};
  ASSERT_EQ(stat(Path("state/brain-state.json").c_str(), &st), 0);
  std::vector<json> saved = History();  // knobd is down: nothing
  EXPECT_TRUE(saved.empty());
  saved = history;
  ASSERT_GT(StartKnobd(2), 0);
  std::vector<json> restored = History();
  const std::map<uint64_t, json> restored_by_id = ById(restored);
  int kept = 0;
  for (const auto& r : saved) {
    auto it = restored_by_id.find(static_cast<uint64_t>(Num(r, "id")));
    ASSERT_NE(it, restored_by_id.end()) << "lost after restart: " << r.dump();
    EXPECT_EQ(Str(it->second, "knob"), Str(r, "knob"));
    EXPECT_EQ(Num(it->second, "old_value"), Num(r, "old_value"));
    EXPECT_EQ(Num(it->second, "new_value"), Num(r, "new_value"));
    std::string o = Str(r, "outcome");
    // A change still in flight at shutdown is expired on reload; finished ones keep theirs.
    if (o == "verified" || o == "rolled_back" || o == "vetoed") {
      EXPECT_EQ(Str(it->second, "outcome"), o) << it->second.dump();
    }
    ++kept;
  }
  EXPECT_EQ(kept, static_cast<int>(saved.size()));
  EXPECT_GT(model_observations(), 0) << "the restarted knobd shows no learned model";

  const double total_seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf(
      "[ e2e ] worker_threads %g -> %g in %.1f s of tuning (%d verified raises, %d rollbacks, "
      "%zu records)\n"
      "[ e2e ] baseline: %.0f req/s, p99 %.1f ms; final: %.0f req/s, p99 %.1f ms (x%.2f); "
      "during tuning: %.0f req/s; SLO %.0f ms; test %.1f s\n",
      kKnobMin, *final_setting, tuning_seconds, raises, rollbacks, history.size(),
      before->throughput_rps, before->p99_ms, after->throughput_rps, after->p99_ms,
      after->throughput_rps / before->throughput_rps, during ? during->throughput_rps : 0.0,
      kSloSeconds * 1e3, total_seconds);
  for (const auto& r : history)
    std::printf("[ e2e ]   #%g %s %g -> %g %s (%s)\n", Num(r, "id"), Str(r, "knob").c_str(),
                Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome").c_str(),
                Str(r, "scenario").c_str());
}

}  // namespace
}  // namespace knob::test
