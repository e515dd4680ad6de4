// SPDX-License-Identifier: Apache-2.0
#pragma once
// A pool's throughput and p99 as functions of its size, fitted from the sizes it has run at.
//
// Erlang C (queueing.h) takes the service time as fixed, but a backend's service time grows with
// the number of connections it serves at once (PgBouncer in front of PostgreSQL under pgbench:
// 1.1 ms per transaction at 1 connection, 3.6 ms at 8, 11-13 ms at 32), and a worker pool's with
// the lock and cache-line traffic its threads share. Both have the shape the USL gives
// concurrency, so the same law sizes the pool:
//
//   N_i    mean busy members at size s_i (requests served at once; Little), one level per size
//   X_i    mean throughput at s_i, requests/s
//   X(N)   = gamma N / (1 + alpha (N - 1) + beta N (N - 1))   (usl.h), fitted to (N_i, X_i)
//   S(N)   = N / X(N): the service time per request at N members busy (Little)
//   p99(N) = a N / X(N) + b / X(N), a, b >= 0 by least squares over the levels: the time in
//            service (N / X by Little) plus the time queued before it (the queue's population
//            over X; constant under a closed loop) -- so p99 at sizes not yet run is predicted
//            from the same fit, not assumed.
//   A size s serves N(s) = min(s, D) members at once, D = the measured demand (busy + waiters).
//   Knee: among sizes whose predicted p99 <= limit, the peak throughput X*; the knee is the
//   smallest size with X(N(s)) >= (1 - e) X*, e = the noise of a level's mean (2 standard
//   errors, lag-1 autocorrelation counted: se x sqrt((1 + rho) / (1 - rho))), within [1%, 4%].
//   Two sizes within the noise are the same result: the smaller one wins (fewer threads and
//   connections). A size already run whose measured level departs from the fit beyond its noise
//   (2 standard errors + e/2) is judged by the measurement; within it, by the smooth fit (so a
//   lucky or unlucky level makes no false local peak).
// Sources: N. J. Gunther, "Guerrilla Capacity Planning" (2007), ch. 4-6 (USL, and the same law
// for a database's connections); Little's law.
// Thread rule: pure functions and plain values, any thread.

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "optimizers/models/target_model.h"
#include "optimizers/models/usl.h"

namespace knob {

struct SizeLevel {
  double size = 0;
  double busy = 0;    // mean busy members
  double demand = 0;  // mean busy + waiters
  double throughput = 0;
  double throughput_se = 0;  // autocorrelation-corrected standard error of the mean
  std::optional<double> p99_seconds;
  size_t samples = 0;
};

struct SizeCurve {
  std::vector<SizeLevel> levels;  // ascending size
  std::optional<UslFit> usl;      // over (busy, throughput) of the levels
  std::string error;              // why there is no fit
  // p99 = p99_service * N / X + p99_queue / X; valid when p99_fitted.
  double p99_service = 0, p99_queue = 0;
  bool p99_fitted = false;
  double noise = 0.01;  // the knee's tolerance, a fraction of throughput

  double Throughput(double busy) const;
  std::optional<double> P99Seconds(double busy) const;
  const SizeLevel* Level(double size) const;
};

// Levels of one knob's sizes from the observations: each size the knob was reported at, with at
// least min_samples observations there (the first one after a change is skipped: it straddles
// the change), the pool's gauges from `pool`. pre_shift: the observations a workload-shift alarm
// set aside (TargetModel::pre_shift_observations); their levels at sizes not run since count
// only when every size run on both sides agrees within noise (the alarm did not move this
// curve), so a false alarm does not erase what the sizes taught, and a real shift does.
SizeCurve FitSizeCurve(const std::deque<Observation>& observations,
                       const std::deque<Observation>& pre_shift, const std::string& knob,
                       const std::string& pool, size_t min_samples = 5);

struct KneeChoice {
  double size = 0;
  double throughput = 0;
  std::optional<double> p99_seconds;
  double peak_size = 0, peak_throughput = 0;
  bool p99_bound = false;  // the p99 limit, not the throughput peak, set the choice
  bool feasible = true;    // some size meets the p99 limit (else: the lowest predicted p99)
};

// The knee over integer sizes in [lo, hi] with demand D (N(s) = min(s, D)); nullopt without a
// fit.
std::optional<KneeChoice> ChooseKnee(const SizeCurve& curve, int lo, int hi, double demand,
                                     std::optional<double> p99_limit_seconds);

}  // namespace knob
