// SPDX-License-Identifier: Apache-2.0
#include "core/format.h"

#include <cmath>
#include <cstdio>

namespace knob {

std::string FormatNumber(double v, int significant) {
  return FormatNumber(v, NumberStyle{.significant = significant});
}

std::string FormatNumber(double v, const NumberStyle& style) {
  // Below 1e15 a double holds every integer exactly, so the integer spelling loses nothing.
  if (style.whole_as_integer && std::isfinite(v) && std::fabs(v) < 1e15) {
    const bool near = style.whole_tolerance > 0;
    const double whole = near ? std::round(v) : std::floor(v);
    if (near ? std::fabs(v - whole) < style.whole_tolerance : v == whole) {
      // "-0" is what the {:.0f} spelling this replaces printed for a tiny negative value.
      if (whole == 0 && std::signbit(v) && near) return "-0";
      return std::to_string(static_cast<long long>(whole));
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", style.significant, v);
  return buf;
}

}  // namespace knob
