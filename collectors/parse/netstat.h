// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/net/netstat (and /proc/net/snmp): pairs of lines, a header of names and a
// line of values with the same prefix. Linux 6.18 excerpt:
//   TcpExt: SyncookiesSent SyncookiesRecv ... ListenOverflows ListenDrops ...
//   TcpExt: 0 0 ... 0 0 ...
// Thread rule: pure function.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct ListenCounters {
  uint64_t listen_overflows = 0, listen_drops = 0;
};

// Error when there is no TcpExt pair, the pair's lengths differ, or either counter is missing.
Result<ListenCounters> ParseNetstatListen(std::string_view text);

// The value of `prefix`:`name` (e.g. "TcpExt", "ListenDrops"), unset when absent or malformed.
std::optional<uint64_t> NetstatValue(std::string_view text, std::string_view prefix,
                                     std::string_view name);

}  // namespace knob::parse
