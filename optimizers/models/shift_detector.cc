// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/shift_detector.h"

#include <algorithm>
#include <cmath>

namespace knob {

void ShiftDetector::Reset() {
  n_ = 0;
  abs_sum_ = 0;
  m_ = m_min_ = up_ = 0;
  p_ = p_max_ = down_ = 0;
}

bool ShiftDetector::Update(double residual) {
  if (!std::isfinite(residual)) return false;
  ++n_;
  abs_sum_ += std::fabs(residual);
  // Mean absolute deviation * 1.25 estimates sigma for normal residuals; floor avoids a
  // zero scale on noise-free synthetic data.
  double scale = std::max(1.25 * abs_sum_ / n_, 1e-3);
  if (n_ <= warmup_) return false;
  double z = residual / scale;
  m_ += z - delta_;
  m_min_ = std::min(m_min_, m_);
  up_ = m_ - m_min_;
  p_ += z + delta_;
  p_max_ = std::max(p_max_, p_);
  down_ = p_max_ - p_;
  if (up_ > lambda_ || down_ > lambda_) {
    ++shifts_;
    Reset();
    return true;
  }
  return false;
}

}  // namespace knob
