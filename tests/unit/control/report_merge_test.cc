// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/report_merge.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

AppReport Instance(double requests, double errors, std::vector<uint64_t> counts) {
  AppReport r;
  r.requests_total = requests;
  r.errors_total = errors;
  r.in_flight = 3;
  r.queue_depth = 1;
  r.latency_bucket_bounds_seconds = {0.001, 0.01, 0.1, 1};
  r.latency_bucket_counts = std::move(counts);
  r.latency_sum_seconds = 0.5;
  r.pools["db"] = {8, 6, 2};
  AppReport::Cache c;
  c.hits_total = 90;
  c.misses_total = 10;
  c.bytes = 1000;
  c.capacity_bytes = 2000;
  c.reuse_bounds_bytes = {100, 1000};
  c.reuse_counts = {5, 3};
  c.reuse_cold = 1;
  c.sample_rate = 0.01;
  r.caches["page"] = c;
  r.knobs["db_pool"] = 8;
  return r;
}

TEST(ReportMergeTest, OneInstanceIsItsOwnReport) {
  AppReport a = Instance(10, 1, {1, 2, 3, 4});
  a.latency_p99_seconds = 0.7;  // the client's own figure is kept, not recomputed
  AppReport m = MergeInstanceReports({&a}, AppReport{});
  EXPECT_EQ(m.requests_total, 10);
  EXPECT_EQ(m.latency_p99_seconds, 0.7);
  EXPECT_EQ(m.latency_bucket_counts, a.latency_bucket_counts);
}

TEST(ReportMergeTest, CountersAndGaugesAreSummed) {
  AppReport a = Instance(100, 2, {10, 0, 0, 0});
  AppReport b = Instance(50, 1, {10, 0, 0, 0});
  AppReport m = MergeInstanceReports({&a, &b}, AppReport{});
  EXPECT_EQ(m.requests_total, 150);
  EXPECT_EQ(m.errors_total, 3);
  EXPECT_EQ(m.in_flight, 6);
  EXPECT_EQ(m.queue_depth, 2);
  EXPECT_EQ(m.latency_sum_seconds, 1.0);
  EXPECT_EQ(m.pools.at("db").size, 16);
  EXPECT_EQ(m.pools.at("db").busy, 12);
  EXPECT_EQ(m.pools.at("db").waiters, 4);
  const AppReport::Cache& c = m.caches.at("page");
  EXPECT_EQ(c.hits_total, 180);
  EXPECT_EQ(c.misses_total, 20);
  EXPECT_EQ(c.bytes, 2000);
  EXPECT_EQ(c.reuse_counts, (std::vector<uint64_t>{10, 6}));
  EXPECT_EQ(c.reuse_cold, 2u);
  EXPECT_EQ(m.knobs.at("db_pool"), 8);
}

// The merged p99 comes from the merged buckets: one slow instance among fast ones shows in the
// service's tail, where averaging the instances' p99s would hide it.
TEST(ReportMergeTest, HistogramsMergeBucketByBucket) {
  AppReport fast = Instance(0, 0, {99, 1, 0, 0});
  fast.latency_p99_seconds = 0.001;
  AppReport slow = Instance(0, 0, {0, 0, 0, 5});
  slow.latency_p99_seconds = 0.99;
  AppReport m = MergeInstanceReports({&fast, &fast, &slow}, AppReport{});
  EXPECT_EQ(m.latency_bucket_counts, (std::vector<uint64_t>{198, 2, 0, 5}));
  ASSERT_TRUE(m.latency_p99_seconds && m.latency_p50_seconds);
  EXPECT_GT(*m.latency_p99_seconds, 0.1);
  EXPECT_LE(*m.latency_p99_seconds, 1.0);
  EXPECT_LE(*m.latency_p50_seconds, 0.001);
}

TEST(ReportMergeTest, OtherBucketsContributeTheirPercentileAsAMaximum) {
  AppReport a = Instance(0, 0, {10, 0, 0, 0});
  AppReport b;
  b.latency_p99_seconds = 0.25;  // no histogram at all
  AppReport m = MergeInstanceReports({&a, &b}, AppReport{});
  EXPECT_EQ(m.latency_bucket_counts, (std::vector<uint64_t>{10, 0, 0, 0}));
  EXPECT_EQ(m.latency_p99_seconds, 0.25);
}

// A pre-fork master respawns a worker: its counters start again at zero, the service's do not.
TEST(ReportMergeTest, RetiredCountersKeepTheSumMonotone) {
  AppReport a = Instance(100, 4, {1, 0, 0, 0});
  AppReport b = Instance(70, 1, {1, 0, 0, 0});
  const double before = MergeInstanceReports({&a, &b}, AppReport{}).requests_total;
  AppReport retired;
  Retire(b, retired);
  AppReport b2 = Instance(0, 0, {0, 0, 0, 0});
  AppReport after = MergeInstanceReports({&a, &b2}, retired);
  EXPECT_EQ(after.requests_total, before);
  EXPECT_EQ(after.errors_total, 5);
  EXPECT_EQ(after.caches.at("page").hits_total, 270);
  // With every instance gone and one back, the single-instance path adds them too.
  AppReport only = MergeInstanceReports({&b2}, retired);
  EXPECT_EQ(only.requests_total, 70);
}

TEST(ReportMergeTest, PerInstanceDividesSizesNotCounters) {
  AppReport a = Instance(100, 0, {1, 0, 0, 0});
  AppReport m = PerInstance(MergeInstanceReports({&a, &a}, AppReport{}), 2);
  EXPECT_EQ(m.pools.at("db").size, 8);
  EXPECT_EQ(m.pools.at("db").busy, 6);
  EXPECT_EQ(m.caches.at("page").capacity_bytes, 2000);
  EXPECT_EQ(m.requests_total, 200);
  EXPECT_EQ(m.caches.at("page").hits_total, 180);
}

}  // namespace
}  // namespace knob
