// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/statm.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<Statm> ParseStatm(std::string_view text) {
  Statm s;
  if (!ToU64(NextToken(text), s.size_pages) || !ToU64(NextToken(text), s.resident_pages) ||
      !ToU64(NextToken(text), s.shared_pages)) {
    return InvalidArgumentError("statm: expected size resident shared");
  }
  return s;
}

}  // namespace knob::parse
