// SPDX-License-Identifier: Apache-2.0
#include "config/units.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

namespace knob {

using std::chrono::nanoseconds;

// [0-9]+(\.[0-9]+)? — no sign, no exponent, no spaces: what a human writes in a config file.
std::optional<long double> ParseUnsignedDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i + 1 || j != s.size()) return std::nullopt;
  }
  // from_chars has no long double overload in libstdc++ 12; strtold on a validated copy is exact
  // enough and cannot misparse because the grammar was checked above.
  std::string copy(s);
  errno = 0;
  long double v = std::strtold(copy.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Optional leading '-' then the unsigned grammar; used for plain numbers so that "-1" can be
// reported as "must not be negative" rather than "not a number".
std::optional<double> ParseNumber(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  std::optional<long double> v = ParseUnsignedDecimal(s);
  if (!v || *v > std::numeric_limits<double>::max()) return std::nullopt;
  double d = static_cast<double>(*v);
  return negative ? -d : d;
}

// Splits "250ms" into ("250", "ms") at the first character that cannot be part of a number.
std::pair<std::string_view, std::string_view> SplitNumberUnit(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  return {s.substr(0, i), s.substr(i)};
}

bool IsPlainNumber(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  auto [num, unit] = SplitNumberUnit(s);
  return !num.empty() && unit.empty();
}

std::optional<nanoseconds> ParseDuration(std::string_view s) {
  auto [num, unit] = SplitNumberUnit(s);
  std::optional<long double> v = ParseUnsignedDecimal(num);
  if (!v) return std::nullopt;
  long double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "\u00b5s")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  long double ns = std::round(*v * scale);
  if (ns > static_cast<long double>(std::numeric_limits<int64_t>::max()) / 2) return std::nullopt;
  return nanoseconds(static_cast<int64_t>(ns));
}

std::optional<uint64_t> ParseSize(std::string_view s) {
  auto [num, unit] = SplitNumberUnit(s);
  std::optional<long double> v = ParseUnsignedDecimal(num);
  if (!v) return std::nullopt;
  static const std::pair<std::string_view, long double> kUnits[] = {{"", 1},
                                                                    {"B", 1},
                                                                    {"KiB", 1024.0L},
                                                                    {"MiB", 1048576.0L},
                                                                    {"GiB", 1073741824.0L},
                                                                    {"TiB", 1099511627776.0L},
                                                                    {"KB", 1e3L},
                                                                    {"kB", 1e3L},
                                                                    {"MB", 1e6L},
                                                                    {"GB", 1e9L},
                                                                    {"TB", 1e12L}};
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    long double bytes = *v * scale;
    // A fraction of a byte is a typo, not a size.
    if (bytes != std::floor(bytes)) return std::nullopt;
    if (bytes >= 18446744073709551616.0L) return std::nullopt;
    return static_cast<uint64_t>(bytes);
  }
  return std::nullopt;
}

std::optional<double> ParsePercent(std::string_view s) {
  if (s.empty() || s.back() != '%') return std::nullopt;
  std::optional<long double> v = ParseUnsignedDecimal(s.substr(0, s.size() - 1));
  if (!v || *v > 1e9L) return std::nullopt;
  return static_cast<double>(*v / 100.0L);
}

std::string FormatDuration(nanoseconds d) {
  if (d.count() < 0) return "-" + FormatDuration(-d);
  if (d.count() == 0) return "0s";
  static const std::pair<int64_t, const char*> kUnits[] = {
      {3600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},       {1'000, "us"},         {1, "ns"}};
  for (const auto& [scale, name] : kUnits) {
    if (d.count() % scale == 0) return std::to_string(d.count() / scale) + name;
  }
  return std::to_string(d.count()) + "ns";
}

std::string FormatSize(uint64_t bytes) {
  if (bytes == 0) return "0B";
  static const std::pair<uint64_t, const char*> kUnits[] = {{uint64_t{1} << 40, "TiB"},
                                                            {uint64_t{1} << 30, "GiB"},
                                                            {uint64_t{1} << 20, "MiB"},
                                                            {uint64_t{1} << 10, "KiB"}};
  for (const auto& [scale, name] : kUnits) {
    if (bytes % scale == 0) return std::to_string(bytes / scale) + name;
  }
  return std::to_string(bytes) + "B";
}

std::string FormatPercent(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g%%", fraction * 100.0);
  return buf;
}

}  // namespace knob
