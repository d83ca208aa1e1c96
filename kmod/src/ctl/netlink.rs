//! The generic-netlink family `carp` (`netinet/ip_carp_nl.h`): attribute
//! parsing and writing, and the SET/GET commands on the engine.
//!
//! Attributes are `struct nlattr { u16 nla_len; u16 nla_type; }` followed by
//! `nla_len - 4` bytes of data, each padded to 4 bytes. Like FreeBSD's
//! `nl_parse_attrs_raw`, the parser rejects an attribute shorter than its
//! header (EINVAL), stops quietly at one whose padded end lies beyond the
//! buffer, masks the NESTED/BYTEORDER flag bits off the type, ignores
//! unknown types and lets a repeated attribute overwrite the earlier one.
//! Integers are host order, as in every netlink message.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::auth::KEY_LEN;
use crate::engine::{Engine, Instant, Version, VRRP_MAX_INTERVAL};

use super::{
    check_multicast, check_supported, Errno, IfInfo, SetOutcome, SetRequest, VhidInfo, MAX_STATE,
    MAX_VHID,
};

/// `CARP_NL_FAMILY_NAME`.
pub const FAMILY_NAME: &str = "carp";
/// The genl family version FreeBSD registers (`genl_register_family(.., 2, ..)`).
pub const FAMILY_VERSION: u8 = 2;

pub const CMD_GET: u8 = 1;
pub const CMD_SET: u8 = 2;

pub const ATTR_VHID: u16 = 1;
pub const ATTR_STATE: u16 = 2;
pub const ATTR_ADVBASE: u16 = 3;
pub const ATTR_ADVSKEW: u16 = 4;
pub const ATTR_KEY: u16 = 5;
pub const ATTR_IFINDEX: u16 = 6;
pub const ATTR_ADDR: u16 = 7;
pub const ATTR_ADDR6: u16 = 8;
pub const ATTR_IFNAME: u16 = 9;
pub const ATTR_VERSION: u16 = 10;
pub const ATTR_VRRP_PRIORITY: u16 = 11;
pub const ATTR_VRRP_ADV_INTER: u16 = 12;

/// `NLA_TYPE_MASK`: the type without `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER`.
pub const NLA_TYPE_MASK: u16 = 0x3fff;
pub const NLA_HDRLEN: usize = 4;
pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLMSG_DONE: u16 = 3;

/// `NLA_ALIGN`.
pub const fn align4(len: usize) -> usize {
    (len.saturating_add(3)) & !3
}

/// One attribute: its masked type and its data (padding excluded).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Attr<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// Iterates the attributes of a buffer; yields one `Err(EINVAL)` for a
/// malformed attribute and then stops.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: buf }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        let (hdr, _) = self.rest.split_first_chunk::<NLA_HDRLEN>()?;
        let len = usize::from(u16::from_ne_bytes([hdr[0], hdr[1]]));
        let kind = u16::from_ne_bytes([hdr[2], hdr[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN {
            self.rest = &[];
            return Some(Err(Errno::EINVAL));
        }
        // NLA_FOREACH: an attribute whose padded end passes the buffer's end
        // ends the walk without an error.
        let Some((whole, rest)) = self.rest.split_at_checked(align4(len)) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        let data = whole.get(NLA_HDRLEN..len)?;
        Some(Ok(Attr { kind, data }))
    }
}

fn exact<const N: usize>(data: &[u8]) -> Result<[u8; N], Errno> {
    data.try_into().map_err(|_| Errno::EINVAL)
}

/// A parsed `carp` request (`struct nl_carp_parsed`): absent attributes are
/// zero, as in the kernel's zero-initialised struct.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Request<'a> {
    pub ifindex: u32,
    /// Without its terminating NUL.
    pub ifname: Option<&'a [u8]>,
    pub state: u32,
    pub vhid: u32,
    pub advbase: i32,
    pub advskew: i32,
    pub key: [u8; KEY_LEN],
    pub addr: [u8; 4],
    pub addr6: [u8; 16],
    pub version: u8,
    pub vrrp_priority: u8,
    pub vrrp_adv_inter: u16,
}

impl<'a> Request<'a> {
    /// Parses the attributes that follow the genl header.
    pub fn parse_attrs(buf: &'a [u8]) -> Result<Request<'a>, Errno> {
        let mut r = Request::default();
        for attr in Attrs::new(buf) {
            let Attr { kind, data } = attr?;
            match kind {
                ATTR_VHID => r.vhid = u32::from_ne_bytes(exact(data)?),
                ATTR_STATE => r.state = u32::from_ne_bytes(exact(data)?),
                ATTR_ADVBASE => r.advbase = i32::from_ne_bytes(exact(data)?),
                ATTR_ADVSKEW => r.advskew = i32::from_ne_bytes(exact(data)?),
                ATTR_KEY => {
                    // nlattr_get_carp_key: up to 20 bytes copied over the
                    // front of the (zeroed) key.
                    let dst = r.key.get_mut(..data.len()).ok_or(Errno::EINVAL)?;
                    dst.copy_from_slice(data);
                }
                ATTR_IFINDEX => r.ifindex = u32::from_ne_bytes(exact(data)?),
                ATTR_ADDR => r.addr = exact(data)?,
                ATTR_ADDR6 => r.addr6 = exact(data)?,
                ATTR_IFNAME => {
                    // nlattr_get_string: must hold a NUL.
                    let nul = data.iter().position(|b| *b == 0).ok_or(Errno::EINVAL)?;
                    r.ifname = data.get(..nul);
                }
                ATTR_VERSION => r.version = u8::from_ne_bytes(exact(data)?),
                ATTR_VRRP_PRIORITY => r.vrrp_priority = u8::from_ne_bytes(exact(data)?),
                ATTR_VRRP_ADV_INTER => r.vrrp_adv_inter = u16::from_ne_bytes(exact(data)?),
                _ => {}
            }
        }
        Ok(r)
    }

    /// Parses a genl payload: `struct genlmsghdr` (cmd, version, reserved)
    /// then attributes. Returns the command too.
    pub fn parse_genl(payload: &'a [u8]) -> Result<(u8, Request<'a>), Errno> {
        let (genl, attrs) = payload
            .split_first_chunk::<GENL_HDRLEN>()
            .ok_or(Errno::EINVAL)?;
        Ok((genl[0], Request::parse_attrs(attrs)?))
    }

    /// Parses a whole netlink message (`nlmsghdr` + genl payload), bounded
    /// by `nlmsg_len`.
    pub fn parse_message(msg: &'a [u8]) -> Result<(u8, Request<'a>), Errno> {
        let (hdr, _) = msg
            .split_first_chunk::<NLMSG_HDRLEN>()
            .ok_or(Errno::EINVAL)?;
        let len = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        let body = msg.get(NLMSG_HDRLEN..len).ok_or(Errno::EINVAL)?;
        Request::parse_genl(body)
    }

    /// `carp_nl_set`'s checks, made before the interface is looked up.
    pub fn to_set(&self) -> Result<SetRequest, Errno> {
        let vhid = u8::try_from(self.vhid)
            .ok()
            .filter(|v| *v != 0)
            .ok_or(Errno::EINVAL)?;
        if self.state > MAX_STATE {
            return Err(Errno::EINVAL);
        }
        let version = match self.version {
            // 0: a pre-VRRP client.
            0 | 2 => Version::Carp,
            3 => Version::Vrrp3,
            _ => return Err(Errno::EINVAL),
        };
        let mut req = SetRequest::carp(vhid);
        req.version = version;
        req.state = self.state;
        match version {
            Version::Carp => {
                req.advbase = u8::try_from(self.advbase).map_err(|_| Errno::EINVAL)?;
                req.advskew = u8::try_from(self.advskew)
                    .ok()
                    .filter(|s| *s != 255)
                    .ok_or(Errno::EINVAL)?;
                req.key = self.key;
                req.peer4 = self.addr;
                req.peer6 = self.addr6;
            }
            Version::Vrrp3 => {
                if self.vrrp_adv_inter > VRRP_MAX_INTERVAL {
                    return Err(Errno::EINVAL);
                }
                req.vrrp_priority = self.vrrp_priority;
                req.vrrp_interval = self.vrrp_adv_inter;
            }
        }
        Ok(req)
    }
}

/// `CARP_NL_CMD_SET` once the shim has resolved IFNAME (else IFINDEX) to
/// `ifp`. EPERM first (the genl layer checks `cmd_priv`), then the request's
/// own checks, then the interface, then the engine.
pub fn set(
    engine: &mut Engine,
    now: Instant,
    req: &Request<'_>,
    ifp: Option<&IfInfo>,
    privileged: bool,
) -> Result<SetOutcome, Errno> {
    if !privileged {
        return Err(Errno::EPERM);
    }
    let set = req.to_set()?;
    let ifp = check_supported(ifp)?;
    check_multicast(ifp)?;
    super::apply_set(engine, now, ifp.index, &set)
}

/// `CARP_NL_CMD_GET` (a dump): `emit` is called once per vhid, in order;
/// it returns false when the reply cannot take another message (ENOMEM).
pub fn get(
    engine: &Engine,
    req: &Request<'_>,
    ifp: Option<&IfInfo>,
    privileged: bool,
    mut emit: impl FnMut(&VhidInfo) -> bool,
) -> Result<u32, Errno> {
    let ifp = check_supported(ifp)?;
    super::get(
        engine,
        ifp.index,
        i64::from(req.vhid),
        i64::from(MAX_VHID),
        privileged,
        |info, _| emit(info),
    )
}

/// Writes attributes into a caller's buffer, padding each to 4 bytes with
/// zeros (`nlattr_add`).
#[derive(Debug)]
pub struct AttrWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> AttrWriter<'a> {
    pub fn new(buf: &'a mut [u8]) -> AttrWriter<'a> {
        AttrWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends raw bytes (a header); ENOBUFS if they do not fit.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), Errno> {
        let end = self.len.checked_add(bytes.len()).ok_or(Errno::ENOBUFS)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Errno::ENOBUFS)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    pub fn attr(&mut self, kind: u16, data: &[u8]) -> Result<(), Errno> {
        let nla_len = NLA_HDRLEN.checked_add(data.len()).ok_or(Errno::ENOBUFS)?;
        let nla_len16 = u16::try_from(nla_len).map_err(|_| Errno::ENOBUFS)?;
        let total = align4(nla_len);
        let end = self.len.checked_add(total).ok_or(Errno::ENOBUFS)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Errno::ENOBUFS)?;
        let (hdr, rest) = dst.split_at_mut(NLA_HDRLEN);
        hdr.copy_from_slice(&[
            nla_len16.to_ne_bytes()[0],
            nla_len16.to_ne_bytes()[1],
            kind.to_ne_bytes()[0],
            kind.to_ne_bytes()[1],
        ]);
        let (body, pad) = rest.split_at_mut(data.len());
        body.copy_from_slice(data);
        pad.fill(0);
        self.len = end;
        Ok(())
    }

    pub fn u8(&mut self, kind: u16, v: u8) -> Result<(), Errno> {
        self.attr(kind, &[v])
    }
    pub fn u16(&mut self, kind: u16, v: u16) -> Result<(), Errno> {
        self.attr(kind, &v.to_ne_bytes())
    }
    pub fn u32(&mut self, kind: u16, v: u32) -> Result<(), Errno> {
        self.attr(kind, &v.to_ne_bytes())
    }
    pub fn s32(&mut self, kind: u16, v: i32) -> Result<(), Errno> {
        self.attr(kind, &v.to_ne_bytes())
    }
    pub fn in_addr(&mut self, kind: u16, a: Ipv4Addr) -> Result<(), Errno> {
        self.attr(kind, &a.octets())
    }
    pub fn in6_addr(&mut self, kind: u16, a: Ipv6Addr) -> Result<(), Errno> {
        self.attr(kind, &a.octets())
    }
    /// A NUL-terminated string attribute.
    pub fn string(&mut self, kind: u16, s: &[u8]) -> Result<(), Errno> {
        let nla_len = NLA_HDRLEN
            .checked_add(s.len())
            .and_then(|l| l.checked_add(1))
            .ok_or(Errno::ENOBUFS)?;
        let total = align4(nla_len);
        let nla_len16 = u16::try_from(nla_len).map_err(|_| Errno::ENOBUFS)?;
        let end = self.len.checked_add(total).ok_or(Errno::ENOBUFS)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Errno::ENOBUFS)?;
        dst.fill(0);
        let (hdr, rest) = dst.split_at_mut(NLA_HDRLEN);
        let l = nla_len16.to_ne_bytes();
        let k = kind.to_ne_bytes();
        hdr.copy_from_slice(&[l[0], l[1], k[0], k[1]]);
        rest.get_mut(..s.len())
            .ok_or(Errno::ENOBUFS)?
            .copy_from_slice(s);
        self.len = end;
        Ok(())
    }
}

/// The payload of one GET reply (`carp_nl_send`): the genl header (cmd GET,
/// version 0) and the attributes of the vhid's mode. CARP: VHID, STATE,
/// VERSION, ADVBASE, ADVSKEW, ADDR, ADDR6 and KEY when visible; VRRP: VHID,
/// STATE, VERSION, VRRP_PRIORITY, VRRP_ADV_INTER. Returns the bytes used.
pub fn write_vhid(buf: &mut [u8], info: &VhidInfo) -> Result<usize, Errno> {
    let mut w = AttrWriter::new(buf);
    w.raw(&[CMD_GET, 0, 0, 0])?;
    w.u32(ATTR_VHID, u32::from(info.vhid))?;
    w.u32(ATTR_STATE, info.state as u32)?;
    w.u8(ATTR_VERSION, info.version.number())?;
    match info.version {
        Version::Carp => {
            w.s32(ATTR_ADVBASE, i32::from(info.advbase))?;
            w.s32(ATTR_ADVSKEW, i32::from(info.advskew))?;
            w.in_addr(ATTR_ADDR, info.peer4)?;
            w.in6_addr(ATTR_ADDR6, info.peer6)?;
            if info.key_visible {
                w.attr(ATTR_KEY, &info.key)?;
            }
        }
        Version::Vrrp3 => {
            w.u8(ATTR_VRRP_PRIORITY, info.vrrp_priority)?;
            w.u16(ATTR_VRRP_ADV_INTER, info.vrrp_interval)?;
        }
    }
    Ok(w.len())
}

/// The `nlmsghdr` fields of a reply: FreeBSD's `nlmsg_reply` copies type,
/// seq and pid from the request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MsgHeader {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

/// Writes `nlmsghdr` + `body` (a genl payload) as one message.
pub fn write_message(
    buf: &mut [u8],
    hdr: MsgHeader,
    body: impl FnOnce(&mut [u8]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let (head, rest) = buf
        .split_at_mut_checked(NLMSG_HDRLEN)
        .ok_or(Errno::ENOBUFS)?;
    let n = body(rest)?;
    let total = NLMSG_HDRLEN.checked_add(n).ok_or(Errno::ENOBUFS)?;
    let len = u32::try_from(total).map_err(|_| Errno::ENOBUFS)?;
    let mut w = AttrWriter::new(head);
    w.raw(&len.to_ne_bytes())?;
    w.raw(&hdr.kind.to_ne_bytes())?;
    w.raw(&hdr.flags.to_ne_bytes())?;
    w.raw(&hdr.seq.to_ne_bytes())?;
    w.raw(&hdr.pid.to_ne_bytes())?;
    Ok(total)
}

/// The dump terminator `nlmsg_end_dump` sends: NLMSG_DONE with the error
/// as an int payload.
pub fn write_done(buf: &mut [u8], seq: u32, pid: u32, error: i32) -> Result<usize, Errno> {
    let hdr = MsgHeader {
        kind: NLMSG_DONE,
        flags: NLM_F_MULTI,
        seq,
        pid,
    };
    write_message(buf, hdr, |b| {
        let mut w = AttrWriter::new(b);
        w.raw(&error.to_ne_bytes())?;
        Ok(w.len())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ctl::tests::{at, running_engine, ETH0};
    use crate::ctl::{IFF_MULTICAST, IFT_ETHER, IFT_L2VLAN};
    use crate::engine::{Event, Reason, State, VhidConfig};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const IFP: IfInfo = IfInfo {
        index: ETH0,
        if_type: IFT_ETHER,
        flags: IFF_MULTICAST | 1,
    };

    fn attrs(list: &[(u16, &[u8])]) -> Vec<u8> {
        let mut buf = [0u8; 512];
        let mut w = AttrWriter::new(&mut buf);
        for (k, d) in list {
            w.attr(*k, d).unwrap();
        }
        let n = w.len();
        buf[..n].to_vec()
    }

    fn set_attrs(e: &mut Engine, list: &[(u16, &[u8])]) -> Result<SetOutcome, Errno> {
        let b = attrs(list);
        let r = Request::parse_attrs(&b)?;
        set(e, at(0), &r, Some(&IFP), true)
    }

    #[test]
    fn writer_pads_and_parser_reads_back() {
        let mut buf = [0xaau8; 64];
        let mut w = AttrWriter::new(&mut buf);
        w.u8(ATTR_VERSION, 3).unwrap();
        w.u16(ATTR_VRRP_ADV_INTER, 4095).unwrap();
        w.string(ATTR_IFNAME, b"em0").unwrap();
        let n = w.len();
        assert_eq!(n, 8 + 8 + 8);
        assert_eq!(
            &buf[..8],
            &[5, 0, 10, 0, 3, 0, 0, 0],
            "u8: len 5, padded with zeros"
        );
        assert_eq!(&buf[16..24], &[8, 0, 9, 0, b'e', b'm', b'0', 0]);
        let got: Vec<_> = Attrs::new(&buf[..n]).map(|a| a.unwrap()).collect();
        assert_eq!(
            got[0],
            Attr {
                kind: 10,
                data: &[3]
            }
        );
        assert_eq!(got[1].data, &4095u16.to_ne_bytes());
        let r = Request::parse_attrs(&buf[..n]).unwrap();
        assert_eq!(
            (r.version, r.vrrp_adv_inter, r.ifname),
            (3, 4095, Some(&b"em0"[..]))
        );
    }

    #[test]
    fn writer_refuses_overflow() {
        let mut buf = [0u8; 7];
        let mut w = AttrWriter::new(&mut buf);
        assert_eq!(w.u32(ATTR_VHID, 1), Err(Errno::ENOBUFS));
        assert!(w.is_empty());
        w.u8(ATTR_VERSION, 2).unwrap_err();
        let mut buf = [0u8; 8];
        let mut w = AttrWriter::new(&mut buf);
        w.u8(ATTR_VERSION, 2).unwrap();
        assert_eq!(w.u8(ATTR_VERSION, 2), Err(Errno::ENOBUFS));
    }

    #[test]
    fn parser_rules() {
        // Length below the header: EINVAL.
        assert_eq!(Request::parse_attrs(&[3, 0, 1, 0]), Err(Errno::EINVAL));
        // Wrong sizes for typed attributes: EINVAL.
        assert_eq!(
            Request::parse_attrs(&attrs(&[(ATTR_VHID, &[1, 0])])),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            Request::parse_attrs(&attrs(&[(ATTR_ADDR6, &[0; 4])])),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            Request::parse_attrs(&attrs(&[(ATTR_VERSION, &[2, 0])])),
            Err(Errno::EINVAL)
        );
        // Key longer than 20: EINVAL; shorter: copied over the front.
        assert_eq!(
            Request::parse_attrs(&attrs(&[(ATTR_KEY, &[b'a'; 21])])),
            Err(Errno::EINVAL)
        );
        let b = attrs(&[(ATTR_KEY, b"pw\0")]);
        let r = Request::parse_attrs(&b).unwrap();
        assert_eq!(&r.key[..3], b"pw\0");
        // Unterminated string: EINVAL.
        assert_eq!(
            Request::parse_attrs(&attrs(&[(ATTR_IFNAME, b"em0")])),
            Err(Errno::EINVAL)
        );
        // Unknown types ignored; flags masked; last one wins.
        let v = 7u32.to_ne_bytes();
        let b = attrs(&[
            (99, &[1, 2, 3]),
            (ATTR_VHID | 0x8000, &1u32.to_ne_bytes()),
            (ATTR_VHID, &v),
        ]);
        let r = Request::parse_attrs(&b).unwrap();
        assert_eq!(r.vhid, 7);
        // Truncated trailing attribute: walk stops quietly.
        let mut b = attrs(&[(ATTR_VHID, &v)]);
        b.extend_from_slice(&[12, 0, 2, 0, 1]);
        assert_eq!(Request::parse_attrs(&b).unwrap().vhid, 7);
        // Fewer than 4 trailing bytes: ignored.
        let mut b = attrs(&[(ATTR_VHID, &v)]);
        b.extend_from_slice(&[1, 2]);
        assert_eq!(Request::parse_attrs(&b).unwrap().vhid, 7);
        // Unpadded last attribute (len 5 in a 5-byte tail) is dropped, as
        // NLA_FOREACH needs the padded end inside the buffer.
        assert_eq!(Request::parse_attrs(&[5, 0, 10, 0, 3]).unwrap().version, 0);
    }

    #[test]
    fn genl_and_message_framing() {
        let mut buf = [0u8; 128];
        let hdr = MsgHeader {
            kind: 0x20,
            flags: 1,
            seq: 9,
            pid: 4,
        };
        let n = write_message(&mut buf, hdr, |b| {
            let mut w = AttrWriter::new(b);
            w.raw(&[CMD_SET, 0, 0, 0])?;
            w.u32(ATTR_VHID, 3)?;
            w.string(ATTR_IFNAME, b"vtnet0")?;
            Ok(w.len())
        })
        .unwrap();
        assert_eq!(u32::from_ne_bytes(buf[..4].try_into().unwrap()) as usize, n);
        let (cmd, r) = Request::parse_message(&buf[..n + 5]).unwrap();
        assert_eq!((cmd, r.vhid, r.ifname), (CMD_SET, 3, Some(&b"vtnet0"[..])));
        assert_eq!(Request::parse_message(&buf[..n - 1]), Err(Errno::EINVAL));
        assert_eq!(Request::parse_genl(&[1, 0, 0]), Err(Errno::EINVAL));
        let d = write_done(&mut buf, 9, 4, 0).unwrap();
        assert_eq!(d, 20);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), NLMSG_DONE);
        assert_eq!(u16::from_ne_bytes([buf[6], buf[7]]), NLM_F_MULTI);
    }

    #[test]
    fn set_checks_in_freebsd_order() {
        let mut e = Engine::new();
        let one = 1u32.to_ne_bytes();
        let b = attrs(&[(ATTR_VHID, &[0; 4])]);
        let r = Request::parse_attrs(&b).unwrap();
        assert_eq!(set(&mut e, at(0), &r, None, false), Err(Errno::EPERM));
        assert_eq!(
            set(&mut e, at(0), &r, None, true),
            Err(Errno::EINVAL),
            "vhid before ifp"
        );
        for bad in [
            &[(ATTR_VHID, &256u32.to_ne_bytes()[..])][..],
            &[(ATTR_VHID, &one), (ATTR_STATE, &3u32.to_ne_bytes())],
            &[(ATTR_VHID, &one), (ATTR_VERSION, &[1])],
            &[(ATTR_VHID, &one), (ATTR_VERSION, &[4])],
            &[(ATTR_VHID, &one), (ATTR_ADVBASE, &(-1i32).to_ne_bytes())],
            &[(ATTR_VHID, &one), (ATTR_ADVBASE, &256i32.to_ne_bytes())],
            &[(ATTR_VHID, &one), (ATTR_ADVSKEW, &255i32.to_ne_bytes())],
            &[(ATTR_VHID, &one), (ATTR_ADVSKEW, &(-3i32).to_ne_bytes())],
            &[
                (ATTR_VHID, &one),
                (ATTR_VERSION, &[3]),
                (ATTR_VRRP_ADV_INTER, &4096u16.to_ne_bytes()),
            ],
        ] {
            assert_eq!(set_attrs(&mut e, bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(e.vhids().count(), 0, "nothing created by refused requests");
        let b = attrs(&[(ATTR_VHID, &one)]);
        let r = Request::parse_attrs(&b).unwrap();
        assert_eq!(set(&mut e, at(0), &r, None, true), Err(Errno::ENXIO));
        let vlan_nomc = IfInfo {
            if_type: IFT_L2VLAN,
            flags: 0,
            ..IFP
        };
        assert_eq!(
            set(&mut e, at(0), &r, Some(&vlan_nomc), true),
            Err(Errno::EADDRNOTAVAIL)
        );
        // VRRP ignores the CARP fields entirely, even out-of-range ones.
        assert!(set_attrs(
            &mut e,
            &[
                (ATTR_VHID, &one),
                (ATTR_VERSION, &[3]),
                (ATTR_ADVSKEW, &999i32.to_ne_bytes())
            ]
        )
        .is_ok());
    }

    #[test]
    fn set_carp_fields_and_peers() {
        let mut e = Engine::new();
        let v = 5u32.to_ne_bytes();
        let out = set_attrs(
            &mut e,
            &[
                (ATTR_VHID, &v),
                (ATTR_ADVBASE, &2i32.to_ne_bytes()),
                (ATTR_ADVSKEW, &100i32.to_ne_bytes()),
                (ATTR_KEY, b"sekrit\0"),
                (ATTR_ADDR, &[198, 51, 100, 224]),
                (
                    ATTR_ADDR6,
                    &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets(),
                ),
            ],
        )
        .unwrap();
        assert!(out.created);
        let cfg = e.vhid_config(out.id).unwrap().clone();
        assert_eq!(
            (cfg.advbase, cfg.advskew, cfg.version),
            (2, 100, Version::Carp)
        );
        assert_eq!(cfg.peer4, Some(Ipv4Addr::new(198, 51, 100, 224)));
        assert_eq!(
            cfg.peer6,
            Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))
        );
        // Zero ADDR/ADDR6 keep; a missing ADVSKEW means 0 (always replaced).
        set_attrs(&mut e, &[(ATTR_VHID, &v), (ATTR_ADDR, &[0; 4])]).unwrap();
        let c2 = e.vhid_config(out.id).unwrap();
        assert_eq!((c2.advbase, c2.advskew), (2, 0));
        assert_eq!(c2.peer4, cfg.peer4);
        assert_eq!(c2.key, cfg.key);
        // `mcast`: the group address means "no unicast peer".
        set_attrs(&mut e, &[(ATTR_VHID, &v), (ATTR_ADDR, &[224, 0, 0, 18])]).unwrap();
        assert_eq!(e.vhid_config(out.id).unwrap().peer4, None);
        // VERSION 3 on a CARP vhid: EINVAL, nothing changes.
        let before = e.vhid_config(out.id).unwrap().clone();
        assert_eq!(
            set_attrs(&mut e, &[(ATTR_VHID, &v), (ATTR_VERSION, &[3])]),
            Err(Errno::EINVAL)
        );
        assert_eq!(e.vhid_config(out.id).unwrap(), before);
    }

    #[test]
    fn set_vrrp_fields() {
        let mut e = Engine::new();
        let v = 8u32.to_ne_bytes();
        let out = set_attrs(&mut e, &[(ATTR_VHID, &v), (ATTR_VERSION, &[3])]).unwrap();
        let cfg = e.vhid_config(out.id).unwrap();
        assert_eq!(
            (cfg.version, cfg.vrrp_priority, cfg.vrrp_interval),
            (Version::Vrrp3, 100, 100)
        );
        set_attrs(
            &mut e,
            &[
                (ATTR_VHID, &v),
                (ATTR_VERSION, &[3]),
                (ATTR_VRRP_PRIORITY, &[200]),
                (ATTR_VRRP_ADV_INTER, &4095u16.to_ne_bytes()),
                (ATTR_KEY, b"ignored"),
                (ATTR_ADDR, &[198, 51, 100, 7]),
            ],
        )
        .unwrap();
        let cfg = e.vhid_config(out.id).unwrap();
        assert_eq!((cfg.vrrp_priority, cfg.vrrp_interval), (200, 4095));
        assert!(cfg.key.is_zero(), "VRRP has no key");
        assert_eq!(cfg.peer4, None, "VRRP has no peers");
        // Zero priority and interval keep.
        set_attrs(&mut e, &[(ATTR_VHID, &v), (ATTR_VERSION, &[3])]).unwrap();
        let cfg = e.vhid_config(out.id).unwrap();
        assert_eq!((cfg.vrrp_priority, cfg.vrrp_interval), (200, 4095));
        // A CARP (or version-0) SET on it: EINVAL.
        assert_eq!(set_attrs(&mut e, &[(ATTR_VHID, &v)]), Err(Errno::EINVAL));
    }

    #[test]
    fn set_forces_state_like_ifconfig_state_master() {
        let (mut e, id) = running_engine(State::Backup);
        let b = attrs(&[
            (ATTR_VHID, &1u32.to_ne_bytes()),
            (ATTR_STATE, &2u32.to_ne_bytes()),
        ]);
        let r = Request::parse_attrs(&b).unwrap();
        let out = set(&mut e, at(20), &r, Some(&IFP), true).unwrap();
        assert_eq!(out.forced, Some(State::Master));
        assert!(matches!(
            e.poll_event(),
            Some(Event::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::UserRequested,
                ..
            })
        ));
        assert_eq!(e.vhid_state(id), Some(State::Master));
    }

    fn replies(e: &Engine, list: &[(u16, &[u8])], privileged: bool) -> Result<Vec<Vec<u8>>, Errno> {
        let b = attrs(list);
        let r = Request::parse_attrs(&b).unwrap();
        let mut out = Vec::new();
        get(e, &r, Some(&IFP), privileged, |i| {
            let mut buf = [0u8; 256];
            let n = write_vhid(&mut buf, i).unwrap();
            out.push(buf[..n].to_vec());
            true
        })?;
        Ok(out)
    }

    fn kinds(payload: &[u8]) -> Vec<u16> {
        Attrs::new(&payload[4..]).map(|a| a.unwrap().kind).collect()
    }

    #[test]
    fn get_attribute_sets() {
        let mut e = Engine::new();
        assert_eq!(replies(&e, &[], true), Err(Errno::ENOENT));
        let mut cfg = VhidConfig::new(2);
        cfg.key = crate::auth::Key::new(b"pw").unwrap();
        cfg.advskew = 50;
        e.vhid_set(at(0), ETH0, &cfg).unwrap();
        let mut v = VhidConfig::new(9);
        v.version = Version::Vrrp3;
        v.vrrp_priority = 150;
        e.vhid_set(at(0), ETH0, &v).unwrap();

        let all = replies(&e, &[], true).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(&all[0][..4], &[CMD_GET, 0, 0, 0]);
        assert_eq!(kinds(&all[0]), [1, 2, 10, 3, 4, 7, 8, 5]);
        assert_eq!(kinds(&all[1]), [1, 2, 10, 11, 12]);
        let r = Request::parse_attrs(&all[0][4..]).unwrap();
        assert_eq!(
            (r.vhid, r.state, r.version, r.advbase, r.advskew),
            (2, 0, 2, 1, 50)
        );
        assert_eq!(r.addr, [224, 0, 0, 18]);
        assert_eq!(Ipv6Addr::from(r.addr6), crate::ctl::CARP_GROUP6);
        assert_eq!(&r.key[..3], b"pw\0");
        let r = Request::parse_attrs(&all[1][4..]).unwrap();
        assert_eq!(
            (r.vhid, r.version, r.vrrp_priority, r.vrrp_adv_inter),
            (9, 3, 150, 100)
        );

        let unpriv = replies(&e, &[(ATTR_VHID, &2u32.to_ne_bytes())], false).unwrap();
        assert_eq!(unpriv.len(), 1);
        assert_eq!(
            kinds(&unpriv[0]),
            [1, 2, 10, 3, 4, 7, 8],
            "no KEY for the unprivileged"
        );
        assert_eq!(
            replies(&e, &[(ATTR_VHID, &3u32.to_ne_bytes())], true),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            replies(&e, &[(ATTR_VHID, &300u32.to_ne_bytes())], true),
            Err(Errno::EINVAL)
        );
        let b = attrs(&[]);
        let r = Request::parse_attrs(&b).unwrap();
        assert_eq!(get(&e, &r, Some(&IFP), true, |_| false), Err(Errno::ENOMEM));
        assert_eq!(get(&e, &r, None, true, |_| true), Err(Errno::ENXIO));
    }

    #[test]
    fn get_output_fed_back_as_set_changes_nothing() {
        // What ifconfig does: GET, overlay, SET. With nothing overlaid the
        // vhid must come out identical.
        let (mut e, id) = running_engine(State::Master);
        let mut cfg = e.vhid_config(id).unwrap().clone();
        cfg.key = crate::auth::Key::new(b"k").unwrap();
        cfg.peer4 = Some(Ipv4Addr::new(198, 51, 100, 9));
        e.vhid_set(at(0), ETH0, &cfg).unwrap();
        while e.poll_event().is_some() {}
        let reply = replies(&e, &[], true).unwrap().pop().unwrap();
        let r = Request::parse_attrs(&reply[4..]).unwrap();
        let before = (e.vhid_config(id).unwrap().clone(), e.vhid_state(id));
        set(&mut e, at(30), &r, Some(&IFP), true).unwrap();
        assert_eq!(
            (e.vhid_config(id).unwrap().clone(), e.vhid_state(id)),
            before
        );
        assert_eq!(e.poll_event(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::parse_attrs(&bytes);
            let _ = Request::parse_genl(&bytes);
            let _ = Request::parse_message(&bytes);
            let mut n = 0usize;
            for a in Attrs::new(&bytes) {
                if let Ok(a) = a {
                    prop_assert!(a.data.len() <= bytes.len());
                    prop_assert!(a.kind <= NLA_TYPE_MASK);
                }
                n += 1;
                prop_assert!(n <= bytes.len() / 4 + 1, "the walk always advances");
            }
        }

        #[test]
        fn structured_attrs_never_panic(list in proptest::collection::vec(
            (0u16..16, proptest::collection::vec(any::<u8>(), 0..24)), 0..12)
        ) {
            let mut buf = [0u8; 512];
            let mut w = AttrWriter::new(&mut buf);
            for (k, d) in &list {
                w.attr(*k, d).unwrap();
            }
            let n = w.len();
            let parsed: Vec<_> = Attrs::new(&buf[..n]).collect();
            prop_assert_eq!(parsed.len(), list.len());
            for (p, (k, d)) in parsed.iter().zip(&list) {
                let p = p.unwrap();
                prop_assert_eq!(p.kind, *k);
                prop_assert_eq!(p.data, &d[..]);
            }
            if let Ok(r) = Request::parse_attrs(&buf[..n]) {
                let mut e = Engine::new();
                let _ = set(&mut e, at(0), &r, Some(&IFP), true);
                let _ = get(&e, &r, Some(&IFP), true, |i| {
                    let mut out = [0u8; 128];
                    write_vhid(&mut out, i).is_ok()
                });
            }
        }
    }
}
