// SPDX-License-Identifier: Apache-2.0
// knob-example-service: a real multi-threaded service that knobd can tune. It serves
// "GET <key>\n" over loopback TCP (answer "OK <bytes>\n", or "ERR busy\n" when the in-flight
// limit is reached). Each request: an LRU cache lookup (Zipf keys come from the load
// generator), on a miss a fetch over a pooled connection from the loopback backend (a real
// blocking wait), real CPU work, and a section under one contended lock. Four knobs, applied
// live: worker_threads, backend_pool, concurrency_limit, cache_bytes. Registers with knobd as
// "example-service" (config/knobd.yaml).
//
// --regress-above KNOB=VALUE:DELAY_US plants a regression no model can predict: while KNOB is
// above VALUE, every request waits DELAY_US more (a sleep on the worker, as if a bigger setting
// tripped a slower code path). The end-to-end tests use it to prove that knobd rolls back a bad
// step. KNOB is one of the four knobs; empty (the default) plants nothing.
// --cache-sample-rate R is the SHARDS rate of the cache's reuse-distance sampler (0.01; a small
// key space needs a higher rate for enough sampled keys).
//
//   knob-example-service --port 7070 --socket build/run/control.sock
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bench/example_service/service.h"
#include "knob/client.h"

namespace {

using namespace knob::example;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

struct Flags {
  std::map<std::string, std::string> values = {
      {"port", "7070"},           {"backend-port", "0"},  {"backend-delay-us", "2000"},
      {"value-bytes", "4096"},    {"cpu-work-us", "200"}, {"lock-hold-us", "20"},
      {"workers", "4"},           {"backend-pool", "4"},  {"concurrency-limit", "256"},
      {"cache-bytes", "8388608"}, {"socket", ""},         {"name", "example-service"},
      {"duration", "0"},          {"regress-above", ""},  {"cache-sample-rate", "0.01"}};
  double Num(const std::string& k) const { return std::strtod(values.at(k).c_str(), nullptr); }
  const std::string& Str(const std::string& k) const { return values.at(k); }
};

void Usage(const Flags& f) {
  std::fprintf(stderr, "usage: knob-example-service [--FLAG VALUE]...\nflags (defaults):\n");
  for (const auto& [k, v] : f.values)
    std::fprintf(stderr, "  --%-18s %s\n", k.c_str(), v.empty() ? "(empty)" : v.c_str());
  std::fprintf(stderr,
               "--backend-port 0 starts a backend thread in this process; --socket empty uses "
               "$KNOBD_SOCKET or /run/knobd/control.sock; --duration 0 runs until SIGTERM\n");
}

bool ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return false;
    if (a.rfind("--", 0) != 0) return false;
    std::string k = a.substr(2), v;
    if (auto eq = k.find('='); eq != std::string::npos) {
      v = k.substr(eq + 1);
      k = k.substr(0, eq);
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return false;
    }
    if (!f.values.count(k)) {
      std::fprintf(stderr, "unknown flag --%s\n", k.c_str());
      return false;
    }
    f.values[k] = v;
  }
  return true;
}

// Burns CPU for about `us` microseconds doing work the compiler cannot drop.
uint64_t CpuWork(std::chrono::microseconds us, uint64_t seed) {
  auto end = Clock::now() + us;
  uint64_t h = seed | 1;
  while (Clock::now() < end)
    for (int i = 0; i < 64; ++i) h = h * 6364136223846793005ull + 1442695040888963407ull;
  return h;
}

// The planted regression of --regress-above KNOB=VALUE:DELAY_US.
struct Regression {
  std::string knob;
  double above = 0;
  std::chrono::microseconds delay{0};
};

std::optional<Regression> ParseRegression(const std::string& spec) {
  auto eq = spec.find('='), colon = spec.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) return std::nullopt;
  Regression r;
  r.knob = spec.substr(0, eq);
  char* end = nullptr;
  std::string value = spec.substr(eq + 1, colon - eq - 1), delay = spec.substr(colon + 1);
  r.above = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') return std::nullopt;
  double us = std::strtod(delay.c_str(), &end);
  if (delay.empty() || *end != '\0' || us < 0) return std::nullopt;
  r.delay = std::chrono::microseconds(static_cast<int64_t>(us));
  if (r.knob != "worker_threads" && r.knob != "backend_pool" && r.knob != "concurrency_limit" &&
      r.knob != "cache_bytes")
    return std::nullopt;
  return r;
}

struct Conn {
  int fd;
  std::mutex write_mu;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    Usage(flags);
    return 2;
  }
  std::optional<Regression> regression;
  if (!flags.Str("regress-above").empty()) {
    regression = ParseRegression(flags.Str("regress-above"));
    if (!regression) {
      std::fprintf(stderr,
                   "--regress-above wants KNOB=VALUE:DELAY_US with KNOB one of worker_threads, "
                   "backend_pool, concurrency_limit, cache_bytes\n");
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });

  std::unique_ptr<Backend> backend;
  auto backend_port = static_cast<uint16_t>(flags.Num("backend-port"));
  if (backend_port == 0) {
    backend = std::make_unique<Backend>(
        0, std::chrono::microseconds(static_cast<int64_t>(flags.Num("backend-delay-us"))),
        static_cast<uint64_t>(flags.Num("value-bytes")));
    if (!backend->ok()) {
      std::fprintf(stderr, "cannot start the backend: %s\n", std::strerror(errno));
      return 1;
    }
    backend_port = backend->port();
  }

  WorkerPool workers(static_cast<int>(flags.Num("workers")));
  BackendPool pool(backend_port, static_cast<int>(flags.Num("backend-pool")));
  ByteCache cache(static_cast<uint64_t>(flags.Num("cache-bytes")));
  std::atomic<int> limit{static_cast<int>(flags.Num("concurrency-limit"))};
  std::atomic<int> in_flight{0};
  std::mutex contended;
  const auto cpu_us = std::chrono::microseconds(static_cast<int64_t>(flags.Num("cpu-work-us")));
  const auto hold_us = std::chrono::microseconds(static_cast<int64_t>(flags.Num("lock-hold-us")));
  // The planted regression's knob, read live on every request.
  auto regressed = [&]() {
    if (!regression) return false;
    double v = 0;
    if (regression->knob == "worker_threads")
      v = workers.size();
    else if (regression->knob == "backend_pool")
      v = pool.size();
    else if (regression->knob == "concurrency_limit")
      v = limit.load();
    else
      v = static_cast<double>(cache.capacity());
    return v > regression->above;
  };

  knob::ClientOptions opts;
  opts.name = flags.Str("name");
  opts.socket_path = flags.Str("socket");
  knob::Client client(opts);
  client.RegisterKnob({"worker_threads", static_cast<double>(workers.size()), 1, 64, "threads"},
                      [&](double v) {
                        workers.Resize(static_cast<int>(v));
                        return knob::SetResult::Applied(workers.size());
                      });
  client.RegisterKnob({"backend_pool", static_cast<double>(pool.size()), 1, 64, "connections"},
                      [&](double v) {
                        pool.Resize(static_cast<int>(v));
                        return knob::SetResult::Applied(pool.size());
                      });
  client.RegisterKnob({"concurrency_limit", static_cast<double>(limit.load()), 1, 4096, "requests"},
                      [&](double v) {
                        limit = static_cast<int>(v);
                        return knob::SetResult::Applied();
                      });
  client.RegisterKnob(
      {"cache_bytes", static_cast<double>(cache.capacity()), 65536, 1 << 30, "bytes"},
      [&](double v) {
        cache.SetCapacity(static_cast<uint64_t>(v));
        return knob::SetResult::Applied();
      });
  auto& cache_stats = client.cache("main", flags.Num("cache-sample-rate"));
  if (!client.Start().ok()) std::fprintf(stderr, "knob client did not start; serving anyway\n");

  uint16_t port = 0;
  int listen_fd = ListenTcp(static_cast<uint16_t>(flags.Num("port")), &port);
  if (listen_fd < 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%s: %s\n", flags.Str("port").c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "knob-example-service: serving on 127.0.0.1:%u, backend 127.0.0.1:%u\n",
               port, backend_port);

  // Gauges for the reports.
  std::thread gauges([&] {
    while (!g_stop) {
      auto& w = client.pool("workers");
      w.size = workers.size();
      w.busy = workers.busy();
      w.waiters = static_cast<double>(workers.queued());
      auto& b = client.pool("backend");
      b.size = pool.size();
      b.busy = pool.busy();
      b.waiters = pool.waiters();
      client.SetInFlight(in_flight.load());
      client.SetQueueDepth(static_cast<double>(workers.queued()));
      cache_stats.SetBytes(static_cast<double>(cache.bytes()));
      cache_stats.SetCapacity(static_cast<double>(cache.capacity()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  std::mutex conns_mu;
  std::vector<std::thread> readers;
  std::vector<std::shared_ptr<Conn>> conns;
  std::thread acceptor([&] {
    while (!g_stop) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      auto conn = std::make_shared<Conn>();
      conn->fd = fd;
      std::lock_guard<std::mutex> lock(conns_mu);
      conns.push_back(conn);
      readers.emplace_back([&, conn] {
        std::string buf, line;
        while (!g_stop && ReadLine(conn->fd, buf, line)) {
          auto t0 = Clock::now();
          if (line.rfind("GET ", 0) != 0) {
            std::lock_guard<std::mutex> w(conn->write_mu);
            WriteAll(conn->fd, "ERR bad request\n");
            continue;
          }
          if (in_flight.fetch_add(1) >= limit.load()) {
            in_flight.fetch_sub(1);
            client.RecordError();
            std::lock_guard<std::mutex> w(conn->write_mu);
            WriteAll(conn->fd, "ERR busy\n");
            continue;
          }
          std::string key = line.substr(4);
          workers.Submit([&, conn, key, t0] {
            uint64_t size = 0;
            bool ok = true;
            if (cache.Get(key)) {
              cache_stats.Hit();
              size = static_cast<uint64_t>(flags.Num("value-bytes"));
            } else {
              cache_stats.Miss();
              auto fetched = pool.Fetch(key);
              if (fetched) {
                size = *fetched;
                cache.Put(key, size);
              } else {
                ok = false;
              }
            }
            cache_stats.Access(key, size == 0 ? 1 : size);
            if (regressed()) std::this_thread::sleep_for(regression->delay);
            uint64_t h = CpuWork(cpu_us, std::hash<std::string>{}(key));
            {
              std::lock_guard<std::mutex> l(contended);
              h ^= CpuWork(hold_us, h);
            }
            std::string reply =
                ok ? "OK " + std::to_string(size) + " " + std::to_string(h & 0xff) + "\n"
                   : "ERR backend\n";
            {
              std::lock_guard<std::mutex> w(conn->write_mu);
              WriteAll(conn->fd, reply);
            }
            if (ok)
              client.RecordRequest(Clock::now() - t0);
            else
              client.RecordError();
            in_flight.fetch_sub(1);
          });
        }
      });
    }
  });

  double duration = flags.Num("duration");
  auto start = Clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (duration > 0 && Clock::now() - start > std::chrono::duration<double>(duration)) break;
  }
  g_stop = true;
  std::fprintf(stderr, "knob-example-service: stopping\n");
  shutdown(listen_fd, SHUT_RDWR);
  acceptor.join();
  {
    std::lock_guard<std::mutex> lock(conns_mu);
    for (auto& c : conns) shutdown(c->fd, SHUT_RDWR);
  }
  for (auto& t : readers) t.join();
  gauges.join();
  // Order matters: no job may run once the client or the sockets are gone.
  workers.Shutdown();
  client.Stop();
  for (auto& c : conns) close(c->fd);
  close(listen_fd);
  return 0;
}
