// SPDX-License-Identifier: Apache-2.0
#pragma once
// Universal Scalability Law (USL): concurrency -> throughput and latency.
//
//   X(N) = gamma * N / (1 + alpha * (N - 1) + beta * N * (N - 1))
//
//   N      concurrency (requests in flight, or workers), dimensionless, N >= 1
//   X      throughput, requests per second (any rate unit; the fit keeps it)
//   gamma  throughput of one unit of concurrency (X(1)), same unit as X
//   alpha  contention (serialised fraction), 0 <= alpha <= 1
//   beta   coherency (crosstalk) cost, >= 0
//   Peak:  N* = sqrt((1 - alpha) / beta) (no peak when beta == 0)
//   Little's law: mean latency R(N) = N / X(N) seconds.
//
// Fit: nonlinear least squares (Levenberg-Marquardt with Marquardt diagonal scaling),
// started from the linearised form N/C(N) - 1 = alpha (N-1) + beta N (N-1) with
// C(N) = X(N)/gamma0. Standard errors from s^2 (J^T J)^-1 at the optimum.
// Sources: N. J. Gunther, "Guerrilla Capacity Planning", Springer 2007, ch. 4-5;
// B. Schwartz, "Practical Scalability Analysis with the Universal Scalability Law", 2015.
// Thread rule: pure functions and plain values, any thread.

#include <array>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"

namespace knob {

struct UslPoint {
  double concurrency = 0;  // N
  double throughput = 0;   // X, per second
};

struct UslFit {
  double alpha = 0, beta = 0, gamma = 0;
  double alpha_se = 0, beta_se = 0, gamma_se = 0;     // standard errors (infinite when dof == 0)
  std::array<std::array<double, 3>, 3> covariance{};  // order: alpha, beta, gamma
  double r_squared = 0;
  double residual_sd = 0;  // sqrt(SSR / dof); 0 when dof == 0
  int points = 0;
  int distinct_levels = 0;
  int dof = 0;
  int iterations = 0;

  double Throughput(double n) const;
  // Little's law: mean latency in seconds at concurrency n.
  double Latency(double n) const { return n / Throughput(n); }
  // Continuous peak N*; nullopt when beta <= 0 (throughput keeps rising).
  std::optional<double> Peak() const;
  // Standard error of X(n) by the delta method over the covariance.
  double ThroughputSe(double n) const;
  // Fit confidence in 0..1 from relative parameter errors and R^2 (a heuristic, see docs/model.md).
  double Confidence() const;
};

// Fits the USL. Needs >= 3 points with >= 3 distinct concurrency levels, all N > 0 and X > 0;
// otherwise FailedPrecondition (too few) or InvalidArgument (bad values).
Result<UslFit> FitUsl(std::span<const UslPoint> points);

// Largest N in [lo, hi] whose predicted mean latency N/X(N) (scaled by latency_factor, e.g.
// p99/mean) stays <= max_latency_seconds. nullopt if even lo violates it.
std::optional<double> LargestConcurrencyUnderLatency(const UslFit& fit, double max_latency_seconds,
                                                     double latency_factor, double lo, double hi);

struct ConcurrencyChoice {
  int n = 0;
  double throughput = 0;       // predicted X(n)
  double throughput_lcb = 0;   // X(n) - z * se(X(n))
  double latency_seconds = 0;  // predicted mean latency (Little), unscaled
  bool latency_bound = false;  // the latency constraint, not the peak, limited the choice
};

// Integer N in [lo, hi] maximizing the lower confidence bound of throughput subject to the
// latency limit (when set): checks both integer neighbours of the continuous optimum.
std::optional<ConcurrencyChoice> ChooseConcurrency(const UslFit& fit, int lo, int hi,
                                                   std::optional<double> max_latency_seconds,
                                                   double latency_factor, double z = 1.0);

}  // namespace knob
