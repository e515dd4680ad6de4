// SPDX-License-Identifier: Apache-2.0
// End-to-end proof of issue 5 for the two pool knobs of the example service, each tuned alone
// (the policy lists only that knob, so the others stay at the service's start flags):
//
// BackendPoolE2eTest: 16 workers but a single backend connection (backend_pool = 1), so every
//   cache miss queues for that connection. knobd (pool_size optimizer, Erlang C) must raise the
//   pool, the load generator must measure clearly higher throughput with p99 inside the SLO, the
//   pool must then hold (no change over several verification windows), every step is explained
//   and respects bounds and max_step, and the final size must agree with Erlang C computed here
//   independently from the service's own pool gauges at the final setting. Then knobd restarts
//   with the same state directory: history and penalties are still there, the state file
//   written at the second shutdown still holds observations older than the second run (unless
//   that run detected a workload shift), and under the same load knobd does not start over: it
//   sends nothing below the learned size, at most a step above it (the plateau moves with the
//   host's load), and nothing into a penalty saved before the restart.
//
// CacheE2eTest: a 256 KiB cache in front of a two-connection backend, Zipf keys over a 16 MiB
//   working set. Objective: the best hit ratio under the memory cap (the knob's max, 64 MiB),
//   i.e. the smallest size reaching 99.5% of it (the knee). knobd (SHARDS miss-ratio curve the
//   client library samples) must grow the cache, hit ratio and throughput must end higher, the
//   size must hold, and it must lie within a factor of 2 of the knee of the *exact* LRU
//   miss-ratio curve of the same key distribution, computed here from a trace (Mattson stack
//   distances, no sampling, no histogram buckets).
//
// Robustness on a shared 2-core VM: only direction, margins and holding are asserted, never
// exact convergence points or timings. Each test is bounded (about 60-90 s).
// KNOB_E2E_KEEP=1 keeps the temporary directory (policy, logs, state).
#include <random>
#include <set>

#include "optimizers/models/mrc.h"
#include "tests/integration/e2e/e2e_harness.h"

namespace knob::test {
namespace {

constexpr const char* kTarget = "example-service";
constexpr double kSloSeconds = 0.2;
constexpr int kConnections = 16;
constexpr int kTuneSeconds = 70;       // upper bound of the tuning phase
constexpr double kStableSeconds = 10;  // converged: no change sent for this long (5 windows)
constexpr double kHoldSeconds = 8;     // then: no change for 4 more verification windows

std::string PolicyFor(const std::string& knob_line) {
  return std::string(R"(global:
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
      )") +
         knob_line + "\n";
}

bool Sent(const json& r) {
  std::string o = Str(r, "outcome");
  return o == "pending" || o == "applied" || o == "verified" || o == "rolled_back";
}

// Erlang C, written out here independently of optimizers/models/queueing.cc: the mean wait in queue
// of an M/M/c with offered load a Erlangs and mean service time s.
double ErlangCWait(int c, double a, double s) {
  if (a >= c) return std::numeric_limits<double>::infinity();
  double b = 1;  // Erlang B by recursion
  for (int k = 1; k <= c; ++k) b = a * b / (k + a * b);
  double pw = c * b / (c - a * (1 - b));
  return pw * s / (c - a);
}

class PoolsE2eTest : public E2eTest {
 protected:
  struct Tuned {
    double final_value = 0;
    double tuning_seconds = 0;
    std::optional<LoadResult> during;
    uint64_t last_id_before_hold = 0;
    std::vector<json> hold;           // sent during the hold phase (a late step and its rollback)
    std::vector<json> hold_extended;  // sent in the 4 windows after a late step
  };

  std::optional<double> Knob() { return ReportedKnob(knob_); }

  std::optional<json> App() {
    auto r = Knobctl({"show", kTarget});
    if (!r || !(*r)["show"].is_object() || !(*r)["show"].contains("app")) return std::nullopt;
    return (*r)["show"]["app"];
  }

  std::vector<json> KnobHistory() {
    std::vector<json> out;
    for (auto& r : History())
      if (Str(r, "knob") == knob_) out.push_back(r);
    return out;
  }

  // Resumes the target under load until knobd has made at least one verified raise and sent
  // nothing for kStableSeconds (or kTuneSeconds passed); then keeps the load kHoldSeconds more
  // and returns. The load keeps running (StopLoad ends it).
  Tuned TuneUntilStable(const std::vector<std::string>& load) {
    Tuned t;
    StartLoad("tuning", load);
    const auto start = SteadyClock::now();
    EXPECT_TRUE(Knobctl({"resume", kTarget}).has_value());
    auto last_move = SteadyClock::now();
    uint64_t last_sent = 0, last_record = 0;
    std::optional<double> last_value = Knob();
    WaitFor(
        [&] {
          auto h = KnobHistory();
          int verified_raises = 0;
          uint64_t sent = 0;
          bool active = false;
          for (const auto& r : h) {
            if (Sent(r)) sent = static_cast<uint64_t>(Num(r, "id"));
            if (Str(r, "outcome") == "pending" || Str(r, "outcome") == "applied") active = true;
            if (Str(r, "outcome") == "verified" && Str(r, "scenario") != "rollback" &&
                Num(r, "new_value") > Num(r, "old_value"))
              ++verified_raises;
          }
          // A veto is activity too: knobd still wants to move but a penalty or the flap rule
          // holds it for now (after a rollback), which is not convergence.
          uint64_t newest = h.empty() ? 0 : static_cast<uint64_t>(Num(h.back(), "id"));
          auto v = Knob();
          if (sent != last_sent || newest != last_record || v != last_value || active)
            last_move = SteadyClock::now();
          last_sent = sent;
          last_record = newest;
          last_value = v;
          t.last_id_before_hold = sent;
          double quiet = std::chrono::duration<double>(SteadyClock::now() - last_move).count();
          return verified_raises >= 1 && quiet >= kStableSeconds;
        },
        seconds(kTuneSeconds), milliseconds(500));
    t.tuning_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    t.final_value = Knob().value_or(std::nan(""));
    // Hold: 4 verification windows under the same load. Near a plateau the knob may take one
    // more step (the pool is marginally binding); then it must hold for 4 more windows.
    std::this_thread::sleep_for(std::chrono::duration<double>(kHoldSeconds));
    t.hold = SentSince(t.last_id_before_hold);
    if (!t.hold.empty()) {
      uint64_t last = static_cast<uint64_t>(Num(t.hold.back(), "id"));
      WaitFor([&] { return Knobctl({"status"}) && ActiveChange() == false; }, seconds(15),
              milliseconds(500));
      for (const auto& r : SentSince(last)) t.hold.push_back(r);
      last = static_cast<uint64_t>(Num(t.hold.back(), "id"));
      std::this_thread::sleep_for(std::chrono::duration<double>(kHoldSeconds));
      t.hold_extended = SentSince(last);
    }
    return t;
  }

  bool ActiveChange() {
    for (const auto& r : KnobHistory())
      if (Str(r, "outcome") == "pending" || Str(r, "outcome") == "applied") return true;
    return false;
  }

  // Held: no change over the hold phase, or a single late step within one max_step (`band`) of
  // the converged value followed by 4 windows without any change.
  void CheckHold(const Tuned& t, double band) {
    EXPECT_LE(t.hold.size(), 2u) << "knobd did not hold " << knob_ << " at " << t.final_value
                                 << ":\n"
                                 << json(t.hold).dump(1);
    for (const auto& r : t.hold) {
      double v = Str(r, "scenario") == "rollback" ? Num(r, "old_value") : Num(r, "new_value");
      EXPECT_LE(std::fabs(v - t.final_value), band + 1e-6)
          << "a late change beyond the band around " << t.final_value << ": " << r.dump();
    }
    EXPECT_TRUE(t.hold_extended.empty()) << "still moving after the late step:\n"
                                         << json(t.hold_extended).dump(1);
  }

  // The changes knobd sent for the knob after record `after_id`.
  std::vector<json> SentSince(uint64_t after_id) {
    std::vector<json> out;
    for (auto& r : KnobHistory())
      if (static_cast<uint64_t>(Num(r, "id")) > after_id && Sent(r)) out.push_back(r);
    return out;
  }

  // Pauses, stops the load and waits until the reported knob is stable; its value.
  std::optional<double> PauseAndSettle() {
    EXPECT_TRUE(Knobctl({"pause", kTarget}).has_value());
    std::optional<double> v;
    WaitFor(
        [&] {
          auto a = Knob();
          std::this_thread::sleep_for(milliseconds(600));
          v = Knob();
          return a && a == v;
        },
        seconds(10), milliseconds(0));
    return v;
  }

  // Every record: a sentence and guard verdicts; every step inside the bounds and max_step
  // (max(1, floor(fraction x from)) capped by abs); every rollback restores the value it left.
  void CheckSteps(const std::vector<json>& history, double lo, double hi, double fraction,
                  double abs_step) {
    const std::map<uint64_t, json> by_id = ById(history);
    for (const auto& r : history) {
      EXPECT_NE(Str(r, "reason").find(" of example-service from "), std::string::npos) << r.dump();
      EXPECT_TRUE(r.contains("verdicts") && r["verdicts"].is_array() && !r["verdicts"].empty())
          << r.dump();
      if (Sent(r)) {
        EXPECT_TRUE(r.contains("advisory") && r["advisory"].is_boolean() &&
                    !r["advisory"].get<bool>())
            << "apply mode must send binding sets: " << r.dump();
      }
      double from = Num(r, "old_value"), to = Num(r, "new_value");
      EXPECT_GE(to, lo) << r.dump();
      EXPECT_LE(to, hi) << r.dump();
      if (Str(r, "scenario") == "rollback") {
        const json* undone = UndoneChange(r, by_id);
        ASSERT_NE(undone, nullptr) << Str(r, "reason");
        EXPECT_EQ(to, Num(*undone, "old_value")) << r.dump();
        continue;
      }
      double limit = std::max(1.0, std::floor(std::fabs(from) * fraction));
      if (abs_step > 0) limit = std::min(limit, abs_step);
      EXPECT_LE(std::fabs(to - from), limit + 1e-6) << "step beyond max_step: " << r.dump();
    }
  }

  void PrintHistory(const std::vector<json>& history) {
    for (const auto& r : history)
      std::printf("[ e2e ]   #%g %s %g -> %g %s (%s): %s\n", Num(r, "id"), Str(r, "knob").c_str(),
                  Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome").c_str(),
                  Str(r, "scenario").c_str(), Str(r, "outcome_reason").c_str());
  }

  std::string knob_;
};

// ---------------------------------------------------------------------------------------------
// backend_pool

class BackendPoolE2eTest : public PoolsE2eTest {
 protected:
  BackendPoolE2eTest() { knob_ = "backend_pool"; }
  std::string Policy() const override {
    return PolicyFor("backend_pool: {min: 1, max: 32, max_step: [100%, 4]}");
  }
};

TEST_F(BackendPoolE2eTest, RaisesTheSaturatedPoolHoldsAndKeepsItsModelAcrossARestart) {
  const auto t0 = SteadyClock::now();
  const std::vector<std::string> load = {"--connections", std::to_string(kConnections)};
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  // 16 workers, one backend connection: misses (about half the requests with the default
  // 8 MiB cache over 100k Zipf keys) serialise on it.
  StartService({"--workers", "16", "--backend-pool", "1"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitFor([&] { return Knob() == 1.0; }, seconds(30), milliseconds(250)))
      << knobd_->Err();
  auto before = MeasureLoad("baseline", 6, load);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(Knob(), 1.0) << "knobd changed the knob while the target was paused";

  Tuned t = TuneUntilStable(load);
  auto final_value = PauseAndSettle();
  t.during = StopLoad();
  ASSERT_TRUE(final_value.has_value());

  // The final setting, measured by the load generator, with the service's pool gauges sampled
  // in the middle of the run for the independent Erlang C check.
  // Mean of a few samples: the gauges are instantaneous.
  std::optional<json> app_mid;
  double busy_sum = 0;
  int busy_n = 0;
  std::thread sampler([&] {
    for (int i = 0; i < 8; ++i) {
      std::this_thread::sleep_for(milliseconds(600));
      auto app = App();
      if (!app || !app->contains("pools") || !(*app)["pools"].contains("backend")) continue;
      app_mid = app;
      busy_sum += Num((*app)["pools"]["backend"], "busy");
      ++busy_n;
    }
  });
  auto after = MeasureLoad("final", 6, load);
  sampler.join();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(Knob(), final_value) << "the setting moved during the final measurement";
  std::vector<json> history = History();
  std::string scrape = HttpGet(metrics_port, "/metrics");

  // Moved in the right direction, with binding sets the service acked.
  EXPECT_GT(*final_value, 1.0) << json(history).dump(1);
  EXPECT_GE(SumSamples(scrape, "knobd_recommendations_total",
                       {{"target", kTarget}, {"knob", knob_}, {"outcome", "verified"}}),
            1.0);
  // Clearly higher throughput; p99 within the SLO.
  EXPECT_GT(after->throughput_rps, 1.5 * before->throughput_rps) << "baseline:\n"
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
  // Holds: nothing sent for the knob over the hold phase (4 verification windows under load).
  CheckHold(t, std::min(4.0, std::max(1.0, t.final_value)));
  // Explained, inside bounds and max_step.
  CheckSteps(history, 1, 32, 1.0, 4);
  for (const auto& r : history) {
    if (Sent(r) && Str(r, "scenario") != "rollback") {
      EXPECT_EQ(Str(r, "optimizer"), "pool_size") << r.dump();
    }
  }

  // Erlang C at the final setting, from the service's own gauges: the pool is no longer
  // saturated and is at least the smallest size whose predicted wait fits the budget the
  // optimizer uses (10% of the p99 SLO), and not far beyond it.
  ASSERT_TRUE(app_mid.has_value());
  ASSERT_TRUE((*app_mid).contains("pools") && (*app_mid)["pools"].contains("backend"));
  const double busy = busy_sum / std::max(1, busy_n);
  const double lambda = after->throughput_rps;
  int c_needed = 1;
  if (busy > 0 && lambda > 0) {
    while (c_needed < 64 && ErlangCWait(c_needed, busy, busy / lambda) > 0.1 * kSloSeconds)
      ++c_needed;
  }
  EXPECT_LE(busy, *final_value) << "pool gauges: " << (*app_mid)["pools"].dump();
  EXPECT_GE(*final_value + 1, c_needed) << "busy " << busy << " at " << lambda << " req/s";
  EXPECT_LE(*final_value, std::max(2.0 * (c_needed + 1), c_needed + 8.0))
      << "busy " << busy << " at " << lambda << " req/s";

  // Restart with the same state directory.
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  json saved = json::parse(ReadFile(Path("state/brain-state.json")), nullptr, false);
  ASSERT_FALSE(saved.is_discarded());
  ASSERT_TRUE(saved.contains("targets") && !saved["targets"].empty());
  const size_t saved_observations = saved["targets"][0]["observations"].size();
  EXPECT_GT(saved_observations, 0u);
  const auto restart = SteadyClock::now();
  const int metrics_port2 = StartKnobd(2);
  ASSERT_GT(metrics_port2, 0);
  std::vector<json> restored = History();
  std::set<uint64_t> restored_ids;
  for (const auto& r : restored) restored_ids.insert(static_cast<uint64_t>(Num(r, "id")));
  for (const auto& r : history)
    EXPECT_TRUE(restored_ids.count(static_cast<uint64_t>(Num(r, "id")))) << "lost: " << r.dump();
  // Same load as before: knobd keeps the learned size instead of exploring from scratch.
  ASSERT_TRUE(WaitFor([&] { return Knob() == *final_value; }, seconds(20), milliseconds(250)));
  StartLoad("after-restart", load);
  const uint64_t last_id = restored.empty() ? 0 : static_cast<uint64_t>(Num(restored.back(), "id"));
  ASSERT_TRUE(Knobctl({"resume", kTarget}).has_value());
  std::this_thread::sleep_for(seconds(10));
  std::vector<json> after_restart = SentSince(last_id);
  auto again = StopLoad();
  // It does not start over from the bottom: the service's throughput plateau moves with the
  // host's load, so knobd may still adjust around the learned size (a step it would have taken
  // anyway, a rollback of it), but every value it sends stays within one max_step of the learned
  // size, none lies below it (nothing is re-explored from scratch), and none repeats a value
  // whose rollback penalty is still running.
  EXPECT_LE(after_restart.size(), 3u) << "knobd re-explored after the restart:\n"
                                      << json(after_restart).dump(1);
  const double since_save = std::chrono::duration<double>(SteadyClock::now() - restart).count();
  for (const auto& r : after_restart) {
    EXPECT_GE(Num(r, "new_value"), *final_value) << r.dump();
    EXPECT_LE(Num(r, "new_value"), *final_value + std::min(4.0, *final_value)) << r.dump();
    for (const auto& pen : saved["targets"][0]["penalties"]) {
      if (Num(pen, "remaining_seconds") <= since_save || Num(pen, "direction") <= 0) continue;
      EXPECT_LT(Num(r, "new_value"), Num(pen, "value"))
          << "a penalty saved before the restart was ignored: " << pen.dump() << " " << r.dump();
    }
  }
  // The state written at the second shutdown still holds observations from the first run,
  // unless the second run detected a workload shift (the model then forgets older points by
  // design; the load generator restarting on a busy host can look like one).
  const double shifts = SumSamples(HttpGet(metrics_port2, "/metrics"),
                                   "knobd_model_workload_shifts_total", {{"target", kTarget}});
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  const double second_run = std::chrono::duration<double>(SteadyClock::now() - restart).count();
  json saved2 = json::parse(ReadFile(Path("state/brain-state.json")), nullptr, false);
  ASSERT_FALSE(saved2.is_discarded());
  size_t older = 0;
  for (const auto& o : saved2["targets"][0]["observations"])
    if (Num(o, "age") > second_run + 1) ++older;
  if (shifts == 0) {
    EXPECT_GT(older, 0u) << "the restarted knobd dropped the model it loaded";
  }
  EXPECT_GE(saved2["targets"][0]["penalties"].size(), saved["targets"][0]["penalties"].size());

  std::printf(
      "[ e2e ] backend_pool 1 -> %g in %.1f s of tuning; baseline %.0f req/s p99 %.1f ms; final "
      "%.0f req/s p99 %.1f ms (x%.2f); during tuning %.0f req/s; after restart %.0f req/s; "
      "Erlang C at the final point: busy %.2f, c_needed %d; %zu late step(s); %zu change(s) after "
      "the restart; %zu observations "
      "saved, %zu of them still saved after the second run (%g shifts); test %.1f s\n",
      *final_value, t.tuning_seconds, before->throughput_rps, before->p99_ms, after->throughput_rps,
      after->p99_ms, after->throughput_rps / before->throughput_rps,
      t.during ? t.during->throughput_rps : 0.0, again ? again->throughput_rps : 0.0, busy,
      c_needed, t.hold.size(), after_restart.size(), saved_observations, older, shifts,
      std::chrono::duration<double>(SteadyClock::now() - t0).count());
  PrintHistory(history);
}

// ---------------------------------------------------------------------------------------------
// cache_bytes

constexpr double kValueBytes = 4096;
constexpr int kKeys = 4000;  // 16 MiB working set of 4 KiB values
constexpr double kZipf = 0.99;
constexpr double kCacheStart = 256 * 1024;
constexpr double kCacheMin = 64 * 1024, kCacheMax = 64 * 1024 * 1024;

// The exact LRU miss-ratio curve of kKeys Zipf(kZipf) keys (the load generator's distribution),
// in bytes; the knee rule of the optimizer: smallest size reaching 99.5% of the best hit ratio
// under the cap.
double ExactKnee() {
  std::vector<double> cdf(kKeys);
  double sum = 0;
  for (int i = 0; i < kKeys; ++i) sum += 1.0 / std::pow(i + 1.0, kZipf);
  double acc = 0;
  for (int i = 0; i < kKeys; ++i)
    cdf[static_cast<size_t>(i)] = (acc += 1.0 / std::pow(i + 1.0, kZipf) / sum);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::string> trace;
  for (int i = 0; i < 200000; ++i)
    trace.push_back("key-" +
                    std::to_string(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin()));
  MissRatioCurve mrc = MissRatioCurve::FromTrace(trace);
  double cap_objects = kCacheMax / kValueBytes;
  double best = mrc.BestHitRatioUnder(cap_objects);
  return mrc.SmallestSizeForHitRatio(best * 0.995).value_or(cap_objects) * kValueBytes;
}

class CacheE2eTest : public PoolsE2eTest {
 protected:
  CacheE2eTest() { knob_ = "cache_bytes"; }
  std::string Policy() const override {
    return PolicyFor("cache_bytes: {min: 65536, max: 67108864, max_step: [100%]}");
  }
  // Hits and misses of the service's cache so far.
  std::pair<double, double> HitsMisses() {
    auto app = App();
    if (!app || !app->contains("caches") || !(*app)["caches"].contains("main")) return {0, 0};
    return {Num((*app)["caches"]["main"], "hits_total"),
            Num((*app)["caches"]["main"], "misses_total")};
  }
  // A measured run plus the cache hit ratio over it.
  std::pair<std::optional<LoadResult>, double> MeasureWithHits(
      const std::string& name, const std::vector<std::string>& load) {
    auto [h0, m0] = HitsMisses();
    auto r = MeasureLoad(name, 6, load);
    auto [h1, m1] = HitsMisses();
    double n = (h1 - h0) + (m1 - m0);
    return {r, n > 0 ? (h1 - h0) / n : 0.0};
  }
};

TEST_F(CacheE2eTest, GrowsTheCacheToTheMissRatioKneeAndHolds) {
  const auto t0 = SteadyClock::now();
  const std::vector<std::string> load = {"--connections", std::to_string(kConnections),
                                         "--keys",        std::to_string(kKeys),
                                         "--zipf",        "0.99"};
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  // Misses cost a round trip over one of only two backend connections.
  StartService({"--workers", "16", "--backend-pool", "2", "--cache-bytes",
                std::to_string(static_cast<int>(kCacheStart)), "--cache-sample-rate", "0.1"});
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitFor([&] { return Knob() == kCacheStart; }, seconds(30), milliseconds(250)))
      << knobd_->Err();
  // Warm the small cache first so the baseline is its steady state.
  (void)MeasureLoad("warmup", 2, load);
  auto [before, hit_before] = MeasureWithHits("baseline", load);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(Knob(), kCacheStart) << "knobd changed the knob while the target was paused";

  Tuned t = TuneUntilStable(load);
  auto final_value = PauseAndSettle();
  t.during = StopLoad();
  ASSERT_TRUE(final_value.has_value());
  auto [after, hit_after] = MeasureWithHits("final", load);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(Knob(), final_value) << "the setting moved during the final measurement";
  std::vector<json> history = History();
  std::string scrape = HttpGet(metrics_port, "/metrics");

  EXPECT_GT(*final_value, 4 * kCacheStart) << json(history).dump(1);
  EXPECT_GE(SumSamples(scrape, "knobd_recommendations_total",
                       {{"target", kTarget}, {"knob", knob_}, {"outcome", "verified"}}),
            1.0);
  EXPECT_GT(hit_after, hit_before + 0.15) << "hit ratio " << hit_before << " -> " << hit_after;
  EXPECT_GT(after->throughput_rps, 1.3 * before->throughput_rps) << "baseline:\n"
                                                                 << before->text << "final:\n"
                                                                 << after->text;
  EXPECT_LE(after->p99_ms, kSloSeconds * 1e3) << after->text;
  CheckHold(t, t.final_value);  // max_step 100%
  CheckSteps(history, kCacheMin, kCacheMax, 1.0, 0);
  bool mrc_reason = false;
  for (const auto& r : history)
    if (Sent(r) && Str(r, "scenario") == "grow_cache_hits" &&
        Str(r, "reason").find("miss-ratio curve") != std::string::npos)
      mrc_reason = true;
  EXPECT_TRUE(mrc_reason) << json(history).dump(1);

  // Sane MRC-driven choice: within a factor of 2 of the exact curve's knee (the client's SHARDS
  // histogram has doubling buckets, so 2x is its resolution).
  const double knee = ExactKnee();
  EXPECT_GE(*final_value, knee / 2) << "exact knee " << knee;
  EXPECT_LE(*final_value, knee * 2) << "exact knee " << knee;

  std::printf(
      "[ e2e ] cache_bytes %.0f KiB -> %.0f KiB in %.1f s of tuning (exact knee %.0f KiB); hit "
      "ratio %.3f -> %.3f; baseline %.0f req/s p99 %.1f ms; final %.0f req/s p99 %.1f ms "
      "(x%.2f); test %.1f s\n",
      kCacheStart / 1024, *final_value / 1024, t.tuning_seconds, knee / 1024, hit_before, hit_after,
      before->throughput_rps, before->p99_ms, after->throughput_rps, after->p99_ms,
      after->throughput_rps / before->throughput_rps,
      std::chrono::duration<double>(SteadyClock::now() - t0).count());
  PrintHistory(history);
}

}  // namespace
}  // namespace knob::test
