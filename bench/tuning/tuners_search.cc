// SPDX-License-Identifier: Apache-2.0
// Two model-free tuners: the .NET thread pool's hill climbing and a noisy golden-section search.
//
// Hill climbing: Hellerstein, Morrison, Eilebrecht, "Applying control theory in the real world:
// experience with building a controller for the .NET thread pool", SIGMETRICS PER 37(3), 2009
// (the 2008 HotMetrics paper), as in CoreCLR's hillclimbing.cpp. The control setting carries a
// square wave (period wavePeriod samples); the Fourier components of throughput and thread count
// at the wave's frequency (Goertzel over the last samplesToMeasure samples) give the slope
// d throughput / d threads, noise is the mean of the two adjacent frequency bands, and the move
// is clamp(real(ratio)) * confidence, raised to gainExponent, times maxChangePerSecond * sample
// seconds, capped at maxChangePerSample; no upward move while CPU > 95%. Defaults (CoreCLR):
// wavePeriod 4, maxWaveMagnitude 20, waveMagnitudeMultiplier 1.0, waveHistorySize 8
// (samplesToMeasure 32), bias (targetThroughputRatio) 0.15, targetSignalToNoiseRatio 3.0,
// maxChangePerSecond 4, maxChangePerSample 20, errorSmoothingFactor 0.01, gainExponent 2.0.
// Here one sample is one 1 s tick (CoreCLR samples every 10-200 ms), and a unit is one thread or
// connection, or one grid step (8 MiB) of a cache. The controller has one control variable, so
// with several knobs it climbs them coordinate-wise: one climber per knob, each in turn for
// kSliceTicks (two full measurement histories) while the others hold their control value
// without a wave; a climber taking its turn starts its measurement history afresh, since the
// samples from another knob's turn say nothing about its own slope.
//
// Golden-section search (Kiefer, "Sequential minimax search for a maximum", Proc. AMS 4, 1953),
// made noise-tolerant the usual way: each point is measured for kMeasureTicks after
// kSettleTicks at the new setting, points are remembered, the search runs over the knob's
// grid indices, one knob after the other (two passes with two knobs), and then holds the best
// point; it searches again when the held objective moves by more than 15% for 20 ticks (a
// workload shift). Objective: throughput, or in a tick that breaks a constraint 10% of it times
// the worst ratio of limit to value (an exterior penalty that points back to feasibility).
#include <cmath>
#include <complex>
#include <deque>
#include <map>

#include "bench/tuning/tuner.h"

namespace knob::tuning {
namespace {

const TargetSnapshot* Svc(const Snapshot& s) {
  auto it = s.targets.find("svc");
  return it == s.targets.end() ? nullptr : &it->second;
}

double Unit(const KnobSpec& k) {
  return k.grid.size() > 1 && k.grid[1] - k.grid[0] > 1 ? k.grid[1] - k.grid[0] : 1;
}

// One knob's .NET hill climber.
class Climber {
 public:
  explicit Climber(const KnobSpec& spec) : spec_(spec), unit_(Unit(spec_)) {}
  const KnobSpec& spec() const { return spec_; }
  void Start(const Knobs& knobs) {
    control_ = knobs.at(spec_.name) / unit_;
    last_count_ = control_;
  }
  // A new turn: forget the samples taken while another knob moved.
  void Restart(const Knobs& current) {
    total_ = 0;
    const double count = current.at(spec_.name) / unit_;
    if (count != last_count_) control_ += count - last_count_;
    last_count_ = count;
  }
  // Off turn: the knob holds its control value, without the wave.
  double Hold(const Knobs& current) {
    const double count = current.at(spec_.name) / unit_;
    if (count != last_count_) control_ += count - last_count_;
    const double lo = spec_.min / unit_, hi = spec_.max / unit_;
    last_count_ = std::clamp(std::floor(control_), lo, hi);
    return last_count_ * unit_;
  }
  // On turn: one sample; the knob's next value.
  double Step(const Measures::Tick& m, double cpu_util, const Knobs& current) {
    const double count = current.at(spec_.name) / unit_;
    if (count != last_count_) control_ += count - last_count_;
    size_t idx = total_ % kSamplesToMeasure;
    samples_[idx] = m.throughput;
    counts_[idx] = count;
    ++total_;
    std::complex<double> ratio = 0;
    double confidence = 0;
    int n =
        static_cast<int>(std::min<long>(total_ - 1, kSamplesToMeasure) / kWavePeriod) * kWavePeriod;
    if (n > kWavePeriod) {
      double sum = 0, tsum = 0;
      for (int i = 0; i < n; ++i) {
        sum += samples_[(total_ - n + i) % kSamplesToMeasure];
        tsum += counts_[(total_ - n + i) % kSamplesToMeasure];
      }
      double avg = sum / n, tavg = tsum / n;
      if (avg > 0 && tavg > 0) {
        double adj1 = n / (static_cast<double>(n) / kWavePeriod + 1);
        double adj2 = n / (static_cast<double>(n) / kWavePeriod - 1);
        std::complex<double> xw = Wave(samples_, n, kWavePeriod) / avg;
        double err = std::abs(Wave(samples_, n, adj1) / avg);
        if (adj2 <= n) err = std::max(err, std::abs(Wave(samples_, n, adj2) / avg));
        std::complex<double> tw = Wave(counts_, n, kWavePeriod) / tavg;
        noise_ = noise_ == 0 ? err : kErrorSmoothing * err + (1 - kErrorSmoothing) * noise_;
        if (std::abs(tw) > 0) ratio = (xw - kTargetThroughputRatio * tw) / tw;
        double nfc = std::max(noise_, err);
        confidence = nfc > 0 ? std::abs(tw) / nfc / kTargetSnr : 1.0;
      }
    }
    double move = std::clamp(ratio.real(), -1.0, 1.0) * std::clamp(confidence, 0.0, 1.0);
    move = std::pow(std::abs(move), kGainExponent) * (move >= 0 ? 1 : -1) * kMaxChangePerSecond;
    move = std::min(move, kMaxChangePerSample);
    if (move > 0 && cpu_util > 0.95) move = 0;
    control_ += move;
    int mag = static_cast<int>(std::lround(control_ * noise_ * kTargetSnr * kWaveMultiplier * 2.0));
    mag = std::clamp(mag, 1, kMaxWaveMagnitude);
    const double lo = spec_.min / unit_, hi = spec_.max / unit_;
    control_ = std::clamp(control_, lo, std::max(lo, hi - mag));
    double next = std::floor(control_ + mag * ((total_ / (kWavePeriod / 2)) % 2));
    next = std::clamp(next, lo, hi);
    last_count_ = next;
    return next * unit_;
  }

  static constexpr int kSamplesToMeasure = 32;

 private:
  static constexpr int kWavePeriod = 4, kMaxWaveMagnitude = 20;
  static constexpr double kWaveMultiplier = 1.0, kTargetThroughputRatio = 0.15;
  static constexpr double kTargetSnr = 3.0, kMaxChangePerSecond = 4, kMaxChangePerSample = 20;
  static constexpr double kErrorSmoothing = 0.01, kGainExponent = 2.0;

  // Goertzel: the DFT component of the last n samples at `period`.
  std::complex<double> Wave(const double* v, int n, double period) const {
    double w = 2 * M_PI / period, c = std::cos(w), s = std::sin(w);
    double q1 = 0, q2 = 0;
    for (int i = 0; i < n; ++i) {
      double q0 = 2 * c * q1 - q2 + v[(total_ - n + i) % kSamplesToMeasure];
      q2 = q1;
      q1 = q0;
    }
    return std::complex<double>(q1 - q2 * c, q2 * s) / static_cast<double>(n);
  }

  KnobSpec spec_;
  double unit_;
  double samples_[kSamplesToMeasure] = {}, counts_[kSamplesToMeasure] = {};
  long total_ = 0;
  double control_ = 1, last_count_ = 1, noise_ = 0;
};

class HillClimbTuner final : public Tuner {
 public:
  explicit HillClimbTuner(const Scenario& s) {
    for (const KnobSpec& k : s.knobs) climbers_.emplace_back(k);
  }
  std::string Name() const override { return "hill_climb"; }
  void Start(const Scenario&, Knobs& knobs) override {
    for (Climber& c : climbers_) c.Start(knobs);
  }
  Knobs Tick(const Snapshot& snap, const Knobs& current) override {
    const TargetSnapshot* t = Svc(snap);
    if (!t) return {};
    std::optional<Measures::Tick> m = measures_.Update(*t, Active().spec().name);
    double cpu_now = t->cpu ? t->cpu->user_seconds : 0;
    double cores = t->cpu ? std::max(1u, t->cpu->allowed_cpus) : 1;
    double cpu_util = (cpu_now - cpu_prev_) / cores;
    cpu_prev_ = cpu_now;
    if (!m) return {};
    if (climbers_.size() > 1 && ++turn_ticks_ > kSliceTicks) {
      turn_ticks_ = 1;
      active_ = (active_ + 1) % climbers_.size();
      Active().Restart(current);
    }
    Knobs change;
    for (size_t i = 0; i < climbers_.size(); ++i) {
      Climber& c = climbers_[i];
      double next = i == active_ ? c.Step(*m, cpu_util, current) : c.Hold(current);
      if (next != current.at(c.spec().name)) change[c.spec().name] = next;
    }
    return change;
  }

 private:
  static constexpr int kSliceTicks = 2 * Climber::kSamplesToMeasure;
  Climber& Active() { return climbers_[active_]; }

  std::vector<Climber> climbers_;
  size_t active_ = 0;
  int turn_ticks_ = 0;
  Measures measures_;
  double cpu_prev_ = 0;
};

class GoldenTuner final : public Tuner {
 public:
  explicit GoldenTuner(const Scenario& s) : s_(s) {}
  std::string Name() const override { return "golden"; }
  void Start(const Scenario&, Knobs& knobs) override {
    best_ = knobs;
    base_ = knobs;
    for (const KnobSpec& k : s_.knobs) {
      size_t i = 0;
      while (i + 1 < k.grid.size() && k.grid[i] < knobs.at(k.name)) ++i;
      index_[k.name] = static_cast<int>(i);
    }
    BeginPass();
  }
  Knobs Tick(const Snapshot& snap, const Knobs& current) override {
    const TargetSnapshot* t = Svc(snap);
    if (!t) return {};
    std::optional<Measures::Tick> m = measures_.Update(*t, s_.knobs.front().name);
    if (!m) return {};
    // A broken constraint costs 90% of the objective and more the further it is broken, so the
    // search sees which way feasibility lies.
    double total = m->throughput + m->errors;
    double worst = std::min(1.0, s_.p99_slo_seconds / std::max(1e-9, m->p99));
    if (total > 0 && m->errors / total > s_.max_error_ratio)
      worst = std::min(worst, s_.max_error_ratio * total / m->errors);
    if (s_.memory_cap_bytes && t->memory)
      worst = std::min(
          worst, *s_.memory_cap_bytes / std::max(1.0, static_cast<double>(t->memory->rss_bytes)));
    double obj = worst < 1 ? m->throughput * 0.1 * worst : m->throughput;
    if (holding_) return Hold(obj, current);
    if (++ticks_ <= kSettleTicks) return {};
    sum_ += obj;
    if (ticks_ < kSettleTicks + kMeasureTicks) return {};
    seen_[Key(current)] = sum_ / kMeasureTicks;
    return Next(current);
  }

 private:
  static constexpr int kSettleTicks = 3, kMeasureTicks = 10, kShiftTicks = 20;
  static constexpr double kPhi = 0.6180339887498949;

  std::string Key(const Knobs& k) const {
    std::string key;
    for (const KnobSpec& spec : s_.knobs) key += std::to_string(k.at(spec.name)) + ",";
    return key;
  }
  const KnobSpec& Spec() const { return s_.knobs[knob_ % s_.knobs.size()]; }
  void BeginPass() {
    lo_ = 0;
    hi_ = static_cast<int>(Spec().grid.size()) - 1;
    holding_ = false;
    ticks_ = 0;
    sum_ = 0;
  }
  // Grid point i of the knob being searched, the other knobs at their best so far.
  Knobs At(int i) const {
    Knobs k = base_;
    k[Spec().name] = Spec().grid[i];
    return k;
  }
  std::optional<double> Seen(int i) const {
    auto it = seen_.find(Key(At(i)));
    if (it == seen_.end()) return std::nullopt;
    return it->second;
  }
  // The next point to measure, or the end of this knob's pass.
  Knobs Next(const Knobs& current) {
    ticks_ = 0;
    sum_ = 0;
    while (hi_ - lo_ > 2) {
      int c = static_cast<int>(std::round(hi_ - kPhi * (hi_ - lo_)));
      int d = static_cast<int>(std::round(lo_ + kPhi * (hi_ - lo_)));
      if (c == d) d = c + 1;
      auto fc = Seen(c), fd = Seen(d);
      if (!fc) return Move(At(c), current);
      if (!fd) return Move(At(d), current);
      if (*fc >= *fd)
        hi_ = d;
      else
        lo_ = c;
    }
    for (int i = lo_; i <= hi_; ++i)
      if (!Seen(i)) return Move(At(i), current);
    int best = lo_;
    for (int i = lo_; i <= hi_; ++i)
      if (*Seen(i) > *Seen(best)) best = i;
    best_ = At(best);
    best_value_ = *Seen(best);
    index_[Spec().name] = best;
    ++knob_;
    if (knob_ < (s_.knobs.size() > 1 ? 2 * s_.knobs.size() : 1)) {
      base_ = best_;
      BeginPass();
      return Next(current);
    }
    holding_ = true;
    drift_ = 0;
    return Move(best_, current);
  }
  Knobs Move(const Knobs& target, const Knobs& current) {
    Knobs change;
    for (const auto& [name, v] : target)
      if (current.count(name) && current.at(name) != v) change[name] = v;
    return change;
  }
  Knobs Hold(double obj, const Knobs& current) {
    if (std::abs(obj - best_value_) > 0.15 * best_value_) {
      if (++drift_ >= kShiftTicks) {
        seen_.clear();
        knob_ = 0;
        base_ = current;
        BeginPass();
        return Next(current);
      }
    } else {
      drift_ = 0;
    }
    return {};
  }

  Scenario s_;
  Measures measures_;
  std::map<std::string, double> seen_;
  std::map<std::string, int> index_;
  Knobs best_, base_;
  double best_value_ = 0, sum_ = 0;
  size_t knob_ = 0;
  int lo_ = 0, hi_ = 0, ticks_ = 0, drift_ = 0;
  bool holding_ = false;
};

}  // namespace

std::unique_ptr<Tuner> MakeHillClimbTuner(const Scenario& s) {
  return std::make_unique<HillClimbTuner>(s);
}
std::unique_ptr<Tuner> MakeGoldenTuner(const Scenario& s) {
  return std::make_unique<GoldenTuner>(s);
}

}  // namespace knob::tuning
