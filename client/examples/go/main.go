// SPDX-License-Identifier: Apache-2.0

// A complete small service made tunable by knobd with the pure-Go client (docs/integrating.md).
// It "serves" requests from a worker pool and a cache, lets knobd resize the pool, and runs
// for os.Args[1] seconds (default 10). Exit status 0 once knobd has received its reports.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"knob"
)

func main() {
	seconds := 10.0
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	var workers atomic.Int64
	workers.Store(4)

	// The socket comes from $KNOBD_SOCKET (else $KNOBD_CONTROL_SOCKET, /run/knobd/control.sock).
	client, err := knob.New(knob.Options{Name: "go-example"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client.RegisterKnob(knob.KnobSpec{Name: "workers", Value: 4, Min: knob.F(1), Max: knob.F(64),
		Unit: "threads"}, func(v float64) knob.SetResult { // runs on the client's goroutine
		if v != float64(int64(v)) {
			return knob.Rejected("workers takes whole numbers")
		}
		workers.Store(int64(v))
		fmt.Printf("go-example: workers set to %d\n", int64(v))
		return knob.Applied()
	})
	pool := client.Pool("workers")
	cache := client.Cache("main", 0.1)
	cache.SetCapacity(150 * 1024)
	client.Start()

	rng := rand.New(rand.NewSource(42))
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for time.Now().Before(end) {
		start := time.Now()
		key := fmt.Sprintf("item-%d", rng.Intn(200))
		hit := rng.Float64() < 0.75
		if hit {
			cache.Hit()
			time.Sleep(time.Millisecond) // the "work"
		} else {
			cache.Miss()
			time.Sleep(5 * time.Millisecond)
		}
		cache.Access(key, 1024)
		client.RecordRequest(time.Since(start)) // atomics only
		pool.Size.Set(float64(workers.Load()))
		pool.Busy.Set(1)
	}
	client.Stop() // says bye
	fmt.Printf("go-example: %d reports sent, target %q\n", client.ReportsSent(), client.Target())
	if client.ReportsSent() == 0 {
		os.Exit(1)
	}
}
