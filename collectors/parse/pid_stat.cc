// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/pid_stat.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<PidStat> ParsePidStat(std::string_view text) {
  PidStat st;
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return InvalidArgumentError("stat: no (comm)");
  }
  int64_t pid = 0;
  if (!ToI64(Trim(text.substr(0, open)), pid) || pid < 1 || pid > INT32_MAX) {
    return InvalidArgumentError("stat: bad pid");
  }
  st.pid = static_cast<pid_t>(pid);
  st.comm.assign(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  // Fields 3.. after the comm; index 0 is field 3.
  std::string_view f[40];
  int n = 0;
  while (n < 40) {
    std::string_view tok = NextToken(rest);
    if (tok.empty()) break;
    f[n++] = tok;
  }
  constexpr int kNeed = 22;  // through field 24 (rss)
  if (n < kNeed)
    return InvalidArgumentError("stat: truncated (" + std::to_string(n + 2) + " fields)");
  if (f[0].size() != 1) return InvalidArgumentError("stat: bad state");
  st.state = f[0][0];
  int64_t ppid = 0;
  bool ok = ToI64(f[1], ppid) && ToU64(f[7], st.minflt) && ToU64(f[9], st.majflt) &&
            ToU64(f[11], st.utime_ticks) && ToU64(f[12], st.stime_ticks) &&
            ToI64(f[17], st.num_threads) && ToU64(f[19], st.starttime_ticks) &&
            ToI64(f[21], st.rss_pages);
  // The kernel never prints these negative (ppid is 0 for init/kthreadd), and pid_t is 32-bit.
  if (!ok || ppid < 0 || ppid > INT32_MAX || st.num_threads < 0 || st.rss_pages < 0) {
    return InvalidArgumentError("stat: bad number");
  }
  st.ppid = static_cast<pid_t>(ppid);
  int64_t cpu = 0;
  if (n > 36 && ToI64(f[36], cpu) && cpu >= 0 && cpu <= INT32_MAX)
    st.processor = static_cast<int>(cpu);
  return st;
}

}  // namespace knob::parse
