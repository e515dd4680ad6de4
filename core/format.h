// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one number formatter for sentences: reasons, diffs, diagnostics, decision-log lines and
// knobctl tables. Whole numbers print without a fraction ("32", not "32.0" or "3.2e+01"); others
// with `significant` digits in %g style ("0.125", "1.23e-05"). Thread rule: pure, any thread.

#include <string>

namespace knob {

std::string FormatNumber(double v, int significant = 6);

// The variants the decision path's sentences have always used, so their wording stays put.
struct NumberStyle {
  int significant = 6;
  // A value this close to a whole number prints as that whole number (the decision log's knob
  // values: 31.9999999 is the 32 a client reported through a float).
  double whole_tolerance = 0;
  // false: %g for every value, whole or not (the guard's verdicts: "1e+06").
  bool whole_as_integer = true;
};
std::string FormatNumber(double v, const NumberStyle& style);

}  // namespace knob
