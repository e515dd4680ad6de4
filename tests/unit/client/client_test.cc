// SPDX-License-Identifier: Apache-2.0
#include "knob/client.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "client/allocator_stats.h"
#include "knob/histogram.h"
#include "knob/knob.h"
#include "knob/shards.h"
#include "tests/support/sanitizers.h"

namespace knob {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogramTest, DrainReturnsIntervalCountsAndPercentiles) {
  LatencyHistogram h({0.001, 0.002, 0.004, 0.008});
  for (int i = 0; i < 90; ++i) h.Record(500us);
  for (int i = 0; i < 10; ++i) h.Record(6ms);
  h.Record(1s);  // above the last bound: counted in the last bucket
  auto d = h.Drain();
  EXPECT_EQ(d.total, 101u);
  EXPECT_EQ(d.counts, (std::vector<uint64_t>{90, 0, 0, 11}));
  ASSERT_TRUE(d.p50 && d.p99);
  EXPECT_LE(*d.p50, 0.001);
  EXPECT_GT(*d.p99, 0.004);
  EXPECT_LE(*d.p99, 0.008);
  EXPECT_NEAR(d.sum_seconds, 90 * 0.0005 + 10 * 0.006 + 1, 1e-9);
  auto again = h.Drain();
  EXPECT_EQ(again.total, 0u);
  EXPECT_FALSE(again.p50);
  EXPECT_EQ(h.total(), 101u);  // cumulative survives drains
}

TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.Record(std::chrono::microseconds(i % 5000));
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(h.Drain().total, 40000u);
}

TEST(ShardsSamplerTest, ExactReuseDistancesAtRateOne) {
  ShardsSampler s(1.0);
  s.Access("a", 1024);
  s.Access("b", 1024);
  s.Access("c", 2048);
  s.Access("a", 1024);  // distance: b + c = 3072 bytes
  s.Access("a", 1024);  // distance 0
  auto h = s.Snapshot();
  EXPECT_EQ(h.cold, 3u);
  uint64_t total = 0;
  for (auto c : h.counts) total += c;
  EXPECT_EQ(total, 2u);
  EXPECT_EQ(h.counts[0], 1u);  // 0 <= 1 KiB
  EXPECT_EQ(h.counts[2], 1u);  // 3072 in (2 KiB, 4 KiB]
}

TEST(ShardsSamplerTest, SamplesAboutTheConfiguredFractionOfKeys) {
  ShardsSampler s(0.1);
  for (int i = 0; i < 20000; ++i) s.Access("key-" + std::to_string(i), 100);
  auto h = s.Snapshot();
  EXPECT_GT(h.cold, 1500u);
  EXPECT_LT(h.cold, 2500u);
}

TEST(AllocatorStatsTest, ReportsTheAllocatorInUse) {
  auto a = ReadAllocatorStats();
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->kind == "glibc" || a->kind == "jemalloc") << a->kind;
  // Sanitizer runtimes replace malloc, and mallinfo2() then reports zeros.
  if (!test::kSanitized) {
    EXPECT_GT(a->resident, 0);
  }
}

TEST(ClientTest, BuildReportCarriesEverything) {
  ClientOptions o;
  o.name = "t";
  o.socket_path = "/nonexistent/knobd.sock";
  Client c(o);
  c.RegisterKnob({"workers", 4, 1, 16, "threads"}, [](double) { return SetResult::Applied(); });
  c.RecordRequest(1ms);
  c.RecordRequest(2ms);
  c.RecordError();
  c.SetInFlight(3);
  c.SetQueueDepth(5);
  c.pool("workers").size = 4;
  c.pool("workers").busy = 2;
  auto& cache = c.cache("main", 1.0);
  cache.Hit();
  cache.Miss();
  cache.SetCapacity(1000);
  cache.Access("k", 10);
  c.SetGauge("custom", 7);
  c.UpdateKnobValue("workers", 6);
  AppReport r = c.BuildReport();
  EXPECT_EQ(r.requests_total, 2);
  EXPECT_EQ(r.errors_total, 1);
  EXPECT_EQ(r.in_flight, 3);
  EXPECT_EQ(r.queue_depth, 5);
  EXPECT_TRUE(r.latency_p50_seconds.has_value());
  EXPECT_EQ(r.pools.at("workers").busy, 2);
  EXPECT_EQ(r.caches.at("main").hits_total, 1);
  EXPECT_EQ(r.caches.at("main").reuse_cold, 1u);
  EXPECT_EQ(r.caches.at("main").sample_rate, 1.0);
  EXPECT_EQ(r.knobs.at("workers"), 6);
  EXPECT_EQ(r.gauges.at("custom"), 7);
  EXPECT_TRUE(r.allocator.has_value());
}

TEST(ClientTest, NoDaemonMeansRetryingNotFailing) {
  ClientOptions o;
  o.name = "t";
  o.socket_path = "/nonexistent/knobd.sock";
  o.initial_backoff = 1ms;
  o.max_backoff = 5ms;
  Client c(o);
  ASSERT_TRUE(c.Start().ok());
  for (int i = 0; i < 500 && c.last_error().empty(); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_FALSE(c.connected());
  EXPECT_NE(c.last_error().find("cannot connect to /nonexistent/knobd.sock"), std::string::npos)
      << c.last_error();
  c.Stop();
  c.Stop();  // idempotent
}

TEST(ClientTest, StartWithoutNameFails) {
  Client c(ClientOptions{});
  EXPECT_EQ(c.Start().code(), StatusCode::kInvalidArgument);
}

int OnSet(void* user, const char*, double v, char* reason, size_t len) {
  *static_cast<double*>(user) = v;
  std::snprintf(reason, len, "%s", "nope");
  return 0;
}

TEST(CAbiTest, LifecycleAndNullSafety) {
  EXPECT_EQ(knob_client_new("", nullptr), nullptr);
  EXPECT_EQ(knob_client_new(nullptr, nullptr), nullptr);
  knob_client_record_request(nullptr, 5);  // ignored, no crash
  knob_client* c = knob_client_new("svc", "/nonexistent/knobd.sock");
  ASSERT_NE(c, nullptr);
  double seen = 0;
  EXPECT_EQ(knob_client_register_knob(c, "workers", 4, NAN, NAN, nullptr, OnSet, &seen), 0);
  EXPECT_EQ(knob_client_register_knob(c, "workers", 4, 1, 2, "x", nullptr, nullptr), -1);
  knob_client_record_request(c, 1000000);
  knob_client_set_pool(c, "workers", 4, 1, 0);
  knob_client_cache_access(c, "main", "key", 3, 100);
  EXPECT_EQ(knob_client_start(c), 0);
  EXPECT_EQ(knob_client_connected(c), 0);
  knob_client_free(c);
}

}  // namespace
}  // namespace knob
