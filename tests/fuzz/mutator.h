// SPDX-License-Identifier: Apache-2.0
#pragma once
// Deterministic structure-aware mutator for the fuzz smoke tests: takes realistic seed texts
// (fixture /proc files, protocol examples, policy examples) and derives broken variants of them
// with byte flips, truncation, line duplication/deletion/swaps, token deletion and insertion of
// hostile tokens (huge and negative numbers, NUL, newlines, parentheses, nan/inf).
// Determinism matters more than speed: a failure must reproduce from the printed iteration
// number alone, so randomness comes only from a fixed-seed std::mt19937 and plain modulo (the
// std distributions differ between standard libraries).
// Thread rule: one instance per test, single thread.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace knob::fuzz {

// Tokens every target gets: numbers at the edges of the integer and double types, and the
// separators the /proc formats, JSON and YAML give meaning to.
inline std::vector<std::string> CommonDictionary() {
  return {"0",
          "-1",
          "-0",
          "1",
          "18446744073709551615",
          "18446744073709551616",
          "9223372036854775807",
          "-9223372036854775808",
          "2147483648",
          "4294967295",
          "4294967296",
          "99999999999999999999999999999",
          "1e308",
          "1e309",
          "-1e309",
          "nan",
          "inf",
          "-inf",
          "0x10",
          "+1",
          "1.5",
          "00000000000000000000000001",
          std::string(1, '\0'),
          "\n",
          "\r\n",
          " ",
          "\t",
          "(",
          ")",
          ") (",
          ":",
          "::",
          "=",
          ",",
          "-",
          "/",
          "\xff\xfe"};
}

class Mutator {
 public:
  Mutator(uint32_t seed, std::vector<std::string> extra_dictionary) : rng_(seed) {
    dict_ = CommonDictionary();
    dict_.insert(dict_.end(), extra_dictionary.begin(), extra_dictionary.end());
  }

  // One mutant: a random seed with one to four stacked mutations.
  std::string Next(const std::vector<std::string>& seeds) {
    std::string s = seeds[Below(seeds.size())];
    size_t rounds = 1 + Below(4);
    for (size_t i = 0; i < rounds; ++i) MutateOnce(s, seeds);
    return s;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  const std::string& Token() { return dict_[Below(dict_.size())]; }

  // Byte offsets where lines start (always includes 0).
  static std::vector<size_t> LineStarts(const std::string& s) {
    std::vector<size_t> starts{0};
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == '\n' && i + 1 < s.size()) starts.push_back(i + 1);
    return starts;
  }
  // [begin, end) of line k including its '\n'.
  static std::pair<size_t, size_t> LineRange(const std::string& s, size_t begin) {
    size_t nl = s.find('\n', begin);
    return {begin, nl == std::string::npos ? s.size() : nl + 1};
  }

  void MutateOnce(std::string& s, const std::vector<std::string>& seeds) {
    switch (Below(12)) {
      case 0:  // flip one bit
        if (!s.empty()) s[Below(s.size())] ^= static_cast<char>(1u << Below(8));
        break;
      case 1: {  // overwrite one byte with a separator-like character
        static constexpr std::string_view kChars("\0\n\r\t ():=,-/{}[]\"'#&*!|>%.", 27);
        if (!s.empty()) s[Below(s.size())] = kChars[Below(kChars.size())];
        break;
      }
      case 2:  // truncate
        s.resize(Below(s.size() + 1));
        break;
      case 3:  // insert a dictionary token anywhere
        s.insert(Below(s.size() + 1), Token());
        break;
      case 4: {  // replace a run of digits with a dictionary token (often a hostile number)
        std::vector<size_t> runs;
        for (size_t i = 0; i < s.size(); ++i)
          if (std::isdigit(static_cast<unsigned char>(s[i])) &&
              (i == 0 || !std::isdigit(static_cast<unsigned char>(s[i - 1]))))
            runs.push_back(i);
        if (runs.empty()) break;
        size_t b = runs[Below(runs.size())], e = b;
        while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
        s.replace(b, e - b, Token());
        break;
      }
      case 5: {  // duplicate a line
        auto starts = LineStarts(s);
        auto [b, e] = LineRange(s, starts[Below(starts.size())]);
        std::string line = s.substr(b, e - b);
        if (line.empty() || line.back() != '\n') line.push_back('\n');
        s.insert(starts[Below(starts.size())], line);
        break;
      }
      case 6: {  // delete a line
        auto starts = LineStarts(s);
        auto [b, e] = LineRange(s, starts[Below(starts.size())]);
        s.erase(b, e - b);
        break;
      }
      case 7: {  // delete one whitespace-separated field
        std::vector<size_t> toks;
        for (size_t i = 0; i < s.size(); ++i)
          if (!std::isspace(static_cast<unsigned char>(s[i])) &&
              (i == 0 || std::isspace(static_cast<unsigned char>(s[i - 1]))))
            toks.push_back(i);
        if (toks.empty()) break;
        size_t b = toks[Below(toks.size())], e = b;
        while (e < s.size() && !std::isspace(static_cast<unsigned char>(s[e]))) ++e;
        s.erase(b, e - b);
        break;
      }
      case 8: {  // swap two lines
        auto starts = LineStarts(s);
        if (starts.size() < 2) break;
        size_t i = Below(starts.size()), j = Below(starts.size());
        if (i == j) break;
        if (i > j) std::swap(i, j);
        auto [bi, ei] = LineRange(s, starts[i]);
        auto [bj, ej] = LineRange(s, starts[j]);
        std::string li = s.substr(bi, ei - bi), lj = s.substr(bj, ej - bj);
        if (lj.empty() || lj.back() != '\n') lj.push_back('\n');
        s = s.substr(0, bi) + lj + s.substr(ei, bj - ei) + li + s.substr(ej);
        break;
      }
      case 9: {  // splice: our prefix + another seed's suffix
        const std::string& other = seeds[Below(seeds.size())];
        s = s.substr(0, Below(s.size() + 1)) + other.substr(Below(other.size() + 1));
        break;
      }
      case 10: {  // insert raw random bytes
        size_t n = 1 + Below(8);
        std::string bytes;
        for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(rng_() & 0xff));
        s.insert(Below(s.size() + 1), bytes);
        break;
      }
      case 11: {  // repeat a chunk many times: long lines, many fields, deep nesting
        if (s.empty()) break;
        size_t b = Below(s.size());
        std::string chunk = s.substr(b, 1 + Below(16));
        std::string rep;
        for (size_t i = 0, n = 2 + Below(200); i < n; ++i) rep += chunk;
        s.insert(b, rep);
        break;
      }
    }
  }

  std::mt19937 rng_;
  std::vector<std::string> dict_;
};

}  // namespace knob::fuzz
