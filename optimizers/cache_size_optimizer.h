// SPDX-License-Identifier: Apache-2.0
#pragma once
// Cache-size optimizer, by the miss-ratio curve (optimizers/models/mrc.h).
// Knobs: cache_bytes -> the only/first cache; NAME_cache_bytes -> cache "NAME".
//   cap = current size + 80% of (memory constraint - rss) when a memory constraint is set
//   rss above the constraint: give the excess back (shrink_cache_memory, a violation fix);
//   else grow to the smallest size reaching 99.5% of the best hit ratio under the cap (rounded
//   up to 1/16 of the power of two below it, at least 64 KiB) when that gains >= 1 point of hit
//   ratio (grow_cache_hits); shrink to it when the cache is larger than needed
//   (shrink_cache_unused). Under a throughput objective the step predicts throughput x (1 + g),
//   g = min(1, (1 - h) / (1 - h_step) - 1), and accepts p99 x (1 + g) capped at
//   (1 - hysteresis) x SLO.
// The one owner of the cache knobs (all.cc); its proposals and scenario table carry optimizer
// "cache_size". (Until 2026-12 caches were sized through PoolSizeOptimizer and named
// "pool_size"; records in older state files keep that name.)
// Source: Waldspurger et al. FAST 2015 (SHARDS MRC).
// Thread rule: stateless.

#include "optimizers/optimizer.h"

namespace knob {

class CacheSizeOptimizer final : public Optimizer {
 public:
  std::string_view Name() const override { return "cache_size"; }
  bool Handles(std::string_view knob) const override { return IsCacheKnob(knob); }
  std::span<const Scenario> Scenarios() const override;
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;

  static bool IsCacheKnob(std::string_view knob);
};

}  // namespace knob
