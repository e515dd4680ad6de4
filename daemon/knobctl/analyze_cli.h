// SPDX-License-Identifier: Apache-2.0
#pragma once
// `knobctl analyze` (docs/knobctl.md): knobd's own models on files, no daemon needed.
//   usl FILE.csv [--plot out.png]   USL fit of concurrency,throughput[,latency] rows: the
//                                   parameters, an ASCII plot of the fit against the data, and a
//                                   PNG drawn by gnuplot (Debian package gnuplot-nox) on request
//   mrc TRACE [--sample-rate R]     LRU miss-ratio curve of a key trace (one key per line) of any
//                                   size: streamed, with memory bounded by a fixed-size SHARDS
//                                   sample (at most kMaxSampledKeys keys; the rate drops when the
//                                   trace has more distinct keys), progress on a terminal
// --json prints the result as one JSON object.
// Thread rule: any thread; runs gnuplot as a child process for --plot.

#include <cstddef>
#include <iosfwd>

#include "daemon/knobctl/knobctl.h"

namespace knob::ctl {

inline constexpr size_t kMaxSampledKeys = 1 << 16;

int RunAnalyzeCli(const AnalyzeRequest& req, std::ostream& out, std::ostream& err);

}  // namespace knob::ctl
