// SPDX-License-Identifier: Apache-2.0
// core/prometheus.h: a registration failure is a Status or a logged, counted, unscraped family,
// never an exception; a TargetMetricTable forgets exactly the series listed in it.
#include "core/prometheus.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace knob {
namespace {

TEST(PrometheusTest, RegisterFamilyReturnsTheClashAsAStatus) {
  prometheus::Registry registry;
  auto first = RegisterFamily<prometheus::Counter>(registry, {"knobd_test_total", "a counter"});
  ASSERT_TRUE(first.ok());
  // The same name as another type: prometheus-cpp throws; we get a Status naming the family.
  auto clash = RegisterFamily<prometheus::Gauge>(registry, {"knobd_test_total", "a gauge"});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("knobd_test_total"), std::string::npos);
}

TEST(PrometheusTest, FamilyOrUnscrapedCountsTheFailureAndStillWorks) {
  prometheus::Registry registry;
  FamilyOrUnscraped<prometheus::Counter>(registry, {"knobd_test2_total", "a counter"})
      .Add({})
      .Increment();
  uint64_t before = RegistrationFailures();
  auto& gauge = FamilyOrUnscraped<prometheus::Gauge>(registry, {"knobd_test2_total", "a gauge"});
  EXPECT_EQ(RegistrationFailures(), before + 1);
  gauge.Add({}).Set(3);  // usable, just not exported
  ASSERT_EQ(registry.Collect().size(), 1u);
  EXPECT_EQ(registry.Collect().front().type, prometheus::MetricType::Counter);
}

class RecordingSeries final : public TargetSeries {
 public:
  void ForgetTarget(const std::string& target) override { forgotten.push_back(target); }
  std::vector<std::string> forgotten;
};

TEST(PrometheusTest, TargetMetricTableForgetsEveryListedSeries) {
  TargetMetricTable table;
  RecordingSeries a, b;
  table.Add(a);
  table.Add(b);
  table.ForgetTarget("web");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(a.forgotten, std::vector<std::string>{"web"});
  EXPECT_EQ(b.forgotten, std::vector<std::string>{"web"});
}

}  // namespace
}  // namespace knob
