// SPDX-License-Identifier: Apache-2.0

// Package knob makes a Go service tunable by knobd, in pure Go (standard library only, no cgo).
//
// The service registers its knobs with a callback, records requests on its hot path, and a
// background goroutine does the rest: it connects to knobd's control socket, says hello, sends
// a report every tick, applies `set` messages by calling the knob's callback and acks the
// result, and reconnects with jittered exponential backoff when knobd restarts. The protocol is
// docs/protocol.md in the knobd repository; the behaviour matches the C++ knob::Client.
//
//	c, err := knob.New(knob.Options{Name: "my-service"})
//	c.RegisterKnob(knob.KnobSpec{Name: "workers", Value: 8, Min: knob.F(1), Max: knob.F(64),
//		Unit: "threads"}, func(v float64) knob.SetResult {
//		if err := pool.Resize(int(v)); err != nil {
//			return knob.Rejected(err.Error())
//		}
//		return knob.Applied()
//	})
//	c.Start()
//	defer c.Stop()
//	... per request: c.RecordRequest(time.Since(start))   // atomics only
//
// Guarantees: no method panics into the caller; no method called from the application's
// goroutines waits on the socket (RecordRequest, RecordError, the pool gauges and cache
// counters are atomics; Pool and Cache take a short mutex to find a name, so keep the returned
// pointer); knob callbacks run on the client's goroutine, one at a time.
package knob
