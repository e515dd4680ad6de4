// SPDX-License-Identifier: Apache-2.0
#pragma once
// One report for a target served by several processes registered under one name (a pre-fork
// server's workers, replicas on one host): what knobd models and shows for the whole service.
//   - Counters (requests, errors, cache hits and misses) are summed over the live instances
//     plus what departed instances had counted (`Retire`), so the sum never goes backwards when
//     a master respawns a worker whose counters start again at zero: the model sees a service,
//     not a restart.
//   - Gauges (in_flight, queue_depth, pools, cache bytes) are summed.
//   - Latency histograms with the same bucket bounds are merged bucket by bucket and the
//     percentiles recomputed from the merged counts; instances with other bounds (or none) are
//     left out of the histogram and contribute their percentiles as a maximum, which errs
//     towards a slower service, never a faster one.
//   - Knob values are the first instance's (a set goes to every instance, so they agree once
//     one has been applied).
// PerInstance() turns the sum into what one instance sees (pools and cache sizes divided by the
// instance count), because a knob such as a pool size is set on each instance.
// Pure functions, no state: any thread.

#include <cstddef>
#include <vector>

#include "core/snapshot.h"

namespace knob {

// Counters a departed instance had reported, added to what the target keeps for it.
void Retire(const AppReport& last, AppReport& retired);

// The sum of `live` (non-empty) plus the counters in `retired`.
AppReport MergeInstanceReports(const std::vector<const AppReport*>& live, const AppReport& retired);

// What one of `instances` instances sees of the merged report: pool sizes, busy, waiters and
// cache bytes and capacities divided by `instances`; counters and latency stay whole-service.
AppReport PerInstance(AppReport merged, size_t instances);

}  // namespace knob
