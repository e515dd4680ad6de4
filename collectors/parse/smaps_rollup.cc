// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/smaps_rollup.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<SmapsRollup> ParseSmapsRollup(std::string_view text) {
  SmapsRollup r;
  bool rss = false, pss = false;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    uint64_t* dst = nullptr;
    if (key == "Rss") {
      dst = &r.rss_bytes;
      rss = true;
    } else if (key == "Pss") {
      dst = &r.pss_bytes;
      pss = true;
    } else if (key == "Anonymous")
      dst = &r.anonymous_bytes;
    else if (key == "Swap")
      dst = &r.swap_bytes;
    if (dst == nullptr) continue;
    std::string_view v = line.substr(colon + 1);
    uint64_t kb = 0;
    if (!ToU64(NextToken(v), kb) || kb > UINT64_MAX / 1024) {
      return InvalidArgumentError("smaps_rollup: bad value");
    }
    *dst = kb * 1024;
  }
  if (!rss || !pss) return InvalidArgumentError("smaps_rollup: no Rss/Pss");
  return r;
}

}  // namespace knob::parse
