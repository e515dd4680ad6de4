// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the three netlink reply parsers of core/sock_diag.h: one inet_diag
// or unix_diag dump datagram, or one taskstats reply. They read what the kernel sends, so a
// malformed length field must give an error Status, never a read outside the datagram. The first
// byte picks the parser; the rest is the datagram, copied into a buffer of exactly its size so
// ASan sees any read past its end. Seeds: tests/fuzz/corpus/netlink/ (real kernel replies,
// scripts/capture_netlink_seeds.py).
// Build and run: see the "Fuzzing" section of docs/architecture.md.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/sock_diag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<char> datagram(data + 1, data + size);
  const char* p = datagram.data();
  const size_t len = datagram.size();
  std::vector<knob::TcpSocketInfo> sockets;
  switch (data[0] % 4) {
    case 0:
      (void)knob::ParseInetDiagDatagram(p, len, /*with_info=*/true, sockets);
      break;
    case 1:
      (void)knob::ParseInetDiagDatagram(p, len, /*with_info=*/false, sockets);
      break;
    case 2:
      (void)knob::ParseUnixDiagDatagram(p, len, sockets);
      break;
    case 3: {
      knob::TaskStatsTotals totals;
      (void)knob::ParseTaskStatsReply(p, len, totals);
      break;
    }
  }
  // Every socket came from a whole message header: there cannot be more than one per 16 bytes.
  if (sockets.size() > len / 16) std::abort();
  return 0;
}
