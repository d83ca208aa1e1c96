//! The administrator-facing kernel interfaces the scenarios drive, as
//! `ifconfig`, `kldload`, `sysctl` and `netstat` would use them.

use carpvm::addr::{mask, sockaddr_in, sockaddr_in6};
use carpvm::barrier;
use carpvm::netlink as nl;
use carpvm::stats::{self, CarpStats};

use crate::sys;

const AF_INET: i32 = 2;
const AF_INET6: i32 = 28;
const AF_NETLINK: i32 = 38;
const SOCK_DGRAM: i32 = 2;
const SOCK_RAW: i32 = 3;
const SOL_SOCKET: i32 = 0xffff;
const SO_RCVTIMEO: i32 = 0x1006;

const fn ioc(dir: u64, group: u8, num: u8, len: u64) -> u64 {
    dir | ((len & 0x1fff) << 16) | ((group as u64) << 8) | num as u64
}
const IN: u64 = 0x8000_0000;
const OUT: u64 = 0x4000_0000;
const INOUT: u64 = IN | OUT;
const IFREQ: u64 = 32;

pub const SIOCAIFADDR: u64 = ioc(IN, b'i', 43, 68);
pub const SIOCAIFADDR_IN6: u64 = ioc(IN, b'i', 27, 136);
pub const SIOCSVH: u64 = ioc(INOUT, b'i', 245, IFREQ);
pub const SIOCGVH: u64 = ioc(INOUT, b'i', 246, IFREQ);
pub const SIOCIFCREATE2: u64 = ioc(INOUT, b'i', 124, IFREQ);
pub const SIOCDIFADDR: u64 = ioc(IN, b'i', 25, IFREQ);
const SIOCSIFFLAGS: u64 = ioc(IN, b'i', 16, IFREQ);
const SIOCGIFFLAGS: u64 = ioc(INOUT, b'i', 17, IFREQ);
const SIOCSIFVNET: u64 = ioc(INOUT, b'i', 90, IFREQ);
const SIOCIFDESTROY: u64 = ioc(IN, b'i', 121, IFREQ);
const SIOCSIFNAME: u64 = ioc(IN, b'i', 40, IFREQ);
const SIOCGIFINDEX: u64 = ioc(INOUT, b'i', 32, IFREQ);
const FIONBIO: u64 = ioc(IN, b'f', 126, 4);
const BIOCGBLEN: u64 = ioc(OUT, b'B', 102, 4);
const BIOCSETIF: u64 = ioc(IN, b'B', 108, IFREQ);
const BIOCSRTIMEOUT: u64 = ioc(IN, b'B', 109, 16);
const BIOCIMMEDIATE: u64 = ioc(IN, b'B', 112, 4);
const BIOCSHDRCMPLT: u64 = ioc(IN, b'B', 117, 4);

/// An owned socket/descriptor closed on drop.
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        sys::close(self.0);
    }
}

fn ifname(name: &str) -> Result<[u8; 16], i32> {
    let mut n = [0u8; 16];
    let dst = n
        .get_mut(..name.len())
        .filter(|_| name.len() < 16)
        .ok_or(22)?;
    dst.copy_from_slice(name.as_bytes());
    Ok(n)
}

pub fn add_v4(ifn: &str, a: [u8; 4], len: u8, vhid: u32) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let mut req = [0u8; 68];
    req[..16].copy_from_slice(&ifname(ifn)?);
    req[16..32].copy_from_slice(&sockaddr_in(a, 0));
    req[48..64].copy_from_slice(&sockaddr_in(mask::<4>(len), 0));
    req[64..68].copy_from_slice(&vhid.to_ne_bytes());
    // SAFETY: req is a struct ifaliasreq image of the encoded size.
    unsafe { sys::ioctl(s.0, SIOCAIFADDR, req.as_mut_ptr()) }.map(|_| ())
}

pub fn add_v6(ifn: &str, a: [u8; 16], len: u8, vhid: u32, nodad: bool) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET6, SOCK_DGRAM, 0)?);
    let mut req = [0u8; 136];
    req[..16].copy_from_slice(&ifname(ifn)?);
    req[16..44].copy_from_slice(&sockaddr_in6(a, 0));
    req[72..100].copy_from_slice(&sockaddr_in6(mask::<16>(len), 0));
    const IN6_IFF_NODAD: u32 = 0x20;
    req[100..104].copy_from_slice(&(if nodad { IN6_IFF_NODAD } else { 0 }).to_ne_bytes());
    req[120..124].copy_from_slice(&u32::MAX.to_ne_bytes()); // vltime: infinite
    req[124..128].copy_from_slice(&u32::MAX.to_ne_bytes()); // pltime: infinite
    req[128..132].copy_from_slice(&vhid.to_ne_bytes());
    // SAFETY: req is a struct in6_aliasreq image of the encoded size.
    unsafe { sys::ioctl(s.0, SIOCAIFADDR_IN6, req.as_mut_ptr()) }.map(|_| ())
}

/// `struct carpreq` (10.0+ layout, 40 bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct CarpReq {
    pub count: i32,
    pub vhid: i32,
    pub state: i32,
    pub advskew: i32,
    pub advbase: i32,
    pub key: [u8; 20],
}

impl CarpReq {
    fn to_bytes(self) -> [u8; 40] {
        let mut b = [0u8; 40];
        for (c, v) in b.chunks_exact_mut(4).zip([
            self.count,
            self.vhid,
            self.state,
            self.advskew,
            self.advbase,
        ]) {
            c.copy_from_slice(&v.to_ne_bytes());
        }
        b[20..40].copy_from_slice(&self.key);
        b
    }

    fn from_bytes(b: &[u8; 40]) -> CarpReq {
        let w = |i: usize| {
            let mut x = [0u8; 4];
            x.copy_from_slice(&b[i * 4..i * 4 + 4]);
            i32::from_ne_bytes(x)
        };
        let mut key = [0u8; 20];
        key.copy_from_slice(&b[20..40]);
        CarpReq {
            count: w(0),
            vhid: w(1),
            state: w(2),
            advskew: w(3),
            advbase: w(4),
            key,
        }
    }
}

pub fn key(pass: &str) -> [u8; 20] {
    let mut k = [0u8; 20];
    for (d, s) in k.iter_mut().zip(pass.bytes()) {
        *d = s;
    }
    k
}

fn carp_ioctl(ifn: &str, req: u64, cr: &mut [u8; 40]) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(ifn)?);
    ifr[16..24].copy_from_slice(&(cr.as_mut_ptr() as usize).to_ne_bytes());
    // SAFETY: ifr is a struct ifreq whose ifr_data points at a live carpreq.
    unsafe { sys::ioctl(s.0, req, ifr.as_mut_ptr()) }.map(|_| ())
}

pub fn carp_set(ifn: &str, cr: CarpReq) -> Result<(), i32> {
    carp_ioctl(ifn, SIOCSVH, &mut cr.to_bytes())
}

pub fn carp_get(ifn: &str, vhid: i32) -> Result<CarpReq, i32> {
    let mut b = CarpReq {
        count: 1,
        vhid,
        ..CarpReq::default()
    }
    .to_bytes();
    carp_ioctl(ifn, SIOCGVH, &mut b)?;
    Ok(CarpReq::from_bytes(&b))
}

pub fn state_name(s: i32) -> &'static str {
    match s {
        0 => "INIT",
        1 => "BACKUP",
        2 => "MASTER",
        _ => "UNKNOWN",
    }
}

/// `ifconfig <name> create` through SIOCIFCREATE2; returns the name given.
pub fn if_create(name: &str) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(name)?);
    // SAFETY: ifr is a struct ifreq (ifr_data NULL: no cloner parameters).
    unsafe { sys::ioctl(s.0, SIOCIFCREATE2, ifr.as_mut_ptr()) }.map(|_| ())
}

/// An interface name the kernel wrote back (`ifconfig epair create`).
#[derive(Clone, Copy)]
pub struct IfName([u8; 16]);

impl IfName {
    pub fn as_str(&self) -> &str {
        carpvm::cstr(&self.0)
    }

    /// The other end of an epair: `epair3a` <-> `epair3b`.
    pub fn peer(&self) -> IfName {
        let mut n = *self;
        let l = self.as_str().len();
        if l > 0 {
            n.0[l - 1] = if n.0[l - 1] == b'a' { b'b' } else { b'a' };
        }
        n
    }
}

/// One `struct ifreq` ioctl on `name` with an int (or short flags) at
/// `ifr_ifru`; returns the request as the kernel left it.
fn ifreq_ioctl(name: &str, req: u64, word: i32) -> Result<[u8; 32], i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(name)?);
    ifr[16..20].copy_from_slice(&word.to_ne_bytes());
    // SAFETY: ifr is a struct ifreq image.
    unsafe { sys::ioctl(s.0, req, ifr.as_mut_ptr()) }?;
    Ok(ifr)
}

/// `ifconfig <cloner> create` returning the unit's name (`epair0a`).
pub fn if_create_named(cloner: &str) -> Result<IfName, i32> {
    let ifr = ifreq_ioctl(cloner, SIOCIFCREATE2, 0)?;
    let mut n = [0u8; 16];
    n.copy_from_slice(&ifr[..16]);
    Ok(IfName(n))
}

/// `ifconfig <name> destroy`.
pub fn if_destroy(name: &str) -> Result<(), i32> {
    ifreq_ioctl(name, SIOCIFDESTROY, 0).map(|_| ())
}

/// `ifconfig <name> name <new>`: ifr_data points at the new name.
pub fn if_rename(name: &str, new: &str) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let to = ifname(new)?;
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(name)?);
    ifr[16..24].copy_from_slice(&(to.as_ptr() as u64).to_ne_bytes());
    // SAFETY: ifr is a struct ifreq whose ifr_data points at `to`, a
    // NUL-terminated name that outlives the call.
    unsafe { sys::ioctl(s.0, SIOCSIFNAME, ifr.as_mut_ptr()) }.map(|_| ())
}

/// `ifconfig <name> up`.
pub fn if_up(name: &str) -> Result<(), i32> {
    let f = ifreq_ioctl(name, SIOCGIFFLAGS, 0)?;
    let flags = i16::from_ne_bytes([f[16], f[17]]) | 1;
    let high = i16::from_ne_bytes([f[18], f[19]]);
    let word = (i32::from(high) << 16) | i32::from(flags as u16);
    ifreq_ioctl(name, SIOCSIFFLAGS, word).map(|_| ())
}

/// `ifconfig <name> down`: `if_down`, which tells carp the parent went
/// down (`carp_linkstate_p`) as a link loss does.
pub fn if_down(name: &str) -> Result<(), i32> {
    let f = ifreq_ioctl(name, SIOCGIFFLAGS, 0)?;
    let flags = i16::from_ne_bytes([f[16], f[17]]) & !1;
    let high = i16::from_ne_bytes([f[18], f[19]]);
    let word = (i32::from(high) << 16) | i32::from(flags as u16);
    ifreq_ioctl(name, SIOCSIFFLAGS, word).map(|_| ())
}

/// Sends `frame` on `ifn` exactly as given (BIOCSHDRCMPLT: the Ethernet
/// source is not replaced by the interface's address), as a captured
/// frame is replayed with `tcpreplay`.
pub fn bpf_inject(ifn: &str, frame: &[u8]) -> Result<usize, i32> {
    let (fd, _) = bpf_open(ifn)?;
    let mut one = 1u32.to_ne_bytes();
    // SAFETY: BIOCSHDRCMPLT takes a u_int.
    unsafe { sys::ioctl(fd.0, BIOCSHDRCMPLT, one.as_mut_ptr()) }?;
    sys::write(fd.0, frame)
}

/// `arp -s <ip> <mac>` on `ifn`: a permanent ARP entry (RTM_ADD with
/// RTF_LLDATA on a routing socket, as arp(8) sends it), so traffic to an
/// address nobody holds leaves the host without ARP ever failing.
pub fn arp_set_static(ifn: &str, ip: [u8; 4], mac: [u8; 6]) -> Result<(), i32> {
    const PF_ROUTE: i32 = 17;
    const RTM_VERSION: u8 = 5;
    const RTM_ADD: u8 = 1;
    const RTA_DST_GATEWAY: i32 = 0x1 | 0x2;
    const RTF_HOST_STATIC_LLDATA: i32 = 0x4 | 0x800 | 0x400;
    const AF_LINK: u8 = 18;
    const IFT_ETHER: u8 = 6;
    const HDR: usize = 152; // struct rt_msghdr (amd64)
    const LEN: usize = HDR + 16 + 56; // + sockaddr_in + sockaddr_dl (SA_SIZE)
    let ifr = ifreq_ioctl(ifn, SIOCGIFINDEX, 0)?;
    let index = u16::from_ne_bytes([ifr[16], ifr[17]]);
    let mut m = [0u8; LEN];
    m[0..2].copy_from_slice(&(LEN as u16).to_ne_bytes());
    m[2] = RTM_VERSION;
    m[3] = RTM_ADD;
    m[8..12].copy_from_slice(&RTF_HOST_STATIC_LLDATA.to_ne_bytes());
    m[12..16].copy_from_slice(&RTA_DST_GATEWAY.to_ne_bytes());
    m[20..24].copy_from_slice(&1i32.to_ne_bytes());
    m[HDR..HDR + 16].copy_from_slice(&sockaddr_in(ip, 0));
    let dl = &mut m[HDR + 16..];
    dl[0] = 54; // sizeof(struct sockaddr_dl)
    dl[1] = AF_LINK;
    dl[2..4].copy_from_slice(&index.to_ne_bytes());
    dl[4] = IFT_ETHER;
    dl[6] = 6; // sdl_alen; no name (sdl_nlen 0)
    dl[8..14].copy_from_slice(&mac);
    let s = Fd(sys::socket(PF_ROUTE, SOCK_RAW, 0)?);
    let n = sys::write(s.0, &m)?;
    if n == LEN {
        Ok(())
    } else {
        Err(5)
    }
}

/// `ifconfig <name> vnet <jid>`: moves the interface into a vnet jail.
pub fn if_vnet(name: &str, jid: usize) -> Result<(), i32> {
    ifreq_ioctl(name, SIOCSIFVNET, jid as i32).map(|_| ())
}

/// `ifconfig <ifn> inet <a> -alias`: SIOCDIFADDR. `Err(EADDRNOTAVAIL)`
/// when the interface holds no such address, which is how the scenarios
/// ask "is the VIP still configured here".
pub fn del_v4(ifn: &str, a: [u8; 4]) -> Result<(), i32> {
    let s = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(ifn)?);
    ifr[16..32].copy_from_slice(&sockaddr_in(a, 0));
    // SAFETY: ifr is a struct ifreq holding a sockaddr_in.
    unsafe { sys::ioctl(s.0, SIOCDIFADDR, ifr.as_mut_ptr()) }.map(|_| ())
}

/// `jail -c name=<name> vnet persist`: a new jail with its own VNET;
/// returns the jid.
pub fn jail_create_vnet(name: &str) -> Result<usize, i32> {
    const JAIL_CREATE: usize = 0x01;
    const JAIL_SYS_NEW: i32 = 1;
    let mut jname = [0u8; 32];
    let n = name.len().min(31);
    jname[..n].copy_from_slice(&name.as_bytes()[..n]);
    let vnet = JAIL_SYS_NEW.to_ne_bytes();
    let a = |b: &[u8]| [b.as_ptr() as usize, b.len()];
    let mut iov = [
        a(b"name\0"),
        a(&jname[..=n]),
        a(b"vnet\0"),
        a(&vnet),
        a(b"persist\0"),
        [0, 0],
    ];
    // SAFETY: every iovec points into a buffer alive for the call.
    unsafe { sys::jail_set(&mut iov, JAIL_CREATE) }
}

/// How a forked helper ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Still running at the deadline: killed (a hang in the kernel).
    TimedOut,
}

/// Forks; the child runs `f` (inside jail `jid` if given) and exits with
/// its result; PID 1 waits at most `timeout_ms`.
pub fn run_child(jid: Option<usize>, timeout_ms: u64, f: &dyn Fn() -> i32) -> Result<Exit, i32> {
    let pid = spawn(jid, f)?;
    Ok(reap(pid, timeout_ms))
}

/// Forks a helper running `f` (in jail `jid` if given); returns its pid.
pub fn spawn(jid: Option<usize>, f: &dyn Fn() -> i32) -> Result<usize, i32> {
    let pid = sys::fork()?;
    if pid == 0 {
        if let Some(j) = jid {
            if sys::jail_attach(j).is_err() {
                sys::exit(90);
            }
        }
        let code = f();
        sys::exit(code as usize & 0xff);
    }
    Ok(pid)
}

/// Waits for helper `pid` at most `timeout_ms`, then SIGKILLs it.
pub fn reap(pid: usize, timeout_ms: u64) -> Exit {
    let end = sys::now_ms() + timeout_ms;
    loop {
        match sys::wait4(pid, true) {
            Ok((p, st)) if p == pid => {
                let sig = st & 0x7f;
                return if sig == 0 {
                    Exit::Code((st >> 8) & 0xff)
                } else {
                    Exit::Signal(sig)
                };
            }
            Ok(_) => {}
            Err(_) => return Exit::Signal(-1),
        }
        if sys::now_ms() >= end {
            let _ = sys::kill(pid, 9);
            let _ = sys::wait4(pid, false);
            return Exit::TimedOut;
        }
        sys::sleep_ms(20);
    }
}

/// What malloc type `carp_rs` holds now (`vmstat -m`); `Ok(None)` when
/// the module is not loaded.
pub fn malloc_in_use(ty: &str) -> Result<Option<carpvm::mstats::InUse>, i32> {
    static BUF: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
    const LEN: usize = 48 << 20;
    let mut a = BUF.load(core::sync::atomic::Ordering::Relaxed);
    if a == 0 {
        a = sys::mmap_anon(LEN)?.as_mut_ptr() as usize;
        BUF.store(a, core::sync::atomic::Ordering::Relaxed);
    }
    // SAFETY: a is this process's private LEN-byte mapping, used by one
    // caller at a time (PID 1 is single-threaded; a child has its copy).
    let buf = unsafe { core::slice::from_raw_parts_mut(a as *mut u8, LEN) };
    let n = sys::sysctl("kern.malloc_stats", Some(buf), None)?;
    carpvm::mstats::in_use(buf.get(..n).ok_or(22)?, ty).ok_or(22)
}

pub fn sysctl_int(name: &str) -> Result<i32, i32> {
    let mut b = [0u8; 4];
    let n = sys::sysctl(name, Some(&mut b), None)?;
    if n != 4 {
        return Err(22);
    }
    Ok(i32::from_ne_bytes(b))
}

pub fn sysctl_set_int(name: &str, v: i32) -> Result<(), i32> {
    sys::sysctl(name, None, Some(&v.to_ne_bytes())).map(|_| ())
}

pub fn sysctl_str<'a>(name: &str, buf: &'a mut [u8]) -> &'a str {
    match sys::sysctl(name, Some(buf), None) {
        Ok(n) => carpvm::cstr(buf.get(..n).unwrap_or(&[])),
        Err(_) => "?",
    }
}

pub fn carp_stats() -> Result<CarpStats, i32> {
    let mut b = [0u8; stats::SIZE];
    let n = sys::sysctl("net.inet.carp.stats", Some(&mut b), None)?;
    CarpStats::decode(b.get(..n).ok_or(22)?).ok_or(22)
}

/// The UDP rendezvous between the two VMs of a scenario.
pub struct Barrier {
    fd: Fd,
    peer: [u8; 16],
    vm: [u8; 8],
    vm_len: usize,
}

pub const BARRIER_PORT: u16 = 5555;

impl Barrier {
    pub fn new(vm: &str, peer: [u8; 4]) -> Result<Barrier, i32> {
        let fd = Fd(sys::socket(AF_INET, SOCK_DGRAM, 0)?);
        sys::bind(fd.0, &sockaddr_in([0; 4], BARRIER_PORT))?;
        let tv = [0i64, 200_000];
        let mut tvb = [0u8; 16];
        tvb[..8].copy_from_slice(&tv[0].to_ne_bytes());
        tvb[8..].copy_from_slice(&tv[1].to_ne_bytes());
        sys::setsockopt(fd.0, SOL_SOCKET, SO_RCVTIMEO, &tvb)?;
        let mut v = [0u8; 8];
        let vm_len = vm.len().min(8);
        v[..vm_len].copy_from_slice(&vm.as_bytes()[..vm_len]);
        Ok(Barrier {
            fd,
            peer: sockaddr_in(peer, BARRIER_PORT),
            vm: v,
            vm_len,
        })
    }

    /// One `(phase, value)` datagram to the peer, no waiting.
    pub fn send(&self, phase: &str, value: &str) {
        let me = core::str::from_utf8(&self.vm[..self.vm_len]).unwrap_or("?");
        let mut msg = [0u8; 96];
        if let Some(n) = (barrier::Msg {
            vm: me,
            phase,
            value,
        })
        .encode(&mut msg)
        {
            let _ = sys::sendto(self.fd.0, &msg[..n], &self.peer);
        }
    }

    /// Whether a queued datagram is the peer's `phase` message; never blocks.
    pub fn poll(&self, phase: &str) -> bool {
        let me = core::str::from_utf8(&self.vm[..self.vm_len]).unwrap_or("?");
        let mut rb = [0u8; 128];
        while let Ok(r) = sys::recv_nb(self.fd.0, &mut rb) {
            if let Some(m) = barrier::Msg::decode(&rb[..r.min(128)]) {
                if m.phase == phase && m.vm != me {
                    return true;
                }
            }
        }
        false
    }

    /// Sends `(phase, value)` until the peer's message for the same phase
    /// arrives, then keeps sending for `linger_ms` so the peer gets ours
    /// too. Returns the peer's value, or `None` at `timeout_ms`.
    pub fn sync(
        &self,
        phase: &str,
        value: &str,
        timeout_ms: u64,
        out: &mut [u8; 32],
    ) -> Option<usize> {
        let me = core::str::from_utf8(&self.vm[..self.vm_len]).unwrap_or("?");
        let mut msg = [0u8; 96];
        let n = barrier::Msg {
            vm: me,
            phase,
            value,
        }
        .encode(&mut msg)?;
        let start = sys::now_ms();
        let mut got: Option<(usize, u64)> = None;
        let linger_ms = 1200;
        loop {
            let now = sys::now_ms();
            if let Some((len, t)) = got {
                if now >= t + linger_ms {
                    return Some(len);
                }
            } else if now >= start + timeout_ms {
                return None;
            }
            let _ = sys::sendto(self.fd.0, &msg[..n], &self.peer);
            let mut rb = [0u8; 128];
            if let Ok(r) = sys::recv(self.fd.0, &mut rb) {
                if let Some(m) = barrier::Msg::decode(&rb[..r.min(128)]) {
                    if m.phase == phase && m.vm != me && got.is_none() {
                        let l = m.value.len().min(32);
                        out[..l].copy_from_slice(&m.value.as_bytes()[..l]);
                        got = Some((l, now));
                    }
                }
            } else {
                sys::sleep_ms(50);
            }
        }
    }
}

/// A bpf(4) descriptor on `ifn` (immediate mode, 200 ms read timeout) and
/// its buffer length.
pub fn bpf_open(ifn: &str) -> Result<(Fd, usize), i32> {
    const O_RDWR: i32 = 2;
    let fd = Fd(sys::open(b"/dev/bpf\0", O_RDWR)?);
    let mut ifr = [0u8; 32];
    ifr[..16].copy_from_slice(&ifname(ifn)?);
    let mut one = 1u32.to_ne_bytes();
    let mut tv = [0u8; 16];
    tv[8..16].copy_from_slice(&200_000i64.to_ne_bytes());
    let mut blen = [0u8; 4];
    // SAFETY: each argument is the structure its request encodes.
    unsafe {
        sys::ioctl(fd.0, BIOCSETIF, ifr.as_mut_ptr())?;
        sys::ioctl(fd.0, BIOCIMMEDIATE, one.as_mut_ptr())?;
        sys::ioctl(fd.0, BIOCSRTIMEOUT, tv.as_mut_ptr())?;
        sys::ioctl(fd.0, BIOCGBLEN, blen.as_mut_ptr())?;
    }
    Ok((fd, (u32::from_ne_bytes(blen) as usize).min(16384)))
}

/// Every CARP advert seen on `ifn` within `wait_ms` (up to `out.len()`).
pub fn sniff_adverts(
    ifn: &str,
    wait_ms: u64,
    out: &mut [carpvm::carp::Seen],
) -> Result<usize, i32> {
    let (fd, blen) = bpf_open(ifn)?;
    let mut buf = [0u8; 16384];
    let mut n = 0;
    let end = sys::now_ms() + wait_ms;
    while sys::now_ms() < end {
        let Ok(r) = sys::read(fd.0, &mut buf[..blen]) else {
            continue;
        };
        for pkt in carpvm::arp::BpfRecords::new(&buf[..r.min(blen)]) {
            if let (Some(s), Some(slot)) = (carpvm::carp::parse_frame(pkt), out.get_mut(n)) {
                *slot = s;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// ARP for `target` on `ifn` through bpf(4); returns every reply's
/// sender hardware address seen within `wait_ms`.
pub fn arp_probe(
    ifn: &str,
    mac: [u8; 6],
    spa: [u8; 4],
    target: [u8; 4],
    wait_ms: u64,
    replies: &mut [[u8; 6]; 4],
) -> Result<usize, i32> {
    arp_probe_all(ifn, mac, spa, target, wait_ms, replies)
}

/// `arp_probe` for any number of reply slots.
pub fn arp_probe_all(
    ifn: &str,
    mac: [u8; 6],
    spa: [u8; 4],
    target: [u8; 4],
    wait_ms: u64,
    replies: &mut [[u8; 6]],
) -> Result<usize, i32> {
    let frame = carpvm::arp::request(mac, spa, target);
    // Only replies addressed to us: with BIOCSSEESENT bpf also shows this
    // host's own replies to the peer's probe.
    probe(ifn, &frame, wait_ms, replies, &|pkt| {
        carpvm::arp::parse(pkt)
            .filter(|a| a.op == 2 && a.spa == target && a.tha == mac)
            .map(|a| a.sha)
    })
}

/// A neighbour solicitation for `target` from `(mac, src)` on `ifn`
/// through bpf(4); returns the target link-layer address (else the
/// Ethernet source) of every advertisement for `target` to `mac` seen
/// within `wait_ms`.
pub fn ns_probe_all(
    ifn: &str,
    mac: [u8; 6],
    src: [u8; 16],
    target: [u8; 16],
    wait_ms: u64,
    replies: &mut [[u8; 6]],
) -> Result<usize, i32> {
    let frame = carpvm::nd6::solicit(mac, src, target);
    probe(ifn, &frame, wait_ms, replies, &|pkt| {
        carpvm::nd6::parse_advert(pkt)
            .filter(|a| a.target == target && a.eth_dst == mac)
            .map(|a| a.tlla.unwrap_or(a.eth_src))
    })
}

/// Writes `frame` on `ifn` through bpf(4) and collects what `reply` makes
/// of each captured packet for `wait_ms`, up to `replies.len()`.
fn probe(
    ifn: &str,
    frame: &[u8],
    wait_ms: u64,
    replies: &mut [[u8; 6]],
    reply: &dyn Fn(&[u8]) -> Option<[u8; 6]>,
) -> Result<usize, i32> {
    let (fd, blen) = bpf_open(ifn)?;
    sys::write(fd.0, frame)?;
    let mut buf = [0u8; 16384];
    let mut n = 0;
    let end = sys::now_ms() + wait_ms;
    while sys::now_ms() < end {
        let Ok(r) = sys::read(fd.0, &mut buf[..blen]) else {
            continue;
        };
        for pkt in carpvm::arp::BpfRecords::new(&buf[..r.min(blen)]) {
            if let Some(m) = reply(pkt) {
                if let Some(slot) = replies.get_mut(n) {
                    *slot = m;
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// A generic-netlink socket with the `carp` family resolved.
fn nl_carp_socket() -> Result<(Fd, u16), i32> {
    let fd = Fd(sys::socket(AF_NETLINK, SOCK_RAW, nl::NETLINK_GENERIC)?);
    let mut tv = [0u8; 16];
    tv[..8].copy_from_slice(&1i64.to_ne_bytes());
    sys::setsockopt(fd.0, SOL_SOCKET, SO_RCVTIMEO, &tv)?;
    let mut req = [0u8; 128];
    let n = nl::Builder::new(
        &mut req,
        nl::GENL_ID_CTRL,
        nl::NLM_F_REQUEST,
        1,
        nl::CTRL_CMD_GETFAMILY,
    )
    .attr(nl::CTRL_ATTR_FAMILY_NAME, b"carp\0")
    .finish()
    .ok_or(22)?;
    sys::write(fd.0, &req[..n])?;
    let mut rb = [0u8; 8192];
    let r = sys::read(fd.0, &mut rb)?;
    let mut fam = None;
    for m in nl::Msgs::new(&rb[..r.min(rb.len())]) {
        if let Some(e) = m.error() {
            if e != 0 {
                return Err(-e);
            }
        }
        fam = fam.or(nl::family_id(&m));
    }
    Ok((fd, fam.ok_or(2)?))
}

/// Netlink: `ifconfig <ifn> vhid ...` as 15.x does it, through
/// libifconfig's CARP_NL_CMD_SET; waits for the kernel's ACK.
pub fn nl_carp_set(ifn: &str, r: &nl::SetReq<'_>) -> Result<(), i32> {
    let (fd, fam) = nl_carp_socket()?;
    let mut req = [0u8; 256];
    let n = nl::carp_set_msg(&mut req, fam, 7, ifn, r).ok_or(22)?;
    sys::write(fd.0, &req[..n])?;
    let mut rb = [0u8; 4096];
    loop {
        let got = sys::read(fd.0, &mut rb)?;
        for m in nl::Msgs::new(&rb[..got.min(rb.len())]) {
            if m.seq != 7 {
                continue;
            }
            if let Some(e) = m.error() {
                return if e == 0 { Ok(()) } else { Err(-e) };
            }
        }
    }
}

/// Netlink: dump `ifn`'s vhids (CARP_NL_CMD_GET by CARP_NL_IFNAME).
pub fn nl_carp_get(ifn: &str, out: &mut [nl::VhidInfo; 4]) -> Result<usize, i32> {
    let (fd, fam) = nl_carp_socket()?;
    let mut req = [0u8; 128];
    let mut rb = [0u8; 8192];
    let mut name = [0u8; 17];
    name[..ifn.len().min(16)].copy_from_slice(&ifn.as_bytes()[..ifn.len().min(16)]);
    let n = nl::Builder::new(
        &mut req,
        fam,
        nl::NLM_F_REQUEST | nl::NLM_F_DUMP,
        2,
        nl::CARP_NL_CMD_GET,
    )
    .attr(nl::CARP_NL_IFNAME, &name[..ifn.len().min(16) + 1])
    .finish()
    .ok_or(22)?;
    sys::write(fd.0, &req[..n])?;
    let mut count = 0;
    loop {
        let r = sys::read(fd.0, &mut rb)?;
        for m in nl::Msgs::new(&rb[..r.min(rb.len())]) {
            if m.ty == nl::NLMSG_DONE {
                return Ok(count);
            }
            if let Some(e) = m.error() {
                return if e == 0 { Ok(count) } else { Err(-e) };
            }
            if m.ty == fam && count < out.len() {
                out[count] = nl::vhid_info(&m);
                count += 1;
            }
        }
    }
}

/// devd's event source: `/dev/devctl`, made non-blocking, opened before the
/// module loads so no carp event is missed (devctl queues events only
/// while a reader has it open).
pub struct Devctl {
    fd: Fd,
    pub log: carpvm::devctl::Log<8192>,
}

impl Devctl {
    pub fn open() -> Result<Devctl, i32> {
        const O_RDONLY: i32 = 0;
        let fd = Fd(sys::open(b"/dev/devctl\0", O_RDONLY)?);
        // devctl's read ignores the file's O_NONBLOCK and blocks unless its
        // own flag is set, which only FIONBIO reaching devioctl does; and
        // kern_ioctl forwards FIONBIO only when it changes the file flag,
        // so the open must be a blocking one (devd uses fcntl the same way).
        let mut one = 1i32.to_ne_bytes();
        // SAFETY: FIONBIO takes an int.
        unsafe { sys::ioctl(fd.0, FIONBIO, one.as_mut_ptr()) }?;
        Ok(Devctl {
            fd,
            log: Default::default(),
        })
    }

    /// Reads every queued event (one per read); polls first so a read
    /// never sleeps even if the non-blocking mode did not take (devctl has
    /// no FIONREAD). Returns how many events were read.
    pub fn drain(&mut self) -> usize {
        let mut b = [0u8; 1024];
        let mut n_ev = 0;
        for _ in 0..1000 {
            if !sys::readable(self.fd.0) {
                break;
            }
            match sys::read(self.fd.0, &mut b) {
                Ok(n) if n > 0 => {
                    self.log.push(&b[..n.min(b.len())]);
                    n_ev += 1;
                }
                _ => break,
            }
        }
        n_ev
    }
}
