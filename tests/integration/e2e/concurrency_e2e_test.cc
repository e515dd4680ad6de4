// SPDX-License-Identifier: Apache-2.0
// End-to-end proof of issue 5 for the concurrency_limit knob and for rollback: the real knobd in
// apply mode tunes the real knob-example-service while the real knob-loadgen drives it over
// loopback, and everything is asserted against knobd's stored record (`knobctl --json
// history`), its /metrics and the load generator's own summary.
//
// The load is open loop (--rate): a fixed offered rate, so a rejected request ("ERR busy") is
// not retried at once (a closed loop turns every rejection into a busy spin that eats the two
// cores) and the limit's effect is what an operator sees: the requests it turns away.
//
// ConcurrencyE2eTest.RaisesATooLowLimitUntilTheLoadIsCarriedAndHolds
//   The service starts with concurrency_limit = 2 while the offered load needs ~5 in flight
//   (each request waits ~2.3 ms on the backend: Little's law, 2000/s x 2.3 ms). Knobd raises the
//   limit (explore, then the USL fit), each step verified, until the limit no longer binds, and
//   then holds: no change for 4 verification windows. Throughput at the final setting is clearly
//   higher than at the starting one, the error rate (rejections) clearly lower, p99 within the
//   SLO (200 ms: generous, p99 is not what this scenario tunes); every step within bounds and
//   max_step and explained. After a restart with the same state dir the model (observations, USL
//   fit) is back on /metrics before the target reconnects.
// TooHighE2eTest.LowersALimitThatLetsP99BreakTheSloAndHolds
//   The other direction: 3000/s offered to a backend that serves ~1900/s; a limit of 200 lets
//   128 clients queue (p99 above its 50 ms SLO). Knobd lowers it (shrink_latency, each step a
//   verified violation fix), then holds; client-side p99 falls far more than half at no cost
//   in throughput.
// RollbackE2eTest.RollsBackAPlantedRegressionAndRemembersTheRegion
//   The service plants a regression the model cannot predict (--regress-above
//   concurrency_limit=4:20000: every request waits 20 ms more once the limit is above 4). Knobd
//   raises the limit from 4, the verification window sees throughput fall and p99 rise instead
//   of what was predicted, rolls back at once to exactly 4, records rolled_back with realized
//   vs predicted and the reason, penalizes the region above 4 (never applied again in the rest
//   of the test), and the penalty survives a restart (state dir; /metrics).
//
// Robustness on a loaded 2-core VM (other heavy jobs share the cores): assertions are on
// direction, margins and holding, never on exact convergence points; every wait is a poll with
// a deadline. The tests take ~31, ~23 and ~14 s here, each bounded at ~90 s.
#include "tests/integration/e2e/e2e_harness.h"

namespace knob::test {
namespace {

constexpr const char* kTarget = "example-service";
constexpr const char* kKnob = "concurrency_limit";
constexpr double kKnobMin = 1, kKnobMax = 64;
constexpr double kStepFraction = 0.5, kStepAbs = 8;  // max_step: [50%, 8]
// p99_latency: 200ms where p99 is not what the scenario is about (the service answers in ~3 ms,
// but a neighbour's benchmark on the two cores can push its p99 past 50 ms: that must not be
// what these tests measure), 50ms where it is (TooHighE2eTest).
constexpr double kSloSeconds = 0.2;
const std::vector<std::string> kLoad = {"--rate", "2000", "--connections", "16"};

std::string ConcurrencyPolicy() {
  return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 2s
    verification_window: 2s
    min_samples: 6
targets:
  - name: example-service
    select: {registered: example-service}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 200ms, error_rate: 1%}
    knobs:
      concurrency_limit: {min: 1, max: 64, max_step: [50%, 8]}
)";
}

// "requests     2474 ok, 3539 errors, 0 reconnects": the fraction of answers that were errors.
double ErrorFraction(const LoadResult& r) {
  std::smatch m;
  static const std::regex re(R"(requests\s+(\d+) ok, (\d+) errors)");
  if (!std::regex_search(r.text, m, re)) return std::nan("");
  double ok = std::stod(m[1]), err = std::stod(m[2]);
  return ok + err > 0 ? err / (ok + err) : std::nan("");
}

bool IsChange(const json& r) {
  std::string o = Str(r, "outcome");
  return o == "pending" || o == "applied" || o == "verified" || o == "kept" || o == "rolled_back";
}

class ConcurrencyE2eTest : public E2eTest {
 protected:
  std::string Policy() const override { return ConcurrencyPolicy(); }
  std::optional<double> Limit() { return ReportedKnob(kKnob); }

  // Waits until the service has registered and reports `value`.
  bool WaitForLimit(double value) {
    return WaitFor([&] { return Limit() == value; }, seconds(30), milliseconds(250));
  }

  // The reported value once it stopped moving (a set sent just before a pause may still land).
  std::optional<double> SettledLimit() {
    std::optional<double> v;
    WaitFor(
        [&] {
          auto a = Limit();
          std::this_thread::sleep_for(milliseconds(600));
          v = Limit();
          return a && a == v;
        },
        seconds(10), milliseconds(0));
    return v;
  }

  // Every recorded step of the knob: inside the bounds, within max_step (rollbacks restore
  // exactly the value their change left), explained (a sentence, a scenario, every guard's
  // verdict) and, in apply mode, binding.
  void CheckSteps(const std::vector<json>& history, double step_fraction = kStepFraction,
                  double step_abs = kStepAbs, double knob_max = kKnobMax) {
    const std::map<uint64_t, json> by_id = ById(history);
    for (const auto& r : history) {
      if (Str(r, "knob") != kKnob) continue;
      EXPECT_NE(Str(r, "reason").find(" of example-service from "), std::string::npos) << r.dump();
      EXPECT_FALSE(Str(r, "scenario").empty()) << r.dump();
      EXPECT_TRUE(r.contains("verdicts") && r["verdicts"].is_array() && !r["verdicts"].empty())
          << r.dump();
      if (!IsChange(r)) continue;
      EXPECT_TRUE(r.contains("advisory") && r["advisory"].is_boolean() &&
                  !r["advisory"].get<bool>())
          << "apply mode must send binding sets: " << r.dump();
      double from = Num(r, "old_value"), to = Num(r, "new_value");
      EXPECT_GE(to, kKnobMin) << r.dump();
      EXPECT_LE(to, knob_max) << r.dump();
      if (Str(r, "scenario") == "rollback") {
        const json* undone = UndoneChange(r, by_id);
        ASSERT_NE(undone, nullptr) << Str(r, "reason");
        EXPECT_EQ(to, Num(*undone, "old_value")) << r.dump();
        EXPECT_EQ(from, Num(*undone, "new_value")) << r.dump();
        EXPECT_EQ(Str(*undone, "outcome"), "rolled_back");
        continue;
      }
      double limit = std::min(std::max(1.0, std::floor(std::fabs(from) * step_fraction)), step_abs);
      EXPECT_LE(std::fabs(to - from), limit + 1e-9) << "step beyond max_step: " << r.dump();
      EXPECT_TRUE(r.contains("predicted") && r["predicted"].is_object() && !r["predicted"].empty())
          << "a change without a prediction: " << r.dump();
    }
  }

  // Polls the history until knobd has made `want` verified changes in direction `dir` (+1
  // raises, -1 lowerings) and then changed nothing for 4 verification windows (8 s), or
  // `max_seconds` pass. True when it settled.
  bool TuneUntilSettled(int dir, int want, int max_seconds) {
    constexpr auto kQuiet = seconds(8);
    size_t changes_seen = 0;
    auto last_change = SteadyClock::now();
    return WaitFor(
        [&] {
          std::vector<json> h = History();
          size_t changes = 0;
          int verified = 0;
          bool in_flight = false;
          for (const auto& r : h) {
            if (Str(r, "knob") != kKnob || !IsChange(r)) continue;
            ++changes;
            std::string o = Str(r, "outcome");
            in_flight = o == "pending" || o == "applied";
            if (o == "verified" && Str(r, "scenario") != "rollback" &&
                dir * (Num(r, "new_value") - Num(r, "old_value")) > 0)
              ++verified;
          }
          if (changes != changes_seen) {
            changes_seen = changes;
            last_change = SteadyClock::now();
          }
          return verified >= want && !in_flight && SteadyClock::now() - last_change >= kQuiet;
        },
        seconds(max_seconds), milliseconds(500));
  }

  void PrintHistory(const std::vector<json>& history) {
    for (const auto& r : history)
      std::printf("[ e2e ]   #%g %s %g -> %g %s (%s) %s\n", Num(r, "id"), Str(r, "knob").c_str(),
                  Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome").c_str(),
                  Str(r, "scenario").c_str(), Str(r, "outcome_reason").c_str());
  }
};

TEST_F(ConcurrencyE2eTest, RaisesATooLowLimitUntilTheLoadIsCarriedAndHolds) {
  const auto t0 = SteadyClock::now();
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  // Workers and backend connections to spare: only the limit binds.
  StartService({"--workers", "32", "--backend-pool", "8", "--concurrency-limit", "2",
                "--cache-bytes", "65536"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForLimit(2)) << knobd_->Err();

  auto before = MeasureLoad("baseline", 5, kLoad);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(before->throughput_rps, 0);
  ASSERT_EQ(Limit(), 2.0) << "knobd changed the limit while the target was paused";

  // Tune until knobd has made at least 2 verified raises and then changed nothing for 4
  // verification windows (8 s), or 60 s (KNOB_E2E_TUNE_SECONDS).
  const int tune_seconds = EnvInt("KNOB_E2E_TUNE_SECONDS", 60);
  StartLoad("tuning", kLoad);
  ASSERT_TRUE(Knobctl({"resume", kTarget}).has_value());
  const auto tuning_start = SteadyClock::now();
  bool held = TuneUntilSettled(+1, 2, tune_seconds);
  const double tuning_seconds =
      std::chrono::duration<double>(SteadyClock::now() - tuning_start).count();
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  auto during = StopLoad();
  std::optional<double> final_limit = SettledLimit();
  ASSERT_TRUE(final_limit.has_value());
  auto after = MeasureLoad("final", 5, kLoad);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(Limit(), final_limit) << "the limit moved during the final measurement";
  std::vector<json> history = History();

  // Moved toward the setting that carries the load, and held there.
  EXPECT_TRUE(held) << "knobd did not settle (2 verified raises, then no change for 8 s) within "
                    << tune_seconds << " s; history:\n"
                    << json(history).dump(1);
  EXPECT_GT(*final_limit, 2.0) << "knobd left the limit at its bad starting value";
  EXPECT_GT(after->throughput_rps, 1.4 * before->throughput_rps) << "baseline:\n"
                                                                 << before->text << "final:\n"
                                                                 << after->text;
  const double err_before = ErrorFraction(*before), err_after = ErrorFraction(*after);
  EXPECT_GT(err_before, 0.2) << "the starting limit should reject much of the load:\n"
                             << before->text;
  EXPECT_LT(err_after, std::min(0.05, 0.5 * err_before)) << after->text;
  EXPECT_LE(after->p99_ms, kSloSeconds * 1e3) << after->text;
  CheckSteps(history);
  for (const auto& r : history) {
    if (Str(r, "outcome") != "verified" || !r.contains("realized")) continue;
    double p99 = Num(r["realized"], "p99_seconds");
    if (!std::isnan(p99)) {
      EXPECT_LE(p99, kSloSeconds) << "verified despite a p99 violation: " << r.dump();
    }
  }

  // The learned model survives a restart: with the service gone nothing new is observed, so
  // the reloaded model must show exactly what knobd held when it stopped.
  service_.reset();
  std::string scrape;
  double observations = 0;
  WaitFor(
      [&] {
        scrape = HttpGet(metrics_port, "/metrics");
        observations = SumSamples(scrape, "knobd_model_observations", {{"target", kTarget}});
        std::this_thread::sleep_for(milliseconds(600));
        std::string again = HttpGet(metrics_port, "/metrics");
        return observations > 0 &&
               SumSamples(again, "knobd_model_observations", {{"target", kTarget}}) == observations;
      },
      seconds(10), milliseconds(0));
  // (Few when a workload shift, e.g. a neighbour's benchmark starting, made it forget.)
  EXPECT_GT(observations, 0) << scrape;
  const double r2 =
      SumSamples(scrape, "knobd_model_fit_r_squared", {{"target", kTarget}, {"model", "usl"}});
  const bool has_usl = scrape.find("knobd_model_fit_r_squared{") != std::string::npos;
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  int port2 = StartKnobd(2);
  ASSERT_GT(port2, 0);
  std::string restored = HttpGet(port2, "/metrics");
  EXPECT_EQ(SumSamples(restored, "knobd_model_observations", {{"target", kTarget}}), observations)
      << restored;
  if (has_usl) {
    EXPECT_NEAR(
        SumSamples(restored, "knobd_model_fit_r_squared", {{"target", kTarget}, {"model", "usl"}}),
        r2, 1e-6)
        << restored;
  }
  EXPECT_EQ(History().size(), history.size());

  std::printf(
      "[ e2e ] concurrency_limit 2 -> %g in %.1f s of tuning (held: %s); baseline %.0f req/s, "
      "%.0f%% errors, p99 %.1f ms; final %.0f req/s, %.1f%% errors, p99 %.1f ms (x%.2f); "
      "during tuning %.0f req/s; model: %g observations, USL %s; test %.1f s\n",
      *final_limit, tuning_seconds, held ? "yes" : "no", before->throughput_rps, 100 * err_before,
      before->p99_ms, after->throughput_rps, 100 * err_after, after->p99_ms,
      after->throughput_rps / before->throughput_rps, during ? during->throughput_rps : 0.0,
      observations, has_usl ? ("R2 " + std::to_string(r2)).c_str() : "none",
      std::chrono::duration<double>(SteadyClock::now() - t0).count());
  PrintHistory(history);
}

// The other direction: a limit far above what the p99 SLO allows under an overload (3000/s
// offered to a backend that serves ~1900/s through 4 connections). With the limit at 200 every
// one of the 128 clients stays in flight, queued for a backend connection: throughput is the
// backend's, and p99 is Little's law, 128 / 1900/s, above a 50 ms SLO. Lowering the limit
// costs no throughput (the USL is flat past the knee) and sheds the excess as fast "busy"
// answers, so the accepted requests meet the SLO.
class TooHighE2eTest : public ConcurrencyE2eTest {
 protected:
  static constexpr double kMaxStepFraction = 0.5, kMaxStepAbs = 64, kMax = 256;
  std::string Policy() const override {
    std::string p = ConcurrencyPolicy();
    auto replace = [&](const std::string& from, const std::string& to) {
      p.replace(p.find(from), from.size(), to);
    };
    replace(", error_rate: 1%", "");
    replace("p99_latency: 200ms", "p99_latency: 50ms");
    replace("{min: 1, max: 64, max_step: [50%, 8]}", "{min: 1, max: 256, max_step: [50%, 64]}");
    return p;
  }
};

TEST_F(TooHighE2eTest, LowersALimitThatLetsP99BreakTheSloAndHolds) {
  const auto t0 = SteadyClock::now();
  const std::vector<std::string> load = {"--rate", "3000", "--connections", "128"};
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  StartService({"--workers", "64", "--backend-pool", "4", "--concurrency-limit", "200",
                "--cache-bytes", "65536"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForLimit(200)) << knobd_->Err();
  auto before = MeasureLoad("baseline", 4, load);
  ASSERT_TRUE(before.has_value());

  StartLoad("tuning", load);
  ASSERT_TRUE(Knobctl({"resume", kTarget}).has_value());
  const auto tuning_start = SteadyClock::now();
  bool held = TuneUntilSettled(-1, 1, EnvInt("KNOB_E2E_TUNE_SECONDS", 60));
  const double tuning_seconds =
      std::chrono::duration<double>(SteadyClock::now() - tuning_start).count();
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  StopLoad();
  std::optional<double> final_limit = SettledLimit();
  ASSERT_TRUE(final_limit.has_value());
  auto after = MeasureLoad("final", 4, load);
  ASSERT_TRUE(after.has_value());
  std::vector<json> history = History();

  EXPECT_TRUE(held) << "knobd did not settle (a verified lowering, then no change for 8 s); "
                       "history:\n"
                    << json(history).dump(1);
  EXPECT_LE(*final_limit, 100) << json(history).dump(1);
  // p99 as the clients see it (from the schedule, so the overload's backlog counts) falls
  // by far more than half, at no cost in throughput.
  EXPECT_LT(after->p99_ms, 0.5 * before->p99_ms) << before->text << after->text;
  EXPECT_GT(after->throughput_rps, 0.8 * before->throughput_rps) << before->text << after->text;
  // Every verified lowering that cut the concurrency in flight (200 -> 136 does not: only 128
  // clients) moved the service's own p99 down from where it was decided. Not
  // asserted: that the last one lands inside the SLO. On a quiet VM it does (realized p99
  // 26-50 ms); with a neighbour's benchmark at load average 25+ the host holds p99 above 50 ms
  // at any limit, and knobd then stops shedding (hold_latency_not_limit) instead of chasing it.
  int lowerings = 0;
  for (const auto& r : history) {
    if (Str(r, "knob") != kKnob || Str(r, "outcome") != "verified" ||
        Str(r, "scenario") == "rollback" || !(Num(r, "new_value") < Num(r, "old_value")))
      continue;
    ASSERT_TRUE(r.contains("realized") && r.contains("triggers")) << r.dump();
    if (!(Num(r, "new_value") < Num(r["triggers"], "concurrency"))) continue;
    ++lowerings;
    EXPECT_LT(Num(r["realized"], "p99_seconds"), Num(r["triggers"], "p99_seconds")) << r.dump();
  }
  EXPECT_GE(lowerings, 1) << json(history).dump(1);
  CheckSteps(history, kMaxStepFraction, kMaxStepAbs, kMax);

  std::printf(
      "[ e2e ] too high: concurrency_limit 200 -> %g in %.1f s of tuning (held: %s); baseline "
      "%.0f req/s, p99 %.1f ms; final %.0f req/s, p99 %.1f ms (client side); test %.1f s\n",
      *final_limit, tuning_seconds, held ? "yes" : "no", before->throughput_rps, before->p99_ms,
      after->throughput_rps, after->p99_ms,
      std::chrono::duration<double>(SteadyClock::now() - t0).count());
  PrintHistory(history);
}

// The same service with a planted regression above limit 4, and a policy without an
// error-rate constraint: the raise from 4 is judged on the objective and on p99 alone.
class RollbackE2eTest : public ConcurrencyE2eTest {
 protected:
  std::string Policy() const override {
    std::string p = ConcurrencyPolicy();
    auto at = p.find(", error_rate: 1%");
    return p.erase(at, std::string(", error_rate: 1%").size());
  }
  // Ids of changes that moved the knob above `value` (applied, or on their way).
  std::vector<uint64_t> RaisesAbove(double value, uint64_t after_id) {
    std::vector<uint64_t> out;
    for (const auto& r : History())
      if (Str(r, "knob") == kKnob && IsChange(r) && Num(r, "new_value") > value &&
          Num(r, "id") > static_cast<double>(after_id))
        out.push_back(static_cast<uint64_t>(Num(r, "id")));
    return out;
  }
};

TEST_F(RollbackE2eTest, RollsBackAPlantedRegressionAndRemembersTheRegion) {
  const auto t0 = SteadyClock::now();
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  // Above limit 4 every request waits 20 ms more: throughput falls (Little: the admitted in
  // flight hold their slots ~10x longer) and p99 rises, which no fit of the points at <= 4
  // predicts. 20 ms, not less: with a neighbour at load average 25 an 8 ms regression (-40%) hid
  // in the noise (signal-to-noise 1.6 < 3) and was kept.
  StartService({"--workers", "32", "--backend-pool", "8", "--concurrency-limit", "4",
                "--cache-bytes", "65536", "--regress-above", "concurrency_limit=4:20000"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForLimit(4)) << knobd_->Err();
  StartLoad("tuning", kLoad);

  // knobd raises the limit (4 rejects ~25% of the offered load), the verification window sees
  // the regression and rolls back.
  json bad, rollback;
  WaitFor(
      [&] {
        for (const auto& r : History()) {
          if (Str(r, "knob") != kKnob) continue;
          if (Str(r, "outcome") == "rolled_back" && Num(r, "old_value") == 4) bad = r;
          if (!bad.is_null() && Str(r, "scenario") == "rollback" &&
              Str(r, "reason")
                      .find("rolled back #" + std::to_string(static_cast<uint64_t>(
                                                  Num(bad, "id")))) != std::string::npos)
            rollback = r;
        }
        return !rollback.is_null() && Str(rollback, "outcome") == "verified";
      },
      seconds(60), milliseconds(500));
  ASSERT_FALSE(bad.is_null()) << "no raise from 4 was rolled back; history:\n"
                              << json(History()).dump(1) << knobd_->Err();
  ASSERT_FALSE(rollback.is_null()) << json(History()).dump(1);
  const double rolled_back_at = std::chrono::duration<double>(SteadyClock::now() - t0).count();

  // The bad step: a raise past 4, recorded rolled_back with its reason, realized vs predicted.
  EXPECT_GT(Num(bad, "new_value"), 4.0) << bad.dump();
  EXPECT_FALSE(Str(bad, "outcome_reason").empty()) << bad.dump();
  ASSERT_TRUE(bad.contains("realized") && bad.contains("predicted")) << bad.dump();
  const double x_real = Num(bad["realized"], "throughput");
  const double x_pred = Num(bad["predicted"], "throughput");
  const double p99_real = Num(bad["realized"], "p99_seconds");
  const double p99_pred = Num(bad["predicted"], "p99_seconds");
  ASSERT_FALSE(std::isnan(x_real) || std::isnan(x_pred)) << bad.dump();
  // Worse than predicted: less throughput, or (when p99 was predicted) a higher p99.
  EXPECT_TRUE(x_real < x_pred || (!std::isnan(p99_pred) && p99_real > p99_pred)) << bad.dump();
  // `knobctl explain` tells the story of the bad step: its sentence, then every guard's verdict.
  auto explained = Knobctl({"explain", std::to_string(static_cast<uint64_t>(Num(bad, "id")))});
  ASSERT_TRUE(explained.has_value());
  ASSERT_TRUE((*explained).contains("explanation") && (*explained)["explanation"].is_array())
      << explained->dump();
  const json& steps = (*explained)["explanation"];
  ASSERT_GE(steps.size(), 2u) << explained->dump();
  EXPECT_EQ(steps[0].get<std::string>(), Str(bad, "reason"));
  EXPECT_EQ(Str((*explained)["recommendation"], "outcome"), "rolled_back") << explained->dump();
  // Rolled back at once, to exactly the old value: the very next change of the knob.
  EXPECT_EQ(Num(rollback, "new_value"), 4.0) << rollback.dump();
  EXPECT_EQ(Num(rollback, "old_value"), Num(bad, "new_value")) << rollback.dump();
  for (const auto& r : History()) {
    double id = Num(r, "id");
    EXPECT_FALSE(Str(r, "knob") == kKnob && IsChange(r) && id > Num(bad, "id") &&
                 id < Num(rollback, "id"))
        << "a change between the bad step and its rollback: " << r.dump();
  }
  ASSERT_TRUE(WaitFor([&] { return Limit() == 4.0; }, seconds(10), milliseconds(250)));

  // The region is penalized: /metrics shows it, and knobd does not step into it again.
  std::string scrape = HttpGet(metrics_port, "/metrics");
  EXPECT_GE(
      SumSamples(scrape, "knobd_model_penalized_regions", {{"target", kTarget}, {"knob", kKnob}}),
      1.0)
      << scrape;
  const auto rb_id = static_cast<uint64_t>(Num(rollback, "id"));
  std::this_thread::sleep_for(seconds(4));  // two verification windows under load
  EXPECT_TRUE(RaisesAbove(4, rb_id).empty()) << "retried the penalized region at once:\n"
                                             << json(History()).dump(1);

  // The penalty survives a restart: reloaded from the state dir before the target reconnects,
  // and still honoured once it has.
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  int port2 = StartKnobd(2);
  ASSERT_GT(port2, 0);
  std::string restored = HttpGet(port2, "/metrics");
  EXPECT_GE(
      SumSamples(restored, "knobd_model_penalized_regions", {{"target", kTarget}, {"knob", kKnob}}),
      1.0)
      << restored;
  EXPECT_GT(SumSamples(restored, "knobd_model_observations", {{"target", kTarget}}), 0) << restored;
  bool found = false;
  for (const auto& r : History())
    if (Num(r, "id") == Num(bad, "id")) found = Str(r, "outcome") == "rolled_back";
  EXPECT_TRUE(found) << "the rolled-back change is gone after the restart";
  ASSERT_TRUE(WaitFor([&] { return Limit() == 4.0; }, seconds(20), milliseconds(250)))
      << "the service did not reconnect to the restarted knobd";
  std::this_thread::sleep_for(seconds(4));
  std::vector<json> history = History();
  EXPECT_TRUE(RaisesAbove(4, rb_id).empty()) << "retried the penalized region after a restart:\n"
                                             << json(history).dump(1);
  EXPECT_EQ(Limit(), 4.0);
  StopLoad();
  CheckSteps(history);

  std::printf(
      "[ e2e ] rollback: #%g %g -> %g rolled back (%s); realized %.0f req/s p99 %.1f ms vs "
      "predicted %.0f req/s p99 %.1f ms; rolled back at %.1f s; test %.1f s\n",
      Num(bad, "id"), Num(bad, "old_value"), Num(bad, "new_value"),
      Str(bad, "outcome_reason").c_str(), x_real, 1e3 * p99_real, x_pred, 1e3 * p99_pred,
      rolled_back_at, std::chrono::duration<double>(SteadyClock::now() - t0).count());
  PrintHistory(history);
}

}  // namespace
}  // namespace knob::test
