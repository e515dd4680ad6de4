// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/shift_detector.h"

#include <algorithm>
#include <cmath>

namespace knob {
namespace {

// Two minutes of ticks: enough to estimate rho to about +-0.1, short enough to follow the host.
constexpr size_t kRecent = 120;
// Above 0.9 a tick would count as less than a twentieth of a sample, past what the window can
// estimate (the same clamp as the change judgement, verify.cc).
constexpr double kMaxRho = 0.9;

}  // namespace

void ShiftDetector::Reset() {
  n_ = 0;
  abs_sum_ = 0;
  m_ = m_min_ = up_ = 0;
  p_ = p_max_ = down_ = 0;
  rho_ = 0;
  recent_.clear();
}

double ShiftDetector::Lag1() const {
  const size_t n = recent_.size();
  if (n < 4) return 0;
  double mean = 0;
  for (double v : recent_) mean += v;
  mean /= static_cast<double>(n);
  double num = 0, den = 0;
  for (size_t t = 0; t < n; ++t) {
    den += (recent_[t] - mean) * (recent_[t] - mean);
    if (t > 0) num += (recent_[t] - mean) * (recent_[t - 1] - mean);
  }
  if (!(den > 0)) return 0;
  // The plain estimate is biased low by about (1 + 3 rho) / n on short series (Kendall 1954):
  // at 10 ticks it reads a true 0.7 as 0.4, which is the very understatement this corrects.
  const double raw = num / den;
  const double nd = static_cast<double>(n);
  return std::clamp((nd * raw + 1) / (nd - 3), 0.0, kMaxRho);
}

bool ShiftDetector::Update(double residual) {
  if (!std::isfinite(residual)) return false;
  ++n_;
  abs_sum_ += std::fabs(residual);
  recent_.push_back(residual);
  while (recent_.size() > kRecent) recent_.pop_front();
  // Mean absolute deviation * 1.25 estimates sigma for normal residuals; floor avoids a
  // zero scale on noise-free synthetic data.
  double scale = std::max(1.25 * abs_sum_ / n_, 1e-3);
  if (n_ <= warmup_) return false;
  rho_ = Lag1();
  double z = residual / (scale * std::sqrt((1 + rho_) / (1 - rho_)));
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
