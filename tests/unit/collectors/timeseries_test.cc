#include "core/timeseries.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace knob {
namespace {

using std::chrono::seconds;

TEST(SampleRingTest, WrapsKeepingNewest) {
  SampleRing r(3);
  for (int i = 0; i < 5; ++i) r.Push({MonoTime(seconds(i)), double(i)});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.at(0).value, 2);
  EXPECT_EQ(r.back().value, 4);
}

TEST(TimeSeriesStoreTest, RateOverWindowAndCounterReset) {
  test::FakeClock clock;
  TimeSeriesStore ts(100);
  double v = 0;
  for (int i = 0; i < 10; ++i) {
    ts.Append("web", "c", clock.Now(), v);
    v += 2;  // 2 per second
    clock.Advance(seconds(1));
  }
  auto r = ts.Rate("web", "c", seconds(5));
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(*r, 2.0);
  // Reset (new process): rate restarts from the drop, never negative.
  ts.Append("web", "c", clock.Now(), 1);
  clock.Advance(seconds(1));
  ts.Append("web", "c", clock.Now(), 4);
  r = ts.Rate("web", "c", seconds(5));
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(*r, 3.0);
  EXPECT_FALSE(ts.Rate("web", "missing", seconds(5)).has_value());
  EXPECT_EQ(ts.Age("web", "c", clock.Now() + seconds(2)), Duration(seconds(2)));
}

TEST(TimeSeriesStoreTest, MeanWindowAndOutOfOrderDropped) {
  TimeSeriesStore ts(10);
  ts.Append("a", "g", MonoTime(seconds(1)), 1);
  ts.Append("a", "g", MonoTime(seconds(2)), 3);
  ts.Append("a", "g", MonoTime(seconds(1)), 100);  // older than newest: ignored
  EXPECT_DOUBLE_EQ(*ts.Mean("a", "g", seconds(10)), 2.0);
  EXPECT_EQ(ts.Window("a", "g", seconds(0)).size(), 1u);
}

TEST(TimeSeriesStoreTest, RecordSnapshotStoresStandardSeries) {
  TimeSeriesStore ts;
  Snapshot s;
  s.time = MonoTime(seconds(10));
  s.host.load1 = 0.5;
  auto& t = s.targets["web"];
  t.cpu = CpuStats{};
  t.cpu->user_seconds = 1;
  t.cpu->system_seconds = 2;
  t.memory = MemoryStats{};
  t.memory->rss_bytes = 4096;
  ts.RecordSnapshot(s);
  EXPECT_DOUBLE_EQ(ts.Latest("web", series::kCpuSeconds)->value, 3);
  EXPECT_DOUBLE_EQ(ts.Latest("web", series::kRssBytes)->value, 4096);
  EXPECT_DOUBLE_EQ(ts.Latest(series::kHostTarget, series::kHostLoad1)->value, 0.5);
  ts.ForgetTarget("web");
  EXPECT_FALSE(ts.Latest("web", series::kCpuSeconds).has_value());
}

}  // namespace
}  // namespace knob
