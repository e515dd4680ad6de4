// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/schedstat.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<Schedstat> ParseSchedstat(std::string_view text) {
  Schedstat s;
  if (!ToU64(NextToken(text), s.run_ns) || !ToU64(NextToken(text), s.wait_ns) ||
      !ToU64(NextToken(text), s.timeslices)) {
    return InvalidArgumentError("schedstat: expected 3 numbers");
  }
  return s;
}

}  // namespace knob::parse
