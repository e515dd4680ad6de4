// SPDX-License-Identifier: Apache-2.0
#include "collectors/parse/pressure.h"

#include "collectors/parse/text.h"

namespace knob::parse {
namespace {

// PSI averages are percentages of wall time.
constexpr double kMaxPercent = 100.0;

bool ParseLine(std::string_view rest, PressureLine& out) {
  bool a10 = false, a60 = false, a300 = false, tot = false;
  for (std::string_view tok = NextToken(rest); !tok.empty(); tok = NextToken(rest)) {
    size_t eq = tok.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (k == "avg10")
      a10 = ToNonNegativeFinite(v, out.avg10, kMaxPercent);
    else if (k == "avg60")
      a60 = ToNonNegativeFinite(v, out.avg60, kMaxPercent);
    else if (k == "avg300")
      a300 = ToNonNegativeFinite(v, out.avg300, kMaxPercent);
    else if (k == "total")
      tot = ToU64(v, out.total_us);
  }
  return a10 && a60 && a300 && tot;
}

}  // namespace

Result<Pressure> ParsePressure(std::string_view text) {
  Pressure p;
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    std::string_view kind = NextToken(line);
    if (kind.empty()) continue;
    PressureLine pl;
    if (!ParseLine(line, pl)) return InvalidArgumentError("pressure: malformed line");
    if (kind == "some")
      p.some = pl;
    else if (kind == "full")
      p.full = pl;
  }
  if (!p.some) return InvalidArgumentError("pressure: no 'some' line");
  return p;
}

}  // namespace knob::parse
