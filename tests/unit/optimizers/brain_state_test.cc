// SPDX-License-Identifier: Apache-2.0
// The state file's records use the protocol's Recommendation codec; a state file written before
// that change (tests/data/brain_state/, saved by Brain::Save at main 61972ae after 150 simulated
// ticks) must still load, with the same records and exact times.
#include "optimizers/brain_state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/protocol/recommendation_json.h"
#include "optimizers/brain.h"
#include "tests/support/fake_clock.h"

namespace knob {
namespace {

const std::string kOldState =
    std::string(KNOB_SOURCE_DIR) + "/tests/data/brain_state/brain-state-61972ae.json";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t Nanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TEST(BrainStateTest, AStateFileWrittenBeforeTheSharedCodecLoads) {
  const std::string text = ReadAll(kOldState);
  ASSERT_FALSE(text.empty()) << kOldState;
  const nlohmann::json raw = nlohmann::json::parse(text);
  Result<BrainStateData> d = DecodeBrainState(text);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->records.size(), raw["records"].size());
  ASSERT_GT(d->records.size(), 5u);
  for (size_t i = 0; i < d->records.size(); ++i) {
    const Recommendation& r = d->records[i];
    const nlohmann::json& j = raw["records"][i];
    EXPECT_EQ(r.id, j["id"].get<uint64_t>());
    EXPECT_EQ(r.target, j["target"].get<std::string>());
    EXPECT_EQ(r.knob, j["knob"].get<std::string>());
    EXPECT_EQ(r.new_value, j["new_value"].get<double>());
    EXPECT_EQ(r.reason, j["reason"].get<std::string>());
    EXPECT_EQ(OutcomeName(r.outcome), j["outcome"].get<std::string>());
    EXPECT_EQ(r.verdicts.size(), j["verdicts"].size());
    EXPECT_EQ(r.realized.size(), j["realized"].size());
    // The old file has only the nanoseconds; they are read exactly.
    EXPECT_EQ(Nanos(r.created), j["created_ns"].get<int64_t>());
    EXPECT_EQ(Nanos(r.expires), j["expires_ns"].get<int64_t>());
  }
  ASSERT_EQ(d->targets.size(), 1u);
  EXPECT_EQ(d->targets[0].observations.size(), raw["targets"][0]["observations"].size());

  // Re-encoded today, it decodes to the same records.
  Result<BrainStateData> again = DecodeBrainState(EncodeBrainState(*d));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->records.size(), d->records.size());
  for (size_t i = 0; i < d->records.size(); ++i) {
    EXPECT_EQ(again->records[i].id, d->records[i].id);
    EXPECT_EQ(again->records[i].created, d->records[i].created);
    EXPECT_EQ(again->records[i].realized, d->records[i].realized);
    EXPECT_EQ(again->records[i].outcome, d->records[i].outcome);
  }
}

TEST(BrainStateTest, ABrainLoadsTheOldStateFile) {
  const std::string dir = ::testing::TempDir() + "/brain_state_61972ae";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kOldState, dir + "/brain-state.json",
                             std::filesystem::copy_options::overwrite_existing);
  test::FakeClock clock;
  Brain brain(clock, nullptr);
  ASSERT_TRUE(brain.Load(dir).ok());
  EXPECT_FALSE(brain.History("web").empty());
  ASSERT_TRUE(brain.Model("web"));
  EXPECT_GT(brain.Model("web")->observations, 100u);
}

// A knob whose last step had no measurable effect stays held after a restart: otherwise knobd
// would take the step again that it already found useless, once per restart.
TEST(BrainStateTest, ANoEffectHoldSurvivesARestart) {
  const std::string dir = ::testing::TempDir() + "/brain_state_no_effect";
  std::filesystem::create_directories(dir);
  nlohmann::json state = nlohmann::json::parse(ReadAll(kOldState));
  nlohmann::json& knob = state["targets"][0]["knobs"][0];
  ASSERT_EQ(knob["knob"], "concurrency_limit");
  knob["no_effect"] = {{"from", 19.0},
                       {"to", 20.0},
                       {"age_seconds", 9.0},
                       {"summary", "19 to 20 (objective +0.2%, signal-to-noise 1.5 < 3.0)"}};
  std::ofstream(dir + "/brain-state.json") << state.dump();

  test::FakeClock clock;
  {
    Brain brain(clock, nullptr);
    ASSERT_TRUE(brain.Load(dir).ok());
    clock.Advance(std::chrono::seconds(30));
    ASSERT_TRUE(brain.Save(dir).ok());
  }
  Result<BrainStateData> saved = DecodeBrainState(ReadAll(dir + "/brain-state.json"));
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(saved->targets.size(), 1u);
  ASSERT_EQ(saved->targets[0].knobs.size(), 1u);
  const auto& ne = saved->targets[0].knobs[0].no_effect;
  ASSERT_TRUE(ne.has_value());
  EXPECT_EQ(ne->from, 19);
  EXPECT_EQ(ne->to, 20);
  EXPECT_NEAR(ne->age_seconds, 39, 1e-6);  // 9 s old when saved, 30 s later on the clock
  EXPECT_EQ(ne->summary, "19 to 20 (objective +0.2%, signal-to-noise 1.5 < 3.0)");
  // A knob without one stays without one.
  Result<BrainStateData> old = DecodeBrainState(ReadAll(kOldState));
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->targets[0].knobs[0].no_effect.has_value());
}

// The file is written piece by piece (issue 12: one tree of it all was the daemon's peak RSS).
// Whatever it holds, or lacks, the pieces make one JSON document that reads back the same.
TEST(BrainStateTest, ThePieceByPieceEncodingIsOneDocumentThatReadsBackTheSame) {
  BrainStateData empty;
  empty.next_id = 7;
  const nlohmann::json e = nlohmann::json::parse(EncodeBrainState(empty));
  EXPECT_EQ(e["next_id"], 7);
  EXPECT_TRUE(e["targets"].empty());
  EXPECT_TRUE(e["records"].empty());

  Result<BrainStateData> d = DecodeBrainState(ReadAll(kOldState));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  BrainStateData::Target bare;  // a target with no observations, knobs or history yet
  bare.name = "new \xff name";  // invalid UTF-8 is replaced, not thrown on
  d->targets.push_back(bare);
  const std::string text = EncodeBrainState(*d);
  const nlohmann::json once = nlohmann::json::parse(text);
  ASSERT_EQ(once["targets"].size(), 2u);
  EXPECT_EQ(once["targets"][0]["observations"].size(), d->targets[0].observations.size());
  EXPECT_TRUE(once["targets"][1]["observations"].empty());
  Result<BrainStateData> back = DecodeBrainState(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(EncodeBrainState(*back)), once);
}

// One codec: the state file's record is the wire's record, non-finite numbers included.
TEST(BrainStateTest, RecordsAreStoredInTheWireForm) {
  Recommendation rec;
  rec.id = 9;
  rec.target = "web";
  rec.knob = "worker_threads";
  rec.old_value = std::numeric_limits<double>::quiet_NaN();
  rec.new_value = 12;
  rec.triggers = {{"queue", 3.5}, {"bad", std::numeric_limits<double>::infinity()}};
  rec.outcome = Outcome::kVerified;
  rec.created = WallTime(std::chrono::nanoseconds(1'800'000'000'123'456'789));
  BrainStateData d;
  d.records.push_back(rec);
  const nlohmann::json state = nlohmann::json::parse(EncodeBrainState(d));
  EXPECT_EQ(state["records"][0], protocol::RecommendationToJson(rec));
  Result<BrainStateData> back = DecodeBrainState(state.dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const Recommendation& r = back->records.at(0);
  EXPECT_EQ(r.created, rec.created);
  EXPECT_EQ(r.old_value, 0);
  EXPECT_EQ(r.triggers, (std::map<std::string, double>{{"queue", 3.5}}));
  EXPECT_EQ(r.outcome, Outcome::kVerified);
}

TEST(BrainStateTest, ABadRecordNamesItsField) {
  Result<BrainStateData> d =
      DecodeBrainState(R"({"version": 1, "records": [{"id": 1, "target": "web", "knob": "k",
                          "new_value": 2, "outcome": "sideways"}]})");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("records[0].outcome"), std::string::npos)
      << d.status().ToString();
}

}  // namespace
}  // namespace knob
