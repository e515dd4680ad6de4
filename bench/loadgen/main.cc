// SPDX-License-Identifier: Apache-2.0
// knob-loadgen: load generator for knob-example-service. Keys follow a Zipf distribution
// (a few hot keys, a long tail), so the service's cache size matters.
//   closed loop (default): --connections N clients, each sends the next request when the
//                          previous answer arrives
//   open loop (--rate R):  R requests/s in total, on a fixed schedule; latency is measured
//                          from the scheduled send time, so a stalled server is not hidden
//                          (no coordinated omission)
// Runs for --duration seconds (0: until SIGTERM), then prints throughput and p50/p99.
// --series FILE appends one CSV line per second: unix time, successful requests, errors and the
// p99 of that second's successful requests in ms (the real runs of bench/tuning/real.sh score
// tuners from it).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/example_service/service.h"

namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};

class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      acc += 1.0 / std::pow(static_cast<double>(i + 1), s) / sum;
      cdf_[i] = acc;
    }
  }
  size_t Next(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> f = {
      {"port", "7070"},   {"connections", "16"}, {"duration", "10"},    {"rate", "0"},
      {"keys", "100000"}, {"zipf", "0.99"},      {"report-every", "0"}, {"series", ""}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string k = a.rfind("--", 0) == 0 ? a.substr(2) : "";
    if (k.empty() || !f.count(k) || i + 1 >= argc) {
      std::fprintf(stderr, "usage: knob-loadgen [--FLAG VALUE]...\nflags (defaults):\n");
      for (const auto& [n, v] : f) std::fprintf(stderr, "  --%-13s %s\n", n.c_str(), v.c_str());
      std::fprintf(stderr, "--rate 0 is a closed loop; --duration 0 runs until SIGTERM\n");
      return 2;
    }
    f[k] = argv[++i];
  }
  auto num = [&](const char* k) { return std::strtod(f[k].c_str(), nullptr); };
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });

  const auto port = static_cast<uint16_t>(num("port"));
  const int conns = std::max(1, static_cast<int>(num("connections")));
  const double rate = num("rate");
  const double duration = num("duration");
  Zipf zipf(static_cast<size_t>(std::max(1.0, num("keys"))), num("zipf"));

  std::mutex mu;
  std::vector<double> latencies;  // seconds, successful requests
  const bool series = !f["series"].empty();
  std::mutex second_mu;
  std::vector<double> second_latencies;  // this second's, for --series
  std::atomic<uint64_t> ok{0}, errors{0}, disconnects{0};
  auto start = Clock::now();
  auto end = duration > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(duration))
                          : Clock::time_point::max();

  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 17);
      std::vector<double> mine;
      auto interval = rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(conns / rate))
                               : Clock::duration::zero();
      auto next = Clock::now() + interval * c / conns;
      int fd = -1;
      std::string buf, line;
      while (!g_stop && Clock::now() < end) {
        if (fd < 0) {
          fd = knob::example::ConnectTcp(port);
          if (fd < 0) {
            ++disconnects;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            continue;
          }
          buf.clear();
        }
        auto sent_at = Clock::now();
        if (rate > 0) {
          if (next > sent_at) std::this_thread::sleep_until(next);
          sent_at = next;  // measure from the schedule, not from when we got around to it
          next += interval;
        }
        std::string req = "GET key-" + std::to_string(zipf.Next(rng)) + "\n";
        if (!knob::example::WriteAll(fd, req) || !knob::example::ReadLine(fd, buf, line)) {
          close(fd);
          fd = -1;
          ++disconnects;
          continue;
        }
        if (line.rfind("OK", 0) == 0) {
          ++ok;
          mine.push_back(std::chrono::duration<double>(Clock::now() - sent_at).count());
          if (series) {
            std::lock_guard<std::mutex> lock(second_mu);
            second_latencies.push_back(mine.back());
          }
        } else {
          ++errors;
        }
      }
      if (fd >= 0) close(fd);
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  double every = num("report-every");
  std::ofstream series_out;
  if (series) {
    series_out.open(f["series"], std::ios::app);
    if (!series_out) {
      std::fprintf(stderr, "knob-loadgen: cannot open --series %s\n", f["series"].c_str());
      g_stop = true;
    }
  }
  auto second_start = Clock::now();
  uint64_t second_ok = 0, second_errors = 0;
  while (!g_stop && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (series && Clock::now() - second_start >= std::chrono::seconds(1)) {
      std::vector<double> lat;
      {
        std::lock_guard<std::mutex> lock(second_mu);
        lat.swap(second_latencies);
      }
      std::sort(lat.begin(), lat.end());
      double p99 = lat.empty() ? 0 : lat[std::min(lat.size() - 1, lat.size() * 99 / 100)] * 1e3;
      const uint64_t now_ok = ok, now_errors = errors;
      const double dt = std::chrono::duration<double>(Clock::now() - second_start).count();
      char line[128];
      std::snprintf(
          line, sizeof line, "%.3f,%.1f,%.1f,%.3f\n",
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count(),
          static_cast<double>(now_ok - second_ok) / dt,
          static_cast<double>(now_errors - second_errors) / dt, p99);
      series_out << line << std::flush;
      second_start = Clock::now();
      second_ok = now_ok;
      second_errors = now_errors;
    }
    static auto last = Clock::now();
    static uint64_t last_ok = 0;
    if (every > 0 && Clock::now() - last >= std::chrono::duration<double>(every)) {
      double dt = std::chrono::duration<double>(Clock::now() - last).count();
      std::fprintf(stderr, "knob-loadgen: %.0f req/s\n", static_cast<double>(ok - last_ok) / dt);
      last = Clock::now();
      last_ok = ok;
    }
  }
  g_stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    if (latencies.empty()) return 0.0;
    size_t i = std::min(latencies.size() - 1,
                        static_cast<size_t>(q * static_cast<double>(latencies.size())));
    return latencies[i] * 1e3;
  };
  std::printf("mode         %s\n", rate > 0 ? "open loop" : "closed loop");
  std::printf("connections  %d\n", conns);
  std::printf("duration     %.1f s\n", elapsed);
  std::printf("requests     %llu ok, %llu errors, %llu reconnects\n",
              static_cast<unsigned long long>(ok.load()),
              static_cast<unsigned long long>(errors.load()),
              static_cast<unsigned long long>(disconnects.load()));
  std::printf("throughput   %.1f req/s\n", static_cast<double>(ok.load()) / elapsed);
  std::printf("latency      p50 %.3f ms  p99 %.3f ms\n", pct(0.50), pct(0.99));
  return ok.load() > 0 ? 0 : 1;
}
