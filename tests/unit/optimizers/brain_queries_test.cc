// SPDX-License-Identifier: Apache-2.0
// The control side's view of the brain: the model flattened for `knobctl show` (keys and note
// sentences byte for byte) and the queries over an empty brain.
#include "optimizers/brain_queries.h"

#include <gtest/gtest.h>

#include "optimizers/model_summary.h"
#include "tests/support/fake_clock.h"

namespace knob {
namespace {

TEST(ModelSummaryTest, FlattensEveryPartIntoKeysAndNotes) {
  ModelSummary m;
  m.observations = 12;
  m.workload_shifts = 1;
  m.latency_factor = 1.5;
  m.usl = ModelSummary::Usl{};
  m.usl->alpha = 0.1;
  m.usl->levels = 4;
  m.usl->peak = 55;
  PoolModel pool;
  pool.name = "db";
  pool.arrival_rate = 100;
  m.pools.push_back(pool);
  ModelSummary::Cache cache;
  cache.name = "lru";
  cache.hit_ratio_now = 0.8;
  cache.bytes_for_90pct = 1024;
  m.caches.push_back(cache);
  m.penalties.push_back({"worker_threads", 40, 1, 12.4, "p99 rose"});
  m.active_recommendation = 7;

  ModelView v = FlattenModelSummary(m);
  EXPECT_EQ(v.model.at("observations"), 12);
  EXPECT_EQ(v.model.at("workload_shifts"), 1);
  EXPECT_EQ(v.model.at("latency_factor"), 1.5);
  EXPECT_EQ(v.model.at("usl.alpha"), 0.1);
  EXPECT_EQ(v.model.at("usl.levels"), 4);
  EXPECT_EQ(v.model.at("usl.peak_concurrency"), 55);
  EXPECT_EQ(v.model.at("pool.db.arrival_rate"), 100);
  EXPECT_EQ(v.model.at("cache.lru.hit_ratio"), 0.8);
  EXPECT_EQ(v.model.at("cache.lru.bytes_for_90pct"), 1024);
  EXPECT_EQ(v.notes,
            (std::vector<std::string>{"penalty on worker_threads >= 40 for 12 s more: p99 rose",
                                      "change #7 is being verified"}));
}

TEST(ModelSummaryTest, NoFitBecomesANote) {
  ModelSummary m;
  m.usl_status = "2 concurrency levels, need 3";
  ModelView v = FlattenModelSummary(m);
  EXPECT_EQ(v.model.count("usl.alpha"), 0u);
  EXPECT_EQ(v.notes, std::vector<std::string>{"usl: 2 concurrency levels, need 3"});
}

TEST(BrainQueriesTest, AnEmptyBrainHasNoHistoryModelOrRecommendation) {
  test::FakeClock clock;
  Brain brain(clock, nullptr);
  BrainQueriesOver queries(brain);
  EXPECT_TRUE(queries.History("web", 0).empty());
  EXPECT_FALSE(queries.Model("web").has_value());
  auto explained = queries.Explain(42);
  ASSERT_FALSE(explained.ok());
  EXPECT_EQ(explained.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(explained.status().message(), "no recommendation 42");
}

}  // namespace
}  // namespace knob
