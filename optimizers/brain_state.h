// SPDX-License-Identifier: Apache-2.0
#pragma once
// The brain's persistent state as plain values, and its JSON encoding (the only nlohmann_json
// user in optimizers/). Times are stored as ages in seconds relative to the save, because
// monotonic time does not survive a restart. Records are stored in the protocol's one
// Recommendation form (core/protocol/recommendation_json.h: exact Unix nanoseconds included),
// so a record reads back the same from the state file as from the wire. Unknown fields are
// ignored and missing ones default (a record needs its id, target, knob and new_value), so the
// format can grow.
// Thread rule: pure functions, any thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/recommendation.h"
#include "core/status.h"
#include "optimizers/models/target_model.h"

namespace knob {

struct BrainStateData {
  struct StoredObservation {
    double age_seconds = 0;
    Observation obs;  // time unused
  };
  struct StoredPenalty {
    std::string knob;
    double value = 0;
    int direction = 0;
    double remaining_seconds = 0;
    std::string reason;
  };
  struct StoredKnob {
    std::string knob;
    double last_change_age_seconds = -1;  // < 0: never changed
    std::vector<double> values;
    // KnobHistory::no_effect: the last change had no measurable effect, so the guard holds the
    // knob; kept across a restart, or knobd would repeat the step it already found useless.
    struct NoEffect {
      double from = 0, to = 0, age_seconds = 0;
      std::string summary;
    };
    std::optional<NoEffect> no_effect;
  };
  struct Target {
    std::string name;
    std::vector<StoredObservation> observations;
    std::vector<StoredPenalty> penalties;
    std::vector<StoredKnob> knobs;
    std::vector<uint64_t> history;
  };
  int version = 1;
  uint64_t next_id = 1;
  std::vector<Target> targets;
  std::vector<Recommendation> records;
};

std::string EncodeBrainState(const BrainStateData& data);
Result<BrainStateData> DecodeBrainState(const std::string& text);
// Writes path atomically: path.tmp, fsync, rename, fsync of the directory.
Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace knob
