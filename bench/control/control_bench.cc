// SPDX-License-Identifier: Apache-2.0
// Control-plane benchmark (issue 12, docs/benchmarks.md "Control plane"): the real ControlServer
// on its real libuv loop thread, real Unix sockets, real clients.
//   fanout:  N knob::Client instances (one thread each, as N services would run them) are
//            connected; each round, the loop thread publishes one `set` per target through
//            ClientRegistry::Publish, exactly as the tick does, and each client's OnSet
//            callback stamps when the set arrived. Reported: publish-to-callback latency over
//            every (round, target), and the time until the last of the N had it.
//   publish: the registry alone (no sockets, a transport that drops what it is given): N
//            registered clients, each round one Publish per target. Reported: CPU time per
//            Publish, which is the part of a fan-out that knobd's own data structures decide.
//   reports: C raw connections say hello, then each sends R pre-encoded reports as fast as the
//            socket takes them (the per-client rate limit is off, so this measures the server,
//            not the limiter). Reported: reports handled per second of wall time and per second
//            of the loop thread's own CPU time (the server runs on that one thread).
// knobd's own log lines (info: one per registration and per ack) are written, as knobd writes
// them, to a file beside the socket rather than the terminal.
// Usage: knob_control_bench fanout [TARGETS [ROUNDS]]
//        knob_control_bench publish [TARGETS [ROUNDS]]
//        knob_control_bench reports [CONNECTIONS [REPORTS_PER_CONNECTION]]

#include <prometheus/registry.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/codec.h"
#include "daemon/control/client_registry.h"
#include "daemon/control/server.h"
#include "daemon/loop/async.h"
#include "knob/client.h"

namespace knob {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string Name(const char* prefix, int i) { return prefix + std::to_string(i); }

// One policy target per registered name, in apply mode, so every set waits for its ack.
std::shared_ptr<const Policy> BenchPolicy(const std::string& socket, const char* prefix, int n,
                                          double rate_limit) {
  Policy p;
  p.source = "<control bench>";
  p.global.mode = Mode::kApply;
  p.global.tick_interval = std::chrono::seconds(1);
  p.global.control.socket_path = socket;
  p.global.control.socket_mode = 0600;
  p.global.control.max_clients = static_cast<uint32_t>(n + 16);
  p.global.control.max_messages_per_second = rate_limit;
  for (int i = 0; i < n; ++i) {
    TargetPolicy t;
    t.name = Name(prefix, i);
    t.selector.registered = t.name;
    t.mode = Mode::kApply;
    p.targets.push_back(t);
  }
  return std::make_shared<const Policy>(std::move(p));
}

// The server on its own loop thread; OnLoop runs a function there and waits for it.
class Server {
 public:
  explicit Server(std::shared_ptr<const Policy> policy) {
    server_ = std::make_unique<ControlServer>(loop_, SystemClock::Instance(), &registry_);
    server_->SetPolicy(std::move(policy));
    Status s = server_->Start();
    if (!s.ok()) {
      std::fprintf(stderr, "control bench: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    async_ = std::make_unique<Async>(loop_, [this] { Drain(); });
    thread_ = std::thread([this] { (void)loop_.Run(); });
  }
  ~Server() {
    OnLoop([this] {
      server_->Stop();
      loop_.Stop();
    });
    thread_.join();
    server_.reset();
    async_.reset();
  }
  ControlServer& server() { return *server_; }
  void OnLoop(const std::function<void()>& fn) {
    std::promise<void> done;
    auto fut = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.emplace_back([&] {
        fn();
        done.set_value();
      });
    }
    async_->Send();
    fut.wait();
  }
  bool WaitOnLoop(const std::function<bool()>& pred, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      bool ok = false;
      OnLoop([&] { ok = pred(); });
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  void Drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }
  prometheus::Registry registry_;
  Loop loop_;
  std::unique_ptr<ControlServer> server_;
  std::unique_ptr<Async> async_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
};

std::string TempSocket() {
  char tmpl[] = "/tmp/knob-control-bench-XXXXXX";
  const char* d = mkdtemp(tmpl);
  if (d == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  spdlog::set_default_logger(spdlog::basic_logger_mt("knobd", std::string(d) + "/knobd.log"));
  return std::string(d) + "/control.sock";
}

int Fanout(int targets, int rounds) {
  const std::string socket = TempSocket();
  Server server(BenchPolicy(socket, "t-", targets, 100));
  // arrived[round * targets + i]: when target i's callback saw round's set.
  std::vector<Clock::time_point> arrived(static_cast<size_t>(targets) * rounds);
  std::vector<std::atomic<int>> done(static_cast<size_t>(rounds));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < targets; ++i) {
    ClientOptions o;
    o.name = Name("t-", i);
    o.socket_path = socket;
    auto c = std::make_unique<Client>(o);
    c->RegisterKnob({"limit", 1, 0, 1e9, ""}, [&, i](double v) {
      const auto now = Clock::now();
      const int r = static_cast<int>(v) - 1;
      if (r >= 0 && r < rounds) {
        arrived[static_cast<size_t>(r) * targets + i] = now;
        done[static_cast<size_t>(r)].fetch_add(1);
      }
      return SetResult::Applied();
    });
    if (!c->Start().ok()) return 1;
    clients.push_back(std::move(c));
  }
  auto all_connected = [&] {
    return std::all_of(clients.begin(), clients.end(), [](auto& c) { return c->connected(); });
  };
  const auto connect_deadline = Clock::now() + std::chrono::seconds(60);
  while (!all_connected() && Clock::now() < connect_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!all_connected()) {
    std::fprintf(stderr, "fanout: not every client connected within 60 s\n");
    return 1;
  }
  std::vector<double> latency_ms, completion_ms, publish_ms, publish_cpu_ms;
  uint64_t id = 1;
  for (int r = 0; r < rounds; ++r) {
    Clock::time_point t0, t1;
    double cpu0 = 0, cpu1 = 0;
    server.OnLoop([&] {
      cpu0 = ThreadCpuSeconds();
      t0 = Clock::now();
      for (int i = 0; i < targets; ++i) {
        Recommendation rec;
        rec.id = id++;
        rec.target = Name("t-", i);
        rec.knob = "limit";
        rec.old_value = r;
        rec.new_value = r + 1;
        rec.reason = "control bench round " + std::to_string(r);
        rec.advisory = false;
        server.server().api().clients().Publish(rec);
      }
      t1 = Clock::now();
      cpu1 = ThreadCpuSeconds();
    });
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (done[static_cast<size_t>(r)].load() < targets && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (done[static_cast<size_t>(r)].load() < targets) {
      std::fprintf(stderr, "fanout: round %d: only %d of %d sets arrived in 10 s\n", r,
                   done[static_cast<size_t>(r)].load(), targets);
      return 1;
    }
    Clock::time_point last = t0;
    for (int i = 0; i < targets; ++i) {
      const auto at = arrived[static_cast<size_t>(r) * targets + i];
      latency_ms.push_back(Ms(at - t0));
      last = std::max(last, at);
    }
    completion_ms.push_back(Ms(last - t0));
    publish_ms.push_back(Ms(t1 - t0));
    publish_cpu_ms.push_back((cpu1 - cpu0) * 1e3);
    // Let the acks drain so each round starts from an idle server, as a tick would.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf(
      "fanout: %d targets x %d rounds: set latency p50 %.2f ms p99 %.2f ms max %.2f ms; "
      "all %d reached p50 %.2f ms p99 %.2f ms max %.2f ms; publish loop p50 %.2f ms wall, "
      "%.2f ms loop-thread CPU\n",
      targets, rounds, Quantile(latency_ms, 0.5), Quantile(latency_ms, 0.99),
      Quantile(latency_ms, 1), targets, Quantile(completion_ms, 0.5), Quantile(completion_ms, 0.99),
      Quantile(completion_ms, 1), Quantile(publish_ms, 0.5), Quantile(publish_cpu_ms, 0.5));
  for (auto& c : clients) c->Stop();
  return 0;
}

class DroppingTransport : public Transport {
 public:
  void Send(SessionId /*session*/, std::string encoded) override { bytes += encoded.size(); }
  void Close(SessionId /*session*/) override {}
  size_t bytes = 0;
};

int PublishOnly(int targets, int rounds) {
  spdlog::set_level(spdlog::level::warn);  // one info line per registration is not measured
  DroppingTransport transport;
  ClientRegistry registry(SystemClock::Instance(), transport);
  registry.SetPolicy(BenchPolicy("/nonexistent", "p-", targets, 100));
  for (int i = 0; i < targets; ++i) {
    protocol::Hello h;
    h.name = Name("p-", i);
    h.pid = 1000 + i;
    h.knobs.push_back({"limit", 1, 0, 1e9, ""});
    (void)registry.Register(static_cast<SessionId>(i + 1), h, getuid());
  }
  std::vector<double> per_publish_us;
  uint64_t id = 1;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Recommendation> recs;
    for (int i = 0; i < targets; ++i) {
      Recommendation rec;
      rec.id = id++;
      rec.target = Name("p-", i);
      rec.knob = "limit";
      rec.old_value = r;
      rec.new_value = r + 1;
      rec.reason = "control bench round " + std::to_string(r);
      recs.push_back(std::move(rec));
    }
    const double cpu0 = ThreadCpuSeconds();
    for (const auto& rec : recs) registry.Publish(rec);
    const double cpu1 = ThreadCpuSeconds();
    per_publish_us.push_back((cpu1 - cpu0) * 1e6 / targets);
    registry.ExpirePending();  // nothing is due; pending sets pile up as unacked ones would
  }
  std::printf(
      "publish: %d targets x %d rounds: CPU per Publish p50 %.2f us p99 %.2f us "
      "(%.2f ms per fan-out at p50)\n",
      targets, rounds, Quantile(per_publish_us, 0.5), Quantile(per_publish_us, 0.99),
      Quantile(per_publish_us, 0.5) * targets / 1e3);
  return transport.bytes > 0 ? 0 : 1;
}

int Reports(int connections, int per_connection) {
  const std::string socket = TempSocket();
  Server server(BenchPolicy(socket, "r-", connections, 0));
  std::vector<std::thread> senders;
  std::atomic<int> ready{0}, failed{0};
  std::atomic<bool> go{false};
  for (int c = 0; c < connections; ++c) {
    senders.emplace_back([&, c] {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        failed.fetch_add(1);
        ready.fetch_add(1);
        return;
      }
      protocol::Hello h;
      h.name = Name("r-", c);
      h.pid = getpid();
      h.knobs.push_back({"worker_threads", 8, 1, 64, "threads"});
      std::string hello = protocol::Encode(h) + "\n";
      (void)send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
      // What a knob::Client sends each tick: counters, its default latency histogram (50 us
      // doubling, 22 buckets), percentiles, a knob value.
      std::vector<double> bounds;
      std::vector<uint64_t> counts;
      for (int b = 0; b < 22; ++b) {
        bounds.push_back(50e-6 * (1 << b));
        counts.push_back(b < 10 ? static_cast<uint64_t>(10 + b) : 0);
      }
      std::string batch;
      for (int i = 0; i < per_connection; ++i) {
        protocol::Report r;
        r.seq = static_cast<uint64_t>(i) + 1;
        r.app.requests_total = 100.0 * i;
        r.app.errors_total = 0;
        r.app.latency_bucket_bounds_seconds = bounds;
        r.app.latency_bucket_counts = counts;
        r.app.latency_p50_seconds = 0.0008;
        r.app.latency_p99_seconds = 0.0064;
        r.app.latency_sum_seconds = 0.09;
        r.app.knobs["worker_threads"] = 8;
        batch += protocol::Encode(r);
        batch += '\n';
      }
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      size_t off = 0;
      while (off < batch.size()) {
        ssize_t n = send(fd, batch.data() + off, batch.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          failed.fetch_add(1);
          break;
        }
        off += static_cast<size_t>(n);
      }
      // Keep the connection until the server has read everything (the caller waits for it).
      char buf[4096];
      while (recv(fd, buf, sizeof(buf), 0) > 0) {
      }
      close(fd);
    });
  }
  while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto handled = [&] {
    uint64_t n = 0;
    for (const auto& [name, c] : server.server().api().clients().clients()) n += c.reports;
    return n;
  };
  const uint64_t want = static_cast<uint64_t>(connections) * per_connection;
  if (!server.WaitOnLoop(
          [&] {
            return server.server().api().clients().connected_clients() ==
                   static_cast<size_t>(connections);
          },
          std::chrono::seconds(30))) {
    std::fprintf(stderr, "reports: not every connection registered\n");
    return 1;
  }
  double cpu0 = 0, cpu1 = 0;
  server.OnLoop([&] { cpu0 = ThreadCpuSeconds(); });
  const auto t0 = Clock::now();
  go = true;
  uint64_t got = 0;
  // Poll rarely: each poll is a hop onto the loop thread, which is the thing measured.
  while (Clock::now() - t0 < std::chrono::seconds(120)) {
    server.OnLoop([&] {
      got = handled();
      if (got >= want) cpu1 = ThreadCpuSeconds();
    });
    if (got >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  server.OnLoop([&] { server.server().Stop(); });
  for (auto& t : senders) t.join();
  if (got < want || failed.load() > 0) {
    std::fprintf(stderr, "reports: %llu of %llu handled, %d senders failed\n",
                 static_cast<unsigned long long>(got), static_cast<unsigned long long>(want),
                 failed.load());
    return 1;
  }
  std::printf(
      "reports: %d connections x %d: %llu reports in %.3f s wall = %.0f/s; loop thread CPU "
      "%.3f s = %.0f reports per CPU-second\n",
      connections, per_connection, static_cast<unsigned long long>(got), wall,
      static_cast<double>(got) / wall, cpu1 - cpu0, static_cast<double>(got) / (cpu1 - cpu0));
  return 0;
}

}  // namespace
}  // namespace knob

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](int i, int def) { return argc > i ? std::atoi(argv[i]) : def; };
  if (mode == "fanout") return knob::Fanout(arg(2, 1000), arg(3, 100));
  if (mode == "reports") return knob::Reports(arg(2, 100), arg(3, 10000));
  if (mode == "publish") return knob::PublishOnly(arg(2, 1000), arg(3, 100));
  std::fprintf(stderr,
               "usage: knob_control_bench fanout [TARGETS [ROUNDS]]\n"
               "       knob_control_bench publish [TARGETS [ROUNDS]]\n"
               "       knob_control_bench reports [CONNECTIONS [REPORTS_PER_CONNECTION]]\n");
  return 2;
}
