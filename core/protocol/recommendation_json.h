// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one JSON form of a Recommendation, shared by the wire (recommendation, history and explain
// replies) and the brain's state file, so a record reads back the same from either.
// Times are written twice: Unix seconds (created_unix, expires_unix: what clients read) and
// Unix nanoseconds (created_ns, expires_ns: exact, what a restart needs); a reader prefers the
// nanoseconds. JSON has no inf/NaN: a non-finite old_value, new_value or confidence is written
// as 0 and a non-finite map entry is left out. Unknown fields are ignored.
// Callers include nlohmann_json themselves (this header only forward-declares it).
// Thread rule: pure functions, any thread.

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/recommendation.h"
#include "core/status.h"

namespace knob::protocol {

nlohmann::json RecommendationToJson(const Recommendation& rec);
// Fails naming the exact field ("field 'records[2].outcome': unknown outcome 'x'"); `prefix`
// is the record's path in the enclosing document.
Result<Recommendation> RecommendationFromJson(const nlohmann::json& j,
                                              const std::string& prefix = "");

}  // namespace knob::protocol
