// SPDX-License-Identifier: Apache-2.0
#include "core/format.h"

#include <cmath>
#include <cstdio>

namespace knob {

std::string FormatNumber(double v, int significant) {
  // Below 1e15 a double holds every integer exactly, so the integer spelling loses nothing.
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

}  // namespace knob
