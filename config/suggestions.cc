// SPDX-License-Identifier: Apache-2.0
#include "config/suggestions.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/units.h"

namespace knob {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "1sec" -> "1s", "5 min" -> "5m", "2d" -> "48h": the spellings people reach for first.
std::optional<std::string> DurationSpellingFix(std::string_view s) {
  auto [num, unit] = SplitNumberUnit(s);
  if (!ParseUnsignedDecimal(num)) return std::nullopt;
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static const std::pair<const char*, const char*> kSpellings[] = {
      {"nsec", "ns"},   {"nanoseconds", "ns"},
      {"usec", "us"},   {"microseconds", "us"},
      {"msec", "ms"},   {"milliseconds", "ms"},
      {"ms", "ms"},     {"sec", "s"},
      {"secs", "s"},    {"second", "s"},
      {"seconds", "s"}, {"s", "s"},
      {"min", "m"},     {"mins", "m"},
      {"minute", "m"},  {"minutes", "m"},
      {"m", "m"},       {"hr", "h"},
      {"hrs", "h"},     {"hour", "h"},
      {"hours", "h"},   {"h", "h"},
      {"ns", "ns"},     {"us", "us"}};
  const std::string lower = Lower(unit);
  for (const auto& [from, to] : kSpellings) {
    if (lower == from) return std::string(num) + to;
  }
  if ((lower == "d" || lower == "day" || lower == "days") && num.find('.') == std::string::npos) {
    uint64_t days = 0;
    std::from_chars(num.data(), num.data() + num.size(), days);
    if (days > 0 && days < 100000) return std::to_string(days * 24) + "h";
  }
  return std::nullopt;
}

// "64kb" -> "64KB (1000) or 64KiB (1024)": units are case-sensitive on purpose.
std::optional<std::string> SizeSpellingFix(std::string_view s) {
  auto [num, unit] = SplitNumberUnit(s);
  if (!ParseUnsignedDecimal(num)) return std::nullopt;
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const std::string lower = Lower(unit);
  const std::string n(num);
  if (lower == "b" || lower == "bytes" || lower == "byte") return "did you mean '" + n + "B'?";
  static const char* const kPrefixes[] = {"K", "M", "G", "T"};
  for (const char* p : kPrefixes) {
    const std::string lp = Lower(p);
    if (lower == lp || lower == lp + "b" || lower == lp + "ib") {
      return "did you mean '" + n + p + "iB' (x1024) or '" + n + p + "B' (x1000)?";
    }
  }
  return std::nullopt;
}

// Optimal string alignment distance (Levenshtein plus adjacent transposition): "tcik" is one
// edit from "tick", as a human would count it.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest candidate within a typo's reach (a third of the word, at least 1, at most 3).
// A word that is a prefix of a candidate, or has one as its prefix, also counts ("tick" for
// "tick_interval", "warning" for "warn"): people abbreviate and over-type more than they misspell.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        bool allow_prefix, size_t max_limit) {
  size_t limit = std::clamp<size_t>(word.size() / 3, 1, max_limit);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    size_t dist = EditDistance(word, c);
    std::string_view shorter = word.size() < c.size() ? word : std::string_view(c);
    std::string_view longer = word.size() < c.size() ? std::string_view(c) : word;
    if (allow_prefix && shorter.size() >= 3 && longer.substr(0, shorter.size()) == shorter) {
      dist = std::min(dist, limit);
    }
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string ChoiceHint(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view what) {
  if (std::optional<std::string> m = ClosestMatch(word, candidates)) {
    return "did you mean '" + *m + "'?";
  }
  return std::string(what) + ": " + JoinList(candidates);
}

}  // namespace knob
