// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one number formatter for sentences: reasons, diffs, diagnostics and knobctl tables.
// Whole numbers print without a fraction ("32", not "32.0" or "3.2e+01"); others with
// `significant` digits in %g style ("0.125", "1.23e-05"). Thread rule: pure, any thread.

#include <string>

namespace knob {

std::string FormatNumber(double v, int significant = 6);

}  // namespace knob
