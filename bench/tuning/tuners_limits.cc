// SPDX-License-Identifier: Apache-2.0
// The static default and Netflix concurrency-limits' three limit algorithms (AIMD, Gradient2,
// Vegas), each from the library's own description (github.com/Netflix/concurrency-limits,
// concurrency-limits-core/.../limit/{AIMDLimit,Gradient2Limit,VegasLimit}.java, read 2026-12)
// with its builder's default parameters. Our code and our words.
//
// How they are driven here: the library updates a limit from each sample window (RTT, requests in
// flight, did a request drop); we give each algorithm one window per 1 s tick (as WindowedLimit
// does) with the window's mean RTT, the demand on the knob it sizes (requests in flight for a
// concurrency limit, busy + waiting for a worker or connection pool) and "dropped" = any
// rejected or timed-out request in the tick. The estimated limit becomes the knob's value,
// clamped to the knob's bounds. The algorithms size concurrency, so on a cache-size knob they
// hold the starting value (marked n/a in the table); on the two-knob scenario they size the
// first knob (workers).
#include <cmath>
#include <random>

#include "bench/tuning/tuner.h"

namespace knob::tuning {
namespace {

bool Sizable(const std::string& knob) {
  return knob == kWorkers || knob == kPool || knob == kLimit;
}

// Static default: what an operator ships without a tuner (workers = cores, pool 10, no limit).
class StaticTuner final : public Tuner {
 public:
  std::string Name() const override { return "static"; }
  void Start(const Scenario& s, Knobs& knobs) override {
    for (const KnobSpec& k : s.knobs) {
      if (k.name == kWorkers) knobs[k.name] = std::max(k.min, s.conditions(0).cores);
      if (k.name == kPool) knobs[k.name] = 10;
      if (k.name == kLimit) knobs[k.name] = k.max;
    }
  }
  Knobs Tick(const Snapshot&, const Knobs&) override { return {}; }
};

// Shared plumbing: one estimated limit on the scenario's first knob.
class LimitTuner : public Tuner {
 public:
  LimitTuner(const Scenario& s, double initial) : spec_(s.knobs.front()) {
    active_ = Sizable(spec_.name);
    limit_ = initial;
  }
  void Start(const Scenario&, Knobs& knobs) override {
    if (active_) knobs[spec_.name] = Clamp(limit_);
  }
  Knobs Tick(const Snapshot& snap, const Knobs& current) override {
    if (!active_) return {};
    auto it = snap.targets.find("svc");
    if (it == snap.targets.end()) return {};
    std::optional<Measures::Tick> m = measures_.Update(it->second, spec_.name);
    if (!m || m->throughput <= 0) return {};
    limit_ = Update(*m);
    double v = Clamp(limit_);
    if (v == current.at(spec_.name)) return {};
    return {{spec_.name, v}};
  }

 protected:
  virtual double Update(const Measures::Tick& m) = 0;
  double Clamp(double v) const { return std::clamp(std::floor(v), spec_.min, spec_.max); }
  double limit_ = 20;

 private:
  KnobSpec spec_;
  bool active_ = true;
  Measures measures_;
};

// AIMDLimit: +1 when at least half the limit is in use and nothing dropped; on a drop (or an RTT
// above the timeout) limit = max(1, min(limit - 1, floor(limit * backoffRatio))).
// Defaults: initialLimit 10, backoffRatio 0.9, timeout 5 s.
class AimdTuner final : public LimitTuner {
 public:
  explicit AimdTuner(const Scenario& s) : LimitTuner(s, kInitial) {}
  std::string Name() const override { return "aimd"; }

 private:
  static constexpr double kInitial = 10, kBackoff = 0.9, kTimeoutSeconds = 5;
  double Update(const Measures::Tick& m) override {
    double cur = std::floor(limit_);
    if (m.errors > 0 || m.mean_rtt > kTimeoutSeconds)
      return std::max(1.0, std::min(cur - 1, std::floor(cur * kBackoff)));
    if (m.pool_demand * 2 >= cur) return cur + 1;
    return cur;
  }
};

// Gradient2Limit: gradient = clamp(longRtt / shortRtt, 0.5, 1); newLimit = gradient * limit +
// queueSize; limit = limit (1 - smoothing) + newLimit smoothing, within [minLimit, maxLimit];
// no growth when app-limited (in flight < limit / 2); longRtt is an exponential average over
// longWindow samples (after a 10-sample warm-up mean) and is cut by 10% when it exceeds twice
// shortRtt. Defaults: initialLimit 20, minLimit 20, maxConcurrency 200, smoothing 0.2,
// queueSize 4, longWindow 600.
class Gradient2Tuner final : public LimitTuner {
 public:
  explicit Gradient2Tuner(const Scenario& s) : LimitTuner(s, kInitial) {}
  std::string Name() const override { return "gradient2"; }

 private:
  static constexpr double kInitial = 20, kMin = 20, kMax = 200, kSmoothing = 0.2, kQueue = 4;
  static constexpr int kLongWindow = 600, kWarmup = 10;
  double Update(const Measures::Tick& m) override {
    const double short_rtt = m.mean_rtt;
    if (count_ < kWarmup) {
      ++count_;
      long_rtt_ = count_ == 1 ? short_rtt : long_rtt_ + (short_rtt - long_rtt_) / count_;
    } else {
      const double f = 2.0 / (kLongWindow + 1);
      long_rtt_ = long_rtt_ * (1 - f) + short_rtt * f;
    }
    if (short_rtt > 0 && long_rtt_ / short_rtt > 2) long_rtt_ *= 0.9;
    if (m.pool_demand < limit_ / 2) return limit_;
    double gradient = std::clamp(short_rtt > 0 ? long_rtt_ / short_rtt : 1.0, 0.5, 1.0);
    double next = limit_ * gradient + kQueue;
    next = limit_ * (1 - kSmoothing) + next * kSmoothing;
    return std::clamp(next, kMin, kMax);
  }
  int count_ = 0;
  double long_rtt_ = 0;
};

// VegasLimit: queue = ceil(limit (1 - rtt_noload / rtt)); with L = log10(limit) (at least 1):
// alpha = 3L, beta = 6L, threshold = L; a drop -> limit - L; app-limited (in flight < limit / 2)
// -> hold; queue <= threshold -> limit + beta; queue < alpha -> limit + L; queue > beta ->
// limit - L; else hold; clamp to [1, maxConcurrency] and smooth. rtt_noload is the minimum RTT,
// re-probed (reset to the current RTT) every probeMultiplier * limit * jitter(0.5..1) samples.
// Defaults: initialLimit 20, maxConcurrency 1000, smoothing 1.0, probeMultiplier 30.
class VegasTuner final : public LimitTuner {
 public:
  explicit VegasTuner(const Scenario& s) : LimitTuner(s, kInitial), rng_(s.seed) { Jitter(); }
  std::string Name() const override { return "vegas"; }

 private:
  static constexpr double kInitial = 20, kMax = 1000, kSmoothing = 1.0, kProbeMultiplier = 30;
  static double Log10Root(double limit) { return std::max(1.0, std::floor(std::log10(limit))); }
  void Jitter() { jitter_ = std::uniform_real_distribution<double>(0.5, 1)(rng_); }
  double Update(const Measures::Tick& m) override {
    const double rtt = m.mean_rtt;
    if (rtt <= 0) return limit_;
    ++probe_count_;
    if (jitter_ * kProbeMultiplier * limit_ <= probe_count_) {
      Jitter();
      probe_count_ = 0;
      rtt_noload_ = rtt;
      return limit_;
    }
    if (rtt_noload_ == 0 || rtt < rtt_noload_) {
      rtt_noload_ = rtt;
      return limit_;
    }
    const double queue = std::ceil(limit_ * (1 - rtt_noload_ / rtt));
    const double l = Log10Root(limit_);
    const bool drop = m.errors > 0;
    if (!drop && m.pool_demand * 2 < limit_) return limit_;  // app-limited: no upward drift
    double next;
    if (drop || queue > 6 * l) {  // a timeout, or more queueing than beta
      next = limit_ - l;
    } else if (queue <= l) {  // no queueing: grow by beta
      next = limit_ + 6 * l;
    } else if (queue < 3 * l) {  // below alpha: grow by log10
      next = limit_ + l;
    } else {  // between alpha and beta: the sweet spot
      return limit_;
    }
    next = std::clamp(next, 1.0, kMax);
    return (1 - kSmoothing) * limit_ + kSmoothing * next;
  }
  std::mt19937_64 rng_;
  double jitter_ = 1, rtt_noload_ = 0;
  int probe_count_ = 0;
};

}  // namespace

std::unique_ptr<Tuner> MakeStaticTuner() { return std::make_unique<StaticTuner>(); }
std::unique_ptr<Tuner> MakeAimdTuner(const Scenario& s) { return std::make_unique<AimdTuner>(s); }
std::unique_ptr<Tuner> MakeGradient2Tuner(const Scenario& s) {
  return std::make_unique<Gradient2Tuner>(s);
}
std::unique_ptr<Tuner> MakeVegasTuner(const Scenario& s) { return std::make_unique<VegasTuner>(s); }

}  // namespace knob::tuning
