// SPDX-License-Identifier: Apache-2.0
//! Makes a Rust service tunable by knobd (std plus serde_json, no C dependency).
//!
//! The service registers its knobs with a callback, records requests on its hot path, and a
//! background thread does the rest: it connects to knobd's control socket, says hello, sends a
//! report every tick, applies `set` messages by calling the knob's callback and acks the
//! result, and reconnects with jittered exponential backoff when knobd restarts. The protocol
//! is docs/protocol.md in the knobd repository; the behaviour matches the C++ `knob::Client`.
//!
//! ```no_run
//! use knob::{Client, KnobSpec, Options, SetResult};
//! let client = Client::new(Options::new("my-service")).expect("a name");
//! client.register_knob(KnobSpec::new("workers", 8.0).bounds(1.0, 64.0).unit("threads"),
//!                      |v| if v > 0.0 { SetResult::applied() } else { SetResult::rejected("no") });
//! client.start();
//! client.record_request(std::time::Duration::from_millis(3));   // atomics only
//! ```
//!
//! Guarantees: no method panics into the caller; no method called from an application thread
//! waits on the socket (`record_*`, pool gauges and cache counters are atomics; `pool` and
//! `cache` take a short mutex to find a name, so keep the returned `Arc`); knob callbacks run
//! on the client's thread, one at a time, and a panicking callback becomes a rejection.
//! Thread rule: every method may be called from any thread.

mod allocator;
mod histogram;
mod shards;

pub use shards::shards_hash;

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where knobd listens when neither the options nor the environment say.
pub const DEFAULT_SOCKET: &str = "/run/knobd/control.sock";
const MAX_LINE_BYTES: usize = 1 << 20;
const WELCOME_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// `$KNOBD_SOCKET`, else `$KNOBD_CONTROL_SOCKET`, else [`DEFAULT_SOCKET`].
pub fn default_socket_path() -> String {
    for var in ["KNOBD_SOCKET", "KNOBD_CONTROL_SOCKET"] {
        if let Ok(p) = std::env::var(var) {
            if !p.is_empty() {
                return p;
            }
        }
    }
    DEFAULT_SOCKET.to_string()
}

/// What a knob's callback answers to a `set`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetResult {
    pub applied: bool,
    /// Why rejected (or a note about what was applied).
    pub reason: String,
    /// The value actually in effect, when it differs from the requested one.
    pub value: Option<f64>,
}

impl SetResult {
    pub fn applied() -> Self {
        SetResult { applied: true, reason: String::new(), value: None }
    }
    /// Applied, but the value in effect is `v` (rounded or clamped by the application).
    pub fn applied_value(v: f64) -> Self {
        SetResult { applied: true, reason: String::new(), value: Some(v) }
    }
    pub fn rejected(why: impl Into<String>) -> Self {
        SetResult { applied: false, reason: why.into(), value: None }
    }
}

/// One knob knobd may set.
#[derive(Clone, Debug)]
pub struct KnobSpec {
    pub name: String,
    /// Current value.
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub unit: String,
}

impl KnobSpec {
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        KnobSpec { name: name.into(), value, min: None, max: None, unit: String::new() }
    }
    pub fn bounds(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = unit.into();
        self
    }
}

/// Configuration of a [`Client`]. Only `name` is required.
#[derive(Clone, Debug)]
pub struct Options {
    /// Registered name; the policy's `registered: NAME` selector matches it.
    pub name: String,
    /// `None`: [`default_socket_path`].
    pub socket_path: Option<String>,
    /// Reconnect backoff: starts here, doubles to `max_backoff`, with jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Report interval until the daemon's welcome says otherwise.
    pub default_report_interval: Duration,
    /// Latency bucket upper bounds in seconds; empty: 50 µs doubling to ~105 s (22 buckets).
    pub latency_bounds_seconds: Vec<f64>,
}

impl Options {
    pub fn new(name: impl Into<String>) -> Self {
        Options {
            name: name.into(),
            socket_path: None,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            default_report_interval: Duration::from_secs(1),
            latency_bounds_seconds: Vec::new(),
        }
    }
}

/// Why [`Client::new`] refused its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A float set and read atomically from any thread.
#[derive(Default, Debug)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// The gauges of one pool (threads, connections).
#[derive(Default, Debug)]
pub struct PoolGauges {
    pub size: Gauge,
    pub busy: Gauge,
    pub waiters: Gauge,
}

/// The counters of one cache plus its SHARDS reuse-distance sampler.
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    bytes: Gauge,
    capacity: Gauge,
    sampler: shards::ShardsSampler,
}

impl CacheStats {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_bytes(&self, b: f64) {
        self.bytes.set(b)
    }
    pub fn set_capacity(&self, b: f64) {
        self.capacity.set(b)
    }
    /// Every lookup (hit or miss) with the item's size: feeds the miss-ratio curve. Only
    /// sampled keys (about sample_rate of them) take the sampler's mutex.
    pub fn access(&self, key: &[u8], size_bytes: u64) {
        self.sampler.access(key, size_bytes)
    }
    fn report(&self) -> Value {
        let (counts, cold) = self.sampler.snapshot();
        json!({
            "hits_total": self.hits.load(Ordering::Relaxed),
            "misses_total": self.misses.load(Ordering::Relaxed),
            "bytes": finite(self.bytes.get()),
            "capacity_bytes": finite(self.capacity.get()),
            "reuse": {"sample_rate": self.sampler.rate, "bounds": self.sampler.bounds,
                      "counts": counts, "cold": cold},
        })
    }
}

type OnSet = Arc<dyn Fn(f64) -> SetResult + Send + Sync>;

struct Knob {
    spec: KnobSpec,
    on_set: Option<OnSet>,
}

#[derive(Default)]
struct Shared {
    knobs: BTreeMap<String, Knob>,
    pools: BTreeMap<String, Arc<PoolGauges>>,
    caches: BTreeMap<String, Arc<CacheStats>>,
    gauges: BTreeMap<String, f64>,
    last_error: String,
    session: String,
    target: String,
}

struct Inner {
    opts: Options,
    socket_path: String,
    latency: histogram::LatencyHistogram,
    errors: AtomicU64,
    in_flight: Gauge,
    queue_depth: Gauge,
    shared: Mutex<Shared>,
    stop: Mutex<bool>,
    stop_cv: Condvar,
    // A clone of the live connection, so stop() can wake a blocked read by shutting it down.
    live: Mutex<Option<UnixStream>>,
    connected: AtomicBool,
    reports_sent: AtomicU64,
    connections: AtomicU64,
}

/// The connection of one service to knobd. Dropping it stops it.
pub struct Client {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later call into a panic.
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

impl Client {
    /// Checks the options; the client does nothing until [`Client::start`].
    pub fn new(mut opts: Options) -> Result<Client, Error> {
        if opts.name.is_empty() {
            return Err(Error("knob: Options.name is required (the registered name)".into()));
        }
        if opts.latency_bounds_seconds.windows(2).any(|w| !(w[1] > w[0])) {
            return Err(Error("knob: latency_bounds_seconds must be strictly ascending".into()));
        }
        if opts.initial_backoff.is_zero() {
            opts.initial_backoff = Duration::from_millis(1);
        }
        if opts.max_backoff < opts.initial_backoff {
            opts.max_backoff = opts.initial_backoff;
        }
        if opts.default_report_interval.is_zero() {
            opts.default_report_interval = Duration::from_secs(1);
        }
        let socket_path = opts.socket_path.clone().unwrap_or_else(default_socket_path);
        let latency = histogram::LatencyHistogram::new(opts.latency_bounds_seconds.clone());
        Ok(Client {
            inner: Arc::new(Inner {
                opts,
                socket_path,
                latency,
                errors: AtomicU64::new(0),
                in_flight: Gauge::default(),
                queue_depth: Gauge::default(),
                shared: Mutex::new(Shared::default()),
                stop: Mutex::new(false),
                stop_cv: Condvar::new(),
                live: Mutex::new(None),
                connected: AtomicBool::new(false),
                reports_sent: AtomicU64::new(0),
                connections: AtomicU64::new(0),
            }),
            thread: Mutex::new(None),
        })
    }

    pub fn socket_path(&self) -> &str {
        &self.inner.socket_path
    }

    /// Registers (or replaces) a knob. Knobs registered after `start` are announced on the
    /// next connection. `on_set` runs on the client's thread.
    pub fn register_knob<F>(&self, spec: KnobSpec, on_set: F)
    where
        F: Fn(f64) -> SetResult + Send + Sync + 'static,
    {
        let name = spec.name.clone();
        lock(&self.inner.shared).knobs.insert(name, Knob { spec, on_set: Some(Arc::new(on_set)) });
    }

    /// The application changed a knob itself: report the new value.
    pub fn update_knob_value(&self, name: &str, v: f64) {
        self.inner.update_knob_value(name, v)
    }

    /// One completed request. Lock-free.
    pub fn record_request(&self, latency: Duration) {
        self.inner.latency.record(latency)
    }
    /// One failed or refused request. Lock-free.
    pub fn record_error(&self) {
        self.inner.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_in_flight(&self, n: f64) {
        self.inner.in_flight.set(n)
    }
    pub fn set_queue_depth(&self, n: f64) {
        self.inner.queue_depth.set(n)
    }

    /// The gauges of pool `name`, created on first use.
    pub fn pool(&self, name: &str) -> Arc<PoolGauges> {
        lock(&self.inner.shared).pools.entry(name.to_string()).or_default().clone()
    }

    /// The stats of cache `name`; `sample_rate` (SHARDS rate, e.g. 0.01) is fixed by the first
    /// call for a name.
    pub fn cache(&self, name: &str, sample_rate: f64) -> Arc<CacheStats> {
        lock(&self.inner.shared)
            .caches
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(CacheStats {
                    hits: AtomicU64::new(0),
                    misses: AtomicU64::new(0),
                    bytes: Gauge::default(),
                    capacity: Gauge::default(),
                    sampler: shards::ShardsSampler::new(sample_rate),
                })
            })
            .clone()
    }

    pub fn set_gauge(&self, name: &str, v: f64) {
        lock(&self.inner.shared).gauges.insert(name.to_string(), v);
    }

    /// Welcomed by knobd on the current connection.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::SeqCst)
    }
    pub fn reports_sent(&self) -> u64 {
        self.inner.reports_sent.load(Ordering::SeqCst)
    }
    /// Connections knobd welcomed.
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::SeqCst)
    }
    /// The latest problem in words (empty after a welcome).
    pub fn last_error(&self) -> String {
        lock(&self.inner.shared).last_error.clone()
    }
    pub fn session(&self) -> String {
        lock(&self.inner.shared).session.clone()
    }
    /// The policy target this client belongs to (empty when none).
    pub fn target(&self) -> String {
        lock(&self.inner.shared).target.clone()
    }

    /// The report the next tick would send (tests, debugging); drains the interval histogram.
    pub fn build_report(&self) -> Value {
        self.inner.build_report()
    }

    /// Starts the background thread; false only if it cannot be created. Idempotent.
    pub fn start(&self) -> bool {
        let mut t = lock(&self.thread);
        if t.is_some() {
            return true;
        }
        *lock(&self.inner.stop) = false;
        let inner = self.inner.clone();
        match std::thread::Builder::new().name("knob-client".into()).spawn(move || inner.run()) {
            Ok(h) => {
                *t = Some(h);
                true
            }
            Err(e) => {
                lock(&self.inner.shared).last_error = format!("cannot start the knob client thread: {}", e);
                false
            }
        }
    }

    /// Says bye, closes the connection, joins the thread. Idempotent.
    pub fn stop(&self) {
        let handle = match lock(&self.thread).take() {
            Some(h) => h,
            None => return,
        };
        *lock(&self.inner.stop) = true;
        self.inner.stop_cv.notify_all();
        if let Some(s) = lock(&self.inner.live).as_ref() {
            let _ = s.shutdown(Shutdown::Read);
        }
        let _ = handle.join();
        self.inner.connected.store(false, Ordering::SeqCst);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

enum End {
    Stopped,
    Failed { welcomed: bool, why: String },
}

impl Inner {
    fn stopping(&self) -> bool {
        *lock(&self.stop)
    }

    fn set_error(&self, e: String) {
        lock(&self.shared).last_error = e;
    }

    fn update_knob_value(&self, name: &str, v: f64) {
        if let Some(k) = lock(&self.shared).knobs.get_mut(name) {
            k.spec.value = v;
        }
    }

    fn build_report(&self) -> Value {
        let (counts, sum) = self.latency.drain();
        let mut lat = Map::new();
        lat.insert("bounds".into(), json!(self.latency.bounds));
        lat.insert("counts".into(), json!(counts));
        lat.insert("sum".into(), json!(sum));
        for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            if let Some(v) = histogram::quantile(&self.latency.bounds, &counts, q) {
                lat.insert(key.into(), json!(v));
            }
        }
        let mut r = json!({
            "requests_total": self.latency.total.load(Ordering::Relaxed),
            "errors_total": self.errors.load(Ordering::Relaxed),
            "in_flight": finite(self.in_flight.get()),
            "queue_depth": finite(self.queue_depth.get()),
            "latency": lat,
        });
        if let Some(a) = allocator::allocator_stats() {
            r["allocator"] = a;
        }
        let caches: Vec<(String, Arc<CacheStats>)>;
        {
            let s = lock(&self.shared);
            let mut pools = Map::new();
            for (n, p) in &s.pools {
                pools.insert(n.clone(), json!({"size": finite(p.size.get()), "busy": finite(p.busy.get()),
                                               "waiters": finite(p.waiters.get())}));
            }
            r["pools"] = Value::Object(pools);
            let knobs: Map<String, Value> =
                s.knobs.iter().map(|(n, k)| (n.clone(), json!(finite(k.spec.value)))).collect();
            r["knobs"] = Value::Object(knobs);
            let gauges: Map<String, Value> = s
                .gauges
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            r["gauges"] = Value::Object(gauges);
            caches = s.caches.iter().map(|(n, c)| (n.clone(), c.clone())).collect();
        }
        let c: Map<String, Value> = caches.iter().map(|(n, c)| (n.clone(), c.report())).collect();
        r["caches"] = Value::Object(c);
        r
    }

    fn hello(&self) -> Value {
        let s = lock(&self.shared);
        let knobs: Vec<Value> = s
            .knobs
            .values()
            .map(|k| {
                let mut d = json!({"name": k.spec.name, "value": finite(k.spec.value)});
                if let Some(v) = k.spec.min {
                    d["min"] = json!(v);
                }
                if let Some(v) = k.spec.max {
                    d["max"] = json!(v);
                }
                if !k.spec.unit.is_empty() {
                    d["unit"] = json!(k.spec.unit);
                }
                d
            })
            .collect();
        json!({"type": "hello", "name": self.opts.name, "pid": std::process::id(),
               "client": "knob-rust/1", "knobs": knobs,
               "metrics": ["requests", "latency", "pools", "caches", "allocator"]})
    }

    fn apply(&self, m: &Value) -> Value {
        let id = m.get("id").cloned().unwrap_or(Value::Null);
        let knob = m.get("knob").and_then(Value::as_str).unwrap_or("").to_string();
        let value = m.get("value").and_then(Value::as_f64);
        let (spec, cb) = match lock(&self.shared).knobs.get(&knob) {
            Some(k) => (Some(k.spec.clone()), k.on_set.clone()),
            None => (None, None),
        };
        let res = match (value, spec) {
            (None, _) => SetResult::rejected("set without a value"),
            (_, None) => SetResult::rejected(format!("unknown knob '{}'", knob)),
            (Some(v), Some(s))
                if s.min.map_or(false, |lo| v < lo) || s.max.map_or(false, |hi| v > hi) =>
            {
                SetResult::rejected("value outside the knob's bounds")
            }
            (Some(v), Some(_)) => match cb {
                None => SetResult::applied(),
                // The application's callback must never take the client (or the app) down.
                Some(cb) => catch_unwind(AssertUnwindSafe(|| cb(v)))
                    .unwrap_or_else(|_| SetResult::rejected("callback panicked")),
            },
        };
        let mut ack = json!({"type": "ack", "id": id, "knob": knob,
                             "result": if res.applied { "applied" } else { "rejected" }});
        if res.applied {
            let v = finite(res.value.or(value).unwrap_or(0.0));
            ack["value"] = json!(v);
            self.update_knob_value(&knob, v);
        }
        if !res.reason.is_empty() {
            ack["reason"] = json!(res.reason);
        }
        ack
    }

    fn run(&self) {
        let mut rng = Jitter::new();
        let mut backoff = self.opts.initial_backoff;
        loop {
            if self.stopping() {
                return;
            }
            match self.connect_once(&mut backoff) {
                End::Stopped => return,
                End::Failed { welcomed, why } => {
                    // Keep a more specific error the daemon sent (pid_mismatch, ...) over "closed".
                    let mut s = lock(&self.shared);
                    if s.last_error.is_empty() || welcomed {
                        s.last_error = why;
                    }
                }
            }
            let wait = backoff.mul_f64(0.5 + 0.5 * rng.next_unit()).max(Duration::from_millis(1));
            let guard = lock(&self.stop);
            let (guard, _) = match self.stop_cv.wait_timeout_while(guard, wait, |stop| !*stop) {
                Ok(r) => r,
                Err(p) => p.into_inner(),
            };
            if *guard {
                return;
            }
            backoff = (backoff * 2).min(self.opts.max_backoff);
        }
    }

    fn connect_once(&self, backoff: &mut Duration) -> End {
        let fail = |welcomed: bool, why: String| End::Failed { welcomed, why };
        let mut stream = match UnixStream::connect(&self.socket_path) {
            Ok(s) => s,
            Err(e) => return fail(false, format!("cannot connect to {}: {}", self.socket_path, e)),
        };
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        *lock(&self.live) = stream.try_clone().ok();
        // Stop may have run between the check in run() and storing the clone.
        if self.stopping() {
            *lock(&self.live) = None;
            return End::Stopped;
        }
        let end = self.converse(&mut stream, backoff);
        *lock(&self.live) = None;
        self.connected.store(false, Ordering::SeqCst);
        end
    }

    fn converse(&self, stream: &mut UnixStream, backoff: &mut Duration) -> End {
        let fail = |welcomed: bool, why: String| End::Failed { welcomed, why };
        if let Err(e) = send(stream, self.hello()) {
            return fail(false, format!("cannot send hello to {}: {}", self.socket_path, e));
        }
        let mut welcomed = false;
        let mut interval = self.opts.default_report_interval;
        let mut deadline = Instant::now() + WELCOME_TIMEOUT;
        let mut seq = 0u64;
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 16384];
        loop {
            if self.stopping() {
                let _ = send(stream, json!({"type": "bye", "reason": "client stopping"}));
                return End::Stopped;
            }
            let now = Instant::now();
            if now >= deadline {
                if !welcomed {
                    return fail(false, "no welcome from knobd within 5 s".into());
                }
                seq += 1;
                let mut r = self.build_report();
                r["type"] = json!("report");
                r["seq"] = json!(seq);
                if let Err(e) = send(stream, r) {
                    return fail(true, format!("cannot send report: {}", e));
                }
                self.reports_sent.fetch_add(1, Ordering::SeqCst);
                deadline += interval;
                if deadline < now {
                    deadline = now + interval;
                }
                continue;
            }
            let _ = stream.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))));
            let n = match stream.read(&mut chunk) {
                Ok(0) => {
                    if self.stopping() {
                        continue; // says bye above
                    }
                    return fail(welcomed, "knobd closed the connection".into());
                }
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => continue,
                Err(e) => return fail(welcomed, format!("read: {}", e)),
            };
            buf.extend_from_slice(&chunk[..n]);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                let line = &line[..line.len() - 1];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let msg: Value = match serde_json::from_slice(line) {
                    Ok(v) => v,
                    Err(e) => {
                        self.set_error(format!("bad message from knobd: {}", e));
                        continue;
                    }
                };
                match msg.get("type").and_then(Value::as_str).unwrap_or("") {
                    "welcome" => {
                        {
                            let mut s = lock(&self.shared);
                            s.session = msg["session"].as_str().unwrap_or("").to_string();
                            s.target = msg["target"].as_str().unwrap_or("").to_string();
                            s.last_error.clear();
                        }
                        let secs = msg["tick_interval_seconds"].as_f64().unwrap_or(0.0);
                        interval = if secs > 0.0 && secs.is_finite() {
                            Duration::from_secs_f64(secs)
                        } else {
                            Duration::from_secs(1)
                        };
                        welcomed = true;
                        self.connected.store(true, Ordering::SeqCst);
                        self.connections.fetch_add(1, Ordering::SeqCst);
                        *backoff = self.opts.initial_backoff;
                        deadline = Instant::now() + interval;
                    }
                    "set" => {
                        if let Err(e) = send(stream, self.apply(&msg)) {
                            return fail(welcomed, format!("cannot send ack: {}", e));
                        }
                    }
                    "error" => self.set_error(format!(
                        "{}: {}",
                        msg["code"].as_str().unwrap_or("internal"),
                        msg["message"].as_str().unwrap_or("")
                    )),
                    "bye" => return fail(welcomed, "knobd said bye".into()),
                    _ => {}
                }
            }
            if buf.len() > MAX_LINE_BYTES {
                return fail(welcomed, "knobd sent an oversized line".into());
            }
        }
    }
}

fn send(stream: &mut UnixStream, mut msg: Value) -> std::io::Result<()> {
    msg["v"] = json!(1);
    let mut line = serde_json::to_vec(&msg).map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// xorshift64* seeded from the clock and pid: jitter only, not cryptography.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter((t ^ u64::from(std::process::id()) << 32) | 1)
    }
    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
