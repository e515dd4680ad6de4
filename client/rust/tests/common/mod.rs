// SPDX-License-Identifier: Apache-2.0
//! Test support: a scripted control server on a real Unix socket, the real knobd binary from
//! the build, and polling.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub fn wait_for(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pred() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {}", what);
}

pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "knob-rs-{}-{}-{}",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGTERM: i32 = 15;

pub struct Fake {
    pub path: String,
    pub listener: UnixListener,
    pub dir: PathBuf,
}

impl Fake {
    pub fn new(tag: &str) -> Fake {
        let dir = temp_dir(tag);
        let path = dir.join("control.sock").to_string_lossy().into_owned();
        let listener = UnixListener::bind(&path).expect("bind");
        Fake { path, listener, dir }
    }
    pub fn accept(&self) -> Peer {
        self.listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    return Peer { r: BufReader::new(s.try_clone().unwrap()), w: s };
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("accept: {}", e),
            }
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Peer {
    pub r: BufReader<UnixStream>,
    pub w: UnixStream,
}

impl Peer {
    pub fn read(&mut self) -> Value {
        let mut s = String::new();
        self.r.read_line(&mut s).expect("read from client");
        assert!(!s.is_empty(), "client closed");
        let v: Value = serde_json::from_str(&s).expect("client sent JSON");
        assert_eq!(v["v"], 1, "every message carries v=1: {}", s);
        v
    }
    /// Skips reports until a message of type `t`.
    pub fn read_type(&mut self, t: &str) -> Value {
        loop {
            let m = self.read();
            if m["type"] == t {
                return m;
            }
            assert_eq!(m["type"], "report", "want {}, got {}", t, m);
        }
    }
    pub fn send(&mut self, s: &str) {
        self.w.write_all(format!("{}\n", s).as_bytes()).expect("write to client");
    }
}

pub const WELCOME: &str = r#"{"v":1,"type":"welcome","session":"s1","target":"svc","tick_interval_seconds":0.05,"mode":"apply"}"#;

/// The knobd binary from the build ($KNOBD_BIN, set by ctest) with a temporary policy, control
/// socket and state directory.
pub struct Knobd {
    pub bin: String,
    pub dir: PathBuf,
    pub sock: String,
    child: Option<Child>,
}

impl Knobd {
    pub fn start(policy: &str) -> Knobd {
        let bin = std::env::var("KNOBD_BIN").unwrap_or_default();
        assert!(!bin.is_empty(),
                "KNOBD_BIN is not set: run this through ctest (ctest -R rust_client), or set KNOBD_BIN=<build>/daemon/knobd");
        let dir = temp_dir("knobd");
        std::fs::write(dir.join("knobd.yaml"), policy).unwrap();
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let sock = dir.join("control.sock").to_string_lossy().into_owned();
        let mut k = Knobd { bin, dir, sock, child: None };
        k.spawn();
        k
    }
    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.sock);
        let log = std::fs::OpenOptions::new().create(true).append(true)
            .open(self.dir.join("knobd.log")).unwrap();
        let child = Command::new(&self.bin)
            .arg("--config").arg(self.dir.join("knobd.yaml"))
            .arg("--control-socket").arg(&self.sock)
            .arg("--state-dir").arg(self.dir.join("state"))
            .arg("--metrics-listen").arg("127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {}", self.bin, e));
        self.child = Some(child);
        let sock = self.sock.clone();
        wait_for("knobd's control socket", || UnixStream::connect(&sock).is_ok());
    }
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM: knobd says bye to its clients and exits cleanly.
            unsafe { kill(c.id() as i32, SIGTERM) };
            let _ = c.wait();
        }
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("knobd.log")).unwrap_or_default()
    }
    /// One admin request (as knobctl sends it); the reply.
    pub fn admin(&self, req: &str) -> Value {
        let mut s = UnixStream::connect(&self.sock).expect("admin connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("{}\n", req).as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("admin reply");
        serde_json::from_str(&line).expect("admin reply JSON")
    }
}

impl Drop for Knobd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
