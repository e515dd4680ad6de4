// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"container/list"
	"math"
	"sort"
	"sync"
)

// shardsSampler is SHARDS spatial sampling of cache accesses (Waldspurger et al., FAST 2015),
// the same as the C++ client's client/shards.h: a key is sampled iff hash(key) mod P < R·P, so
// every access to a sampled key is seen. The reuse distance of a sampled access is the bytes of
// distinct sampled keys touched since the previous access to the same key, scaled by 1/R; first
// accesses count as cold. Buckets double from 1 KiB (36 of them); the histogram is cumulative.
// Unsampled accesses cost one hash and take no lock; sampled ones walk an LRU list bounded to
// shardsMaxTracked entries under a mutex.
type shardsSampler struct {
	rate      float64
	threshold uint64
	mu        sync.Mutex
	lru       *list.List // of shardsEntry, most recent first
	index     map[uint64]*list.Element
	bounds    []float64
	counts    []uint64
	cold      uint64
}

type shardsEntry struct {
	key  uint64
	size uint64
}

const (
	shardsModulus    = 1 << 24
	shardsMaxTracked = 8192
)

func newShardsSampler(rate float64) *shardsSampler {
	rate = math.Min(math.Max(rate, 1.0/shardsModulus), 1.0)
	s := &shardsSampler{
		rate:      rate,
		threshold: uint64(math.Round(rate * shardsModulus)),
		lru:       list.New(),
		index:     map[uint64]*list.Element{},
	}
	b := 1024.0
	for i := 0; i < 36; i++ {
		s.bounds = append(s.bounds, b)
		b *= 2
	}
	s.counts = make([]uint64, len(s.bounds))
	return s
}

// ShardsHash is the sampling hash shared by every knob client (FNV-1a over the key's bytes,
// then a splitmix64 finaliser), so the same key is sampled in C++, Python, Go and Rust.
func ShardsHash(key string) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func (s *shardsSampler) access(key string, sizeBytes uint64) {
	h := ShardsHash(key)
	if h%shardsModulus >= s.threshold {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[h]; !ok {
		s.cold++
	} else {
		var distance uint64
		for x := s.lru.Front(); x != e; x = x.Next() {
			distance += x.Value.(shardsEntry).size
		}
		scaled := float64(distance) / s.rate
		i := sort.SearchFloat64s(s.bounds, scaled)
		if i == len(s.bounds) {
			i--
		}
		s.counts[i]++
		s.lru.Remove(e)
	}
	s.index[h] = s.lru.PushFront(shardsEntry{h, sizeBytes})
	if s.lru.Len() > shardsMaxTracked {
		back := s.lru.Back()
		delete(s.index, back.Value.(shardsEntry).key)
		s.lru.Remove(back)
	}
}

func (s *shardsSampler) snapshot() (bounds []float64, counts []uint64, cold uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]float64(nil), s.bounds...), append([]uint64(nil), s.counts...), s.cold
}
