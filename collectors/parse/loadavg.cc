// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/loadavg.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<LoadAvg> ParseLoadAvg(std::string_view text) {
  LoadAvg l;
  // 1e9 is far above any real run queue; it only keeps absurd values out of the models.
  constexpr double kMaxLoad = 1e9;
  if (!ToNonNegativeFinite(NextToken(text), l.load1, kMaxLoad) ||
      !ToNonNegativeFinite(NextToken(text), l.load5, kMaxLoad) ||
      !ToNonNegativeFinite(NextToken(text), l.load15, kMaxLoad)) {
    return InvalidArgumentError("loadavg: bad load");
  }
  std::string_view tasks = NextToken(text);
  size_t slash = tasks.find('/');
  if (slash == std::string_view::npos || !ToU64(tasks.substr(0, slash), l.runnable) ||
      !ToU64(tasks.substr(slash + 1), l.total)) {
    return InvalidArgumentError("loadavg: bad runnable/total");
  }
  uint64_t last = 0;
  if (ToU64(NextToken(text), last)) l.last_pid = last;
  return l;
}

}  // namespace knob::parse
