// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/netstat.h"

#include "collectors/parse/text.h"

namespace knob::parse {

std::optional<uint64_t> NetstatValue(std::string_view text, std::string_view prefix,
                                     std::string_view name) {
  while (!text.empty()) {
    std::string_view names = NextLine(text);
    std::string_view p = NextToken(names);
    if (p.empty() || p.back() != ':' || p.substr(0, p.size() - 1) != prefix) continue;
    std::string_view values = NextLine(text);
    if (NextToken(values) != p) return std::nullopt;
    for (;;) {
      std::string_view n = NextToken(names);
      std::string_view v = NextToken(values);
      if (n.empty() || v.empty()) return std::nullopt;
      if (n == name) {
        uint64_t out = 0;
        if (!ToU64(v, out)) return std::nullopt;
        return out;
      }
    }
  }
  return std::nullopt;
}

Result<ListenCounters> ParseNetstatListen(std::string_view text) {
  auto o = NetstatValue(text, "TcpExt", "ListenOverflows");
  auto d = NetstatValue(text, "TcpExt", "ListenDrops");
  if (!o || !d) return InvalidArgumentError("netstat: no TcpExt ListenOverflows/ListenDrops");
  return ListenCounters{*o, *d};
}

}  // namespace knob::parse
