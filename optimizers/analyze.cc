// SPDX-License-Identifier: Apache-2.0
#include "optimizers/analyze.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>

#include "optimizers/models/mrc.h"

namespace knob {
namespace {

constexpr std::string_view kUsage =
    "usage: knobctl analyze usl FILE.csv\n"
    "       knobctl analyze mrc TRACE [--sample-rate R]\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ParseDouble(std::string_view s, double& v) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int AnalyzeUsl(const std::string& path, std::ostream& out, std::ostream& err) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return 1;
  }
  auto samples = ParseUslCsv(*text);
  if (!samples.ok()) {
    err << path << ":" << samples.status().message() << "\n";
    return 1;
  }
  std::vector<UslPoint> pts;
  for (const auto& s : *samples) pts.push_back({s.concurrency, s.throughput});
  auto fit = FitUsl(pts);
  if (!fit.ok()) {
    err << "error: " << fit.status().message() << "\n";
    return 1;
  }
  out << fmt::format(
      "USL fit of {} points ({} concurrency levels), X(N) = gamma N / (1 + alpha (N-1) + beta N "
      "(N-1))\n",
      fit->points, fit->distinct_levels);
  out << fmt::format("  alpha (contention) = {:.6g} +/- {:.3g}\n", fit->alpha, fit->alpha_se);
  out << fmt::format("  beta  (coherency)  = {:.6g} +/- {:.3g}\n", fit->beta, fit->beta_se);
  out << fmt::format("  gamma (X at N=1)   = {:.6g} +/- {:.3g}\n", fit->gamma, fit->gamma_se);
  out << fmt::format("  R^2 = {:.4f}, residual sd = {:.4g}, dof = {}\n", fit->r_squared,
                     fit->residual_sd, fit->dof);
  double max_n = 0;
  for (const auto& p : pts) max_n = std::max(max_n, p.concurrency);
  if (auto peak = fit->Peak()) {
    out << fmt::format("  peak N* = {:.2f}, X(N*) = {:.6g}\n", *peak, fit->Throughput(*peak));
    max_n = std::max(max_n, *peak * 1.5);
  } else {
    out << "  no peak: beta = 0, throughput keeps rising (bounded by 1/alpha if alpha > 0)\n";
  }
  bool has_latency = false;
  for (const auto& smp : *samples) has_latency |= smp.latency >= 0;
  out << "\n       N    observed   predicted  latency_s(N/X)"
      << (has_latency ? "  observed_latency_s" : "") << "\n";
  std::vector<double> ns;
  for (const auto& p : pts) ns.push_back(p.concurrency);
  int steps = 10;
  for (int i = 1; i <= steps; ++i) ns.push_back(std::round(max_n * i / steps));
  std::sort(ns.begin(), ns.end());
  ns.erase(std::unique(ns.begin(), ns.end()), ns.end());
  for (double n : ns) {
    if (n < 1) continue;
    std::string observed = "-", observed_latency = "-";
    for (const auto& smp : *samples) {
      if (smp.concurrency == n) {
        observed = fmt::format("{:.6g}", smp.throughput);
        if (smp.latency >= 0) observed_latency = fmt::format("{:.6g}", smp.latency);
        break;
      }
    }
    out << fmt::format("{:8g} {:>11} {:11.6g} {:14.6g}", n, observed, fit->Throughput(n),
                       fit->Latency(n));
    if (has_latency) out << fmt::format(" {:>19}", observed_latency);
    out << "\n";
  }
  return 0;
}

int AnalyzeMrc(const std::string& path, double rate, std::ostream& out, std::ostream& err) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> keys;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view k = Trim(line);
    if (!k.empty()) keys.emplace_back(k);
  }
  if (keys.empty()) {
    err << "error: " << path << " has no keys\n";
    return 1;
  }
  MissRatioCurve mrc = MissRatioCurve::FromTrace(keys, rate);
  out << fmt::format("LRU miss-ratio curve of {} accesses (sample rate {:g}), size in objects\n",
                     keys.size(), rate);
  out << "      size  miss_ratio  hit_ratio\n";
  const auto& p = mrc.points();
  double max_size = p.empty() ? 0 : p.back().size;
  std::vector<double> sizes;
  for (int i = 1; i <= 20; ++i) sizes.push_back(std::ceil(max_size * i / 20));
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  for (double s : sizes) {
    out << fmt::format("{:10g} {:11.4f} {:10.4f}\n", s, mrc.MissRatio(s), mrc.HitRatio(s));
  }
  for (double target : {0.5, 0.8, 0.9, 0.95, 0.99}) {
    if (auto s = mrc.SmallestSizeForHitRatio(target)) {
      out << fmt::format("hit ratio {:.2f} needs {:g} objects\n", target, std::ceil(*s));
    } else {
      out << fmt::format("hit ratio {:.2f} is unreachable (cold misses)\n", target);
    }
  }
  return 0;
}

}  // namespace

Result<std::vector<UslSample>> ParseUslCsv(std::string_view text) {
  std::vector<UslSample> rows;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> cols;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      cols.push_back(line.substr(
          start, comma == std::string_view::npos ? line.size() - start : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    UslSample s;
    if (cols.size() < 2 || cols.size() > 3) {
      return InvalidArgumentError(
          fmt::format("{}: expected 2 or 3 columns (concurrency,throughput[,latency])", line_no));
    }
    if (!ParseDouble(cols[0], s.concurrency)) {
      if (rows.empty()) continue;  // header line
      return InvalidArgumentError(fmt::format("{}: concurrency is not a number", line_no));
    }
    if (!ParseDouble(cols[1], s.throughput)) {
      return InvalidArgumentError(fmt::format("{}: throughput is not a number", line_no));
    }
    if (cols.size() == 3 && !ParseDouble(cols[2], s.latency)) {
      return InvalidArgumentError(fmt::format("{}: latency is not a number", line_no));
    }
    if (s.concurrency <= 0 || s.throughput <= 0) {
      return InvalidArgumentError(
          fmt::format("{}: concurrency and throughput must be > 0", line_no));
    }
    rows.push_back(s);
  }
  if (rows.empty()) return InvalidArgumentError("0: no data rows");
  return rows;
}

int RunAnalyze(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() >= 2 && args[0] == "usl" && args.size() == 2)
    return AnalyzeUsl(args[1], out, err);
  if (args.size() >= 2 && args[0] == "mrc") {
    double rate = 1.0;
    if (args.size() == 4 && args[2] == "--sample-rate") {
      if (!ParseDouble(args[3], rate) || rate <= 0 || rate > 1) {
        err << "error: --sample-rate must be in (0, 1]\n" << kUsage;
        return 2;
      }
    } else if (args.size() != 2) {
      err << kUsage;
      return 2;
    }
    return AnalyzeMrc(args[1], rate, out, err);
  }
  err << kUsage;
  return 2;
}

}  // namespace knob
