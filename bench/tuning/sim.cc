// SPDX-License-Identifier: Apache-2.0
// The service model of sim.h. Every formula is in the header; here are the solver's choices.
#include "bench/tuning/sim.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace knob::tuning {
namespace {

double KnobOr(const Knobs& k, const char* name, double fallback) {
  auto it = k.find(name);
  return it == k.end() ? fallback : it->second;
}

// Generalized harmonic number sum_{i=1..m} i^-s by Euler-Maclaurin (error < 1e-3 relative for
// the sizes used here), so a hit ratio costs O(1) instead of a pass over the key space.
double Harmonic(double m, double s) {
  if (m <= 0) return 0;
  if (m < 1) return m;  // a fraction of the hottest key
  double integral = std::abs(s - 1) < 1e-9 ? std::log(m) : (std::pow(m, 1 - s) - 1) / (1 - s);
  return integral + 0.5 * (1 + std::pow(m, -s)) + s / 12 * (1 - std::pow(m, -s - 1));
}

struct Stage {
  double x = 0;          // completions per second
  double t = 0;          // worker-holding time per request (seconds)
  double k = 0;          // busy backend connections
  double wpool = 0;      // wait for a connection (seconds, inside the worker)
  double cpu = 0;        // cores used
  double intrinsic = 0;  // CPU + backend time without any wait (seconds)
};

// Throughput with n requests holding workers.
Stage Eval(const Conditions& c, double n, double pool, double miss) {
  Stage s;
  if (n <= 0) return s;
  const double m = c.backend_seconds > 0 ? miss : 0;
  const double nn = std::max(1.0, n);
  const double cpu = c.cpu_seconds * (1 + c.alpha * (nn - 1) + c.beta * nn * (nn - 1));
  const double cores = std::max(0.05, c.cores);
  auto backend = [&](double k) {
    double over = std::max(0.0, k - c.backend_knee);
    return c.backend_seconds * (1 + c.backend_slope * over + c.backend_retro * over * over);
  };
  double k = 0;
  double x = 0;
  for (int i = 0; i < 40; ++i) {
    double b = backend(k);
    // Little's law on the CPU: when the workers want more than the cores, X c = cores and
    // the CPU phase stretches (sigma > 1) to hold the remaining concurrency.
    double xs = std::min(n / (cpu + m * b), cores / cpu);
    double kdem = xs * m * b;
    double knew = std::min(kdem, pool);
    if (kdem > pool) xs = std::min(xs, pool / (m * backend(pool)));
    x = i == 0 ? xs : 0.5 * x + 0.5 * xs;
    k = i == 0 ? knew : 0.5 * k + 0.5 * knew;
  }
  s.x = x;
  s.k = k;
  s.t = n / x;
  // The time a request holds its worker beyond CPU and backend is a wait: for the CPU when the
  // cores bind, else for a connection.
  const bool cpu_bound = x * cpu >= cores * 0.999;
  s.wpool = m > 0 && !cpu_bound ? std::max(0.0, (s.t - cpu) / m - backend(k)) : 0;
  s.cpu = std::min(cores, x * cpu);
  s.intrinsic = cpu + m * backend(k);
  return s;
}

}  // namespace

double Simulator::HitRatio(const Conditions& c, double cache_bytes) {
  if (!c.cache) return 0;
  double items = std::min(c.keys, cache_bytes / c.item_bytes);
  return Harmonic(items, c.zipf_s) / Harmonic(c.keys, c.zipf_s);
}

Simulator::Simulator(std::function<Conditions(double)> conditions, uint64_t seed,
                     double start_seconds)
    : conditions_(std::move(conditions)), rng_(seed), t_(start_seconds) {}

Truth Simulator::Solve(const Conditions& c, const Knobs& knobs, double backlog, double& backlog_out,
                       double t) {
  const double workers = std::max(1.0, std::round(KnobOr(knobs, kWorkers, 8)));
  const double pool = std::max(1.0, std::round(KnobOr(knobs, kPool, 64)));
  const double limit =
      std::max(1.0, std::round(KnobOr(knobs, kLimit, std::numeric_limits<double>::infinity())));
  const double cache_bytes = std::max(0.0, KnobOr(knobs, kCache, 0));
  const double hit = HitRatio(c, cache_bytes);
  const double miss = c.cache ? 1 - hit : 1;
  const double cap_n = std::min(workers, limit);
  Truth tr;
  tr.hit_ratio = hit;
  tr.memory_bytes = c.base_rss_bytes + (c.cache ? std::min(cache_bytes, c.keys * c.item_bytes) : 0);
  const double service_min = Eval(c, 1, pool, miss).t;
  double random_wait = 0, queued_wait = 0;
  Stage st;
  backlog_out = 0;
  if (!c.closed_loop) {
    double lambda = c.rate;
    if (c.burst_every_seconds > 0 && std::fmod(t, c.burst_every_seconds) < c.burst_seconds)
      lambda *= c.burst_factor;
    Stage sat = Eval(c, cap_n, pool, miss);
    double want = lambda + backlog;  // backlog drains within the second when it can
    if (want < sat.x * 0.995) {
      double lo = 0, hi = cap_n;
      for (int i = 0; i < 50; ++i) {
        double mid = 0.5 * (lo + hi);
        (Eval(c, mid, pool, miss).x < want ? lo : hi) = mid;
      }
      st = Eval(c, hi, pool, miss);
      st.x = want;
      double u = std::min(0.99, want / sat.x);
      double servers = std::max(1.0, cap_n);
      random_wait = st.t * std::pow(u, std::sqrt(2 * (servers + 1))) / (servers * (1 - u));
      tr.goodput = want;
      tr.in_flight = hi;
    } else {
      st = sat;
      double q = backlog + (lambda - sat.x);
      // The limit rejects past L requests in the service; clients give up past the timeout.
      double room = std::max(0.0, limit - workers);
      double q_cap = std::min(room, sat.x * c.timeout_seconds);
      double lost = std::max(0.0, q - q_cap);
      backlog_out = std::min(q, q_cap);
      tr.goodput = sat.x;
      tr.errors = lost;
      tr.in_flight = cap_n + backlog_out;
      tr.queued = backlog_out;
      queued_wait = backlog_out / sat.x;
      random_wait = st.t * 0.5;  // a saturated pool: the tail of the queue it just drained
    }
  } else {
    // Root of g(x) = f(min(W, L, N - x Z)) - x, decreasing in x.
    auto admitted = [&](double x) {
      return std::clamp(c.clients - x * c.think_seconds, 0.0, std::min(limit, c.clients));
    };
    double hi = Eval(c, std::min(cap_n, c.clients), pool, miss).x * 1.01 + 1, lo = 0;
    for (int i = 0; i < 50; ++i) {
      double mid = 0.5 * (lo + hi);
      double n = std::min(workers, admitted(mid));
      (Eval(c, n, pool, miss).x > mid ? lo : hi) = mid;
    }
    double x = lo;
    double n_adm = admitted(x);
    double n_serv = std::min(workers, n_adm);
    st = Eval(c, n_serv, pool, miss);
    st.x = x;
    tr.goodput = x;
    double free_clients = c.clients - x * c.think_seconds;
    if (free_clients > limit && c.think_seconds > 0)
      tr.errors = (free_clients - limit) / c.think_seconds;
    else if (free_clients > limit)
      tr.errors = x;  // zero think time: every bounced client retries at once
    tr.in_flight = n_adm;
    tr.queued = n_adm - n_serv;
    queued_wait = x > 0 ? (n_adm - n_serv) / x : 0;
  }
  tr.workers_busy = st.x > 0 ? std::min(workers, tr.in_flight - tr.queued) : 0;
  tr.backend_busy = st.k;
  tr.backend_waiters = st.x * (c.backend_seconds > 0 ? miss : 0) * st.wpool;
  tr.cpu_cores = st.cpu;
  // Waits inside the worker (for a core or a connection) are FIFO behind a standing queue:
  // their spread is small next to the service time's own tail.
  double intrinsic = st.x > 0 ? std::max(service_min, st.intrinsic) : service_min;
  double held_wait = std::max(0.0, st.t - intrinsic);
  double wait_seen = c.queue_in_latency ? queued_wait : 0;
  tr.mean_seconds = intrinsic + held_wait + random_wait + wait_seen;
  tr.p99_seconds = c.tail * intrinsic + 1.5 * (held_wait + wait_seen) + 4.6 * random_wait;
  return tr;
}

Truth Simulator::Tick(const Knobs& knobs) {
  Conditions c = conditions_(t_);
  double next_backlog = 0;
  Truth tr = Solve(c, knobs, backlog_, next_backlog, t_);
  backlog_ = next_backlog;
  std::normal_distribution<double> n01(0, 1);
  const double innov = std::sqrt(1 - c.noise_phi * c.noise_phi) * c.noise;
  noise_x_ = c.noise_phi * noise_x_ + innov * n01(rng_);
  noise_l_ = c.noise_phi * noise_l_ + innov * n01(rng_);
  double x = std::max(0.0, tr.goodput * (1 + noise_x_));
  requests_ += x;
  errors_ += tr.errors;
  cpu_seconds_ += tr.cpu_cores;
  hits_ += x * tr.hit_ratio;
  misses_ += x * (1 - tr.hit_ratio);
  host_total_ += c.cores + c.host_other_busy_cores;
  host_busy_ += tr.cpu_cores + c.host_other_busy_cores;
  last_ = tr;
  last_c_ = c;
  last_knobs_ = knobs;
  t_ += 1;
  return tr;
}

TargetSnapshot Simulator::Report(const std::vector<std::string>& reported) const {
  const Conditions& c = last_c_;
  const Truth& tr = last_;
  TargetSnapshot t;
  t.name = "svc";
  t.state = TargetState::kActive;
  t.processes.push_back({4242, 1});
  AppReport a;
  a.requests_total = requests_;
  a.errors_total = errors_;
  a.in_flight = tr.in_flight;
  a.queue_depth = tr.queued;
  const double noisy = 1 + noise_l_;
  const double p99 = std::max(1e-6, tr.p99_seconds * noisy);
  const double mean = std::max(1e-6, tr.mean_seconds * noisy);
  a.latency_p50_seconds = mean * 0.8;
  a.latency_p90_seconds = mean + (p99 - mean) * 0.5;
  a.latency_p99_seconds = p99;
  // An exponential-tailed distribution with this mean and p99, in fixed buckets.
  const double completions = std::max(0.0, tr.goodput * (1 + noise_x_));
  a.latency_sum_seconds = completions * mean;
  double bound = 0.0005;
  const double shift = std::max(0.0, mean - (p99 - mean) / 3.6);
  const double scale = std::max(1e-6, mean - shift);
  double prev_cdf = 0;
  for (int i = 0; i < 16; ++i, bound *= 2) {
    double cdf = bound <= shift ? 0 : 1 - std::exp(-(bound - shift) / scale);
    if (i == 15) cdf = 1;
    a.latency_bucket_bounds_seconds.push_back(bound);
    a.latency_bucket_counts.push_back(static_cast<uint64_t>(completions * (cdf - prev_cdf)));
    prev_cdf = cdf;
  }
  double workers = last_knobs_.count(kWorkers) ? last_knobs_.at(kWorkers) : 8;
  a.pools["workers"] = {workers, tr.workers_busy, tr.queued};
  if (c.backend_seconds > 0) {
    double pool = last_knobs_.count(kPool) ? last_knobs_.at(kPool) : 64;
    a.pools["backend"] = {pool, tr.backend_busy, tr.backend_waiters};
  }
  if (c.cache) {
    AppReport::Cache cache;
    cache.hits_total = hits_;
    cache.misses_total = misses_;
    double cap = last_knobs_.count(kCache) ? last_knobs_.at(kCache) : 0;
    cache.capacity_bytes = cap;
    cache.bytes = std::min(cap, c.keys * c.item_bytes);
    // SHARDS-style sampled reuse distances at rate 1%: cumulative accesses per bucket, the
    // bucket share being the stack-distance CDF of the Zipf key space.
    cache.sample_rate = 0.01;
    double sampled = (hits_ + misses_) * cache.sample_rate;
    double prev = 0;
    double b = c.item_bytes * 16;
    for (int i = 0; i < 24 && prev < 0.9999; ++i, b *= 1.6) {
      double h = HitRatio(c, b);
      cache.reuse_bounds_bytes.push_back(b);
      cache.reuse_counts.push_back(static_cast<uint64_t>(sampled * (h - prev)));
      prev = h;
    }
    cache.reuse_cold = static_cast<uint64_t>(sampled * std::max(0.0, 1 - prev));
    a.caches["main"] = cache;
  }
  for (const std::string& k : reported) {
    auto it = last_knobs_.find(k);
    if (it != last_knobs_.end()) a.knobs[k] = it->second;
  }
  t.app = a;
  CpuStats cpu;
  cpu.user_seconds = cpu_seconds_;
  cpu.threads = static_cast<uint32_t>(workers + 2);
  cpu.allowed_cpus = static_cast<uint32_t>(std::ceil(c.cores));
  t.cpu = cpu;
  MemoryStats mem;
  mem.rss_bytes = static_cast<uint64_t>(tr.memory_bytes);
  t.memory = mem;
  return t;
}

HostSnapshot Simulator::Host() const {
  HostSnapshot h;
  const Conditions& c = last_c_;
  h.online_cpus = static_cast<uint32_t>(std::ceil(c.cores + c.host_other_busy_cores));
  double demand = last_.cpu_cores + c.host_other_busy_cores;
  double avail = c.cores + c.host_other_busy_cores;
  PressureLine some;
  some.avg10 = std::clamp(100 * (demand / avail - 0.7) / 0.3, 0.0, 100.0);
  h.pressure.cpu = Pressure{some, std::nullopt};
  h.load1 = demand;
  h.cpu_busy_seconds = {host_busy_};
  h.cpu_total_seconds = {host_total_};
  return h;
}

}  // namespace knob::tuning
