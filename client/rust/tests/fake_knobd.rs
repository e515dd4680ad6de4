// SPDX-License-Identifier: Apache-2.0
//! The client against a scripted control server on a real Unix socket: hello, report contents,
//! every `set` outcome, reconnection, and a stalled daemon that must not slow the caller.

mod common;

use common::{wait_for, Fake, WELCOME};
use knob::{Client, KnobSpec, Options, SetResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn client(path: &str) -> Client {
    let mut o = Options::new("rs-svc");
    o.socket_path = Some(path.to_string());
    o.initial_backoff = Duration::from_millis(10);
    o.max_backoff = Duration::from_millis(50);
    Client::new(o).expect("valid options")
}

#[test]
fn new_refuses_an_empty_name_and_unsorted_bounds() {
    assert!(Client::new(Options::new("")).is_err());
    let mut o = Options::new("x");
    o.latency_bounds_seconds = vec![0.2, 0.1];
    assert!(Client::new(o).is_err());
}

#[test]
fn hello_report_set_and_ack() {
    let fake = Fake::new("round-trip");
    let c = client(&fake.path);
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    c.register_knob(KnobSpec::new("workers", 4.0).bounds(1.0, 64.0).unit("threads"), move |v| {
        s.store(v as u64, Ordering::SeqCst);
        SetResult::applied()
    });
    c.register_knob(KnobSpec::new("cache_bytes", 1048576.0), |_| SetResult::applied_value(4096.0));
    c.register_knob(KnobSpec::new("busy", 1.0), |_| SetResult::rejected("draining"));
    c.register_knob(KnobSpec::new("boom", 1.0), |_| panic!("oops"));
    c.record_request(Duration::from_millis(3));
    c.record_error();
    c.pool("workers").size.set(4.0);
    let cache = c.cache("main", 1.0);
    cache.hit();
    cache.access(b"k", 10);
    cache.access(b"k", 10);
    c.set_gauge("connections", 7.0);
    assert!(c.start());
    let mut p = fake.accept();
    let hello = p.read();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["name"], "rs-svc");
    assert_eq!(hello["pid"], std::process::id());
    assert_eq!(hello["client"], "knob-rust/1");
    assert_eq!(hello["knobs"].as_array().map(Vec::len), Some(4));
    p.send(WELCOME);
    let r = p.read_type("report");
    assert_eq!(r["seq"], 1);
    assert_eq!(r["requests_total"], 1);
    assert_eq!(r["errors_total"], 1);
    assert!(r["latency"]["p50"].is_number());
    assert!(r["latency"]["sum"].as_f64().unwrap() >= 0.003);
    let main = &r["caches"]["main"];
    assert_eq!(main["hits_total"], 1);
    assert_eq!(main["reuse"]["cold"], 1);
    assert_eq!(main["reuse"]["counts"][0], 1);
    assert_eq!(main["reuse"]["sample_rate"], 1.0);
    assert!(r["allocator"]["kind"] == "glibc" || r["allocator"]["kind"] == "jemalloc", "{}", r);
    assert!(r["allocator"]["allocated"].as_f64().unwrap() > 0.0);
    assert_eq!(r["pools"]["workers"]["size"], 4.0);
    assert_eq!(r["gauges"]["connections"], 7.0);
    wait_for("connected", || c.connected());
    assert_eq!(c.target(), "svc");
    assert_eq!(c.session(), "s1");

    let cases: [(&str, &str, &str, f64); 6] = [
        (r#"{"v":1,"type":"set","id":1,"knob":"workers","value":6}"#, "applied", "", 6.0),
        (r#"{"v":1,"type":"set","id":2,"knob":"workers","value":1000}"#, "rejected", "bounds", 0.0),
        (r#"{"v":1,"type":"set","id":3,"knob":"nope","value":1}"#, "rejected", "unknown knob", 0.0),
        (r#"{"v":1,"type":"set","id":4,"knob":"cache_bytes","value":5000}"#, "applied", "", 4096.0),
        (r#"{"v":1,"type":"set","id":5,"knob":"busy","value":2}"#, "rejected", "draining", 0.0),
        (r#"{"v":1,"type":"set","id":6,"knob":"boom","value":2}"#, "rejected", "panicked", 0.0),
    ];
    for (i, (set, result, reason, value)) in cases.iter().enumerate() {
        p.send(set);
        let ack = p.read_type("ack");
        assert_eq!(ack["id"], i as u64 + 1, "{}", set);
        assert_eq!(ack["result"], *result, "{} -> {}", set, ack);
        if !reason.is_empty() {
            assert!(ack["reason"].as_str().unwrap_or("").contains(reason), "{} -> {}", set, ack);
        }
        if *result == "applied" {
            assert_eq!(ack["value"], *value, "{} -> {}", set, ack);
        }
    }
    assert_eq!(seen.load(Ordering::SeqCst), 6, "the callback never saw the out-of-bounds 1000");
    let r = p.read_type("report");
    assert_eq!(r["knobs"]["workers"], 6.0);
    assert_eq!(r["knobs"]["cache_bytes"], 4096.0);
    // Garbage from the daemon is noted, not fatal.
    p.send("not json");
    p.send(r#"{"v":1,"type":"error","code":"rate_limited","message":"slow down"}"#);
    wait_for("error noted", || c.last_error().contains("rate_limited"));
    c.stop();
    let bye = p.read_type("bye");
    assert!(bye["reason"].is_string());
}

#[test]
fn reconnects_after_the_daemon_goes_away() {
    let fake = Fake::new("reconnect");
    let c = client(&fake.path);
    c.start();
    let mut p = fake.accept();
    p.read_type("hello");
    p.send(WELCOME);
    wait_for("first welcome", || c.connected());
    drop(p);
    wait_for("disconnect noticed", || !c.connected());
    let mut p2 = fake.accept();
    p2.read_type("hello");
    p2.send(WELCOME);
    wait_for("second connection", || c.connected() && c.connections() == 2);
}

#[test]
fn keeps_retrying_without_a_daemon_and_stops_promptly() {
    let dir = common::temp_dir("absent");
    let c = client(&dir.join("absent.sock").to_string_lossy());
    c.start();
    wait_for("an error", || c.last_error().contains("cannot connect"));
    let start = Instant::now();
    c.stop();
    assert!(start.elapsed() < Duration::from_secs(1), "stop took {:?}", start.elapsed());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn recording_never_waits_on_a_stalled_daemon() {
    let fake = Fake::new("stalled");
    let c = client(&fake.path);
    c.start();
    let mut p = fake.accept();
    p.read_type("hello");
    p.send(WELCOME); // then never read again: the socket buffer fills with reports
    wait_for("connected", || c.connected());
    let cache = c.cache("main", 0.01);
    let start = Instant::now();
    for _ in 0..200_000 {
        c.record_request(Duration::from_millis(1));
        cache.hit();
    }
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    let stop = Instant::now();
    c.stop(); // the 1 s write timeout bounds how long a full socket can hold the client's thread
    assert!(stop.elapsed() < Duration::from_secs(3), "stop took {:?}", stop.elapsed());
}
