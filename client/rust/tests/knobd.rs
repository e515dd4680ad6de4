// SPDX-License-Identifier: Apache-2.0
//! The crate against the real knobd binary: it registers, knobd keeps its reports (visible to
//! `show`), a second registration of the same name is refused, and the client comes back on
//! its own after knobd restarts.

mod common;

use common::{wait_for, Knobd};
use knob::{Client, KnobSpec, Options};
use std::time::Duration;

const POLICY: &str = "global:\n  tick_interval: 200ms\n  mode: recommend\n\
                      targets:\n  - name: svc\n    select: {registered: rs-svc}\n";

#[test]
fn against_a_real_knobd() {
    let mut k = Knobd::start(POLICY);
    let mut o = Options::new("rs-svc");
    o.socket_path = Some(k.sock.clone());
    o.initial_backoff = Duration::from_millis(50);
    o.max_backoff = Duration::from_millis(500);
    let c = Client::new(o.clone()).unwrap();
    c.register_knob(KnobSpec::new("workers", 4.0).bounds(1.0, 64.0).unit("threads"),
                    |_| knob::SetResult::applied());
    for _ in 0..5 {
        c.record_request(Duration::from_millis(2));
    }
    c.pool("workers").size.set(4.0);
    let cache = c.cache("main", 1.0);
    cache.access(b"a", 100);
    cache.access(b"a", 100);
    c.start();
    wait_for("two reports", || c.connected() && c.reports_sent() >= 2);
    assert_eq!(c.target(), "svc");
    let mut app = serde_json::Value::Null;
    wait_for("knobd to hold the report", || {
        app = k.admin(r#"{"v":1,"type":"show","id":1,"target":"svc"}"#)["show"]["app"].clone();
        app["requests_total"] == 5.0
    });
    assert_eq!(app["caches"]["main"]["reuse"]["cold"], 1, "{}", app);
    assert!(app["allocator"]["kind"].is_string(), "{}", app);

    // A second process with the same name is a second instance of the target (docs/protocol.md,
    // "Targets and instances"), counted by `targets`; the target stays as it was once it leaves.
    let mut d = o.clone();
    d.initial_backoff = Duration::from_secs(1);
    let dup = Client::new(d).unwrap();
    dup.start();
    wait_for("the second instance welcomed", || dup.connected());
    assert_eq!(dup.target(), "svc");
    let instances =
        || k.admin(r#"{"v":1,"type":"targets","id":3}"#)["targets"][0]["instances"].clone();
    wait_for("two instances", || instances() == 2);
    dup.stop();
    wait_for("one instance left", || instances() == 1);

    k.stop();
    wait_for("disconnect noticed", || !c.connected());
    k.spawn();
    wait_for("reconnected after the restart", || c.connected() && c.connections() >= 2);
    let targets = k.admin(r#"{"v":1,"type":"targets","id":2}"#);
    assert_eq!(targets["targets"][0]["connected"], true, "{}\nknobd log:\n{}", targets, k.log());
}
