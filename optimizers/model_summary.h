// SPDX-License-Identifier: Apache-2.0
#pragma once
// ModelSummary (what the brain learned about one target) flattened into the numbers and notes
// `knobctl show` prints. A pure function: no brain, no clock.
// Thread rule: any thread.

#include "core/brain_queries.h"
#include "optimizers/brain.h"  // ModelSummary

namespace knob {

// Keys: observations, workload_shifts, latency_factor; usl.{alpha,beta,gamma,r_squared,
// confidence,levels,peak_concurrency} when fitted; pool.NAME.{offered_erlangs,arrival_rate,
// service_seconds}; cache.NAME.{hit_ratio,bytes_for_90pct}. Notes, in this order: why there is
// no USL fit, one line per penalty in force, the change being verified.
ModelView FlattenModelSummary(const ModelSummary& m);

}  // namespace knob
