// SPDX-License-Identifier: Apache-2.0
//! A complete small service made tunable by knobd with the Rust crate (docs/integrating.md).
//! It "serves" requests from a worker pool and a cache, lets knobd resize the pool, and runs
//! for the first argument's seconds (default 10). Exit status 0 once knobd has received its
//! reports.

use knob::{Client, KnobSpec, Options, SetResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let workers = Arc::new(AtomicU64::new(4));

    // The socket comes from $KNOBD_SOCKET (else $KNOBD_CONTROL_SOCKET, /run/knobd/control.sock).
    let client = Client::new(Options::new("rust-example")).expect("a registered name");
    let w = workers.clone();
    client.register_knob(KnobSpec::new("workers", 4.0).bounds(1.0, 64.0).unit("threads"), move |v| {
        // Runs on the client's thread.
        if v.fract() != 0.0 {
            return SetResult::rejected("workers takes whole numbers");
        }
        w.store(v as u64, Ordering::Relaxed);
        println!("rust-example: workers set to {}", v);
        SetResult::applied()
    });
    let pool = client.pool("workers");
    let cache = client.cache("main", 0.1);
    cache.set_capacity(150.0 * 1024.0);
    client.start();

    let mut seed: u64 = 42;
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        let start = Instant::now();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let key = format!("item-{}", (seed >> 33) % 200);
        let hit = (seed >> 20) % 4 != 0;
        if hit {
            cache.hit();
        } else {
            cache.miss();
        }
        cache.access(key.as_bytes(), 1024);
        std::thread::sleep(Duration::from_millis(if hit { 1 } else { 5 })); // the "work"
        client.record_request(start.elapsed()); // atomics only
        pool.size.set(workers.load(Ordering::Relaxed) as f64);
        pool.busy.set(1.0);
    }
    client.stop(); // says bye
    println!("rust-example: {} reports sent, target {:?}", client.reports_sent(), client.target());
    std::process::exit(if client.reports_sent() > 0 { 0 } else { 1 });
}
