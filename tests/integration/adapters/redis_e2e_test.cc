// SPDX-License-Identifier: Apache-2.0
// Redis through knob-redis-adapter (issue 15): a real redis-server (Debian redis-server) with
// maxmemory 4 MiB and allkeys-lru, two real redis-benchmark clients (one SETs, one GETs random
// keys of a ~60000-key working set of 200-byte values, about 18 MiB in Redis), the adapter and
// knobd in apply mode. Redis reports no reuse histogram, so knobd must size the cache from the
// hit ratios it observes at each maxmemory (optimizers/models/observed_mrc.h). Asserted: knobd
// raises cache_bytes in verified steps, Redis's own CONFIG GET maxmemory equals what knobd
// applied, and the hit ratio Redis measures (INFO keyspace_hits/misses over a window) rises by
// at least 20 points. Only direction and margins, never exact sizes: the machine is shared.
#include "tests/integration/adapters/adapter_harness.h"

namespace knob::test {
namespace {

constexpr double kMiB = 1 << 20;
constexpr double kStartBytes = 4 * kMiB;
constexpr int kTuneSeconds = 80;

class RedisAdapterE2eTest : public AdapterTest {
 protected:
  std::string Policy() const override {
    return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: redis
    select: {registered: redis}
    mode: apply
    objective: {maximize: throughput}
    knobs:
      cache_bytes: {min: 2MiB, max: 64MiB, max_step: 50%}
)";
  }

  std::string Cli() const { return redis_cli_; }
  std::map<std::string, double> Info(const std::string& section) {
    auto [rc, out] =
        RunTool({redis_cli_, "-s", Path("redis.sock"), "INFO", section}, Path("redis-cli.out"));
    std::map<std::string, double> m;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos || line[0] == '#') continue;
      m[line.substr(0, colon)] = std::strtod(line.c_str() + colon + 1, nullptr);
    }
    return m;
  }
  double MaxMemory() { return Info("memory")["maxmemory"]; }
  // Redis's own hit ratio and command rate over `window`.
  std::pair<double, double> HitRatioAndOps(seconds window) {
    auto a = Info("stats");
    auto t0 = SteadyClock::now();
    std::this_thread::sleep_for(window);
    auto b = Info("stats");
    double dt = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    double hits = b["keyspace_hits"] - a["keyspace_hits"];
    double misses = b["keyspace_misses"] - a["keyspace_misses"];
    double ops = (b["total_commands_processed"] - a["total_commands_processed"]) / dt;
    return {hits + misses > 0 ? hits / (hits + misses) : 0, ops};
  }

  std::string redis_cli_;
  std::unique_ptr<Child> redis_, adapter_, writer_, reader_;
};

TEST_F(RedisAdapterE2eTest, RaisesMaxmemoryFromObservedHitRatios) {
  const std::string server = FindTool({"/usr/bin/redis-server"});
  redis_cli_ = FindTool({"/usr/bin/redis-cli"});
  const std::string bench = FindTool({"/usr/bin/redis-benchmark"});
  ASSERT_FALSE(server.empty() || redis_cli_.empty() || bench.empty())
      << "redis-server, redis-cli and redis-benchmark are needed: apt-get install redis-server "
         "(scripts/install-deps.sh)";
  const std::string adapter = kAdapters + "/knob-redis-adapter";
  ASSERT_EQ(access(adapter.c_str(), X_OK), 0) << adapter << " not built";

  redis_ = std::make_unique<Child>(
      std::vector<std::string>{server, "--port", "0", "--unixsocket", Path("redis.sock"),
                               "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                               "--dir", dir_, "--maxmemory",
                               std::to_string(static_cast<uint64_t>(kStartBytes)),
                               "--maxmemory-policy", "allkeys-lru", "--latency-tracking", "yes"},
      Path("redis.out"), Path("redis.err"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return RunTool({redis_cli_, "-s", Path("redis.sock"), "PING"}, Path("ping.out"))
                   .second.find("PONG") != std::string::npos;
      },
      seconds(20)))
      << ReadFile(Path("redis.out"));
  const std::string value(200, 'v');
  auto load = [&](const std::string& name, std::vector<std::string> cmd) {
    std::vector<std::string> argv = {
        bench, "-s", Path("redis.sock"), "-c", "2", "-n", "1000000000", "-r", "60000", "-q"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return std::make_unique<Child>(argv, Path(name + ".out"), Path(name + ".err"));
  };
  writer_ = load("writer", {"SET", "key:__rand_int__", value});
  reader_ = load("reader", {"GET", "key:__rand_int__"});
  // Before: the load alone at 4 MiB, once the cache is full and every key has been written.
  std::this_thread::sleep_for(seconds(5));
  auto [hit_before, ops_before] = HitRatioAndOps(seconds(3));
  ASSERT_GT(StartKnobd(1), 0);
  adapter_ = std::make_unique<Child>(
      std::vector<std::string>{adapter, "--redis-socket", Path("redis.sock"), "--knobd-socket",
                               Socket(), "--name", "redis", "--interval", "250ms", "--min-bytes",
                               "2097152", "--max-bytes", "67108864"},
      Path("adapter.out"), Path("adapter.err"));
  ASSERT_TRUE(WaitFor([&] { return App("redis").has_value(); }, seconds(20)))
      << ReadFile(Path("adapter.err"));
  const double p99_before = ReportedP99("redis").value_or(std::nan(""));

  const double tune_seconds =
      WaitUntilSettled([&] { return MaxMemory(); }, [](double v) { return v >= 4 * kStartBytes; },
                       seconds(kTuneSeconds));
  auto [hit_after, ops_after] = HitRatioAndOps(seconds(3));
  const std::optional<double> p99_after = ReportedP99("redis");
  const double final_bytes = MaxMemory();
  auto steps = KnobSteps("redis", "cache_bytes");
  std::printf(
      "[ e2e ] redis maxmemory path: %s\n[ e2e ] redis maxmemory %.1f MiB -> %.1f MiB in %.0f s; "
      "hit ratio %.1f%% -> %.1f%%; ops/s %.0f -> %.0f; p99 %.3f ms -> %.3f ms\n",
      Describe(steps).c_str(), kStartBytes / kMiB, final_bytes / kMiB, tune_seconds,
      100 * hit_before, 100 * hit_after, ops_before, ops_after, 1000 * p99_before,
      1000 * p99_after.value_or(std::nan("")));

  EXPECT_GE(final_bytes, 2 * kStartBytes) << Describe(steps);
  // The software confirms: what Redis says is what knobd applied and what the adapter reports.
  // knobd's objective is the command rate, which a hit does not raise over a miss here, so an
  // honest judgement of a raise is `kept` (no measurable effect on it); the gain is the hit
  // ratio, asserted below from Redis's own counters. (A hit-ratio objective: issue 15's note.)
  ExpectRaisedAndConfirmed("redis", "cache_bytes", steps, kStartBytes, final_bytes,
                           ReadFile(Path("knobd-1.log")), /*kept_counts=*/true);
  EXPECT_GE(hit_after, hit_before + 0.2) << "hit ratio " << hit_before << " -> " << hit_after
                                         << " at " << final_bytes / kMiB << " MiB";
  EXPECT_GT(ops_after, 0);
  // The adapter relays Redis's own latency histogram: a report with requests has a p99.
  ASSERT_TRUE(p99_after.has_value()) << "no report with a p99 in 10 s";
  EXPECT_GT(*p99_after, 0);
}

}  // namespace
}  // namespace knob::test
