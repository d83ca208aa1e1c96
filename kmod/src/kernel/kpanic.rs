//! A Rust panic is a broken invariant inside the kernel, so it becomes
//! panic(9) with the message: the crash dump and the console then say what
//! went wrong. (Spinning or `ud2` would lose the message or wedge a CPU.)
//!
//! The message is formatted into a fixed stack buffer: no allocation, since
//! the allocator may be what failed, and a truncated message is better than
//! none.

use core::fmt::{self, Write};
use core::panic::PanicInfo;

unsafe extern "C" {
    /// `panic("carp_rs: %.*s", (int)len, msg)`; never returns.
    fn carp_rs_kpanic(msg: *const u8, len: usize) -> !;
}

const MSG_MAX: usize = 192;

struct MsgBuf {
    buf: [u8; MSG_MAX],
    len: usize,
}

impl Write for MsgBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.get_mut(self.len..).unwrap_or(&mut []);
        let n = s.len().min(room.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..n), s.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

#[panic_handler]
fn kernel_panic(info: &PanicInfo<'_>) -> ! {
    let mut msg = MsgBuf {
        buf: [0; MSG_MAX],
        len: 0,
    };
    // A formatting error only truncates the message.
    let _ = write!(msg, "{info}");
    // SAFETY: `msg.buf[..msg.len]` is initialised and outlives the call.
    unsafe { carp_rs_kpanic(msg.buf.as_ptr(), msg.len) }
}
