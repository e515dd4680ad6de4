// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/size_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace knob {
namespace {

// Two levels closer than this in busy members are one point to the fit (a pool that does not
// bind runs at the same concurrency whatever its size).
constexpr double kDistinctBusy = 0.5;

struct Acc {
  std::vector<double> x;
  RunningStat busy, demand, p99;
};

// Standard error of a mean of autocorrelated ticks: successive ticks of a real service share
// most of their noise (lag-1 correlation ~0.7 measured), so n ticks carry fewer than n samples.
double CorrectedSe(const std::vector<double>& x) {
  const size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::infinity();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(n);
  double c0 = 0, c1 = 0;
  for (size_t i = 0; i < n; ++i) {
    c0 += (x[i] - mean) * (x[i] - mean);
    if (i > 0) c1 += (x[i] - mean) * (x[i - 1] - mean);
  }
  const double rho = c0 > 0 ? std::clamp(c1 / c0, 0.0, 0.95) : 0;
  const double sd = std::sqrt(c0 / static_cast<double>(n - 1));
  return sd / std::sqrt(static_cast<double>(n)) * std::sqrt((1 + rho) / (1 - rho));
}

// Least squares of y on (u, v) without intercept, both coefficients >= 0 (the better of the
// unconstrained pair and each regressor alone when the pair has a negative one).
void FitP99(SizeCurve& c) {
  std::vector<double> u, v, y;
  for (const SizeLevel& l : c.levels) {
    if (!l.p99_seconds || !(l.throughput > 0)) continue;
    u.push_back(l.busy / l.throughput);
    v.push_back(1 / l.throughput);
    y.push_back(*l.p99_seconds);
  }
  if (y.size() < 2) return;
  double suu = 0, suv = 0, svv = 0, suy = 0, svy = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    suu += u[i] * u[i];
    suv += u[i] * v[i];
    svv += v[i] * v[i];
    suy += u[i] * y[i];
    svy += v[i] * y[i];
  }
  auto ssr = [&](double a, double b) {
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += std::pow(y[i] - a * u[i] - b * v[i], 2);
    return s;
  };
  double best = std::numeric_limits<double>::infinity();
  auto consider = [&](double a, double b) {
    if (a < 0 || b < 0 || !std::isfinite(a) || !std::isfinite(b)) return;
    double s = ssr(a, b);
    if (s < best) {
      best = s;
      c.p99_service = a;
      c.p99_queue = b;
      c.p99_fitted = true;
    }
  };
  const double det = suu * svv - suv * suv;
  if (std::fabs(det) > 1e-12 * std::max(1e-300, suu * svv))
    consider((suy * svv - svy * suv) / det, (svy * suu - suy * suv) / det);
  if (suu > 0) consider(suy / suu, 0);
  if (svv > 0) consider(0, svy / svv);
}

}  // namespace

double SizeCurve::Throughput(double busy) const {
  return usl ? usl->Throughput(std::max(1.0, busy)) : 0;
}

std::optional<double> SizeCurve::P99Seconds(double busy) const {
  if (!p99_fitted || !usl) return std::nullopt;
  const double x = Throughput(busy);
  if (!(x > 0)) return std::nullopt;
  return (p99_service * std::max(1.0, busy) + p99_queue) / x;
}

const SizeLevel* SizeCurve::Level(double size) const {
  for (const SizeLevel& l : levels)
    if (l.size == size) return &l;
  return nullptr;
}

namespace {

std::map<double, SizeLevel> Levels(const std::deque<Observation>& observations,
                                   const std::string& knob, const std::string& pool,
                                   size_t min_samples) {
  std::map<double, Acc> by_size;
  std::optional<double> prev;
  for (const Observation& o : observations) {
    auto k = o.knobs.find(knob);
    if (k == o.knobs.end()) {
      prev.reset();
      continue;
    }
    const bool settled = prev && *prev == k->second;
    prev = k->second;
    auto p = o.pools.find(pool);
    if (!settled || p == o.pools.end() || !(o.throughput > 0)) continue;
    Acc& a = by_size[k->second];
    a.x.push_back(o.throughput);
    a.busy.Add(p->second.busy);
    a.demand.Add(p->second.busy + p->second.waiters);
    if (o.p99_seconds) a.p99.Add(*o.p99_seconds);
  }
  std::map<double, SizeLevel> out;
  for (const auto& [size, a] : by_size) {
    if (a.x.size() < std::max<size_t>(2, min_samples)) continue;
    SizeLevel l;
    l.size = size;
    l.busy = a.busy.mean;
    l.demand = a.demand.mean;
    for (double x : a.x) l.throughput += x;
    l.throughput /= static_cast<double>(a.x.size());
    l.throughput_se = CorrectedSe(a.x);
    if (a.p99.n > 0) l.p99_seconds = a.p99.mean;
    l.samples = a.x.size();
    out[size] = l;
  }
  return out;
}

// The sizes run on both sides of a shift alarm agree (within 3 combined standard errors and
// 2%): the alarm did not move this landscape, so the sizes measured before it still count.
bool Agree(const std::map<double, SizeLevel>& now, const std::map<double, SizeLevel>& before) {
  int common = 0;
  for (const auto& [size, l] : now) {
    auto b = before.find(size);
    if (b == before.end()) continue;
    ++common;
    const double tol = 3 * std::hypot(l.throughput_se, b->second.throughput_se) +
                       0.02 * std::max(l.throughput, b->second.throughput);
    if (!(std::fabs(l.throughput - b->second.throughput) <= tol)) return false;
  }
  return common > 0;
}

}  // namespace

SizeCurve FitSizeCurve(const std::deque<Observation>& observations,
                       const std::deque<Observation>& pre_shift, const std::string& knob,
                       const std::string& pool, size_t min_samples) {
  SizeCurve c;
  std::map<double, SizeLevel> levels = Levels(observations, knob, pool, min_samples);
  if (!pre_shift.empty()) {
    std::map<double, SizeLevel> before = Levels(pre_shift, knob, pool, min_samples);
    if (Agree(levels, before)) levels.insert(before.begin(), before.end());  // fresh ones win
  }
  std::vector<UslPoint> points;
  for (const auto& [size, l] : levels) {
    c.levels.push_back(l);
    if (l.busy > 0) points.push_back({std::max(1.0, l.busy), l.throughput});
  }
  // Levels whose busy members coincide are one concurrency to the fit.
  std::vector<double> distinct;
  for (const UslPoint& p : points) {
    bool near = false;
    for (double d : distinct) near = near || std::fabs(d - p.concurrency) < kDistinctBusy;
    if (!near) distinct.push_back(p.concurrency);
  }
  if (distinct.size() < 3) {
    c.error = fmt::format("the pool has run at {} distinct busy level{} (the curve needs 3)",
                          distinct.size(), distinct.size() == 1 ? "" : "s");
    return c;
  }
  auto fit = FitUsl(points);
  if (!fit.ok()) {
    c.error = fit.status().message();
    return c;
  }
  c.usl = *fit;
  std::vector<double> rel;
  for (const SizeLevel& l : c.levels)
    if (l.throughput > 0 && std::isfinite(l.throughput_se))
      rel.push_back(l.throughput_se / l.throughput);
  if (!rel.empty()) {
    std::nth_element(rel.begin(), rel.begin() + rel.size() / 2, rel.end());
    c.noise = std::clamp(2 * rel[rel.size() / 2], 0.01, 0.04);
  }
  FitP99(c);
  return c;
}

std::optional<KneeChoice> ChooseKnee(const SizeCurve& curve, int lo, int hi, double demand,
                                     std::optional<double> p99_limit_seconds) {
  if (!curve.usl || hi < lo) return std::nullopt;
  struct Point {
    int s;
    double x;
    std::optional<double> p99;
  };
  std::vector<Point> pts;
  for (int s = std::max(1, lo); s <= hi; ++s) {
    const double n = demand >= 1 ? std::min<double>(s, demand) : s;
    // A size run whose measurement departs from the fit beyond its noise is known by the
    // measurement (the fit is a law, not the service); within its noise the smooth fit is the
    // better estimate, so a lucky or unlucky level makes no false local peak.
    const double fit_x = curve.Throughput(n);
    if (const SizeLevel* l = curve.Level(s)) {
      const double tol = 2 * l->throughput_se + curve.noise * fit_x / 2;
      if (std::fabs(l->throughput - fit_x) > tol) {
        pts.push_back({s, l->throughput, l->p99_seconds ? l->p99_seconds : curve.P99Seconds(n)});
        continue;
      }
    }
    pts.push_back({s, fit_x, curve.P99Seconds(n)});
  }
  if (pts.empty()) return std::nullopt;
  auto ok = [&](const Point& p) {
    return !p99_limit_seconds || !p.p99 || *p.p99 <= *p99_limit_seconds;
  };
  KneeChoice k;
  const Point* peak = nullptr;
  const Point* peak_any = nullptr;
  for (const Point& p : pts) {
    if (!peak_any || p.x > peak_any->x) peak_any = &p;
    if (ok(p) && (!peak || p.x > peak->x)) peak = &p;
  }
  if (!peak) {
    // Nothing meets the limit: the size with the lowest predicted p99 comes closest.
    const Point* best = &pts.front();
    for (const Point& p : pts)
      if (p.p99 && best->p99 && *p.p99 < *best->p99) best = &p;
    k.size = best->s;
    k.throughput = best->x;
    k.p99_seconds = best->p99;
    k.peak_size = peak_any->s;
    k.peak_throughput = peak_any->x;
    k.p99_bound = true;
    k.feasible = false;
    return k;
  }
  for (const Point& p : pts) {
    if (ok(p) && p.x >= (1 - curve.noise) * peak->x) {
      k.size = p.s;
      k.throughput = p.x;
      k.p99_seconds = p.p99;
      break;
    }
  }
  k.peak_size = peak->s;
  k.peak_throughput = peak->x;
  k.p99_bound = peak_any->x > (1 + curve.noise) * peak->x;
  return k;
}

}  // namespace knob
