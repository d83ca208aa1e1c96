//! rtnetlink RTM_NEWADDR / RTM_DELADDR: putting the virtual addresses on
//! the interface while MASTER and taking them off otherwise, without
//! forking `ip`.

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;

pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> io::Result<Rtnl> {
        // SAFETY: plain syscall; owned on success.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is new and ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Rtnl { fd, seq: 1 })
    }

    /// Adds `addr/plen` to `ifindex`; an address already there is fine
    /// (a node killed with SIGKILL leaves its VIP behind, as ucarp does).
    pub fn addr_add(&mut self, ifindex: u32, addr: IpAddr, plen: u8) -> io::Result<()> {
        let flags =
            libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_REPLACE;
        match self.request(libc::RTM_NEWADDR, flags, ifindex, addr, plen) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// Removes `addr/plen`; an address that is not there is fine.
    pub fn addr_del(&mut self, ifindex: u32, addr: IpAddr, plen: u8) -> io::Result<()> {
        let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK;
        match self.request(libc::RTM_DELADDR, flags, ifindex, addr, plen) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) | Some(libc::ESRCH)
                ) =>
            {
                Ok(())
            }
            r => r,
        }
    }

    fn request(
        &mut self,
        ty: u16,
        flags: i32,
        ifindex: u32,
        addr: IpAddr,
        plen: u8,
    ) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let (family, bytes): (u8, Vec<u8>) = match addr {
            IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
            IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
        };
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(&[0u8; 16]); // nlmsghdr, filled below
                                           // struct ifaddrmsg
        msg.push(family);
        msg.push(plen);
        msg.push(if addr.is_ipv6() { IFA_F_NODAD } else { 0 });
        msg.push(0); // RT_SCOPE_UNIVERSE
        msg.extend_from_slice(&ifindex.to_ne_bytes());
        let mut attr = |ty: u16, data: &[u8]| {
            let len = 4 + data.len();
            msg.extend_from_slice(&(len as u16).to_ne_bytes());
            msg.extend_from_slice(&ty.to_ne_bytes());
            msg.extend_from_slice(data);
            while msg.len() % 4 != 0 {
                msg.push(0);
            }
        };
        attr(IFA_LOCAL, &bytes);
        attr(IFA_ADDRESS, &bytes);
        let total = msg.len() as u32;
        let mut hdr = Vec::with_capacity(16);
        hdr.extend_from_slice(&total.to_ne_bytes());
        hdr.extend_from_slice(&ty.to_ne_bytes());
        hdr.extend_from_slice(&(flags as u16).to_ne_bytes());
        hdr.extend_from_slice(&self.seq.to_ne_bytes());
        hdr.extend_from_slice(&0u32.to_ne_bytes());
        for (d, s) in msg.iter_mut().zip(hdr) {
            *d = s;
        }
        // SAFETY: all-zero sockaddr_nl addresses the kernel (pid 0).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: msg and sa are valid for the lengths given.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&sa as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        self.read_ack()
    }

    /// Reads until the NLMSG_ERROR answering our sequence number.
    fn read_ack(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut rest = buf.get(..n as usize).unwrap_or(&[]);
            while rest.len() >= 16 {
                let word = |o: usize| -> u32 {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(rest.get(o..o + 4).unwrap_or(&[0; 4]));
                    u32::from_ne_bytes(b)
                };
                let len = word(0) as usize;
                let ty = (word(4) & 0xffff) as u16;
                let seq = word(8);
                if ty == NLMSG_ERROR && seq == self.seq {
                    let err = word(16) as i32;
                    return if err == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-err))
                    };
                }
                let step = (len + 3) & !3;
                if step == 0 || step > rest.len() {
                    break;
                }
                rest = rest.get(step..).unwrap_or(&[]);
            }
        }
    }
}
