// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/usl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

namespace knob {
namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;
using Vec3 = std::array<double, 3>;

// Solves A x = b for a 3x3 system by Gaussian elimination with partial pivoting.
bool Solve3(Mat3 a, Vec3 b, Vec3& x) {
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 3; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    }
    if (std::fabs(a[pivot][col]) < 1e-300) return false;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (int r = col + 1; r < 3; ++r) {
      double f = a[r][col] / a[col][col];
      for (int c = col; c < 3; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  for (int r = 2; r >= 0; --r) {
    double s = b[r];
    for (int c = r + 1; c < 3; ++c) s -= a[r][c] * x[c];
    x[r] = s / a[r][r];
  }
  return std::isfinite(x[0]) && std::isfinite(x[1]) && std::isfinite(x[2]);
}

bool Invert3(const Mat3& a, Mat3& inv) {
  for (int c = 0; c < 3; ++c) {
    Vec3 e{0, 0, 0};
    e[c] = 1;
    Vec3 col{};
    if (!Solve3(a, e, col)) return false;
    for (int r = 0; r < 3; ++r) inv[r][c] = col[r];
  }
  return true;
}

double Model(const Vec3& p, double n) {
  double d = 1 + p[0] * (n - 1) + p[1] * n * (n - 1);
  return p[2] * n / d;
}

// d X / d (alpha, beta, gamma)
Vec3 Gradient(const Vec3& p, double n) {
  double d = 1 + p[0] * (n - 1) + p[1] * n * (n - 1);
  double g = p[2] * n / (d * d);
  return {-g * (n - 1), -g * n * (n - 1), n / d};
}

double Ssr(const Vec3& p, std::span<const UslPoint> pts) {
  double s = 0;
  for (const auto& pt : pts) {
    double r = pt.throughput - Model(p, pt.concurrency);
    s += r * r;
  }
  return s;
}

void Project(Vec3& p) {
  p[0] = std::clamp(p[0], 0.0, 1.0);
  p[1] = std::max(p[1], 0.0);
  p[2] = std::max(p[2], 1e-300);
}

// Initial guess: gamma from the lowest-N points (X/N there is the least degraded), then
// alpha, beta by linear least squares on N/C - 1 = alpha (N-1) + beta N (N-1).
Vec3 InitialGuess(std::span<const UslPoint> pts) {
  double min_n = std::numeric_limits<double>::infinity();
  for (const auto& p : pts) min_n = std::min(min_n, p.concurrency);
  double gamma = 0;
  for (const auto& p : pts) {
    if (p.concurrency <= min_n * 1.0000001) gamma = std::max(gamma, p.throughput / p.concurrency);
  }
  // Two regressors without intercept: normal equations 2x2.
  double s11 = 0, s12 = 0, s22 = 0, b1 = 0, b2 = 0;
  for (const auto& p : pts) {
    double c = p.throughput / gamma;
    double y = p.concurrency / c - 1;
    double x1 = p.concurrency - 1, x2 = p.concurrency * (p.concurrency - 1);
    s11 += x1 * x1;
    s12 += x1 * x2;
    s22 += x2 * x2;
    b1 += x1 * y;
    b2 += x2 * y;
  }
  double det = s11 * s22 - s12 * s12;
  double alpha = 0, beta = 0;
  if (std::fabs(det) > 1e-12 * std::max(1.0, s11 * s22)) {
    alpha = (b1 * s22 - b2 * s12) / det;
    beta = (s11 * b2 - s12 * b1) / det;
  }
  Vec3 p{alpha, beta, gamma};
  Project(p);
  return p;
}

}  // namespace

double UslFit::Throughput(double n) const { return Model({alpha, beta, gamma}, n); }

std::optional<double> UslFit::Peak() const {
  if (beta <= 0) return std::nullopt;
  return std::sqrt(std::max(0.0, 1 - alpha) / beta);
}

double UslFit::ThroughputSe(double n) const {
  if (dof <= 0) return std::numeric_limits<double>::infinity();
  Vec3 g = Gradient({alpha, beta, gamma}, n);
  double v = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) v += g[i] * covariance[i][j] * g[j];
  return std::sqrt(std::max(0.0, v));
}

double UslFit::Confidence() const {
  if (dof <= 0 || !std::isfinite(gamma_se)) return 0.1;
  // Relative error of the predicted throughput near the peak/edge matters most; gamma's
  // relative error is a stable proxy, R^2 penalises misfit.
  double rel = gamma > 0 ? gamma_se / gamma : 1;
  double c = std::clamp(r_squared, 0.0, 1.0) * std::exp(-5 * rel);
  if (dof < 3) c *= 0.5;
  return std::clamp(c, 0.0, 1.0);
}

Result<UslFit> FitUsl(std::span<const UslPoint> points) {
  std::set<double> levels;
  for (const auto& p : points) {
    if (!(p.concurrency > 0) || !(p.throughput > 0) || !std::isfinite(p.concurrency) ||
        !std::isfinite(p.throughput)) {
      return InvalidArgumentError("USL points need concurrency > 0 and throughput > 0");
    }
    levels.insert(std::round(p.concurrency * 1e6) / 1e6);
  }
  if (points.size() < 3 || levels.size() < 3) {
    return FailedPreconditionError("USL fit needs at least 3 distinct concurrency levels, have " +
                                   std::to_string(levels.size()));
  }
  Vec3 p = InitialGuess(points);
  double ssr = Ssr(p, points);
  double lambda = 1e-3;
  int it = 0;
  for (; it < 200; ++it) {
    Mat3 jtj{};
    Vec3 jtr{0, 0, 0};
    for (const auto& pt : points) {
      Vec3 g = Gradient(p, pt.concurrency);
      double r = pt.throughput - Model(p, pt.concurrency);
      for (int i = 0; i < 3; ++i) {
        jtr[i] += g[i] * r;
        for (int j = 0; j < 3; ++j) jtj[i][j] += g[i] * g[j];
      }
    }
    bool improved = false;
    for (int attempt = 0; attempt < 30; ++attempt) {
      Mat3 a = jtj;
      for (int i = 0; i < 3; ++i) a[i][i] += lambda * std::max(jtj[i][i], 1e-300);
      Vec3 delta{};
      if (!Solve3(a, jtr, delta)) {
        lambda *= 10;
        continue;
      }
      Vec3 cand{p[0] + delta[0], p[1] + delta[1], p[2] + delta[2]};
      Project(cand);
      double s = Ssr(cand, points);
      if (s < ssr) {
        double rel = (ssr - s) / std::max(ssr, 1e-300);
        p = cand;
        ssr = s;
        lambda = std::max(lambda / 10, 1e-12);
        improved = true;
        if (rel < 1e-12) attempt = 1000;  // converged
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }

  UslFit fit;
  fit.alpha = p[0];
  fit.beta = p[1];
  fit.gamma = p[2];
  fit.points = static_cast<int>(points.size());
  fit.distinct_levels = static_cast<int>(levels.size());
  fit.dof = fit.points - 3;
  fit.iterations = it;
  double mean = 0;
  for (const auto& pt : points) mean += pt.throughput;
  mean /= points.size();
  double sst = 0;
  for (const auto& pt : points) sst += (pt.throughput - mean) * (pt.throughput - mean);
  fit.r_squared = sst > 0 ? 1 - ssr / sst : 1;
  double inf = std::numeric_limits<double>::infinity();
  fit.alpha_se = fit.beta_se = fit.gamma_se = inf;
  if (fit.dof > 0) {
    double s2 = ssr / fit.dof;
    fit.residual_sd = std::sqrt(s2);
    Mat3 jtj{};
    for (const auto& pt : points) {
      Vec3 g = Gradient(p, pt.concurrency);
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) jtj[i][j] += g[i] * g[j];
    }
    Mat3 inv{};
    if (Invert3(jtj, inv)) {
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) fit.covariance[i][j] = s2 * inv[i][j];
      fit.alpha_se = std::sqrt(std::max(0.0, fit.covariance[0][0]));
      fit.beta_se = std::sqrt(std::max(0.0, fit.covariance[1][1]));
      fit.gamma_se = std::sqrt(std::max(0.0, fit.covariance[2][2]));
    } else {
      fit.dof = 0;  // collinear: parameters not identifiable, report no confidence
    }
  }
  return fit;
}

std::optional<double> LargestConcurrencyUnderLatency(const UslFit& fit, double max_latency_seconds,
                                                     double latency_factor, double lo, double hi) {
  auto ok = [&](double n) { return fit.Latency(n) * latency_factor <= max_latency_seconds; };
  if (!ok(lo)) return std::nullopt;
  if (ok(hi)) return hi;
  // R(N) = D(N)/gamma is increasing in N for alpha, beta >= 0, so bisection is exact.
  double a = lo, b = hi;
  for (int i = 0; i < 100; ++i) {
    double m = 0.5 * (a + b);
    (ok(m) ? a : b) = m;
  }
  return a;
}

std::optional<ConcurrencyChoice> ChooseConcurrency(const UslFit& fit, int lo, int hi,
                                                   std::optional<double> max_latency_seconds,
                                                   double latency_factor, double z) {
  if (lo > hi || lo < 1) return std::nullopt;
  int limit = hi;
  bool latency_bound = false;
  if (max_latency_seconds) {
    auto l = LargestConcurrencyUnderLatency(fit, *max_latency_seconds, latency_factor, lo, hi);
    if (!l) return std::nullopt;
    limit = static_cast<int>(std::floor(*l + 1e-9));
    latency_bound = limit < hi;
  }
  auto eval = [&](int n) {
    ConcurrencyChoice c;
    c.n = n;
    c.throughput = fit.Throughput(n);
    double se = fit.ThroughputSe(n);
    c.throughput_lcb = std::isfinite(se) ? c.throughput - z * se : c.throughput;
    c.latency_seconds = fit.Latency(n);
    return c;
  };
  // Candidates: both integer neighbours of the continuous optimum, plus a scan of the LCB
  // (the LCB maximum can sit below the point estimate's peak when the peak is uncertain).
  std::vector<int> cands;
  double cont = limit;
  if (auto peak = fit.Peak()) cont = std::min(cont, *peak);
  cands.push_back(std::clamp(static_cast<int>(std::floor(cont)), lo, limit));
  cands.push_back(std::clamp(static_cast<int>(std::ceil(cont)), lo, limit));
  int scan_hi = std::min(limit, lo + 100000);
  for (int n = lo; n <= scan_hi; ++n) cands.push_back(n);
  std::optional<ConcurrencyChoice> best;
  for (int n : cands) {
    ConcurrencyChoice c = eval(n);
    if (!best || c.throughput_lcb > best->throughput_lcb + 1e-12 ||
        (std::fabs(c.throughput_lcb - best->throughput_lcb) <= 1e-12 && n < best->n)) {
      best = c;
    }
  }
  if (best) best->latency_bound = latency_bound && best->n == limit;
  return best;
}

}  // namespace knob
