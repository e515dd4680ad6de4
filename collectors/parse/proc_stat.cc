// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/proc_stat.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<ProcStat> ParseProcStat(std::string_view text) {
  ProcStat st;
  bool have_total = false;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    std::string_view key = NextToken(line);
    if (key.substr(0, 3) == "cpu") {
      CpuTimes c;
      if (key.size() > 3) {
        uint64_t idx = 0;
        // Far above the kernel's NR_CPUS limit; keeps the narrowing to int exact.
        constexpr uint64_t kMaxCpuIndex = uint64_t{1} << 20;
        if (!ToU64(key.substr(3), idx) || idx > kMaxCpuIndex) {
          return InvalidArgumentError("stat: bad cpu name");
        }
        c.cpu = static_cast<int>(idx);
      }
      uint64_t* cols[] = {&c.user, &c.nice,    &c.system, &c.idle,  &c.iowait,
                          &c.irq,  &c.softirq, &c.steal,  &c.guest, &c.guest_nice};
      int n = 0;
      for (uint64_t* col : cols) {
        std::string_view tok = NextToken(line);
        if (tok.empty()) break;
        if (!ToU64(tok, *col)) return InvalidArgumentError("stat: bad cpu column");
        ++n;
      }
      if (n < 4) return InvalidArgumentError("stat: truncated cpu line");
      if (c.cpu < 0) {
        st.total = c;
        have_total = true;
      } else {
        st.cpus.push_back(c);
      }
    } else if (key == "procs_running" || key == "procs_blocked") {
      uint64_t v = 0;
      if (!ToU64(NextToken(line), v)) return InvalidArgumentError("stat: bad procs line");
      (key == "procs_running" ? st.procs_running : st.procs_blocked) = v;
    }
  }
  if (!have_total) return InvalidArgumentError("stat: no cpu line");
  return st;
}

}  // namespace knob::parse
