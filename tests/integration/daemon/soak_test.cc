// SPDX-License-Identifier: Apache-2.0
// Soak (issue 12): 500 clients reporting every tick, clients coming and going, policy reloads
// every few seconds and admin queries in a loop, against one knobd child process. The tick
// stays on schedule (none skipped, p99 duration well under the interval, recorded), RSS and fd
// count stay flat, and no history record is lost: a few long-lived clients have their knob
// changed now and then by "an operator", each change one override record. KNOB_SOAK_SECONDS
// sets the length (default 60; the 30-minute figures are in docs/benchmarks.md).

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include "tests/integration/control/harness.h"
#include "tests/integration/daemon/knobd_process.h"
#include "tests/support/metric_value.h"
#include "tests/support/sanitizers.h"

namespace knob::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// 500 in the normal build; an instrumented knobd serves fewer in a tick (measured under TSan: at
// 500 the tick p99 reached the 500 ms interval and 6 of 100 ticks were late), so the load is
// divided by the build's slowdown (tests/support/sanitizers.h).
constexpr int kClients = 500 / kSanitizerSlowdown;
constexpr int kChurnPerSecond = 10;
// Clients that never leave, each its own target with worker_threads tuned, whose reported value
// flips between 8 and 9 every kFlipEvery reports: knobd did not send it, so each flip it sees
// in recommend mode is an override, one history record.
constexpr int kStable = 10;
constexpr uint64_t kFlipEvery = 20;
constexpr auto kTick = milliseconds(500);

std::string StableName(int i) { return "stable-" + std::to_string(i); }

std::string Policy(int generation) {
  // Each reload changes something real (a target's mode), so the reload path does work.
  std::string p = std::string(R"(global:
  tick_interval: 500ms
  log_level: info
  control:
    max_clients: 2048
    idle_timeout: 30s
targets:
  - name: host
    select: {host: true}
    mode: observe
  - name: fleet
    select: {registered: "*"}
    mode: )") + (generation % 2 == 0 ? "recommend" : "observe") +
                  "\n";
  for (int i = 0; i < kStable; ++i)
    p += "  - name: " + StableName(i) + "\n    select: {registered: " + StableName(i) +
         "}\n    mode: recommend\n    knobs:\n      worker_threads: {min: 1, max: 64}\n";
  return p;
}

size_t FdCount(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

uint64_t RssBytes(pid_t pid) {
  std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + 6)) * 1024;
}

std::string Hello(const std::string& name) {
  protocol::Hello h;
  h.name = name;
  h.pid = getpid();
  h.knobs.push_back({"worker_threads", 8, 1, 64, "threads"});
  return protocol::Encode(h) + "\n";
}

std::string Report(uint64_t seq, double workers) {
  protocol::Report r;
  r.seq = seq;
  r.app.requests_total = static_cast<double>(seq * 100);
  r.app.errors_total = 0;
  r.app.knobs["worker_threads"] = workers;
  return protocol::Encode(r) + "\n";
}

// The histogram's p99 from a /metrics text: the upper bound of the first bucket holding 99%.
std::optional<double> HistogramP99(const std::string& text, const std::string& name) {
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  std::istringstream in(text);
  std::string line;
  const std::string prefix = name + "_bucket{le=\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    auto end = line.find('"', prefix.size());
    std::string le = line.substr(prefix.size(), end - prefix.size());
    double count = std::stod(line.substr(line.rfind(' ') + 1));
    buckets.push_back({le == "+Inf" ? INFINITY : std::stod(le), count});
  }
  if (buckets.empty() || buckets.back().second == 0) return std::nullopt;
  const double want = 0.99 * buckets.back().second;
  for (const auto& [le, c] : buckets)
    if (c >= want) return le;
  return std::nullopt;
}

struct Client {
  std::unique_ptr<RawConn> conn;
  std::string name;
  uint64_t seq = 0;
  bool stable = false;
};

TEST(SoakTest, FiveHundredClientsChurnReloadsAndQueries) {
  const char* env = std::getenv("KNOB_SOAK_SECONDS");
  const int soak_seconds = env != nullptr ? std::atoi(env) : 60;
  TempDir dir;
  const std::string policy = dir.path() + "/knobd.yaml";
  WriteFile(policy, Policy(0));
  const std::string socket = dir.path() + "/run/control.sock";
  KnobdProcess knobd({"--config", policy, "--state-dir", dir.path() + "/state", "--control-socket",
                      socket, "--metrics-listen", "127.0.0.1:0"},
                     dir.path() + "/knobd.log");
  auto port = knobd.WaitForMetricsPort();
  ASSERT_TRUE(port.has_value()) << knobd.Log();
  auto scrape = [&] {
    auto r = HttpGet("127.0.0.1", *port, "/metrics");
    return r && r->status == 200 ? r->body : std::string();
  };
  std::this_thread::sleep_for(seconds(1));
  const size_t idle_fds = FdCount(knobd.pid());

  uint64_t next_name = 0;
  std::vector<Client> clients;
  auto connect_one = [&](std::string name = {}) {
    Client c;
    c.stable = !name.empty();
    c.name = c.stable ? name : "soak-" + std::to_string(next_name++);
    c.conn = std::make_unique<RawConn>(socket);
    if (!c.conn->ok() || !c.conn->Send(Hello(c.name))) return false;
    clients.push_back(std::move(c));
    return true;
  };
  for (int i = 0; i < kStable; ++i) ASSERT_TRUE(connect_one(StableName(i))) << StableName(i);
  for (int i = kStable; i < kClients; ++i) ASSERT_TRUE(connect_one()) << "client " << i;

  // Admin queries in a loop on their own thread, as knobctl would send them.
  std::atomic<bool> stop{false};
  std::vector<double> query_ms;
  int query_failures = 0;
  std::thread admin([&] {
    auto a = std::make_unique<RawConn>(socket);
    uint64_t id = 0;
    while (!stop) {
      protocol::AdminRequest req;
      req.op = id % 2 == 0 ? protocol::AdminOp::kStatus : protocol::AdminOp::kTargets;
      req.id = ++id;
      auto t0 = Clock::now();
      if (!a->SendMessage(req) || !a->ReadMessage(seconds(5))) {
        // As knobctl would: a fresh connection for the next query, not a tight retry loop on a
        // dead one (which once spun millions of times and starved knobd of CPU).
        ++query_failures;
        a = std::make_unique<RawConn>(socket);
        std::this_thread::sleep_for(milliseconds(50));
        continue;
      }
      query_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      std::this_thread::sleep_for(milliseconds(50));
    }
  });

  std::mt19937 rng(7);
  const auto start = Clock::now();
  auto next_report = start, next_churn = start + seconds(1), next_reload = start + seconds(3);
  const auto warm = start + seconds(std::min(10, soak_seconds / 3));
  std::optional<uint64_t> warm_rss;
  std::optional<double> warm_ticks;
  int generation = 0, reloads = 0;
  uint64_t max_rss = 0;
  // RSS and fds over time: about 30 samples over the run, printed as they are taken.
  const auto sample_every = seconds(std::max(5, soak_seconds / 30));
  auto next_sample = start;
  char drain[65536];
  while (Clock::now() - start < seconds(soak_seconds)) {
    auto now = Clock::now();
    if (now >= next_report) {  // every client reports once per tick
      for (auto& c : clients) {
        ++c.seq;
        const double workers = c.stable && (c.seq / kFlipEvery) % 2 == 1 ? 9 : 8;
        (void)c.conn->Send(Report(c.seq, workers));
      }
      next_report += kTick;
    }
    if (now >= next_churn) {  // some leave (half of them with a bye), as many arrive
      for (int i = 0; i < kChurnPerSecond; ++i) {
        // The stable clients are the first kStable and stay.
        size_t victim = std::uniform_int_distribution<size_t>(kStable, clients.size() - 1)(rng);
        if (i % 2 == 0) (void)clients[victim].conn->Send("{\"v\":1,\"type\":\"bye\"}\n");
        clients.erase(clients.begin() + static_cast<long>(victim));
        ASSERT_TRUE(connect_one());
      }
      next_churn += seconds(1);
    }
    if (now >= next_reload) {
      WriteFile(policy, Policy(++generation));
      knobd.Signal(SIGHUP);
      ++reloads;
      next_reload += seconds(3);
    }
    if (!warm_rss && now >= warm) {
      warm_rss = RssBytes(knobd.pid());
      warm_ticks = SampleValue(scrape(), "knobd_ticks_total");
    }
    max_rss = std::max(max_rss, RssBytes(knobd.pid()));
    if (now >= next_sample) {
      std::printf("soak sample: t=%.0f s rss=%.1f MiB fds=%zu clients=%zu\n",
                  std::chrono::duration<double>(now - start).count(),
                  static_cast<double>(RssBytes(knobd.pid())) / 1048576, FdCount(knobd.pid()),
                  clients.size());
      std::fflush(stdout);
      next_sample += sample_every;
    }
    // Read and drop what knobd sends (welcome, set), so no client looks like a non-reader.
    for (auto& c : clients) {
      while (recv(c.conn->fd(), drain, sizeof(drain), MSG_DONTWAIT) > 0) {
      }
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  const double elapsed_after_warm = std::chrono::duration<double>(Clock::now() - warm).count();
  const std::string metrics = scrape();
  stop = true;
  admin.join();

  ASSERT_FALSE(knobd.WaitExit(milliseconds(0)).has_value()) << knobd.Log();
  // The tick kept its schedule: none skipped, and about one per interval since the warm-up.
  EXPECT_EQ(SampleValue(metrics, "knobd_ticks_skipped_total"), 0.0) << knobd.Log();
  ASSERT_TRUE(warm_ticks.has_value());
  const double ticks = SampleValue(metrics, "knobd_ticks_total").value_or(0) - *warm_ticks;
  const double expected = elapsed_after_warm / std::chrono::duration<double>(kTick).count();
  EXPECT_GE(ticks, 0.9 * expected) << "ticks fell behind schedule";
  auto p99 = HistogramP99(metrics, "knobd_tick_duration_seconds");
  ASSERT_TRUE(p99.has_value());
  EXPECT_LT(*p99, 0.5) << "tick p99 reached the interval";
  EXPECT_EQ(SampleValue(metrics, "knobd_config_reloads_total{result=\"failure\"}").value_or(0), 0);
  EXPECT_GE(SampleValue(metrics, "knobd_config_reloads_total{result=\"success\"}").value_or(0),
            reloads - 1);
  // RSS flat after the warm-up: growth under 16 MiB over the run (a leak of a few hundred bytes
  // per report would be 500 x 2/s x 50 s x that).
  // Not under a sanitizer, whose allocator keeps freed memory (tests/support/sanitizers.h).
  ASSERT_TRUE(warm_rss.has_value());
  if (!kSanitized) {
    EXPECT_LT(max_rss, *warm_rss + (16u << 20))
        << "RSS grew from " << *warm_rss << " to " << max_rss;
  }
  EXPECT_EQ(query_failures, 0);
  std::sort(query_ms.begin(), query_ms.end());
  ASSERT_FALSE(query_ms.empty());
  const double query_p99 =
      query_ms[static_cast<size_t>(0.99 * static_cast<double>(query_ms.size() - 1))];
  EXPECT_LT(query_p99, 500) << "admin queries slowed past a tick";

  // No history record lost: record ids come from one counter and every id drawn is recorded, so
  // the ids over every target's history are 1..N without a gap (no target reaches the
  // per-target cap of 1000 in a soak). Only the stable targets have a tuned knob, so only they
  // (and the host) can have records.
  std::vector<uint64_t> ids;
  {
    RawConn h(socket);
    uint64_t hid = 1000000;
    std::vector<std::string> targets{"host"};
    for (int i = 0; i < kStable; ++i) targets.push_back(StableName(i));
    for (const std::string& target : targets) {
      protocol::AdminRequest req;
      req.op = protocol::AdminOp::kHistory;
      req.id = ++hid;
      req.target = target;
      req.limit = 100000;
      ASSERT_TRUE(h.SendMessage(req));
      auto m = h.ReadMessage(seconds(10));
      ASSERT_TRUE(m.has_value()) << "no history reply for " << target;
      auto* reply = std::get_if<protocol::AdminReply>(&*m);
      ASSERT_TRUE(reply != nullptr && reply->history.has_value()) << protocol::Encode(*m);
      for (const auto& rec : *reply->history) ids.push_back(rec.id);
    }
  }
  std::sort(ids.begin(), ids.end());
  // A flip every kFlipEvery ticks: a run of a minute makes a few per stable client, some of them
  // while the policy is reloading; without any the check below would prove nothing.
  ASSERT_FALSE(ids.empty()) << "no history record was made: the operator's flips were not seen";
  size_t lost = ids.empty() ? 0 : static_cast<size_t>(ids.back()) - ids.size();
  EXPECT_EQ(lost, 0u) << "history ids have gaps: " << ids.size() << " records, newest id "
                      << ids.back();

  // Every client gone: fds back to the idle count.
  clients.clear();
  size_t fds = 0;
  EXPECT_TRUE(WaitFor([&] { return (fds = FdCount(knobd.pid())) <= idle_fds; }, seconds(20)))
      << "fds " << fds << " vs " << idle_fds << " before any client";
  std::printf(
      "soak: %d s, %d clients, %.0f ticks (expected %.0f), tick p99 <= %.3f s, %d reloads, "
      "RSS warm %.1f MiB max %.1f MiB, admin query p99 %.1f ms over %zu, history records %zu "
      "lost %zu\n",
      soak_seconds, kClients, ticks, expected, *p99, reloads,
      static_cast<double>(*warm_rss) / 1048576, static_cast<double>(max_rss) / 1048576, query_p99,
      query_ms.size(), ids.size(), lost);
  RecordProperty("tick_p99_seconds", std::to_string(*p99));
  RecordProperty("rss_growth_bytes", std::to_string(max_rss - *warm_rss));
}

}  // namespace
}  // namespace knob::test
