// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/pid_status.h"

#include <string>

#include "collectors/parse/text.h"

namespace knob::parse {

std::optional<uint32_t> CountCpuList(std::string_view list) {
  list = Trim(list);
  if (list.empty()) return uint32_t{0};
  // Far above the kernel's NR_CPUS limit; bounds the sum so it cannot wrap.
  constexpr uint64_t kMaxCpus = uint64_t{1} << 20;
  uint64_t count = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view part = list.substr(0, comma);
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    size_t dash = part.find('-');
    uint64_t a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (!ToU64(part, a) || a >= kMaxCpus) return std::nullopt;
      ++count;
    } else {
      if (!ToU64(part.substr(0, dash), a) || !ToU64(part.substr(dash + 1), b) || b < a ||
          b >= kMaxCpus) {
        return std::nullopt;
      }
      count += b - a + 1;
    }
    if (count > kMaxCpus) return std::nullopt;
  }
  return static_cast<uint32_t>(count);
}

Result<PidStatus> ParsePidStatus(std::string_view text) {
  if (Trim(text).empty()) return InvalidArgumentError("status: empty");
  PidStatus st;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view val = line.substr(colon + 1);
    auto number = [&](std::optional<uint64_t>& out, uint64_t scale) -> bool {
      std::string_view v = val;
      uint64_t x = 0;
      if (!ToU64(NextToken(v), x) || x > UINT64_MAX / scale) return false;
      out = x * scale;
      return true;
    };
    bool ok = true;
    if (key == "Threads")
      ok = number(st.threads, 1);
    else if (key == "VmRSS")
      ok = number(st.vm_rss_bytes, 1024);
    else if (key == "RssAnon")
      ok = number(st.rss_anon_bytes, 1024);
    else if (key == "VmSwap")
      ok = number(st.vm_swap_bytes, 1024);
    else if (key == "voluntary_ctxt_switches")
      ok = number(st.voluntary_ctxt_switches, 1);
    else if (key == "nonvoluntary_ctxt_switches")
      ok = number(st.nonvoluntary_ctxt_switches, 1);
    else if (key == "Cpus_allowed_list") {
      st.cpus_allowed = CountCpuList(val);
      ok = st.cpus_allowed.has_value();
    }
    if (!ok) return InvalidArgumentError("status: bad value for " + std::string(key));
  }
  return st;
}

}  // namespace knob::parse
