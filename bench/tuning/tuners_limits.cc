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
// hold the starting value (marked n/a in the table).
//
// Which knobs: the scenario's concurrency limit when it has one; otherwise every worker or
// connection pool, each by its own instance of the algorithm fed with that pool's own demand
// (busy + waiting) and the request RTT, the way the library is deployed one limiter per
// resource (a server-side limiter in front of the workers, a client-side one per backend). So on
// two_knobs both the workers and the backend pool are sized, independently.
#include <cmath>
#include <functional>
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

// One algorithm's estimated limit for one knob; Update gets one window's figures.
class LimitAlgo {
 public:
  explicit LimitAlgo(double initial) : limit_(initial) {}
  virtual ~LimitAlgo() = default;
  virtual double Update(const Measures::Tick& m) = 0;
  double limit() const { return limit_; }
  void set_limit(double v) { limit_ = v; }

 protected:
  double limit_;
};

// Shared plumbing: one LimitAlgo per sized knob (see the top of the file for which).
class LimitTuner final : public Tuner {
 public:
  using Factory = std::function<std::unique_ptr<LimitAlgo>(uint64_t seed)>;
  LimitTuner(std::string name, const Scenario& s, const Factory& make) : name_(std::move(name)) {
    bool has_limit = false;
    for (const KnobSpec& k : s.knobs) has_limit = has_limit || k.name == kLimit;
    uint64_t seed = s.seed;
    for (const KnobSpec& k : s.knobs) {
      if (!Sizable(k.name) || (has_limit && k.name != kLimit)) continue;
      sized_.push_back({k, make(seed++), Measures()});
    }
  }
  std::string Name() const override { return name_; }
  void Start(const Scenario&, Knobs& knobs) override {
    for (Sized& z : sized_) knobs[z.spec.name] = z.Clamp(z.algo->limit());
  }
  Knobs Tick(const Snapshot& snap, const Knobs& current) override {
    auto it = snap.targets.find("svc");
    if (it == snap.targets.end()) return {};
    Knobs change;
    for (Sized& z : sized_) {
      std::optional<Measures::Tick> m = z.measures.Update(it->second, z.spec.name);
      if (!m || m->throughput <= 0) continue;
      z.algo->set_limit(z.algo->Update(*m));
      double v = z.Clamp(z.algo->limit());
      if (v != current.at(z.spec.name)) change[z.spec.name] = v;
    }
    return change;
  }

 private:
  struct Sized {
    KnobSpec spec;
    std::unique_ptr<LimitAlgo> algo;
    Measures measures;
    double Clamp(double v) const { return std::clamp(std::floor(v), spec.min, spec.max); }
  };
  std::string name_;
  std::vector<Sized> sized_;
};

// AIMDLimit: +1 when at least half the limit is in use and nothing dropped; on a drop (or an RTT
// above the timeout) limit = max(1, min(limit - 1, floor(limit * backoffRatio))).
// Defaults: initialLimit 10, backoffRatio 0.9, timeout 5 s.
class Aimd final : public LimitAlgo {
 public:
  static constexpr double kInitial = 10, kBackoff = 0.9, kTimeoutSeconds = 5;
  Aimd() : LimitAlgo(kInitial) {}
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
class Gradient2 final : public LimitAlgo {
 public:
  static constexpr double kInitial = 20, kMin = 20, kMax = 200, kSmoothing = 0.2, kQueue = 4;
  static constexpr int kLongWindow = 600, kWarmup = 10;
  Gradient2() : LimitAlgo(kInitial) {}
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

 private:
  int count_ = 0;
  double long_rtt_ = 0;
};

// VegasLimit: queue = ceil(limit (1 - rtt_noload / rtt)); with L = log10(limit) (at least 1):
// alpha = 3L, beta = 6L, threshold = L; a drop -> limit - L; app-limited (in flight < limit / 2)
// -> hold; queue <= threshold -> limit + beta; queue < alpha -> limit + L; queue > beta ->
// limit - L; else hold; clamp to [1, maxConcurrency] and smooth. rtt_noload is the minimum RTT,
// re-probed (reset to the current RTT) every probeMultiplier * limit * jitter(0.5..1) samples.
// Defaults: initialLimit 20, maxConcurrency 1000, smoothing 1.0, probeMultiplier 30.
class Vegas final : public LimitAlgo {
 public:
  static constexpr double kInitial = 20, kMax = 1000, kSmoothing = 1.0, kProbeMultiplier = 30;
  explicit Vegas(uint64_t seed) : LimitAlgo(kInitial), rng_(seed) { Jitter(); }
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

 private:
  static double Log10Root(double limit) { return std::max(1.0, std::floor(std::log10(limit))); }
  void Jitter() { jitter_ = std::uniform_real_distribution<double>(0.5, 1)(rng_); }
  std::mt19937_64 rng_;
  double jitter_ = 1, rtt_noload_ = 0;
  int probe_count_ = 0;
};

}  // namespace

std::unique_ptr<Tuner> MakeStaticTuner() { return std::make_unique<StaticTuner>(); }
std::unique_ptr<Tuner> MakeAimdTuner(const Scenario& s) {
  return std::make_unique<LimitTuner>("aimd", s, [](uint64_t) { return std::make_unique<Aimd>(); });
}
std::unique_ptr<Tuner> MakeGradient2Tuner(const Scenario& s) {
  return std::make_unique<LimitTuner>("gradient2", s,
                                      [](uint64_t) { return std::make_unique<Gradient2>(); });
}
std::unique_ptr<Tuner> MakeVegasTuner(const Scenario& s) {
  return std::make_unique<LimitTuner>("vegas", s,
                                      [](uint64_t seed) { return std::make_unique<Vegas>(seed); });
}

}  // namespace knob::tuning
