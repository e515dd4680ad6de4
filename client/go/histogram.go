// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"sort"
	"sync/atomic"
	"time"
)

// latencyHistogram is a fixed-bucket histogram for the hot path: one atomic add per request,
// no lock, no allocation. drain takes the counts since the previous drain (one report
// interval). Samples above the last bound count in the last bucket.
type latencyHistogram struct {
	bounds   []float64 // seconds, ascending
	boundsNs []int64
	counts   []atomic.Uint64
	sumNs    atomic.Uint64
	total    atomic.Uint64
}

// defaultLatencyBounds: 50 µs doubling, 22 buckets (~105 s), as the C++ client.
func defaultLatencyBounds() []float64 {
	b := make([]float64, 22)
	v := 50e-6
	for i := range b {
		b[i] = v
		v *= 2
	}
	return b
}

func newLatencyHistogram(bounds []float64) *latencyHistogram {
	if len(bounds) == 0 {
		bounds = defaultLatencyBounds()
	}
	h := &latencyHistogram{bounds: append([]float64(nil), bounds...)}
	h.boundsNs = make([]int64, len(bounds))
	for i, b := range bounds {
		h.boundsNs[i] = int64(b * 1e9)
	}
	h.counts = make([]atomic.Uint64, len(bounds))
	return h
}

func (h *latencyHistogram) record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	i := sort.Search(len(h.boundsNs), func(i int) bool { return h.boundsNs[i] >= ns })
	if i == len(h.boundsNs) {
		i--
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(ns))
	h.total.Add(1)
}

type interval struct {
	counts     []uint64
	sumSeconds float64
}

func (h *latencyHistogram) drain() interval {
	out := interval{counts: make([]uint64, len(h.bounds))}
	for i := range h.counts {
		out.counts[i] = h.counts[i].Swap(0)
	}
	out.sumSeconds = float64(h.sumNs.Swap(0)) / 1e9
	return out
}

// quantile q in (0,1) from per-bucket counts, interpolating linearly inside the bucket; ok is
// false when there are no samples.
func quantile(bounds []float64, counts []uint64, q float64) (float64, bool) {
	var n uint64
	for _, c := range counts {
		n += c
	}
	if n == 0 || len(bounds) != len(counts) {
		return 0, false
	}
	rank := q * float64(n)
	seen := 0.0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		next := seen + float64(c)
		if next >= rank {
			lo := 0.0
			if i > 0 {
				lo = bounds[i-1]
			}
			return lo + (bounds[i]-lo)*(rank-seen)/float64(c), true
		}
		seen = next
	}
	return bounds[len(bounds)-1], true
}
