// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"math"
	"sync/atomic"
)

// Gauge is a float64 set and read atomically from any goroutine.
type Gauge struct{ bits atomic.Uint64 }

// Set stores v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Get returns the last value set (0 before any).
func (g *Gauge) Get() float64 { return math.Float64frombits(g.bits.Load()) }

// PoolGauges are the gauges of one pool (threads, connections).
type PoolGauges struct {
	Size, Busy, Waiters Gauge
}

// CacheStats are the counters of one cache plus its SHARDS reuse-distance sampler.
type CacheStats struct {
	hits, misses    atomic.Uint64
	bytes, capacity Gauge
	sampler         *shardsSampler
}

// Hit counts a lookup that found its item.
func (c *CacheStats) Hit() { c.hits.Add(1) }

// Miss counts a lookup that did not.
func (c *CacheStats) Miss() { c.misses.Add(1) }

// SetBytes records the cache's current size.
func (c *CacheStats) SetBytes(b float64) { c.bytes.Set(b) }

// SetCapacity records the cache's maximum size.
func (c *CacheStats) SetCapacity(b float64) { c.capacity.Set(b) }

// Access records every lookup (hit or miss) with the item's size: it feeds the miss-ratio
// curve. Only sampled keys (about sample_rate of them) take the sampler's mutex.
func (c *CacheStats) Access(key string, sizeBytes uint64) { c.sampler.access(key, sizeBytes) }

func (c *CacheStats) report() map[string]any {
	bounds, counts, cold := c.sampler.snapshot()
	return map[string]any{
		"hits_total":     c.hits.Load(),
		"misses_total":   c.misses.Load(),
		"bytes":          finite(c.bytes.Get()),
		"capacity_bytes": finite(c.capacity.Get()),
		"reuse": map[string]any{
			"sample_rate": c.sampler.rate, "bounds": bounds, "counts": counts, "cold": cold,
		},
	}
}

// finite maps NaN and ±Inf (which JSON cannot carry) to 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
