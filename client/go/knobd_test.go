// SPDX-License-Identifier: Apache-2.0

package knob

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// realKnobd is the knobd binary from the build ($KNOBD_BIN, set by ctest) with a temporary
// policy, control socket and state directory.
type realKnobd struct {
	t    *testing.T
	bin  string
	dir  string
	sock string
	cmd  *exec.Cmd
}

func startRealKnobd(t *testing.T, policy string) *realKnobd {
	t.Helper()
	bin := os.Getenv("KNOBD_BIN")
	if bin == "" {
		t.Fatal("KNOBD_BIN is not set: run this through ctest (ctest -R go_client), or set " +
			"KNOBD_BIN=<build>/daemon/knobd")
	}
	dir, err := os.MkdirTemp("", "knob-go-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "knobd.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	k := &realKnobd{t: t, bin: bin, dir: dir, sock: filepath.Join(dir, "control.sock")}
	k.start()
	t.Cleanup(k.stop)
	return k
}

func (k *realKnobd) start() {
	k.t.Helper()
	log, err := os.OpenFile(filepath.Join(k.dir, "knobd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		k.t.Fatal(err)
	}
	defer log.Close()
	os.Remove(k.sock)
	k.cmd = exec.Command(k.bin, "--config", filepath.Join(k.dir, "knobd.yaml"),
		"--control-socket", k.sock, "--state-dir", filepath.Join(k.dir, "state"),
		"--metrics-listen", "127.0.0.1:0")
	k.cmd.Stdout, k.cmd.Stderr = log, log
	if err := k.cmd.Start(); err != nil {
		k.t.Fatalf("start %s: %v", k.bin, err)
	}
	waitFor(k.t, "knobd's control socket", func() bool {
		c, err := net.Dial("unix", k.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (k *realKnobd) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	k.cmd.Wait()
	k.cmd = nil
}

func (k *realKnobd) log() string {
	b, _ := os.ReadFile(filepath.Join(k.dir, "knobd.log"))
	return string(b)
}

// admin sends one admin request (as knobctl does) and returns the reply.
func (k *realKnobd) admin(req string) map[string]any {
	k.t.Helper()
	c, err := net.Dial("unix", k.sock)
	if err != nil {
		k.t.Fatalf("admin connect: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		k.t.Fatal(err)
	}
	s, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		k.t.Fatalf("admin %s: %v", req, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		k.t.Fatal(err)
	}
	return m
}

const e2ePolicy = `global:
  tick_interval: 200ms
  mode: recommend
targets:
  - name: svc
    select: {registered: go-svc}
`

// The Go client against the real daemon: it registers, knobd keeps its reports (visible to
// `show`), a second process-local instance with the same name is refused, and the client
// comes back on its own after knobd restarts.
func TestAgainstARealKnobd(t *testing.T) {
	k := startRealKnobd(t, e2ePolicy)
	c, err := New(Options{Name: "go-svc", SocketPath: k.sock, InitialBackoff: 50 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	c.RegisterKnob(KnobSpec{Name: "workers", Value: 4, Min: F(1), Max: F(64), Unit: "threads"}, nil)
	for i := 0; i < 5; i++ {
		c.RecordRequest(2 * time.Millisecond)
	}
	c.Pool("workers").Size.Set(4)
	cache := c.Cache("main", 1.0)
	cache.Access("a", 100)
	cache.Access("a", 100)
	c.Start()
	waitFor(t, "two reports", func() bool { return c.Connected() && c.ReportsSent() >= 2 })
	if c.Target() != "svc" {
		t.Errorf("target %q, want svc", c.Target())
	}
	var app map[string]any
	waitFor(t, "knobd to hold the report", func() bool {
		show := k.admin(`{"v":1,"type":"show","id":1,"target":"svc"}`)
		app, _ = show["show"].(map[string]any)["app"].(map[string]any)
		return app != nil && app["requests_total"] == 5.0
	})
	if app["allocator"].(map[string]any)["kind"] != "go" {
		t.Errorf("allocator as knobd keeps it: %v", app["allocator"])
	}
	reuse := app["caches"].(map[string]any)["main"].(map[string]any)["reuse"].(map[string]any)
	if reuse["cold"] != 1.0 {
		t.Errorf("reuse histogram as knobd keeps it: %v", reuse)
	}

	// A second process with the same name is a second instance of the target (docs/protocol.md,
	// "Targets and instances"), counted by `targets`; the target stays as it was once it leaves.
	dup, _ := New(Options{Name: "go-svc", SocketPath: k.sock, InitialBackoff: time.Second})
	dup.Start()
	waitFor(t, "the second instance welcomed", func() bool { return dup.Connected() })
	if dup.Target() != "svc" {
		t.Errorf("second instance's target %q, want svc", dup.Target())
	}
	instances := func() float64 {
		rows := k.admin(`{"v":1,"type":"targets","id":3}`)["targets"].([]any)
		n, _ := rows[0].(map[string]any)["instances"].(float64)
		return n
	}
	waitFor(t, "two instances", func() bool { return instances() == 2 })
	dup.Stop()
	waitFor(t, "one instance left", func() bool { return instances() == 1 })

	k.stop()
	waitFor(t, "disconnect noticed", func() bool { return !c.Connected() })
	k.start()
	waitFor(t, "reconnected after the restart", func() bool {
		return c.Connected() && c.Connections() >= 2
	})
	targets := k.admin(`{"v":1,"type":"targets","id":2}`)
	rows := targets["targets"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["connected"] != true {
		t.Errorf("targets after the restart: %v\nknobd log:\n%s", rows, k.log())
	}
}
