//! Console reporting: one line per observation, prefixed `CARPVM`, which
//! `tests/vm/parse.py` turns into pass/fail per scenario.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use carpvm::line::Line;

use crate::sys;

static CONSOLE: AtomicI32 = AtomicI32::new(-1);
static CHECKS: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);

pub fn open_console() {
    const O_RDWR: i32 = 2;
    if let Ok(fd) = sys::open(b"/dev/console\0", O_RDWR) {
        CONSOLE.store(fd, Ordering::Relaxed);
    }
}

pub fn emit(args: fmt::Arguments<'_>) {
    let mut l = Line::<512>::default();
    let _ = l.write_str("CARPVM ");
    let _ = l.write_fmt(args);
    l.end_line();
    let fd = CONSOLE.load(Ordering::Relaxed);
    let _ = sys::write(if fd >= 0 { fd } else { 1 }, l.as_bytes());
}

/// Records one assertion; returns `ok` so callers can chain on it.
pub fn check(name: &str, ok: bool, detail: fmt::Arguments<'_>) -> bool {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    if !ok {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
    emit(format_args!(
        "CHECK {} {} {}",
        name,
        if ok { "PASS" } else { "FAIL" },
        detail
    ));
    ok
}

pub fn info(key: &str, detail: fmt::Arguments<'_>) {
    emit(format_args!("INFO {} {}", key, detail));
}

pub fn totals() -> (u32, u32) {
    (
        CHECKS.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    )
}

/// `Result` from a syscall, rendered for a console line.
pub struct R(pub Result<usize, i32>);

impl fmt::Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "ok({v})"),
            Err(e) => write!(f, "{}({e})", carpvm::errno::name(e)),
        }
    }
}
