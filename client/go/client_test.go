// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKnobd is a scripted control server on a real Unix socket: it accepts, reads lines and
// lets the test answer them.
type fakeKnobd struct {
	t    *testing.T
	path string
	ln   net.Listener
}

func newFakeKnobd(t *testing.T) *fakeKnobd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen %s: %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeKnobd{t: t, path: path, ln: ln}
}

type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (f *fakeKnobd) accept() *peer {
	f.t.Helper()
	f.ln.(*net.UnixListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := f.ln.Accept()
	if err != nil {
		f.t.Fatalf("accept: %v", err)
	}
	f.t.Cleanup(func() { c.Close() })
	return &peer{t: f.t, conn: c, r: bufio.NewReader(c)}
}

func (p *peer) read() map[string]any {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read from client: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		p.t.Fatalf("client sent bad JSON %q: %v", s, err)
	}
	if m["v"] != 1.0 {
		p.t.Fatalf("message without v=1: %s", s)
	}
	return m
}

// readType skips reports until a message of type typ arrives.
func (p *peer) readType(typ string) map[string]any {
	p.t.Helper()
	for {
		m := p.read()
		if m["type"] == typ {
			return m
		}
		if m["type"] != "report" {
			p.t.Fatalf("want %s, got %v", typ, m)
		}
	}
}

func (p *peer) send(s string) {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(s + "\n")); err != nil {
		p.t.Fatalf("write to client: %v", err)
	}
}

const welcome = `{"v":1,"type":"welcome","session":"s1","target":"svc","tick_interval_seconds":0.05,"mode":"apply"}`

func waitFor(t *testing.T, what string, pred func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pred() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func newTestClient(t *testing.T, path string) *Client {
	t.Helper()
	c, err := New(Options{Name: "go-svc", SocketPath: path, InitialBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestNewRefusesAnEmptyNameAndUnsortedBounds(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a name succeeded")
	}
	if _, err := New(Options{Name: "x", LatencyBoundsSeconds: []float64{0.2, 0.1}}); err == nil {
		t.Error("New with descending bounds succeeded")
	}
}

func TestSocketPathFromTheEnvironment(t *testing.T) {
	t.Setenv("KNOBD_SOCKET", "")
	t.Setenv("KNOBD_CONTROL_SOCKET", "")
	if p := DefaultSocketPath(); p != DefaultSocket {
		t.Errorf("no env: %s", p)
	}
	t.Setenv("KNOBD_CONTROL_SOCKET", "/tmp/b.sock")
	if p := DefaultSocketPath(); p != "/tmp/b.sock" {
		t.Errorf("KNOBD_CONTROL_SOCKET: %s", p)
	}
	t.Setenv("KNOBD_SOCKET", "/tmp/a.sock")
	c, _ := New(Options{Name: "x"})
	if c.SocketPath() != "/tmp/a.sock" {
		t.Errorf("KNOBD_SOCKET must win: %s", c.SocketPath())
	}
}

func TestShardsHashMatchesTheCppClient(t *testing.T) {
	// Values from knob::ShardsSampler::Hash (client/shards.cc).
	if h := ShardsHash("abc"); h != 14975275710875166334 {
		t.Errorf("hash(abc) = %d", h)
	}
	if h := ShardsHash("key-17"); h != 8028618030320287292 {
		t.Errorf("hash(key-17) = %d", h)
	}
}

func TestReuseHistogramOfALoopOverTenKeys(t *testing.T) {
	s := newShardsSampler(1.0)
	for i := 0; i < 100; i++ {
		s.access(string(rune('a'+i%10)), 100)
	}
	_, counts, cold := s.snapshot()
	// Every re-access has 9 distinct 100-byte keys in between: 900 bytes, the 1 KiB bucket.
	if cold != 10 || counts[0] != 90 {
		t.Errorf("cold %d, first bucket %d; want 10 and 90", cold, counts[0])
	}
	half := newShardsSampler(0.5)
	n := 0
	for i := 0; i < 1000; i++ {
		before := half.cold
		half.access(string(rune(i+1000)), 1)
		if half.cold != before {
			n++
		}
	}
	if n < 400 || n > 600 {
		t.Errorf("rate 0.5 sampled %d of 1000 keys", n)
	}
}

func TestQuantileInterpolatesInsideTheBucket(t *testing.T) {
	v, ok := quantile([]float64{1, 2, 4}, []uint64{0, 10, 0}, 0.5)
	if !ok || v != 1.5 {
		t.Errorf("p50 = %v %v, want 1.5", v, ok)
	}
	if _, ok := quantile([]float64{1}, []uint64{0}, 0.5); ok {
		t.Error("quantile of nothing")
	}
}

func TestHelloReportSetAndAck(t *testing.T) {
	f := newFakeKnobd(t)
	c := newTestClient(t, f.path)
	var applied atomic.Value
	c.RegisterKnob(KnobSpec{Name: "workers", Value: 4, Min: F(1), Max: F(64), Unit: "threads"},
		func(v float64) SetResult { applied.Store(v); return Applied() })
	c.RegisterKnob(KnobSpec{Name: "cache_bytes", Value: 1 << 20},
		func(v float64) SetResult { return AppliedValue(4096) })
	c.RegisterKnob(KnobSpec{Name: "busy", Value: 1},
		func(v float64) SetResult { return Rejected("draining") })
	c.RegisterKnob(KnobSpec{Name: "boom", Value: 1},
		func(v float64) SetResult { panic("oops") })
	c.RecordRequest(3 * time.Millisecond)
	c.RecordError()
	c.Pool("workers").Size.Set(4)
	cache := c.Cache("main", 1.0)
	cache.Hit()
	cache.Access("k", 10)
	cache.Access("k", 10)
	c.SetGauge("connections", 7)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	p := f.accept()
	hello := p.read()
	if hello["type"] != "hello" || hello["name"] != "go-svc" ||
		hello["pid"] != float64(os.Getpid()) || hello["client"] != "knob-go/1" {
		t.Fatalf("hello: %v", hello)
	}
	if knobs := hello["knobs"].([]any); len(knobs) != 4 {
		t.Fatalf("hello knobs: %v", knobs)
	}
	p.send(welcome)
	r := p.readType("report")
	if r["seq"] != 1.0 || r["requests_total"] != 1.0 || r["errors_total"] != 1.0 {
		t.Errorf("report counters: %v", r)
	}
	lat := r["latency"].(map[string]any)
	if lat["p50"] == nil || lat["sum"].(float64) < 0.003 {
		t.Errorf("latency: %v", lat)
	}
	main := r["caches"].(map[string]any)["main"].(map[string]any)
	reuse := main["reuse"].(map[string]any)
	if main["hits_total"] != 1.0 || reuse["cold"] != 1.0 || reuse["counts"].([]any)[0] != 1.0 {
		t.Errorf("cache: %v", main)
	}
	if r["allocator"].(map[string]any)["kind"] != "go" ||
		r["allocator"].(map[string]any)["allocated"].(float64) <= 0 {
		t.Errorf("allocator: %v", r["allocator"])
	}
	if r["pools"].(map[string]any)["workers"].(map[string]any)["size"] != 4.0 {
		t.Errorf("pools: %v", r["pools"])
	}
	if r["gauges"].(map[string]any)["connections"] != 7.0 {
		t.Errorf("gauges: %v", r["gauges"])
	}
	waitFor(t, "connected", c.Connected)
	if c.Target() != "svc" || c.Session() != "s1" {
		t.Errorf("target %q session %q", c.Target(), c.Session())
	}

	cases := []struct {
		set, result, reason string
		value               float64
	}{
		{`{"v":1,"type":"set","id":1,"knob":"workers","value":6}`, "applied", "", 6},
		{`{"v":1,"type":"set","id":2,"knob":"workers","value":1000}`, "rejected", "bounds", 0},
		{`{"v":1,"type":"set","id":3,"knob":"nope","value":1}`, "rejected", "unknown knob", 0},
		{`{"v":1,"type":"set","id":4,"knob":"cache_bytes","value":5000}`, "applied", "", 4096},
		{`{"v":1,"type":"set","id":5,"knob":"busy","value":2}`, "rejected", "draining", 0},
		{`{"v":1,"type":"set","id":6,"knob":"boom","value":2}`, "rejected", "panicked", 0},
	}
	for i, tc := range cases {
		p.send(tc.set)
		ack := p.readType("ack")
		if ack["id"] != float64(i+1) || ack["result"] != tc.result {
			t.Errorf("set %s: ack %v", tc.set, ack)
		}
		if tc.reason != "" && !strings.Contains(ack["reason"].(string), tc.reason) {
			t.Errorf("set %s: reason %v", tc.set, ack["reason"])
		}
		if tc.result == "applied" && ack["value"] != tc.value {
			t.Errorf("set %s: value %v", tc.set, ack["value"])
		}
	}
	if applied.Load() != 6.0 {
		t.Errorf("callback saw %v, want 6 (and never 1000)", applied.Load())
	}
	r = p.readType("report")
	knobs := r["knobs"].(map[string]any)
	if knobs["workers"] != 6.0 || knobs["cache_bytes"] != 4096.0 {
		t.Errorf("knob values after sets: %v", knobs)
	}
	// Garbage from the daemon is noted, not fatal.
	p.send(`not json`)
	p.send(`{"v":1,"type":"error","code":"rate_limited","message":"slow down"}`)
	waitFor(t, "error noted", func() bool { return strings.Contains(c.LastError(), "rate_limited") })
	c.Stop()
	if bye := p.readType("bye"); bye["reason"] == nil {
		t.Errorf("bye: %v", bye)
	}
}

func TestReconnectsAfterTheDaemonGoesAway(t *testing.T) {
	f := newFakeKnobd(t)
	c := newTestClient(t, f.path)
	c.Start()
	p := f.accept()
	p.readType("hello")
	p.send(welcome)
	waitFor(t, "first welcome", c.Connected)
	p.conn.Close()
	waitFor(t, "disconnect noticed", func() bool { return !c.Connected() })
	p2 := f.accept()
	p2.readType("hello")
	p2.send(welcome)
	waitFor(t, "second connection", func() bool { return c.Connections() == 2 && c.Connected() })
}

func TestKeepsRetryingWithoutADaemonAndStopsPromptly(t *testing.T) {
	c := newTestClient(t, filepath.Join(t.TempDir(), "absent.sock"))
	c.Start()
	waitFor(t, "an error", func() bool { return strings.Contains(c.LastError(), "cannot connect") })
	start := time.Now()
	c.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop took %v", d)
	}
}

func TestNoWelcomeMeansReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the 5 s welcome timeout")
	}
	f := newFakeKnobd(t)
	c := newTestClient(t, f.path)
	c.Start()
	p := f.accept()
	p.readType("hello")
	p2 := f.accept() // the client gave up on the silent first connection
	p2.readType("hello")
	if !strings.Contains(c.LastError(), "no welcome") {
		t.Errorf("last error %q", c.LastError())
	}
}

// A daemon that accepts and then never reads must not slow the application's goroutines.
func TestRecordingNeverWaitsOnAStalledDaemon(t *testing.T) {
	f := newFakeKnobd(t)
	c := newTestClient(t, f.path)
	c.Start()
	p := f.accept()
	p.readType("hello")
	p.send(welcome) // then never read again: the socket buffer fills with reports
	waitFor(t, "connected", c.Connected)
	start := time.Now()
	cache := c.Cache("main", 0.01)
	for i := 0; i < 200000; i++ {
		c.RecordRequest(time.Millisecond)
		cache.Hit()
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("200000 recordings took %v while the daemon stalled", d)
	}
}

func BenchmarkRecordRequest(b *testing.B) {
	c, _ := New(Options{Name: "bench"})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.RecordRequest(time.Millisecond)
		}
	})
}
