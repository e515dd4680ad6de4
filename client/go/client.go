// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSocket is where knobd listens when neither the options nor the environment say.
const DefaultSocket = "/run/knobd/control.sock"

const (
	protocolVersion = 1
	maxLineBytes    = 1 << 20
	welcomeTimeout  = 5 * time.Second
	writeTimeout    = time.Second // a daemon that stops reading must not stall the client long
)

// SetResult is what a knob's callback answers to a `set`.
type SetResult struct {
	Applied bool
	Reason  string   // why rejected (or a note about what was applied)
	Value   *float64 // the value actually in effect, when it differs from the requested one
}

// Applied: the value was applied as requested.
func Applied() SetResult { return SetResult{Applied: true} }

// AppliedValue: applied, but the value in effect is v (rounded, clamped by the app).
func AppliedValue(v float64) SetResult { return SetResult{Applied: true, Value: &v} }

// Rejected: not applied, and why.
func Rejected(why string) SetResult { return SetResult{Reason: why} }

// F returns a pointer to v, for KnobSpec.Min and Max.
func F(v float64) *float64 { return &v }

// KnobSpec describes one knob knobd may set.
type KnobSpec struct {
	Name     string
	Value    float64 // current value
	Min, Max *float64
	Unit     string
}

// Options configure a Client. Only Name is required.
type Options struct {
	// Registered name; the policy's `registered: NAME` selector matches it.
	Name string
	// Empty: $KNOBD_SOCKET, else $KNOBD_CONTROL_SOCKET, else DefaultSocket.
	SocketPath string
	// Reconnect backoff: starts here, doubles to MaxBackoff, with jitter. Defaults 100 ms, 5 s.
	InitialBackoff, MaxBackoff time.Duration
	// Report interval until the daemon's welcome says otherwise. Default 1 s.
	DefaultReportInterval time.Duration
	// Latency bucket upper bounds in seconds; empty: 50 µs doubling to ~105 s (22 buckets).
	LatencyBoundsSeconds []float64
}

type knobEntry struct {
	spec  KnobSpec
	onSet func(float64) SetResult
}

// Client is the connection of one service to knobd. Every method may be called from any
// goroutine.
type Client struct {
	opts       Options
	socketPath string
	latency    *latencyHistogram
	errors     atomic.Uint64
	inFlight   Gauge
	queueDepth Gauge

	mu        sync.Mutex // guards the fields below
	knobs     map[string]*knobEntry
	pools     map[string]*PoolGauges
	caches    map[string]*CacheStats
	gauges    map[string]float64
	lastError string
	session   string
	target    string
	running   bool
	stop      chan struct{}
	done      chan struct{}

	connected   atomic.Bool
	reportsSent atomic.Uint64
	connections atomic.Uint64
	seq         uint64
}

// New checks the options and returns a Client that is not yet connected.
func New(opts Options) (*Client, error) {
	if opts.Name == "" {
		return nil, errors.New("knob: Options.Name is required (the registered name)")
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.MaxBackoff < opts.InitialBackoff {
		opts.MaxBackoff = opts.InitialBackoff
	}
	if opts.DefaultReportInterval <= 0 {
		opts.DefaultReportInterval = time.Second
	}
	for i := 1; i < len(opts.LatencyBoundsSeconds); i++ {
		if !(opts.LatencyBoundsSeconds[i] > opts.LatencyBoundsSeconds[i-1]) {
			return nil, errors.New("knob: LatencyBoundsSeconds must be strictly ascending")
		}
	}
	c := &Client{
		opts:       opts,
		socketPath: opts.SocketPath,
		latency:    newLatencyHistogram(opts.LatencyBoundsSeconds),
		knobs:      map[string]*knobEntry{},
		pools:      map[string]*PoolGauges{},
		caches:     map[string]*CacheStats{},
		gauges:     map[string]float64{},
	}
	if c.socketPath == "" {
		c.socketPath = DefaultSocketPath()
	}
	return c, nil
}

// DefaultSocketPath is $KNOBD_SOCKET, else $KNOBD_CONTROL_SOCKET, else DefaultSocket.
func DefaultSocketPath() string {
	if p := os.Getenv("KNOBD_SOCKET"); p != "" {
		return p
	}
	if p := os.Getenv("KNOBD_CONTROL_SOCKET"); p != "" {
		return p
	}
	return DefaultSocket
}

// SocketPath is the socket this client connects to.
func (c *Client) SocketPath() string { return c.socketPath }

// RegisterKnob registers (or replaces) a knob. Knobs registered after Start are announced on
// the next connection. onSet runs on the client's goroutine; nil accepts every value.
func (c *Client) RegisterKnob(spec KnobSpec, onSet func(float64) SetResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.knobs[spec.Name] = &knobEntry{spec: spec, onSet: onSet}
}

// UpdateKnobValue reports a value the application set itself.
func (c *Client) UpdateKnobValue(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.knobs[name]; ok {
		k.spec.Value = v
	}
}

// RecordRequest records one completed request. Lock-free.
func (c *Client) RecordRequest(latency time.Duration) { c.latency.record(latency) }

// RecordError counts one failed or refused request. Lock-free.
func (c *Client) RecordError() { c.errors.Add(1) }

// SetInFlight records the requests being served now. Lock-free.
func (c *Client) SetInFlight(n float64) { c.inFlight.Set(n) }

// SetQueueDepth records the requests waiting for a worker now. Lock-free.
func (c *Client) SetQueueDepth(n float64) { c.queueDepth.Set(n) }

// Pool returns the gauges of pool `name`, created on first use; keep the pointer.
func (c *Client) Pool(name string) *PoolGauges {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pools[name]
	if !ok {
		p = &PoolGauges{}
		c.pools[name] = p
	}
	return p
}

// Cache returns the stats of cache `name`; sampleRate (SHARDS rate, e.g. 0.01) is fixed by the
// first call for a name. Keep the pointer.
func (c *Client) Cache(name string, sampleRate float64) *CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.caches[name]
	if !ok {
		s = &CacheStats{sampler: newShardsSampler(sampleRate)}
		c.caches[name] = s
	}
	return s
}

// SetGauge records any other number the application wants knobd to see.
func (c *Client) SetGauge(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gauges[name] = v
}

// Connected: welcomed by knobd on the current connection.
func (c *Client) Connected() bool { return c.connected.Load() }

// ReportsSent counts reports sent over all connections.
func (c *Client) ReportsSent() uint64 { return c.reportsSent.Load() }

// Connections counts the connections knobd welcomed.
func (c *Client) Connections() uint64 { return c.connections.Load() }

// LastError is the latest problem in words ("" after a welcome).
func (c *Client) LastError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastError
}

// Session is the id knobd gave the current (or last) connection.
func (c *Client) Session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Target is the policy target this client belongs to ("" when none).
func (c *Client) Target() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.target
}

func (c *Client) setError(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastError = e
}

// Start launches the background goroutine. Calling it again while running does nothing.
func (c *Client) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	c.running = true
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	go c.run(c.stop, c.done)
	return nil
}

// Stop says bye, closes the connection and waits for the goroutine. Idempotent.
func (c *Client) Stop() {
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return
	}
	c.running = false
	stop, done := c.stop, c.done
	c.mu.Unlock()
	close(stop)
	<-done
	c.connected.Store(false)
}

// BuildReport is the report the next tick would send (tests, debugging); it drains the
// interval's latency histogram.
func (c *Client) BuildReport() map[string]any {
	iv := c.latency.drain()
	lat := map[string]any{
		"bounds": c.latency.bounds, "counts": iv.counts, "sum": iv.sumSeconds,
	}
	for _, q := range []struct {
		key string
		q   float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}} {
		if v, ok := quantile(c.latency.bounds, iv.counts, q.q); ok {
			lat[q.key] = v
		}
	}
	r := map[string]any{
		"requests_total": c.latency.total.Load(),
		"errors_total":   c.errors.Load(),
		"in_flight":      finite(c.inFlight.Get()),
		"queue_depth":    finite(c.queueDepth.Get()),
		"latency":        lat,
		"allocator":      allocatorStats(),
	}
	pools := map[string]any{}
	caches := map[string]any{}
	knobs := map[string]any{}
	gauges := map[string]any{}
	c.mu.Lock()
	for n, p := range c.pools {
		pools[n] = map[string]any{
			"size": finite(p.Size.Get()), "busy": finite(p.Busy.Get()),
			"waiters": finite(p.Waiters.Get()),
		}
	}
	cacheList := make(map[string]*CacheStats, len(c.caches))
	for n, s := range c.caches {
		cacheList[n] = s
	}
	for n, k := range c.knobs {
		knobs[n] = finite(k.spec.Value)
	}
	for n, v := range c.gauges {
		if finite(v) == v {
			gauges[n] = v
		}
	}
	c.mu.Unlock()
	for n, s := range cacheList {
		caches[n] = s.report()
	}
	r["pools"], r["caches"], r["knobs"], r["gauges"] = pools, caches, knobs, gauges
	return r
}

func (c *Client) hello() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.knobs))
	for n := range c.knobs {
		names = append(names, n)
	}
	sort.Strings(names)
	knobs := make([]map[string]any, 0, len(names))
	for _, n := range names {
		k := c.knobs[n].spec
		d := map[string]any{"name": k.Name, "value": finite(k.Value)}
		if k.Min != nil {
			d["min"] = *k.Min
		}
		if k.Max != nil {
			d["max"] = *k.Max
		}
		if k.Unit != "" {
			d["unit"] = k.Unit
		}
		knobs = append(knobs, d)
	}
	return map[string]any{
		"type": "hello", "name": c.opts.Name, "pid": os.Getpid(), "client": "knob-go/1",
		"knobs":   knobs,
		"metrics": []string{"requests", "latency", "pools", "caches", "allocator"},
	}
}

// incoming is what knobd sends a target; fields of every type, decoded by `type`.
type incoming struct {
	Type                string   `json:"type"`
	Session             string   `json:"session"`
	Target              string   `json:"target"`
	TickIntervalSeconds float64  `json:"tick_interval_seconds"`
	ID                  uint64   `json:"id"`
	Knob                string   `json:"knob"`
	Value               *float64 `json:"value"`
	Code                string   `json:"code"`
	Message             string   `json:"message"`
	Reason              string   `json:"reason"`
}

func (c *Client) apply(m *incoming) map[string]any {
	ack := map[string]any{"type": "ack", "id": m.ID, "knob": m.Knob}
	c.mu.Lock()
	k := c.knobs[m.Knob]
	var entry knobEntry
	if k != nil {
		entry = *k
	}
	c.mu.Unlock()
	var res SetResult
	switch {
	case m.Value == nil:
		res = Rejected("set without a value")
	case k == nil:
		res = Rejected(fmt.Sprintf("unknown knob '%s'", m.Knob))
	case (entry.spec.Min != nil && *m.Value < *entry.spec.Min) ||
		(entry.spec.Max != nil && *m.Value > *entry.spec.Max):
		res = Rejected("value outside the knob's bounds")
	case entry.onSet == nil:
		res = Applied()
	default:
		res = callSafely(entry.onSet, *m.Value)
	}
	if res.Applied {
		ack["result"] = "applied"
		v := *m.Value
		if res.Value != nil {
			v = *res.Value
		}
		ack["value"] = finite(v)
		c.UpdateKnobValue(m.Knob, v)
	} else {
		ack["result"] = "rejected"
	}
	if res.Reason != "" {
		ack["reason"] = res.Reason
	}
	return ack
}

// callSafely runs the application's callback; a panic must never take the client (or the
// application) down, so it becomes a rejection.
func callSafely(f func(float64) SetResult, v float64) (res SetResult) {
	defer func() {
		if p := recover(); p != nil {
			res = Rejected(fmt.Sprintf("callback panicked: %v", p))
		}
	}()
	return f(v)
}

// line is one event of the reader: a message, an undecodable line (bad: the connection
// stays), or the end of the connection (fatal).
type line struct {
	msg   *incoming
	bad   error
	fatal error
}

func send(conn net.Conn, msg map[string]any) error {
	msg["v"] = protocolVersion
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err = conn.Write(append(b, '\n'))
	return err
}

// readLines delivers each line of conn until it fails; the channel closes after the error.
func readLines(conn net.Conn, out chan<- line, quit <-chan struct{}) {
	defer close(out)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 64*1024), maxLineBytes)
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var m incoming
		l := line{msg: &m}
		if err := json.Unmarshal(b, &m); err != nil {
			l = line{bad: fmt.Errorf("bad message from knobd: %v", err)}
		}
		select {
		case out <- l:
		case <-quit:
			return
		}
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("knobd closed the connection")
	} else if errors.Is(err, bufio.ErrTooLong) {
		err = errors.New("knobd sent an oversized line")
	}
	select {
	case out <- line{fatal: err}:
	case <-quit:
	}
}

func (c *Client) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	rng := rand.New(rand.NewSource(time.Now().UnixNano() ^ int64(os.Getpid())))
	backoff := c.opts.InitialBackoff
	for {
		select {
		case <-stop:
			return
		default:
		}
		welcomed, stopped, err := c.connectOnce(stop, &backoff)
		if stopped {
			return
		}
		if err != nil {
			// Keep a more specific error the daemon sent (pid_mismatch, ...) over "closed".
			c.mu.Lock()
			if c.lastError == "" || welcomed {
				c.lastError = err.Error()
			}
			c.mu.Unlock()
		}
		wait := time.Duration(float64(backoff) * (0.5 + 0.5*rng.Float64()))
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff *= 2
		if backoff > c.opts.MaxBackoff {
			backoff = c.opts.MaxBackoff
		}
	}
}

// connectOnce runs one connection until it fails or Stop; it reports whether knobd welcomed
// it, whether the client is stopping, and why the connection ended.
func (c *Client) connectOnce(stop <-chan struct{}, backoff *time.Duration) (bool, bool, error) {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.Dial("unix", c.socketPath)
	if err != nil {
		return false, false, fmt.Errorf("cannot connect to %s: %v", c.socketPath, err)
	}
	defer func() {
		conn.Close()
		c.connected.Store(false)
	}()
	quit := make(chan struct{})
	defer close(quit)
	lines := make(chan line, 16)
	go readLines(conn, lines, quit)
	if err := send(conn, c.hello()); err != nil {
		return false, false, fmt.Errorf("cannot send hello to %s: %v", c.socketPath, err)
	}
	welcomed := false
	interval := c.opts.DefaultReportInterval
	timer := time.NewTimer(welcomeTimeout)
	defer timer.Stop()
	for {
		select {
		case <-stop:
			_ = send(conn, map[string]any{"type": "bye", "reason": "client stopping"})
			return welcomed, true, nil
		case <-timer.C:
			if !welcomed {
				return false, false, errors.New("no welcome from knobd within 5 s")
			}
			c.seq++
			r := c.BuildReport()
			r["type"], r["seq"] = "report", c.seq
			if err := send(conn, r); err != nil {
				return true, false, fmt.Errorf("cannot send report: %v", err)
			}
			c.reportsSent.Add(1)
			timer.Reset(interval)
		case l, ok := <-lines:
			if !ok {
				return welcomed, false, errors.New("knobd closed the connection")
			}
			if l.fatal != nil {
				return welcomed, false, l.fatal
			}
			if l.bad != nil {
				c.setError(l.bad.Error())
				continue
			}
			switch l.msg.Type {
			case "welcome":
				c.mu.Lock()
				c.session, c.target, c.lastError = l.msg.Session, l.msg.Target, ""
				c.mu.Unlock()
				interval = time.Duration(l.msg.TickIntervalSeconds * float64(time.Second))
				if interval <= 0 {
					interval = time.Second
				}
				welcomed = true
				c.connected.Store(true)
				c.connections.Add(1)
				*backoff = c.opts.InitialBackoff
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
				timer.Reset(interval)
			case "set":
				if err := send(conn, c.apply(l.msg)); err != nil {
					return welcomed, false, fmt.Errorf("cannot send ack: %v", err)
				}
			case "error":
				c.setError(l.msg.Code + ": " + l.msg.Message)
			case "bye":
				return welcomed, false, errors.New("knobd said bye")
			}
		}
	}
}
