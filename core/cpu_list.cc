// SPDX-License-Identifier: Apache-2.0
#include "core/cpu_list.h"

#include <algorithm>
#include <charconv>

namespace knob {

Result<std::vector<int>> ParseCpuList(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("CPU list '" + std::string(text) + "': " + std::string(why) +
                                " (expected e.g. 0-3,8)");
  };
  if (text.empty()) return bad("empty");
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    size_t dash = item.find('-');
    auto number = [](std::string_view s, int& v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return !s.empty() && ec == std::errc() && p == s.data() + s.size();
    };
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, lo)) return bad("'" + std::string(item) + "' is not a CPU number");
      hi = lo;
    } else if (!number(item.substr(0, dash), lo) || !number(item.substr(dash + 1), hi)) {
      return bad("'" + std::string(item) + "' is not a range like 0-3");
    }
    if (lo < 0 || hi > kMaxCpu) return bad("CPU numbers go from 0 to " + std::to_string(kMaxCpu));
    if (lo > hi) return bad("range '" + std::string(item) + "' runs backwards");
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<int> c = cpus;
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  std::string out;
  for (size_t i = 0; i < c.size();) {
    size_t j = i;
    while (j + 1 < c.size() && c[j + 1] == c[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::to_string(c[i]) + "-" + std::to_string(c[j]);
    } else {
      for (size_t k = i; k <= j; ++k) out += (k > i ? "," : "") + std::to_string(c[k]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace knob
