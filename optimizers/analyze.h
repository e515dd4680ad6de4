// SPDX-License-Identifier: Apache-2.0
#pragma once
// Offline analysis for capacity planners, the same math knobd runs online:
//   knobctl analyze usl FILE.csv   columns concurrency,throughput[,latency] (header optional,
//                                  '#' comments); prints alpha, beta, gamma with standard
//                                  errors, N*, R^2 and the predicted curve
//   knobctl analyze mrc TRACE      one key per line; prints the LRU miss-ratio curve
//                                  [--sample-rate R] uses SHARDS sampling
// knobctl (client side) forwards its arguments after "analyze" to RunAnalyze.
// Thread rule: pure functions over the given streams, any thread.

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "optimizers/models/usl.h"

namespace knob {

// Returns the process exit code: 0 ok, 1 bad data, 2 usage error.
// args: {"usl", "FILE.csv"} or {"mrc", "TRACE", ["--sample-rate", "0.1"]}.
int RunAnalyze(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

struct UslSample {
  double concurrency = 0, throughput = 0;
  double latency = -1;  // seconds, < 0 when the column is absent
};
// Parses the CSV text; errors name the line.
Result<std::vector<UslSample>> ParseUslCsv(std::string_view text);

}  // namespace knob
