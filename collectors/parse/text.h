// SPDX-License-Identifier: Apache-2.0
#pragma once
// Small allocation-free helpers shared by the pure parsers: tokens and numbers from a
// string_view, via std::from_chars (no locale, no iostreams).
// Thread rule: pure functions.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace knob::parse {

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Skips leading whitespace, returns the next whitespace-delimited token and advances `s`.
inline std::string_view NextToken(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  size_t j = i;
  while (j < s.size() && !IsSpace(s[j])) ++j;
  std::string_view tok = s.substr(i, j - i);
  s.remove_prefix(j);
  return tok;
}

// Returns the next line (without '\n') and advances `s` past it.
inline std::string_view NextLine(std::string_view& s) {
  size_t nl = s.find('\n');
  std::string_view line = s.substr(0, nl);
  s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
  return line;
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Whole-token parses: false on empty input, trailing junk, or overflow.
inline bool ToU64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
inline bool ToI64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
inline bool ToDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
// from_chars accepts "nan", "inf" and a leading '-'; the kernel never prints them for loads or
// percentages, so a value outside [0, max] is garbage the models must not see.
inline bool ToNonNegativeFinite(std::string_view s, double& out, double max) {
  return ToDouble(s, out) && std::isfinite(out) && out >= 0 && out <= max;
}

}  // namespace knob::parse
