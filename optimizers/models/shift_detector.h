// SPDX-License-Identifier: Apache-2.0
#pragma once
// Workload-shift detection: two-sided Page-Hinkley test on standardized residuals.
//
//   z_t   = residual_t / scale_t         scale: running mean absolute residual (robust sigma)
//   m_t   = sum_{i<=t} (z_i - delta)     U_t = m_t - min_{i<=t} m_i   (upward shift)
//   n_t   = sum_{i<=t} (z_i + delta)     L_t = max_{i<=t} n_i - n_t   (downward shift)
//   alarm when U_t > lambda or L_t > lambda; then every statistic resets.
// delta is the magnitude of drift tolerated per sample (in sigmas), lambda the alarm threshold.
// The model feeds it (observed - predicted) / predicted throughput at the observed concurrency:
// a sustained change of that residual means the workload changed, not the knob.
// Source: E. S. Page, "Continuous inspection schemes", Biometrika 1954; Hinkley 1971.
// Thread rule: plain value, one owner.

#include <cstdint>

namespace knob {

class ShiftDetector {
 public:
  explicit ShiftDetector(double delta = 0.5, double lambda = 8.0, int warmup = 5)
      : delta_(delta), lambda_(lambda), warmup_(warmup) {}
  // Returns true once when a shift is detected (and resets).
  bool Update(double residual);
  void Reset();
  uint64_t shifts() const { return shifts_; }
  double up() const { return up_; }
  double down() const { return down_; }

 private:
  double delta_, lambda_;
  int warmup_;
  int n_ = 0;
  double abs_sum_ = 0;
  double m_ = 0, m_min_ = 0, up_ = 0;
  double p_ = 0, p_max_ = 0, down_ = 0;
  uint64_t shifts_ = 0;
};

}  // namespace knob
