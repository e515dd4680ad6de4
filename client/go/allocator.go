// SPDX-License-Identifier: Apache-2.0

package knob

import "runtime/metrics"

// allocatorStats reads the Go runtime's heap through runtime/metrics (no stop-the-world, unlike
// runtime.ReadMemStats) and maps it onto the report's allocator fields: allocated = bytes in
// live and not yet swept objects, active = allocated + free space inside in-use spans, mapped =
// everything the runtime mapped, resident = mapped minus what it released to the OS, retained =
// released but still mapped (as jemalloc's stats.retained).
func allocatorStats() map[string]any {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(samples)
	v := make([]float64, len(samples))
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = float64(s.Value.Uint64())
		}
	}
	return map[string]any{
		"kind":      "go",
		"allocated": v[0],
		"active":    v[0] + v[1],
		"resident":  v[3] - v[2],
		"mapped":    v[3],
		"retained":  v[2],
	}
}
