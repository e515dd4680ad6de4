// SPDX-License-Identifier: Apache-2.0
#pragma once
// Units as a person writes them in the policy: durations (250ms), sizes (64KiB) and percentages
// (10%), parsed strictly and formatted back the way they are written. Shared by the loader, the
// reload diff, the protocol's callers and knobctl. Thread rule: pure functions, any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace knob {

// Strict unit parsers. Accepted forms are in the loader's messages.
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view s);  // 250ms 1s 5m 1h 10us
std::optional<uint64_t> ParseSize(std::string_view s);   // 512 512B 64KiB 2GiB 1MB
std::optional<double> ParsePercent(std::string_view s);  // "10%" -> 0.10
std::string FormatDuration(std::chrono::nanoseconds d);  // the largest unit that divides: "1500ms"
std::string FormatSize(uint64_t bytes);                  // binary units that divide: "64KiB"
std::string FormatPercent(double fraction);              // "10%" for 0.10; inverse of ParsePercent

// The number grammar under the units, for the loader's own checks.
// [0-9]+(\.[0-9]+)?: no sign, no exponent, no spaces.
std::optional<long double> ParseUnsignedDecimal(std::string_view s);
// An optional leading '-' then the unsigned grammar, so "-1" can be told "must not be negative".
std::optional<double> ParseNumber(std::string_view s);
// "250ms" -> ("250", "ms"), split at the first character that cannot be part of a number.
std::pair<std::string_view, std::string_view> SplitNumberUnit(std::string_view s);
// A number with an optional sign and no unit ("12", "-0.5").
bool IsPlainNumber(std::string_view s);

}  // namespace knob
