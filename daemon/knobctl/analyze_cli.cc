// SPDX-License-Identifier: Apache-2.0
#include "daemon/knobctl/analyze_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include "daemon/knobctl/render.h"
#include "optimizers/analyze.h"
#include "optimizers/models/mrc.h"
#include "optimizers/models/usl.h"

namespace knob::ctl {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- usl ----

// Data points as 'o', the fitted curve as '*' (where both fall on one cell, 'o' wins).
void AsciiPlot(const std::vector<UslSample>& data, const UslFit& fit, double max_n, int width,
               std::ostream& out) {
  const int w = std::clamp(width > 0 ? width - 12 : 60, 30, 100), h = 16;
  double max_x = 0;
  for (const auto& s : data) max_x = std::max(max_x, s.throughput);
  for (int c = 0; c < w; ++c)
    max_x = std::max(max_x, fit.Throughput(1 + (max_n - 1) * c / (w - 1)));
  if (max_x <= 0) return;
  std::vector<std::string> grid(h, std::string(static_cast<size_t>(w), ' '));
  auto row_of = [&](double x) {
    return std::clamp(h - 1 - static_cast<int>(std::lround(x / max_x * (h - 1))), 0, h - 1);
  };
  auto col_of = [&](double n) {
    return std::clamp(static_cast<int>(std::lround((n - 1) / std::max(1e-9, max_n - 1) * (w - 1))),
                      0, w - 1);
  };
  for (int c = 0; c < w; ++c)
    grid[static_cast<size_t>(row_of(fit.Throughput(1 + (max_n - 1) * c / (w - 1))))]
        [static_cast<size_t>(c)] = '*';
  for (const auto& s : data)
    grid[static_cast<size_t>(row_of(s.throughput))][static_cast<size_t>(col_of(s.concurrency))] =
        'o';
  out << "\nthroughput (o data, * USL fit)\n";
  for (int r = 0; r < h; ++r) {
    char label[16];
    if (r == 0 || r == h - 1 || r == h / 2)
      std::snprintf(label, sizeof(label), "%9.4g |", max_x * (h - 1 - r) / (h - 1));
    else
      std::snprintf(label, sizeof(label), "%9s |", "");
    out << label << grid[static_cast<size_t>(r)] << '\n';
  }
  out << std::string(10, ' ') << '+' << std::string(static_cast<size_t>(w), '-') << '\n';
  char axis[64];
  std::snprintf(axis, sizeof(axis), "%-*s%g", w - 4, "1", max_n);
  out << std::string(11, ' ') << axis << "  concurrency N\n";
}

int RunGnuplot(const std::string& png, const std::vector<UslSample>& data, const UslFit& fit,
               double max_n, std::ostream& err) {
  char dir_tmpl[] = "/tmp/knobctl-plot-XXXXXX";
  if (mkdtemp(dir_tmpl) == nullptr) {
    err << "knobctl: cannot create a temporary directory for gnuplot\n";
    return kKnobctlDaemonError;
  }
  std::string dir = dir_tmpl;
  {
    std::ofstream d(dir + "/data");
    for (const auto& s : data) d << s.concurrency << ' ' << s.throughput << '\n';
    std::ofstream f(dir + "/fit");
    for (int i = 0; i <= 200; ++i) {
      double n = 1 + (max_n - 1) * i / 200;
      f << n << ' ' << fit.Throughput(n) << '\n';
    }
    std::ofstream p(dir + "/plot.gp");
    p << "set terminal pngcairo size 900,560 font 'DejaVu Sans,10'\n"
      << "set output '" << png << "'\n"
      << "set title 'USL fit: alpha " << fit.alpha << ", beta " << fit.beta << ", gamma "
      << fit.gamma << ", R^2 " << fit.r_squared << "'\n"
      << "set xlabel 'concurrency N'\nset ylabel 'throughput X(N)'\nset grid\n"
      << "set key bottom right\n"
      << "plot '" << dir << "/fit' with lines lw 2 title 'USL fit', '" << dir
      << "/data' with points pt 7 ps 1.3 title 'data'\n";
  }
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, 1);
    execlp("gnuplot", "gnuplot", (dir + "/plot.gp").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  if (pid > 0) waitpid(pid, &st, 0);
  for (const char* f : {"/data", "/fit", "/plot.gp"}) unlink((dir + f).c_str());
  rmdir(dir.c_str());
  if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    err << "knobctl: gnuplot failed"
        << (WIFEXITED(st) && WEXITSTATUS(st) == 127
                ? " to start: install the Debian package gnuplot-nox"
                : " (exit " + std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : -1) + ")")
        << "; no plot written to " << png << '\n';
    return kKnobctlDaemonError;
  }
  return kKnobctlOk;
}

int Usl(const AnalyzeRequest& req, std::ostream& out, std::ostream& err) {
  const std::string& path = req.args[1];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "knobctl: cannot open " << path << '\n';
    return kKnobctlDaemonError;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto samples = ParseUslCsv(ss.str());
  if (!samples.ok()) {
    err << path << ":" << samples.status().message() << '\n';
    return kKnobctlDaemonError;
  }
  std::vector<UslPoint> pts;
  double max_n = 1;
  for (const auto& s : *samples) {
    pts.push_back({s.concurrency, s.throughput});
    max_n = std::max(max_n, s.concurrency);
  }
  auto fit = FitUsl(pts);
  if (!fit.ok()) {
    err << "knobctl: " << fit.status().message() << '\n';
    return kKnobctlDaemonError;
  }
  auto peak = fit->Peak();
  if (peak) max_n = std::max(max_n, *peak * 1.5);
  if (req.json) {
    json points = json::array();
    for (const auto& s : *samples) {
      json p = {{"concurrency", s.concurrency},
                {"throughput", s.throughput},
                {"predicted", fit->Throughput(s.concurrency)}};
      if (s.latency >= 0) p["latency_seconds"] = s.latency;
      points.push_back(p);
    }
    json j = {{"model", "usl"},
              {"file", path},
              {"alpha", fit->alpha},
              {"beta", fit->beta},
              {"gamma", fit->gamma},
              {"alpha_se", std::isfinite(fit->alpha_se) ? json(fit->alpha_se) : json()},
              {"beta_se", std::isfinite(fit->beta_se) ? json(fit->beta_se) : json()},
              {"gamma_se", std::isfinite(fit->gamma_se) ? json(fit->gamma_se) : json()},
              {"r_squared", fit->r_squared},
              {"confidence", fit->Confidence()},
              {"points", points}};
    j["peak_concurrency"] = peak ? json(*peak) : json();
    if (peak) j["peak_throughput"] = fit->Throughput(*peak);
    if (!req.plot.empty()) j["plot"] = req.plot;
    if (!req.plot.empty() && RunGnuplot(req.plot, *samples, *fit, max_n, err) != kKnobctlOk)
      return kKnobctlDaemonError;
    out << Dump(j) << '\n';
    return kKnobctlOk;
  }
  // The table of the fit is the shared text of optimizers/analyze.h.
  int rc = RunAnalyze({"usl", path}, out, err);
  if (rc != 0) return rc;
  AsciiPlot(*samples, *fit, max_n, req.width, out);
  if (!req.plot.empty()) {
    if (RunGnuplot(req.plot, *samples, *fit, max_n, err) != kKnobctlOk) return kKnobctlDaemonError;
    out << "plot written to " << req.plot << '\n';
  }
  return kKnobctlOk;
}

// ---- mrc: fixed-size SHARDS over a streamed trace ----

// Order statistics over last-access times: the reuse distance of an access is the number of
// distinct sampled keys touched since this key's previous access.
using TimeTree =
    __gnu_pbds::tree<uint64_t, __gnu_pbds::null_type, std::less<uint64_t>, __gnu_pbds::rb_tree_tag,
                     __gnu_pbds::tree_order_statistics_node_update>;

constexpr uint64_t kModulus = 1ull << 24;

uint64_t Hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, then a finalizer so low bits mix
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

int Mrc(const AnalyzeRequest& req, std::ostream& out, std::ostream& err) {
  const std::string& path = req.args[1];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "knobctl: cannot open " << path << '\n';
    return kKnobctlDaemonError;
  }
  struct stat sb {};
  const double file_bytes = stat(path.c_str(), &sb) == 0 ? static_cast<double>(sb.st_size) : 0;
  uint64_t threshold = static_cast<uint64_t>(req.sample_rate.value_or(1.0) * kModulus);
  struct Key {
    uint64_t last;
    uint64_t hash;
  };
  std::unordered_map<std::string, Key> keys;
  std::multimap<uint64_t, std::string, std::greater<>> by_hash;  // largest hash first
  TimeTree times;
  // Reuse distances in full-trace units, log2 buckets: bucket b holds d in [2^(b-1), 2^b).
  std::vector<double> buckets(64, 0);
  double cold = 0;
  uint64_t accesses = 0, sampled = 0, clock = 0;
  double bytes_read = 0;
  auto last_progress = std::chrono::steady_clock::now();
  std::string line;
  while (std::getline(in, line)) {
    bytes_read += static_cast<double>(line.size() + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++accesses;
    if (req.progress && (accesses & 0xffff) == 0) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(250)) {
        last_progress = now;
        char buf[128];
        std::snprintf(buf, sizeof(buf), "\rknobctl: %.0f%% of %s, %llu accesses, %zu keys sampled",
                      file_bytes > 0 ? 100 * bytes_read / file_bytes : 0.0, path.c_str(),
                      static_cast<unsigned long long>(accesses), keys.size());
        err << buf << std::flush;
      }
    }
    uint64_t h = Hash(line) % kModulus;
    if (h >= threshold) continue;
    ++sampled;
    const double rate = static_cast<double>(threshold) / kModulus;
    auto it = keys.find(line);
    if (it == keys.end()) {
      cold += 1;
      keys.emplace(line, Key{clock, h});
      by_hash.emplace(h, line);
      times.insert(clock);
      // Over budget: lower the threshold to the largest kept hash and drop those keys; counts
      // so far are scaled to the new rate (SHARDS fixed-size, Waldspurger et al. 2015, 4.2).
      while (keys.size() > kMaxSampledKeys) {
        uint64_t top = by_hash.begin()->first;
        double scale = static_cast<double>(top) / static_cast<double>(threshold);
        for (double& b : buckets) b *= scale;
        cold *= scale;
        threshold = top;
        while (!by_hash.empty() && by_hash.begin()->first >= threshold) {
          auto k = keys.find(by_hash.begin()->second);
          times.erase(k->second.last);
          keys.erase(k);
          by_hash.erase(by_hash.begin());
        }
      }
    } else {
      uint64_t prev = it->second.last;
      size_t newer = times.size() - times.order_of_key(prev) - 1;
      double distance = static_cast<double>(newer) / rate;
      size_t b =
          distance < 1 ? 0 : std::min<size_t>(63, static_cast<size_t>(std::log2(distance)) + 1);
      buckets[b] += 1;
      times.erase(prev);
      times.insert(clock);
      it->second.last = clock;
    }
    ++clock;
  }
  if (req.progress) err << "\r\033[K" << std::flush;
  if (accesses == 0) {
    err << "knobctl: " << path << " has no keys\n";
    return kKnobctlDaemonError;
  }
  if (sampled == 0) {
    err << "knobctl: no key of " << path << " fell into the sample; raise --sample-rate\n";
    return kKnobctlDaemonError;
  }
  // A hit at cache size C needs distance < C: bucket b's upper bound is 2^b objects.
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  size_t last = 0;
  for (size_t b = 0; b < buckets.size(); ++b)
    if (buckets[b] > 0) last = b;
  for (size_t b = 0; b <= last; ++b) {
    bounds.push_back(std::ldexp(1.0, static_cast<int>(b)));
    counts.push_back(static_cast<uint64_t>(std::llround(buckets[b] * 1000)));
  }
  auto mrc = MissRatioCurve::FromHistogram(bounds, counts,
                                           static_cast<uint64_t>(std::llround(cold * 1000)));
  if (!mrc.ok()) {
    err << "knobctl: " << mrc.status().message() << '\n';
    return kKnobctlDaemonError;
  }
  const double final_rate = static_cast<double>(threshold) / kModulus;
  const double max_size = bounds.empty() ? 1 : bounds.back();
  std::vector<double> sizes;
  for (int i = 1; i <= 20; ++i) sizes.push_back(std::ceil(max_size * i / 20));
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  if (req.json) {
    json curve = json::array();
    for (double s : sizes) curve.push_back({{"size", s}, {"miss_ratio", mrc->MissRatio(s)}});
    json needs = json::object();
    for (double t : {0.5, 0.8, 0.9, 0.95, 0.99}) {
      auto s = mrc->SmallestSizeForHitRatio(t);
      needs[Num(t)] = s ? json(std::ceil(*s)) : json();
    }
    out << Dump({{"model", "mrc"},
                 {"file", path},
                 {"accesses", accesses},
                 {"sampled_accesses", sampled},
                 {"sample_rate", final_rate},
                 {"sampled_keys", keys.size()},
                 {"curve", curve},
                 {"size_for_hit_ratio", needs}})
        << '\n';
    return kKnobctlOk;
  }
  out << "LRU miss-ratio curve of " << accesses << " accesses (" << sampled
      << " sampled, final rate " << Num(final_rate) << ", " << keys.size()
      << " keys kept), size in objects\n";
  out << "      size  miss_ratio  hit_ratio\n";
  for (double s : sizes) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%10g %11.4f %10.4f\n", s, mrc->MissRatio(s), mrc->HitRatio(s));
    out << buf;
  }
  for (double t : {0.5, 0.8, 0.9, 0.95, 0.99}) {
    if (auto s = mrc->SmallestSizeForHitRatio(t))
      out << "hit ratio " << Num(t) << " needs " << std::ceil(*s) << " objects\n";
    else
      out << "hit ratio " << Num(t) << " is unreachable (cold misses)\n";
  }
  return kKnobctlOk;
}

}  // namespace

int RunAnalyzeCli(const AnalyzeRequest& req, std::ostream& out, std::ostream& err) {
  const char* usage =
      "usage: knobctl analyze usl FILE.csv [--plot PNG] [--json]\n"
      "       knobctl analyze mrc TRACE [--sample-rate R] [--json]\n";
  if (req.args.size() == 2 && req.args[0] == "usl") return Usl(req, out, err);
  if (req.args.size() == 2 && req.args[0] == "mrc") return Mrc(req, out, err);
  err << usage;
  return kKnobctlUsage;
}

}  // namespace knob::ctl
