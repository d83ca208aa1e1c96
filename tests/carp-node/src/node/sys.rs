//! Thin, checked wrappers over the Linux system calls the node needs:
//! raw protocol-112 sockets, a packet socket, timerfd, signalfd and the
//! monotonic clock. Every fd is an `OwnedFd`, so nothing leaks on error.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub const IPPROTO_CARP: i32 = 112;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

fn socket(domain: i32, ty: i32, proto: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the fd is owned on success.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: fd was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, val: &T) -> io::Result<()> {
    // SAFETY: val points to a live T of the given size.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

fn bind_to_device(fd: &OwnedFd, dev: &str) -> io::Result<()> {
    // SAFETY: dev bytes are valid for their length.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr().cast(),
            dev.len() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on an owned fd.
    let fl = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) }).map(|_| ())
}

pub fn ifindex(dev: &str) -> io::Result<u32> {
    let c = CString::new(dev).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: c is NUL-terminated.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

/// Raw IPv4 socket for protocol 112 on `dev`: receives whole IP packets,
/// member of 224.0.0.18. Also the sender of unicast (`peer`) adverts, so
/// TTL and TOS are set here; multicast adverts go out by the packet socket
/// and the loop flag only keeps the kernel from echoing anything back.
pub fn raw4(dev: &str, ifindex: u32, tos: u8) -> io::Result<OwnedFd> {
    let fd = socket(libc::AF_INET, libc::SOCK_RAW, IPPROTO_CARP)?;
    bind_to_device(&fd, dev)?;
    let mreq = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from_ne_bytes(Ipv4Addr::new(224, 0, 0, 18).octets()),
        },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as i32,
    };
    setsockopt(&fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)?;
    setsockopt(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, &0i32)?;
    setsockopt(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, &255i32)?;
    setsockopt(&fd, libc::IPPROTO_IP, libc::IP_TTL, &255i32)?;
    setsockopt(&fd, libc::IPPROTO_IP, libc::IP_TOS, &i32::from(tos))?;
    set_nonblocking(&fd)?;
    Ok(fd)
}

/// Raw IPv6 socket for protocol 112 on `dev`, member of ff02::12, asking
/// for the hop limit and destination of every packet (the IPv6 API hands
/// out the payload only).
pub fn raw6(dev: &str, ifindex: u32, tclass: u8) -> io::Result<OwnedFd> {
    let fd = socket(libc::AF_INET6, libc::SOCK_RAW, IPPROTO_CARP)?;
    bind_to_device(&fd, dev)?;
    let group: Ipv6Addr = "ff02::12"
        .parse()
        .map_err(|_| io::ErrorKind::InvalidInput)?;
    let mreq = libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: ifindex,
    };
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, &0i32)?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, &255i32)?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &255i32)?;
    setsockopt(
        &fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_TCLASS,
        &i32::from(tclass),
    )?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &1i32)?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &1i32)?;
    set_nonblocking(&fd)?;
    Ok(fd)
}

/// A packet socket that receives nothing (protocol 0) and sends whole
/// Ethernet frames: the only way to give adverts FreeBSD's virtual source
/// MAC without a macvlan.
pub fn packet() -> io::Result<OwnedFd> {
    socket(libc::AF_PACKET, libc::SOCK_RAW, 0)
}

pub fn send_frame(fd: &OwnedFd, ifindex: u32, dst: [u8; 6], frame: &[u8]) -> io::Result<()> {
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    for (d, s) in sll.sll_addr.iter_mut().zip(dst) {
        *d = s;
    }
    // SAFETY: frame and sll are valid for the lengths given.
    let n = cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    if n == frame.len() {
        Ok(())
    } else {
        Err(io::ErrorKind::WriteZero.into())
    }
}

/// Unicast advert through the raw socket: the kernel builds the IP header
/// (TTL/TOS from the socket options) and resolves the next hop.
pub fn send_raw4(fd: &OwnedFd, dst: Ipv4Addr, payload: &[u8]) -> io::Result<()> {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut sin: libc::sockaddr_in = unsafe { zeroed() };
    sin.sin_family = libc::AF_INET as u16;
    sin.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
    // SAFETY: payload and sin are valid for the lengths given.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&sin as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub fn send_raw6(fd: &OwnedFd, dst: Ipv6Addr, scope: u32, payload: &[u8]) -> io::Result<()> {
    // SAFETY: all-zero is a valid sockaddr_in6.
    let mut sin: libc::sockaddr_in6 = unsafe { zeroed() };
    sin.sin6_family = libc::AF_INET6 as u16;
    sin.sin6_addr.s6_addr = dst.octets();
    sin.sin6_scope_id = scope;
    // SAFETY: payload and sin are valid for the lengths given.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&sin as *const libc::sockaddr_in6).cast(),
            size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Non-blocking receive of one IPv4 packet (IP header included).
pub fn recv4(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: buf is valid for its length.
    let r = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    match cvt_size(r) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// One IPv6 payload with what the IPv6 socket API tells about it.
pub struct Rx6 {
    pub len: usize,
    pub src: Ipv6Addr,
    pub dst: Option<Ipv6Addr>,
    pub hoplimit: Option<u8>,
}

pub fn recv6(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<Rx6>> {
    // SAFETY: zeroed sockaddr/msghdr are valid initial values.
    let mut from: libc::sockaddr_in6 = unsafe { zeroed() };
    let mut cbuf = [0u64; 32];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 32]>();
    // SAFETY: msg points at live buffers of the stated sizes.
    let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    let len = match cvt_size(r) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut rx = Rx6 {
        len,
        src: Ipv6Addr::from(from.sin6_addr.s6_addr),
        dst: None,
        hoplimit: None,
    };
    // SAFETY: CMSG_* walk the control buffer the kernel filled, bounded by
    // msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            if (*c).cmsg_level == libc::IPPROTO_IPV6 {
                if (*c).cmsg_type == libc::IPV6_HOPLIMIT {
                    let v = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                    rx.hoplimit = u8::try_from(v).ok();
                } else if (*c).cmsg_type == libc::IPV6_PKTINFO {
                    let pi = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    rx.dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Some(rx))
}

/// CLOCK_MONOTONIC in nanoseconds: the engine's time base.
pub fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME in nanoseconds: only to line events up with pcap
/// timestamps.
pub fn wall_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// An absolute CLOCK_MONOTONIC timerfd: the engine's one deadline maps to
/// it directly, with hrtimer precision (poll's millisecond timeout would
/// add up to 1 ms of lateness by itself).
pub fn timerfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = cvt(unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    })?;
    // SAFETY: fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Arms the timer at `at_ns` (monotonic), or disarms it with `None`.
pub fn timer_set(fd: &OwnedFd, at_ns: Option<u64>) -> io::Result<()> {
    let v = at_ns.map(|ns| ns.max(1)).unwrap_or(0);
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: (v / 1_000_000_000) as libc::time_t,
            tv_nsec: (v % 1_000_000_000) as libc::c_long,
        },
    };
    // SAFETY: spec is valid; old value not requested.
    cvt(unsafe {
        libc::timerfd_settime(
            fd.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME,
            &spec,
            std::ptr::null_mut(),
        )
    })
    .map(|_| ())
}

pub fn drain(fd: &OwnedFd) {
    let mut b = [0u8; 128];
    // SAFETY: b is valid for its length; errors (EAGAIN) are the stop signal.
    while unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) } > 0 {}
}

/// Blocks SIGTERM/SIGINT/SIGUSR1 and returns a signalfd for them, so
/// signals are just another readable fd in the one poll loop.
pub fn signalfd() -> io::Result<OwnedFd> {
    // SAFETY: sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGUSR1, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        cvt(libc::sigprocmask(
            libc::SIG_BLOCK,
            &set,
            std::ptr::null_mut(),
        ))?;
        let fd = cvt(libc::signalfd(
            -1,
            &set,
            libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
        ))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Next pending signal number, if any.
pub fn read_signal(fd: &OwnedFd) -> Option<u32> {
    // SAFETY: siginfo buffer is valid for its size.
    let mut si: libc::signalfd_siginfo = unsafe { zeroed() };
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut si as *mut libc::signalfd_siginfo).cast(),
            size_of::<libc::signalfd_siginfo>(),
        )
    };
    (n == size_of::<libc::signalfd_siginfo>() as isize).then_some(si.ssi_signo)
}

/// Waits for any of `fds` to be readable; returns their readiness.
pub fn poll(fds: &[RawFd], out: &mut [bool]) -> io::Result<()> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: p is a valid array of pollfd.
        let r = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, -1) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    for (o, pf) in out.iter_mut().zip(&p) {
        *o = pf.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
    }
    Ok(())
}

/// Timer slack of 1 ns: the default 50 µs slack is pure lateness for a
/// protocol whose failover time is the product.
pub fn tighten_timer_slack() {
    // SAFETY: prctl with integer args.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}

/// The interface's MAC and its own (non-virtual) addresses, from
/// getifaddrs.
pub struct IfInfo {
    pub mac: [u8; 6],
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
}

pub fn ifinfo(dev: &str) -> io::Result<IfInfo> {
    let mut info = IfInfo {
        mac: [0; 6],
        v4: Vec::new(),
        v6: Vec::new(),
    };
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills head; freed below.
    cvt(unsafe { libc::getifaddrs(&mut head) })?;
    let mut cur = head;
    // SAFETY: walking the list getifaddrs returned, until NULL.
    unsafe {
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name);
            if name.to_bytes() != dev.as_bytes() {
                continue;
            }
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_PACKET => {
                    let sll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    for (d, s) in info.mac.iter_mut().zip(sll.sll_addr) {
                        *d = s;
                    }
                }
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    info.v4
                        .push(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()));
                }
                libc::AF_INET6 => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    info.v6.push(Ipv6Addr::from(sin.sin6_addr.s6_addr));
                }
                _ => {}
            }
        }
        libc::freeifaddrs(head);
    }
    Ok(info)
}

/// Asks for SCHED_FIFO (low real-time priority) and locks memory: CARP's
/// timers are kernel callouts on FreeBSD, and a userland driver on a busy
/// host would otherwise wait behind every runnable process (measured: 5 to
/// 30 ms late under compile load). The loop sleeps in poll, so it cannot
/// starve anyone. Returns whether it worked (it needs CAP_SYS_NICE).
pub fn realtime() -> bool {
    let p = libc::sched_param { sched_priority: 10 };
    // SAFETY: plain syscalls on this process.
    unsafe {
        let ok = libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) == 0;
        if ok {
            libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE);
        }
        ok
    }
}
