// SPDX-License-Identifier: Apache-2.0
#pragma once
// What changed between two policies, in words, for the reload log line.
// Thread rule: pure function, any thread.

#include <string>
#include <vector>

#include "config/policy.h"

namespace knob {

// Human-readable list of what differs, one line each ("tick_interval: 1s -> 500ms",
// "target web added"). Empty when nothing changed.
std::vector<std::string> DescribePolicyChanges(const Policy& before, const Policy& after);

}  // namespace knob
