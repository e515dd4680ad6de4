// SPDX-License-Identifier: Apache-2.0
//! The process's allocator statistics for reports, as the C++ client reads them: jemalloc's
//! `mallctl` when the process runs on it (found at run time with dlsym, so the crate does not
//! link jemalloc; refreshed with an `epoch` write), else glibc `mallinfo2()` (Rust's default
//! global allocator is the system malloc).

use serde_json::{json, Value};
use std::ffi::c_void;
use std::os::raw::{c_char, c_int};
use std::ptr;

// glibc's struct mallinfo2, field for field.
#[repr(C)]
#[allow(dead_code)]
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

type MallctlFn = unsafe extern "C" fn(*const c_char, *mut c_void, *mut usize, *mut c_void, usize) -> c_int;
type Mallinfo2Fn = unsafe extern "C" fn() -> Mallinfo2;

extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

fn lookup(name: &[u8]) -> *mut c_void {
    // RTLD_DEFAULT is the null handle on glibc: search the whole process. Looked up on every
    // report (once a tick): cheaper than keeping a cache correct.
    unsafe { dlsym(ptr::null_mut(), name.as_ptr() as *const c_char) }
}

pub(crate) fn allocator_stats() -> Option<Value> {
    let m = lookup(b"mallctl\0");
    if !m.is_null() {
        let mallctl = unsafe { std::mem::transmute::<*mut c_void, MallctlFn>(m) };
        let mut epoch: u64 = 1;
        let mut len = std::mem::size_of::<u64>();
        let e = &mut epoch as *mut u64 as *mut c_void;
        unsafe { mallctl(b"epoch\0".as_ptr() as *const c_char, e, &mut len, e, len) };
        let read = |name: &[u8]| -> f64 {
            let mut v: usize = 0;
            let mut l = std::mem::size_of::<usize>();
            let rc = unsafe {
                mallctl(name.as_ptr() as *const c_char, &mut v as *mut usize as *mut c_void, &mut l,
                        ptr::null_mut(), 0)
            };
            if rc == 0 { v as f64 } else { 0.0 }
        };
        return Some(json!({
            "kind": "jemalloc",
            "allocated": read(b"stats.allocated\0"),
            "active": read(b"stats.active\0"),
            "resident": read(b"stats.resident\0"),
            "mapped": read(b"stats.mapped\0"),
            "retained": read(b"stats.retained\0"),
        }));
    }
    let i = lookup(b"mallinfo2\0");
    if i.is_null() {
        return None;
    }
    let mallinfo2 = unsafe { std::mem::transmute::<*mut c_void, Mallinfo2Fn>(i) };
    let mi = unsafe { mallinfo2() };
    let in_use = (mi.uordblks + mi.hblkhd) as f64;
    Some(json!({
        "kind": "glibc",
        "allocated": in_use,
        "active": in_use,
        "resident": (mi.arena + mi.hblkhd) as f64,
        "mapped": mi.hblkhd as f64,
        "retained": mi.fordblks as f64,
    }))
}
