//! Raw FreeBSD amd64 system calls: number in rax, arguments in rdi, rsi,
//! rdx, r10, r8, r9; the carry flag set means rax holds an errno.

use core::arch::asm;

pub const SYS_EXIT: usize = 1;
pub const SYS_FORK: usize = 2;
pub const SYS_WAIT4: usize = 7;
pub const SYS_KILL: usize = 37;
pub const SYS_READ: usize = 3;
pub const SYS_WRITE: usize = 4;
pub const SYS_CLOSE: usize = 6;
pub const SYS_GETPID: usize = 20;
pub const SYS_RECVFROM: usize = 29;
pub const SYS_IOCTL: usize = 54;
pub const SYS_REBOOT: usize = 55;
pub const SYS_SOCKET: usize = 97;
pub const SYS_BIND: usize = 104;
pub const SYS_SETSOCKOPT: usize = 105;
pub const SYS_SENDTO: usize = 133;
pub const SYS_CLOCK_GETTIME: usize = 232;
pub const SYS_NANOSLEEP: usize = 240;
pub const SYS_POLL: usize = 209;
pub const SYS_MODFIND: usize = 303;
pub const SYS_KLDLOAD: usize = 304;
pub const SYS_KLDUNLOAD: usize = 305;
pub const SYS_KENV: usize = 390;
pub const SYS_JAIL_ATTACH: usize = 436;
pub const SYS_MMAP: usize = 477;
pub const SYS_JAIL_SET: usize = 507;
pub const SYS_JAIL_REMOVE: usize = 508;
pub const SYS_OPENAT: usize = 499;
pub const SYS_SYSCTLBYNAME: usize = 570;

pub type Res = Result<usize, i32>;

/// # Safety
/// The arguments must be valid for system call `n` (pointers to live,
/// correctly sized buffers).
#[inline(always)]
pub unsafe fn syscall(n: usize, a: [usize; 6]) -> Res {
    let ret: usize;
    let cf: u8;
    // SAFETY: the kernel may clobber every argument register plus rcx/r11;
    // all are declared as clobbered outputs.
    unsafe {
        asm!(
            "syscall",
            "setc {cf}",
            cf = out(reg_byte) cf,
            inlateout("rax") n => ret,
            inlateout("rdi") a[0] => _,
            inlateout("rsi") a[1] => _,
            inlateout("rdx") a[2] => _,
            inlateout("r10") a[3] => _,
            inlateout("r8") a[4] => _,
            inlateout("r9") a[5] => _,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if cf != 0 {
        Err(ret as i32)
    } else {
        Ok(ret)
    }
}

fn p<T>(x: *const T) -> usize {
    x as usize
}

pub fn write(fd: i32, b: &[u8]) -> Res {
    // SAFETY: b is a live slice of b.len() bytes.
    unsafe { syscall(SYS_WRITE, [fd as usize, p(b.as_ptr()), b.len(), 0, 0, 0]) }
}

pub fn read(fd: i32, b: &mut [u8]) -> Res {
    // SAFETY: b is a live writable slice.
    unsafe { syscall(SYS_READ, [fd as usize, p(b.as_mut_ptr()), b.len(), 0, 0, 0]) }
}

pub fn close(fd: i32) {
    // SAFETY: plain integer argument.
    let _ = unsafe { syscall(SYS_CLOSE, [fd as usize, 0, 0, 0, 0, 0]) };
}

/// `path` must be NUL-terminated.
pub fn open(path: &[u8], flags: i32) -> Result<i32, i32> {
    if path.last() != Some(&0) {
        return Err(22);
    }
    const AT_FDCWD: isize = -100;
    // SAFETY: path is NUL-terminated.
    unsafe {
        syscall(
            SYS_OPENAT,
            [AT_FDCWD as usize, p(path.as_ptr()), flags as usize, 0, 0, 0],
        )
    }
    .map(|fd| fd as i32)
}

pub fn getpid() -> usize {
    // SAFETY: no arguments.
    unsafe { syscall(SYS_GETPID, [0; 6]) }.unwrap_or(0)
}

/// # Safety
/// `arg` must point at the structure `req` encodes, of the encoded size.
pub unsafe fn ioctl(fd: i32, req: u64, arg: *mut u8) -> Res {
    // SAFETY: forwarded caller contract.
    unsafe {
        syscall(
            SYS_IOCTL,
            [fd as usize, req as usize, arg as usize, 0, 0, 0],
        )
    }
}

pub fn reboot(howto: usize) -> Res {
    // SAFETY: plain integer argument.
    unsafe { syscall(SYS_REBOOT, [howto, 0, 0, 0, 0, 0]) }
}

pub fn exit(code: usize) -> ! {
    loop {
        // SAFETY: plain integer argument.
        let _ = unsafe { syscall(SYS_EXIT, [code, 0, 0, 0, 0, 0]) };
    }
}

pub fn socket(domain: i32, ty: i32, proto: i32) -> Result<i32, i32> {
    // SAFETY: integer arguments.
    unsafe {
        syscall(
            SYS_SOCKET,
            [domain as usize, ty as usize, proto as usize, 0, 0, 0],
        )
    }
    .map(|fd| fd as i32)
}

pub fn bind(fd: i32, sa: &[u8]) -> Res {
    // SAFETY: sa is a live sockaddr image.
    unsafe { syscall(SYS_BIND, [fd as usize, p(sa.as_ptr()), sa.len(), 0, 0, 0]) }
}

pub fn setsockopt(fd: i32, level: i32, name: i32, val: &[u8]) -> Res {
    // SAFETY: val is live for val.len() bytes.
    unsafe {
        syscall(
            SYS_SETSOCKOPT,
            [
                fd as usize,
                level as usize,
                name as usize,
                p(val.as_ptr()),
                val.len(),
                0,
            ],
        )
    }
}

pub fn sendto(fd: i32, b: &[u8], to: &[u8]) -> Res {
    // SAFETY: both slices are live.
    unsafe {
        syscall(
            SYS_SENDTO,
            [
                fd as usize,
                p(b.as_ptr()),
                b.len(),
                0,
                p(to.as_ptr()),
                to.len(),
            ],
        )
    }
}

pub fn recv(fd: i32, b: &mut [u8]) -> Res {
    // SAFETY: b is writable; null from/fromlen are allowed.
    unsafe {
        syscall(
            SYS_RECVFROM,
            [fd as usize, p(b.as_mut_ptr()), b.len(), 0, 0, 0],
        )
    }
}

/// Whether a read on `fd` would not block: poll(2) with a zero timeout.
pub fn readable(fd: i32) -> bool {
    const POLLIN: i16 = 1;
    let mut pfd = [0u8; 8];
    pfd[..4].copy_from_slice(&fd.to_ne_bytes());
    pfd[4..6].copy_from_slice(&POLLIN.to_ne_bytes());
    // SAFETY: pfd is one live struct pollfd.
    let r = unsafe { syscall(SYS_POLL, [p(pfd.as_mut_ptr()), 1, 0, 0, 0, 0]) };
    r.is_ok_and(|n| n > 0) && i16::from_ne_bytes([pfd[6], pfd[7]]) & POLLIN != 0
}

/// One datagram if one is queued, `Err(EAGAIN)` otherwise.
pub fn recv_nb(fd: i32, b: &mut [u8]) -> Res {
    const MSG_DONTWAIT: usize = 0x80;
    // SAFETY: b is writable; null from/fromlen are allowed.
    unsafe {
        syscall(
            SYS_RECVFROM,
            [fd as usize, p(b.as_mut_ptr()), b.len(), MSG_DONTWAIT, 0, 0],
        )
    }
}

/// Monotonic milliseconds.
pub fn now_ms() -> u64 {
    let mut ts = [0i64; 2];
    const CLOCK_MONOTONIC: usize = 4;
    // SAFETY: ts is a live struct timespec.
    let _ = unsafe {
        syscall(
            SYS_CLOCK_GETTIME,
            [CLOCK_MONOTONIC, p(ts.as_mut_ptr()), 0, 0, 0, 0],
        )
    };
    (ts[0] as u64).saturating_mul(1000) + (ts[1] as u64) / 1_000_000
}

pub fn sleep_ms(ms: u64) {
    let ts = [(ms / 1000) as i64, ((ms % 1000) * 1_000_000) as i64];
    // SAFETY: ts is a live struct timespec; no remainder wanted.
    let _ = unsafe { syscall(SYS_NANOSLEEP, [p(ts.as_ptr()), 0, 0, 0, 0, 0]) };
}

/// `name` NUL-terminated; returns the value length without its NUL.
pub fn kenv_get(name: &[u8], out: &mut [u8]) -> Res {
    const KENV_GET: usize = 0;
    // SAFETY: name is NUL-terminated, out writable.
    unsafe {
        syscall(
            SYS_KENV,
            [
                KENV_GET,
                p(name.as_ptr()),
                p(out.as_mut_ptr()),
                out.len(),
                0,
                0,
            ],
        )
    }
}

/// `path` NUL-terminated; returns the file id.
pub fn kldload(path: &[u8]) -> Res {
    // SAFETY: path is NUL-terminated (checked by callers building it).
    unsafe { syscall(SYS_KLDLOAD, [p(path.as_ptr()), 0, 0, 0, 0, 0]) }
}

pub fn kldunload(fileid: usize) -> Res {
    // SAFETY: integer argument.
    unsafe { syscall(SYS_KLDUNLOAD, [fileid, 0, 0, 0, 0, 0]) }
}

/// `name` NUL-terminated; returns the module id.
pub fn modfind(name: &[u8]) -> Res {
    // SAFETY: name is NUL-terminated.
    unsafe { syscall(SYS_MODFIND, [p(name.as_ptr()), 0, 0, 0, 0, 0]) }
}

/// `__sysctlbyname(name, namelen, old, oldlenp, new, newlen)`; returns the
/// length the kernel reported.
pub fn sysctl(name: &str, old: Option<&mut [u8]>, new: Option<&[u8]>) -> Res {
    let (op, mut olen) = match old {
        Some(b) => (p(b.as_mut_ptr()), b.len()),
        None => (0, 0),
    };
    let olenp = if op == 0 {
        0
    } else {
        p(&mut olen as *mut usize)
    };
    let (np, nlen) = new.map_or((0, 0), |b| (p(b.as_ptr()), b.len()));
    // SAFETY: all pointers refer to live buffers of the given lengths.
    unsafe {
        syscall(
            SYS_SYSCTLBYNAME,
            [p(name.as_ptr()), name.len(), op, olenp, np, nlen],
        )
    }
    .map(|_| olen)
}

/// fork(2): `Ok(0)` in the child (the kernel sets rax to 0 there), the
/// child's pid in the parent.
pub fn fork() -> Res {
    // SAFETY: no arguments; the child continues on a copy of this stack.
    unsafe { syscall(SYS_FORK, [0; 6]) }
}

/// wait4(2) for `pid`; `nohang` returns `Ok(0)` while it still runs.
/// Returns (pid, raw wait status).
pub fn wait4(pid: usize, nohang: bool) -> Result<(usize, i32), i32> {
    const WNOHANG: usize = 1;
    let mut status = 0i32;
    // SAFETY: status is a live int; no rusage wanted.
    let r = unsafe {
        syscall(
            SYS_WAIT4,
            [
                pid,
                p(&mut status as *mut i32),
                if nohang { WNOHANG } else { 0 },
                0,
                0,
                0,
            ],
        )
    }?;
    Ok((r, status))
}

pub fn kill(pid: usize, sig: i32) -> Res {
    // SAFETY: integer arguments.
    unsafe { syscall(SYS_KILL, [pid, sig as usize, 0, 0, 0, 0]) }
}

/// jail_set(2) over `iov`, an array of `struct iovec` images (pointer,
/// length) holding name/value pairs; returns the jid.
///
/// # Safety
/// Every pointer in `iov` must refer to a live buffer of its length.
pub unsafe fn jail_set(iov: &mut [[usize; 2]], flags: usize) -> Res {
    // SAFETY: forwarded caller contract.
    unsafe {
        syscall(
            SYS_JAIL_SET,
            [p(iov.as_mut_ptr()), iov.len(), flags, 0, 0, 0],
        )
    }
}

pub fn jail_attach(jid: usize) -> Res {
    // SAFETY: integer argument.
    unsafe { syscall(SYS_JAIL_ATTACH, [jid, 0, 0, 0, 0, 0]) }
}

pub fn jail_remove(jid: usize) -> Res {
    // SAFETY: integer argument.
    unsafe { syscall(SYS_JAIL_REMOVE, [jid, 0, 0, 0, 0, 0]) }
}

/// Anonymous private read/write memory of `len` bytes (never unmapped:
/// PID 1 lives until power-off and children exit).
pub fn mmap_anon(len: usize) -> Result<&'static mut [u8], i32> {
    const PROT_RW: usize = 0x3;
    const MAP_PRIVATE_ANON: usize = 0x0002 | 0x1000;
    // SAFETY: a fresh anonymous mapping; fd -1, offset 0.
    let a = unsafe { syscall(SYS_MMAP, [0, len, PROT_RW, MAP_PRIVATE_ANON, usize::MAX, 0]) }?;
    // SAFETY: the kernel mapped len zeroed bytes at a; nothing else refers
    // to them.
    Ok(unsafe { core::slice::from_raw_parts_mut(a as *mut u8, len) })
}
