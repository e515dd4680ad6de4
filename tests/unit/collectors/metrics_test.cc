// SPDX-License-Identifier: Apache-2.0
// collectors/metrics.h: series listed in a TargetMetricTable are removed per target together,
// gauges and counters alike, and other targets' series stay.
#include "collectors/metrics.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

size_t Series(prometheus::Registry& registry) {
  size_t n = 0;
  for (const auto& family : registry.Collect()) n += family.metric.size();
  return n;
}

TEST(CollectorMetricsTest, TableForgetsEveryPerTargetSeriesOfOneTarget) {
  prometheus::Registry registry;
  TargetMetricTable table;
  GaugeVec gauge(table, registry, "knobd_test_bytes", "a gauge");
  CounterVec counter(table, registry, "knobd_test_total", "a counter");
  gauge.Set({{"target", "web"}}, 1);
  gauge.Set({{"target", "db"}}, 2);
  counter.Observe({{"target", "web"}, {"kind", "x"}}, 5);
  ASSERT_EQ(Series(registry), 3u);
  table.ForgetTarget("web");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(Series(registry), 1u);  // db's gauge
}

}  // namespace
}  // namespace knob
