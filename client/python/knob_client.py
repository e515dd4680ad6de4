# SPDX-License-Identifier: Apache-2.0
"""Pure-stdlib Python client for knobd's control socket (protocol v1, docs/protocol.md).

The second implementation of the protocol, used by tests and by Python services:

    import knob_client
    c = knob_client.Client("my-service")
    c.register_knob("workers", 8, lo=1, hi=64, unit="threads",
                    on_set=lambda v: pool.resize(v))   # return True / False / (False, "why")
    c.start()
    ... c.record_request(latency_seconds)

`Connection` is the low-level line transport (one JSON object per line), `admin()` runs one
knobctl-style admin request. Nothing here raises into the caller's request path: the reporter
runs on a daemon thread and reconnects with exponential backoff.
"""

import bisect
import json
import os
import random
import socket
import threading
import time

VERSION = 1
DEFAULT_SOCKET = "/run/knobd/control.sock"


def default_socket_path():
    return os.environ.get("KNOBD_SOCKET") or DEFAULT_SOCKET


class ProtocolError(Exception):
    """The daemon answered with an `error` message."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class Connection:
    """One NDJSON connection to the control socket."""

    def __init__(self, path=None, timeout=5.0):
        self.path = path or default_socket_path()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(self.path)
        self._buf = b""

    def send(self, msg):
        msg = dict(msg)
        msg.setdefault("v", VERSION)
        self.send_raw(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=5.0):
        """Next message as a dict; None when the daemon closed the connection."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from knobd within %.1f s" % timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def admin(op, path=None, timeout=5.0, **fields):
    """Runs one admin request; returns the reply dict or raises ProtocolError."""
    conn = Connection(path, timeout)
    try:
        msg = {"type": op, "id": 1}
        msg.update(fields)
        conn.send(msg)
        reply = conn.recv(timeout)
        if reply is None:
            raise ConnectionError("knobd closed the connection")
        if reply.get("type") == "error":
            raise ProtocolError(reply.get("code"), reply.get("message"))
        return reply
    finally:
        conn.close()


def _default_bounds():
    return [50e-6 * (2 ** i) for i in range(22)]


def _quantile(bounds, counts, q):
    n = sum(counts)
    if n == 0:
        return None
    rank = q * n
    seen = 0
    for i, c in enumerate(counts):
        if c == 0:
            continue
        if seen + c >= rank:
            lo = bounds[i - 1] if i else 0.0
            return lo + (bounds[i] - lo) * (rank - seen) / c
        seen += c
    return bounds[-1]


class Client:
    """Registers with knobd, reports every tick, applies `set` through knob callbacks."""

    def __init__(self, name, socket_path=None, initial_backoff=0.1, max_backoff=5.0):
        self.name = name
        self.path = socket_path or default_socket_path()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._lock = threading.Lock()
        self._knobs = {}
        self._bounds = _default_bounds()
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._requests = 0
        self._errors = 0
        self.in_flight = 0
        self.queue_depth = 0
        self.pools = {}
        self.gauges = {}
        self.connected = False
        self.session = None
        self.reports_sent = 0
        self.last_error = ""
        self.applied = []  # (id, knob, value, applied) for tests
        self._stop = threading.Event()
        self._thread = None

    def register_knob(self, name, value, lo=None, hi=None, unit="", on_set=None):
        with self._lock:
            self._knobs[name] = {"value": value, "min": lo, "max": hi, "unit": unit,
                                 "on_set": on_set}

    def record_request(self, latency_seconds):
        i = min(bisect.bisect_left(self._bounds, latency_seconds), len(self._bounds) - 1)
        with self._lock:
            self._counts[i] += 1
            self._sum += latency_seconds
            self._requests += 1

    def record_error(self):
        with self._lock:
            self._errors += 1

    def start(self):
        self._thread = threading.Thread(target=self._run, name="knob-client", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def hello(self):
        with self._lock:
            knobs = []
            for n, k in self._knobs.items():
                d = {"name": n, "value": k["value"]}
                if k["min"] is not None:
                    d["min"] = k["min"]
                if k["max"] is not None:
                    d["max"] = k["max"]
                if k["unit"]:
                    d["unit"] = k["unit"]
                knobs.append(d)
        return {"type": "hello", "name": self.name, "pid": os.getpid(), "knobs": knobs,
                "metrics": ["requests", "latency", "pools"], "client": "knob-python/1"}

    def report(self, seq):
        with self._lock:
            counts, self._counts = self._counts, [0] * len(self._bounds)
            total, self._sum = self._sum, 0.0
            msg = {"type": "report", "seq": seq, "requests_total": self._requests,
                   "errors_total": self._errors, "in_flight": self.in_flight,
                   "queue_depth": self.queue_depth,
                   "latency": {"bounds": self._bounds, "counts": counts, "sum": total},
                   "pools": {n: dict(p) for n, p in self.pools.items()},
                   "knobs": {n: k["value"] for n, k in self._knobs.items()},
                   "gauges": dict(self.gauges)}
        for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            v = _quantile(self._bounds, counts, q)
            if v is not None:
                msg["latency"][key] = v
        return msg

    def _apply(self, msg):
        with self._lock:
            knob = self._knobs.get(msg["knob"])
        ack = {"type": "ack", "id": msg["id"], "knob": msg["knob"]}
        value = msg["value"]
        if knob is None:
            ack.update(result="rejected", reason="unknown knob")
        elif (knob["min"] is not None and value < knob["min"]) or (
                knob["max"] is not None and value > knob["max"]):
            ack.update(result="rejected", reason="value outside the knob's bounds")
        else:
            try:
                res = knob["on_set"](value) if knob["on_set"] else True
            except Exception as e:  # the app's callback must not kill the reporter
                res = (False, "callback raised %r" % e)
            ok, reason = (res if isinstance(res, tuple) else (bool(res), ""))
            ack.update(result="applied" if ok else "rejected")
            if reason:
                ack["reason"] = reason
            if ok:
                ack["value"] = value
                with self._lock:
                    knob["value"] = value
        self.applied.append((msg["id"], msg["knob"], value, ack["result"] == "applied"))
        return ack

    def _run(self):
        backoff = self.initial_backoff
        seq = 0
        while not self._stop.is_set():
            conn = None
            try:
                conn = Connection(self.path)
                conn.send(self.hello())
                welcome = conn.recv(5.0)
                if welcome is None or welcome.get("type") != "welcome":
                    self.last_error = "no welcome: %r" % (welcome,)
                    raise ConnectionError(self.last_error)
                self.session = welcome["session"]
                interval = float(welcome.get("tick_interval_seconds") or 1.0)
                self.connected = True
                backoff = self.initial_backoff
                next_report = time.monotonic() + interval
                while not self._stop.is_set():
                    try:
                        msg = conn.recv(max(0.0, next_report - time.monotonic()))
                        if msg is None:
                            raise ConnectionError("knobd closed the connection")
                        if msg.get("type") == "set":
                            conn.send(self._apply(msg))
                        elif msg.get("type") == "error":
                            self.last_error = "%s: %s" % (msg.get("code"), msg.get("message"))
                        elif msg.get("type") == "bye":
                            raise ConnectionError("knobd said bye")
                    except TimeoutError:
                        pass
                    except socket.timeout:
                        pass
                    if time.monotonic() >= next_report:
                        seq += 1
                        conn.send(self.report(seq))
                        self.reports_sent += 1
                        next_report += interval
                if self._stop.is_set():
                    conn.send({"type": "bye", "reason": "client stopping"})
            except (OSError, ValueError, ConnectionError) as e:
                self.last_error = self.last_error or str(e)
            finally:
                self.connected = False
                if conn:
                    conn.close()
            if self._stop.wait(backoff * random.uniform(0.5, 1.0)):
                break
            backoff = min(backoff * 2, self.max_backoff)
