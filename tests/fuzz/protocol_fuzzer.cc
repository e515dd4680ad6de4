// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the control protocol: Decode of one line, and when it decodes, the
// Encode/Decode round trip (aborts on a mismatch so libFuzzer keeps the input); the same bytes
// also go through LineFramer in two chunks.
// Build and run: see the "Fuzzing" section of docs/architecture.md.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/codec.h"
#include "core/protocol/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = knob::protocol::Decode(line);
  if (r.ok()) {
    std::string once = knob::protocol::Encode(*r);
    auto again = knob::protocol::Decode(once);
    if (!again.ok() || knob::protocol::Encode(*again) != once) {
      std::fprintf(stderr, "round trip broke: %s\n", once.c_str());
      std::abort();
    }
  }
  knob::protocol::LineFramer framer(256);
  std::vector<std::string> lines;
  (void)framer.Feed(line.substr(0, size / 2), lines);
  (void)framer.Feed(line.substr(size / 2), lines);
  for (const auto& l : lines)
    if (l.size() > 256) std::abort();
  return 0;
}
