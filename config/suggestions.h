// SPDX-License-Identifier: Apache-2.0
#pragma once
// Did-you-mean hints for the loader's messages: the closest valid word to a typo, and the
// spelling people reach for first for a duration or a size ("1sec", "64kb").
// Thread rule: pure functions, any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace knob {

std::string Lower(std::string_view s);

// "1sec" -> "1s", "5 min" -> "5m", "2d" -> "48h"; nullopt when no fix is known.
std::optional<std::string> DurationSpellingFix(std::string_view s);
// A whole hint: "did you mean '64KiB' (x1024) or '64KB' (x1000)?"; nullopt when none applies.
std::optional<std::string> SizeSpellingFix(std::string_view s);

// Optimal string alignment distance: Levenshtein plus adjacent transposition.
size_t EditDistance(std::string_view a, std::string_view b);
// The closest candidate within a typo's reach; see the definition for the reach.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        bool allow_prefix = true, size_t max_limit = 3);
std::string JoinList(const std::vector<std::string>& items);  // "a, b, c"
// "did you mean 'X'?" when a candidate is close, else "WHAT: a, b, c".
std::string ChoiceHint(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view what);

}  // namespace knob
