// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/scheduling_model.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

TEST(SchedulingModelTest, CpuBoundOnIdleCoresUsesAllCores) {
  SchedulingInput in;
  in.core_busy_fraction = {0.2, 0.2, 0.2, 0.2};
  in.cores_used = 0.8;
  in.cpu_fraction = 0.95;
  auto a = AdviseScheduling(in);
  EXPECT_TRUE(a.cpu_bound);
  EXPECT_NEAR(a.runnable_cores, 4.0, 1e-9);
  EXPECT_EQ(a.worker_threads, 5);  // cores + 1 while run-queue delay is low
  EXPECT_EQ(a.core_set.size(), 4u);
}

TEST(SchedulingModelTest, AvoidsSaturatedCoresAndHonoursQuota) {
  SchedulingInput in;
  in.core_busy_fraction = {0.99, 0.3, 0.95, 0.4};
  in.cores_used = 1.0;
  in.quota_cores = 1.5;
  in.cpu_fraction = 1.0;
  in.runqueue_delay_fraction = 0.5;
  auto a = AdviseScheduling(in);
  EXPECT_EQ(a.core_set, (std::vector<int>{1, 3}));
  EXPECT_NEAR(a.runnable_cores, 1.5, 1e-9);
  EXPECT_EQ(a.worker_threads, 2);
  EXPECT_EQ(a.strategy, "work_stealing");  // cpu-bound and uneven
}

TEST(SchedulingModelTest, IoBoundGetsMoreThreadsAndPriorityUnderPressure) {
  SchedulingInput in;
  in.core_busy_fraction = {0.5, 0.5};
  in.cores_used = 0.5;
  in.cpu_fraction = 0.1;
  in.cpu_pressure = 0.3;
  auto a = AdviseScheduling(in);
  EXPECT_FALSE(a.cpu_bound);
  EXPECT_EQ(a.worker_threads, 15);  // 1.5 runnable cores / 0.1
  EXPECT_EQ(a.strategy, "priority");
}

TEST(SchedulingModelTest, ThrottledTargetIsCappedAtItsUsage) {
  SchedulingInput in;
  in.core_busy_fraction = {0.1, 0.1};
  in.cores_used = 1.0;
  in.throttled_fraction = 0.3;
  auto a = AdviseScheduling(in);
  EXPECT_TRUE(a.throttled);
  EXPECT_NEAR(a.runnable_cores, 1.0, 1e-9);
  EXPECT_EQ(a.worker_threads, 1);
}

TEST(SchedulingModelTest, AllSaturatedKeepsOneCore) {
  SchedulingInput in;
  in.core_busy_fraction = {0.99, 0.97};
  auto a = AdviseScheduling(in);
  EXPECT_EQ(a.core_set, (std::vector<int>{1}));
}

}  // namespace
}  // namespace knob
