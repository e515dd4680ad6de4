// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for PSI files: /proc/pressure/{cpu,memory,io} and cgroup v2 {cpu,memory,io}.pressure
// (Documentation/accounting/psi.rst). Linux 6.18:
//   some avg10=0.00 avg60=0.28 avg300=0.19 total=4235776
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
// Before 5.13 the cpu file has no "full" line; that is not an error. Reading a PSI file when
// PSI is compiled in but disabled (psi=0) fails with EOPNOTSUPP; that is the caller's concern.
// Thread rule: pure function.

#include <string_view>

#include "core/snapshot.h"
#include "core/status.h"

namespace knob::parse {

// Error when no "some" line parses or a present line is malformed.
Result<Pressure> ParsePressure(std::string_view text);

}  // namespace knob::parse
