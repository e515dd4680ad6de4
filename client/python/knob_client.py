# SPDX-License-Identifier: Apache-2.0
"""Pure-stdlib Python client for knobd's control socket (protocol v1, docs/protocol.md).

The second implementation of the protocol, used by tests and by Python services:

    import knob_client
    c = knob_client.Client("my-service")
    c.register_knob("workers", 8, lo=1, hi=64, unit="threads",
                    on_set=lambda v: pool.resize(v))   # return True / False / (False, "why")
    c.start()
    ... c.record_request(latency_seconds)
    cache = c.cache("main", sample_rate=0.01)   # SHARDS-sampled reuse histogram
    cache.hit(); cache.access(key, size_bytes)

Parity with the C++ knob::Client (<knob/client.h>): the same socket variables, the same report
(latency histogram, pools, caches with their reuse histogram, allocator statistics, knobs,
gauges), bounds checked before a knob's callback runs, reconnection with jittered exponential
backoff. `Connection` is the low-level line transport (one JSON object per line), `admin()` runs one
knobctl-style admin request. Nothing here raises into the caller's request path: the reporter
runs on a daemon thread and reconnects with exponential backoff.
"""

import bisect
import collections
import ctypes
import json
import os
import random
import socket
import threading
import time

VERSION = 1
DEFAULT_SOCKET = "/run/knobd/control.sock"


def default_socket_path():
    """$KNOBD_SOCKET, else $KNOBD_CONTROL_SOCKET, else /run/knobd/control.sock (as knob::Client)."""
    return (os.environ.get("KNOBD_SOCKET") or os.environ.get("KNOBD_CONTROL_SOCKET")
            or DEFAULT_SOCKET)


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


_MASK64 = (1 << 64) - 1


def shards_hash(key):
    """The C++ ShardsSampler::Hash: FNV-1a over the key's bytes, then a splitmix64 finaliser.

    The same key is sampled (or not) by every client, so a Python and a C++ service sharing a
    cache design report comparable histograms."""
    if isinstance(key, str):
        key = key.encode()
    h = 1469598103934665603
    for c in key:
        h = ((h ^ c) * 1099511628211) & _MASK64
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & _MASK64
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & _MASK64
    h ^= h >> 31
    return h


class ShardsSampler:
    """SHARDS spatial sampling (Waldspurger et al., FAST 2015), as client/shards.h.

    A key is sampled iff hash(key) mod P < R*P. For a sampled access the reuse distance is the
    bytes of distinct sampled keys touched since the previous access to the same key, scaled by
    1/R; first accesses count as cold. Bounds double from 1 KiB (36 buckets); the histogram is
    cumulative. Unsampled accesses cost one hash and take no lock."""

    MODULUS = 1 << 24
    MAX_TRACKED = 8192

    def __init__(self, sample_rate):
        self.sample_rate = min(max(float(sample_rate), 1.0 / self.MODULUS), 1.0)
        self._threshold = round(self.sample_rate * self.MODULUS)
        self.bounds = [1024.0 * (2 ** i) for i in range(36)]
        self._counts = [0] * len(self.bounds)
        self._cold = 0
        self._lru = collections.OrderedDict()  # hash -> size, most recent last
        self._lock = threading.Lock()

    def access(self, key, size_bytes):
        h = shards_hash(key)
        if h % self.MODULUS >= self._threshold:
            return
        with self._lock:
            if h not in self._lru:
                self._cold += 1
            else:
                distance = 0
                for k in reversed(self._lru):
                    if k == h:
                        break
                    distance += self._lru[k]
                scaled = distance / self.sample_rate
                i = min(bisect.bisect_left(self.bounds, scaled), len(self.bounds) - 1)
                self._counts[i] += 1
                del self._lru[h]
            self._lru[h] = int(size_bytes)
            if len(self._lru) > self.MAX_TRACKED:
                self._lru.popitem(last=False)

    def snapshot(self):
        """(bounds_bytes, counts, cold), cumulative."""
        with self._lock:
            return list(self.bounds), list(self._counts), self._cold


class CacheStats:
    """Counters of one cache plus its SHARDS reuse sampler (C++ knob::CacheStats)."""

    def __init__(self, sample_rate=0.01):
        self._lock = threading.Lock()
        self.hits_total = 0
        self.misses_total = 0
        self.bytes = 0.0
        self.capacity_bytes = 0.0
        self.sampler = ShardsSampler(sample_rate)

    def hit(self):
        with self._lock:
            self.hits_total += 1

    def miss(self):
        with self._lock:
            self.misses_total += 1

    def set_bytes(self, b):
        self.bytes = float(b)

    def set_capacity(self, b):
        self.capacity_bytes = float(b)

    def access(self, key, size_bytes):
        """Every lookup (hit or miss) with the item's size: feeds the miss-ratio curve."""
        self.sampler.access(key, size_bytes)

    def to_report(self):
        bounds, counts, cold = self.sampler.snapshot()
        with self._lock:
            out = {"hits_total": self.hits_total, "misses_total": self.misses_total}
        out["bytes"] = self.bytes
        out["capacity_bytes"] = self.capacity_bytes
        out["reuse"] = {"sample_rate": self.sampler.sample_rate, "bounds": bounds,
                        "counts": counts, "cold": cold}
        return out


class PoolGauges:
    """Gauges of one pool (threads, connections); assign the attributes from any thread."""

    def __init__(self):
        self.size = 0.0
        self.busy = 0.0
        self.waiters = 0.0


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_allocator_lock = threading.Lock()
_allocator_fns = None


def _allocator_functions():
    """(mallctl, mallinfo2), each None when absent; looked up once in the running process."""
    global _allocator_fns
    with _allocator_lock:
        if _allocator_fns is None:
            mallctl = mallinfo2 = None
            try:
                proc = ctypes.CDLL(None)
            except OSError:
                proc = None
            if proc is not None:
                mallctl = getattr(proc, "mallctl", None)
                if mallctl is not None:
                    mallctl.restype = ctypes.c_int
                    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                                        ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p,
                                        ctypes.c_size_t]
                mallinfo2 = getattr(proc, "mallinfo2", None)  # glibc >= 2.33
                if mallinfo2 is not None:
                    mallinfo2.restype = _Mallinfo2
                    mallinfo2.argtypes = []
            _allocator_fns = (mallctl, mallinfo2)
        return _allocator_fns


def read_allocator_stats():
    """The process's allocator statistics as the report's `allocator` object, or None.

    jemalloc (when the interpreter runs on it, e.g. LD_PRELOAD=libjemalloc.so.2): `mallctl`
    stats.* after an `epoch` refresh. Otherwise glibc mallinfo2(), mapped as the C++ client does."""
    mallctl, mallinfo2 = _allocator_functions()
    if mallctl is not None:
        epoch = ctypes.c_uint64(1)
        n = ctypes.c_size_t(ctypes.sizeof(epoch))
        mallctl(b"epoch", ctypes.byref(epoch), ctypes.byref(n), ctypes.byref(epoch),
                ctypes.sizeof(epoch))
        out = {"kind": "jemalloc"}
        for name in ("allocated", "active", "resident", "mapped", "retained"):
            v = ctypes.c_size_t(0)
            n = ctypes.c_size_t(ctypes.sizeof(v))
            if mallctl(b"stats." + name.encode(), ctypes.byref(v), ctypes.byref(n), None, 0) == 0:
                out[name] = float(v.value)
            else:
                out[name] = 0.0
        return out
    if mallinfo2 is not None:
        mi = mallinfo2()
        in_use = float(mi.uordblks + mi.hblkhd)
        return {"kind": "glibc", "allocated": in_use, "active": in_use,
                "resident": float(mi.arena + mi.hblkhd), "mapped": float(mi.hblkhd),
                "retained": float(mi.fordblks)}
    return None


class Client:
    """Registers with knobd, reports every tick, applies `set` through knob callbacks.

    Every method may be called from any thread. Recording (record_request, record_error, cache
    hits) takes one short lock and never touches the socket; knob callbacks run on the client's
    own thread, one at a time."""

    WELCOME_TIMEOUT = 5.0

    def __init__(self, name, socket_path=None, initial_backoff=0.1, max_backoff=5.0,
                 default_report_interval=1.0, latency_bounds=None):
        self.name = name
        self.path = socket_path or default_socket_path()
        self.initial_backoff = max(initial_backoff, 0.001)
        self.max_backoff = max(max_backoff, self.initial_backoff)
        self.default_report_interval = default_report_interval if default_report_interval > 0 else 1.0
        self._lock = threading.Lock()
        self._knobs = {}
        self._bounds = list(latency_bounds) if latency_bounds else _default_bounds()
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._requests = 0
        self._errors = 0
        self.in_flight = 0
        self.queue_depth = 0
        self.pools = {}    # name -> PoolGauges (or a dict with size/busy/waiters)
        self.caches = {}   # name -> CacheStats
        self.gauges = {}
        self.connected = False
        self.session = None
        self.target = None
        self.connections = 0
        self.reports_sent = 0
        self.last_error = ""
        self.applied = []  # (id, knob, value, applied) for tests
        self._stop = threading.Event()
        self._thread = None
        self._conn = None

    def register_knob(self, name, value, lo=None, hi=None, unit="", on_set=None):
        """`on_set(value)` returns True, False, (ok, reason) or (ok, reason, value_in_effect).

        Knobs registered after start() are announced on the next connection."""
        with self._lock:
            self._knobs[name] = {"value": value, "min": lo, "max": hi, "unit": unit,
                                 "on_set": on_set}

    def update_knob_value(self, name, value):
        """The application changed a knob itself: report the new value."""
        with self._lock:
            if name in self._knobs:
                self._knobs[name]["value"] = value

    def record_request(self, latency_seconds):
        i = min(bisect.bisect_left(self._bounds, latency_seconds), len(self._bounds) - 1)
        with self._lock:
            self._counts[i] += 1
            self._sum += max(latency_seconds, 0.0)
            self._requests += 1

    def record_error(self):
        with self._lock:
            self._errors += 1

    def set_in_flight(self, n):
        self.in_flight = n

    def set_queue_depth(self, n):
        self.queue_depth = n

    def pool(self, name):
        """The PoolGauges of `name`, created on first use; the same object every time."""
        with self._lock:
            p = self.pools.get(name)
            if p is None:
                p = self.pools[name] = PoolGauges()
            return p

    def cache(self, name, sample_rate=0.01):
        """The CacheStats of `name`; sample_rate is fixed by the first call for a name."""
        with self._lock:
            c = self.caches.get(name)
            if c is None:
                c = self.caches[name] = CacheStats(sample_rate)
            return c

    def set_gauge(self, name, value):
        with self._lock:
            self.gauges[name] = value

    def start(self):
        if self._thread is not None and self._thread.is_alive():
            return
        if not self.name:
            raise ValueError("knob_client.Client needs a name")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="knob-client", daemon=True)
        self._thread.start()

    def stop(self):
        """Says bye, closes, joins the thread. Idempotent."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RD)  # wakes a recv() in the reporter
            except OSError:
                pass
        if self._thread:
            self._thread.join(10)
        self.connected = False

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
                "metrics": ["requests", "latency", "pools", "caches", "allocator"],
                "client": "knob-python/1"}

    def report(self, seq):
        """The report the next tick sends; drains the interval's latency histogram."""
        allocator = read_allocator_stats()
        with self._lock:
            counts, self._counts = self._counts, [0] * len(self._bounds)
            total, self._sum = self._sum, 0.0
            pools = {}
            for n, p in self.pools.items():
                if isinstance(p, dict):
                    pools[n] = dict(p)
                else:
                    pools[n] = {"size": p.size, "busy": p.busy, "waiters": p.waiters}
            caches = list(self.caches.items())
            msg = {"type": "report", "seq": seq, "requests_total": self._requests,
                   "errors_total": self._errors, "in_flight": self.in_flight,
                   "queue_depth": self.queue_depth,
                   "latency": {"bounds": self._bounds, "counts": counts, "sum": total},
                   "pools": pools,
                   "knobs": {n: k["value"] for n, k in self._knobs.items()},
                   "gauges": dict(self.gauges)}
        msg["caches"] = {n: c.to_report() for n, c in caches}
        if allocator is not None:
            msg["allocator"] = allocator
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
            ack.update(result="rejected", reason="unknown knob '%s'" % msg["knob"])
        elif (knob["min"] is not None and value < knob["min"]) or (
                knob["max"] is not None and value > knob["max"]):
            ack.update(result="rejected", reason="value outside the knob's bounds")
        else:
            try:
                res = knob["on_set"](value) if knob["on_set"] else True
            except Exception as e:  # the app's callback must not kill the reporter
                res = (False, "callback raised %r" % e)
            if not isinstance(res, tuple):
                res = (bool(res), "")
            ok = bool(res[0])
            reason = res[1] if len(res) > 1 else ""
            actual = res[2] if len(res) > 2 and res[2] is not None else value
            ack.update(result="applied" if ok else "rejected")
            if reason:
                ack["reason"] = str(reason)
            if ok:
                ack["value"] = actual
                with self._lock:
                    knob["value"] = actual
        self.applied.append((msg["id"], msg["knob"], value, ack["result"] == "applied"))
        return ack

    def _run(self):
        backoff = self.initial_backoff
        seq = 0
        while not self._stop.is_set():
            conn = None
            welcomed = False
            try:
                try:
                    conn = self._conn = Connection(self.path)
                except OSError as e:
                    raise ConnectionError("cannot connect to %s: %s" % (self.path, e.strerror or e))
                conn.send(self.hello())
                welcome = None
                while welcome is None:
                    msg = conn.recv(self.WELCOME_TIMEOUT)
                    if msg is None:
                        raise ConnectionError("knobd closed the connection")
                    if msg.get("type") == "error":
                        self.last_error = "%s: %s" % (msg.get("code"), msg.get("message"))
                    elif msg.get("type") == "welcome":
                        welcome = msg
                self.session = welcome.get("session")
                self.target = welcome.get("target")
                interval = float(welcome.get("tick_interval_seconds") or 0)
                if interval <= 0:
                    interval = self.default_report_interval
                self.last_error = ""
                welcomed = True
                self.connected = True
                self.connections += 1
                backoff = self.initial_backoff
                next_report = time.monotonic() + interval
                while not self._stop.is_set():
                    try:
                        msg = conn.recv(max(0.0, next_report - time.monotonic()))
                        if msg is None:
                            if self._stop.is_set():
                                break
                            raise ConnectionError("knobd closed the connection")
                        if msg.get("type") == "set":
                            conn.send(self._apply(msg))
                        elif msg.get("type") == "error":
                            self.last_error = "%s: %s" % (msg.get("code"), msg.get("message"))
                        elif msg.get("type") == "bye":
                            raise ConnectionError("knobd said bye")
                    except (TimeoutError, socket.timeout):
                        pass
                    if time.monotonic() >= next_report:
                        seq += 1
                        conn.send(self.report(seq))
                        self.reports_sent += 1
                        next_report += interval
                        if next_report < time.monotonic():
                            next_report = time.monotonic() + interval
                if self._stop.is_set():
                    conn.send({"type": "bye", "reason": "client stopping"})
            except (TimeoutError, socket.timeout):
                self.last_error = "no welcome from knobd within %.0f s" % self.WELCOME_TIMEOUT
            except (OSError, ValueError, ConnectionError) as e:
                # Keep a more specific error the daemon sent (pid_mismatch, ...) over "closed".
                if welcomed or not self.last_error:
                    self.last_error = str(e)
            finally:
                self.connected = False
                self._conn = None
                if conn:
                    conn.close()
            if self._stop.wait(backoff * random.uniform(0.5, 1.0)):
                break
            backoff = min(backoff * 2, self.max_backoff)
