// SPDX-License-Identifier: Apache-2.0
#pragma once
// Workload-shift detection: two-sided Page-Hinkley test on standardized residuals.
//
//   z_t   = residual_t / (scale_t x sqrt((1 + rho) / (1 - rho)))
//           scale: running mean absolute residual x 1.25 (robust sigma)
//           rho:   lag-1 autocorrelation of the recent residuals (bias-corrected, [0, 0.9])
//   m_t   = sum_{i<=t} (z_i - delta)     U_t = m_t - min_{i<=t} m_i   (upward shift)
//   n_t   = sum_{i<=t} (z_i + delta)     L_t = max_{i<=t} n_i - n_t   (downward shift)
//   alarm when U_t > lambda or L_t > lambda; then every statistic resets.
// delta is the magnitude of drift tolerated per sample (in sigmas), lambda the alarm threshold.
// The model feeds it (observed - predicted) / predicted throughput at the observed concurrency:
// a sustained change of that residual means the workload changed, not the knob.
// Why rho: the test sums residuals, and the variance of a sum of n ticks with lag-1 correlation
// rho is n sigma^2 (1 + rho) / (1 - rho), not n sigma^2. Measured throughput ticks are strongly
// correlated (~0.7 on a real pooler, issue 11), so with the per-tick sigma the sums wander past
// lambda within minutes at a fixed setting; scaled by the long-run sigma they behave like the
// independent case the thresholds were chosen for (average run length ~10^4 ticks).
// Source: E. S. Page, "Continuous inspection schemes", Biometrika 1954; Hinkley 1971; the
// small-sample bias of the lag-1 estimate: M. G. Kendall, Biometrika 1954.
// Thread rule: plain value, one owner.

#include <cstdint>
#include <deque>

namespace knob {

class ShiftDetector {
 public:
  explicit ShiftDetector(double delta = 0.5, double lambda = 8.0, int warmup = 10)
      : delta_(delta), lambda_(lambda), warmup_(warmup) {}
  // Returns true once when a shift is detected (and resets).
  bool Update(double residual);
  void Reset();
  uint64_t shifts() const { return shifts_; }
  double up() const { return up_; }
  double down() const { return down_; }
  // The lag-1 autocorrelation the last standardization used (0 before there was enough data).
  double autocorrelation() const { return rho_; }

 private:
  double Lag1() const;

  double delta_, lambda_;
  int warmup_;
  int n_ = 0;
  double abs_sum_ = 0;
  double m_ = 0, m_min_ = 0, up_ = 0;
  double p_ = 0, p_max_ = 0, down_ = 0;
  double rho_ = 0;
  std::deque<double> recent_;  // the residuals rho is measured on, newest last
  uint64_t shifts_ = 0;
};

}  // namespace knob
