// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/cgroup.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<PidCgroup> ParsePidCgroup(std::string_view text) {
  PidCgroup cg;
  bool any = false;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    if (Trim(line).empty()) continue;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return InvalidArgumentError("cgroup: malformed line");
    std::string_view id = line.substr(0, c1);
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);  // may contain ':'
    any = true;
    if (id == "0" && controllers.empty()) {
      cg.unified = std::string(path);
      continue;
    }
    while (!controllers.empty()) {
      size_t comma = controllers.find(',');
      cg.v1[std::string(controllers.substr(0, comma))] = std::string(path);
      controllers.remove_prefix(comma == std::string_view::npos ? controllers.size() : comma + 1);
    }
  }
  if (!any) return InvalidArgumentError("cgroup: empty");
  return cg;
}

Result<CgroupCpuStat> ParseCgroupCpuStat(std::string_view text) {
  CgroupCpuStat st;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    std::string_view key = NextToken(line);
    if (key.empty()) continue;
    std::optional<uint64_t>* dst = nullptr;
    if (key == "usage_usec")
      dst = &st.usage_usec;
    else if (key == "nr_periods")
      dst = &st.nr_periods;
    else if (key == "nr_throttled")
      dst = &st.nr_throttled;
    else if (key == "throttled_usec")
      dst = &st.throttled_usec;
    if (dst == nullptr) continue;
    uint64_t v = 0;
    if (!ToU64(NextToken(line), v)) return InvalidArgumentError("cpu.stat: bad value");
    *dst = v;
  }
  if (!st.usage_usec) return InvalidArgumentError("cpu.stat: no usage_usec");
  return st;
}

Result<std::optional<double>> ParseCgroupCpuMax(std::string_view text) {
  std::string_view quota = NextToken(text);
  std::string_view period = NextToken(text);
  uint64_t p = 0, q = 0;
  if (!ToU64(period, p) || p == 0) return InvalidArgumentError("cpu.max: bad period");
  if (quota == "max") return std::optional<double>();
  if (!ToU64(quota, q)) return InvalidArgumentError("cpu.max: bad quota");
  return std::optional<double>(static_cast<double>(q) / static_cast<double>(p));
}

}  // namespace knob::parse
