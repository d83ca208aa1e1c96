//! The slice of netlink that 15.x `ifconfig` uses for carp: resolve the
//! generic-netlink family `carp` through `nlctrl`, then `CARP_NL_CMD_GET`
//! (dump, by interface name) and `CARP_NL_CMD_SET`.

pub const NETLINK_GENERIC: i32 = 16;
pub const GENL_ID_CTRL: u16 = 16;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;

pub const CARP_NL_CMD_GET: u8 = 1;
pub const CARP_NL_CMD_SET: u8 = 2;
pub const CARP_NL_VHID: u16 = 1;
pub const CARP_NL_STATE: u16 = 2;
pub const CARP_NL_ADVBASE: u16 = 3;
pub const CARP_NL_ADVSKEW: u16 = 4;
pub const CARP_NL_KEY: u16 = 5;
pub const CARP_NL_ADDR: u16 = 7;
pub const CARP_NL_ADDR6: u16 = 8;
pub const CARP_NL_IFNAME: u16 = 9;
pub const CARP_NL_VERSION: u16 = 10;
pub const CARP_NL_VRRP_PRIORITY: u16 = 11;
pub const CARP_NL_VRRP_ADV_INTER: u16 = 12;

/// Builds one request message (nlmsghdr + genlmsghdr + attributes).
pub struct Builder<'a> {
    buf: &'a mut [u8],
    len: usize,
    ok: bool,
}

impl<'a> Builder<'a> {
    pub fn new(buf: &'a mut [u8], ty: u16, flags: u16, seq: u32, cmd: u8) -> Self {
        let mut b = Builder {
            buf,
            len: 0,
            ok: true,
        };
        b.put(&0u32.to_ne_bytes()); // length, patched in finish()
        b.put(&ty.to_ne_bytes());
        b.put(&flags.to_ne_bytes());
        b.put(&seq.to_ne_bytes());
        b.put(&0u32.to_ne_bytes());
        b.put(&[cmd, 1, 0, 0]); // genl version 1 as libifconfig sends
        b
    }

    fn put(&mut self, d: &[u8]) {
        match self.buf.get_mut(self.len..self.len + d.len()) {
            Some(dst) => {
                dst.copy_from_slice(d);
                self.len += d.len();
            }
            None => self.ok = false,
        }
    }

    pub fn attr(mut self, ty: u16, payload: &[u8]) -> Self {
        let alen = 4 + payload.len();
        let Ok(l16) = u16::try_from(alen) else {
            self.ok = false;
            return self;
        };
        self.put(&l16.to_ne_bytes());
        self.put(&ty.to_ne_bytes());
        self.put(payload);
        while !self.len.is_multiple_of(4) {
            self.put(&[0]);
        }
        self
    }

    pub fn attr_u32(self, ty: u16, v: u32) -> Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn attr_u16(self, ty: u16, v: u16) -> Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn attr_u8(self, ty: u16, v: u8) -> Self {
        self.attr(ty, &[v])
    }

    /// A C string attribute: the bytes plus the NUL, as
    /// `snl_add_msg_attr_string` sends it.
    pub fn attr_str(mut self, ty: u16, s: &str) -> Self {
        let alen = 4 + s.len() + 1;
        let Ok(l16) = u16::try_from(alen) else {
            self.ok = false;
            return self;
        };
        self.put(&l16.to_ne_bytes());
        self.put(&ty.to_ne_bytes());
        self.put(s.as_bytes());
        self.put(&[0]);
        while !self.len.is_multiple_of(4) {
            self.put(&[0]);
        }
        self
    }

    /// The genl header's version byte (libifconfig's snl leaves it 0).
    pub fn genl_version(self, v: u8) -> Self {
        if let Some(b) = self.buf.get_mut(17) {
            *b = v;
        }
        self
    }

    /// Returns the finished message length, or `None` if it did not fit.
    pub fn finish(self) -> Option<usize> {
        if !self.ok {
            return None;
        }
        let l = u32::try_from(self.len).ok()?;
        self.buf.get_mut(0..4)?.copy_from_slice(&l.to_ne_bytes());
        Some(self.len)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after the 16-byte nlmsghdr.
    pub body: &'a [u8],
}

impl Msg<'_> {
    /// For NLMSG_ERROR: the (negative) errno the kernel reported, 0 for an ACK.
    pub fn error(&self) -> Option<i32> {
        (self.ty == NLMSG_ERROR)
            .then(|| {
                self.body
                    .get(0..4)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_ne_bytes)
            })
            .flatten()
    }

    /// Attributes after the 4-byte genl header.
    pub fn attrs(&self) -> Attrs<'_> {
        Attrs {
            buf: self.body.get(4..).unwrap_or(&[]),
        }
    }
}

/// Iterates the netlink messages of one `recv`.
pub struct Msgs<'a> {
    buf: &'a [u8],
}

impl<'a> Msgs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Msgs { buf }
    }
}

impl<'a> Iterator for Msgs<'a> {
    type Item = Msg<'a>;

    fn next(&mut self) -> Option<Msg<'a>> {
        let len = u32::from_ne_bytes(self.buf.get(0..4)?.try_into().ok()?) as usize;
        if len < 16 {
            return None;
        }
        let m = self.buf.get(..len)?;
        let msg = Msg {
            ty: u16::from_ne_bytes(m.get(4..6)?.try_into().ok()?),
            flags: u16::from_ne_bytes(m.get(6..8)?.try_into().ok()?),
            seq: u32::from_ne_bytes(m.get(8..12)?.try_into().ok()?),
            body: m.get(16..)?,
        };
        self.buf = self.buf.get((len + 3) & !3..).unwrap_or(&[]);
        Some(msg)
    }
}

pub struct Attrs<'a> {
    buf: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let len = usize::from(u16::from_ne_bytes(self.buf.get(0..2)?.try_into().ok()?));
        let ty = u16::from_ne_bytes(self.buf.get(2..4)?.try_into().ok()?) & 0x3fff;
        if len < 4 {
            return None;
        }
        let payload = self.buf.get(4..len)?;
        self.buf = self.buf.get((len + 3) & !3..).unwrap_or(&[]);
        Some((ty, payload))
    }
}

pub fn attr_u32(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(0..4)?.try_into().ok()?))
}

/// One vhid as CARP_NL_CMD_GET reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VhidInfo {
    pub vhid: u32,
    pub state: u32,
    pub advbase: i32,
    pub advskew: i32,
    /// CARP_NL_KEY as sent (the kernel sends it to privileged readers only).
    pub key: Option<[u8; 20]>,
}

impl VhidInfo {
    /// The key as text up to its first NUL, if the kernel sent one.
    pub fn key_str(&self) -> Option<&str> {
        self.key.as_ref().map(|k| crate::cstr(k))
    }
}

pub fn vhid_info(m: &Msg<'_>) -> VhidInfo {
    let mut v = VhidInfo::default();
    for (ty, p) in m.attrs() {
        let x = attr_u32(p).unwrap_or(0);
        match ty {
            CARP_NL_VHID => v.vhid = x,
            CARP_NL_STATE => v.state = x,
            CARP_NL_ADVBASE => v.advbase = x as i32,
            CARP_NL_ADVSKEW => v.advskew = x as i32,
            CARP_NL_KEY => {
                let mut k = [0u8; 20];
                for (d, s) in k.iter_mut().zip(p) {
                    *d = *s;
                }
                v.key = Some(k);
            }
            _ => {}
        }
    }
    v
}

/// What `ifconfig <if> vhid N advbase B advskew S pass P` hands to
/// libifconfig's `ifconfig_carp_set_info` for a new vhid.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetReq<'a> {
    pub vhid: u32,
    pub state: u32,
    pub advbase: i32,
    pub advskew: i32,
    pub key: &'a str,
    pub addr: [u8; 4],
    pub addr6: [u8; 16],
    pub version: u8,
    pub vrrp_prio: u8,
    pub vrrp_adv_inter: u16,
}

/// CARP_NL_CMD_SET laid out attribute for attribute as FreeBSD 15's
/// libifconfig (`ifconfig_carp_set_info`) builds it: REQUEST|ACK, genl
/// version 0, the same attribute order, the key as a C string.
pub fn carp_set_msg(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    ifname: &str,
    r: &SetReq<'_>,
) -> Option<usize> {
    Builder::new(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq, CARP_NL_CMD_SET)
        .genl_version(0)
        .attr_u32(CARP_NL_VHID, r.vhid)
        .attr_u32(CARP_NL_STATE, r.state)
        .attr_u32(CARP_NL_ADVBASE, r.advbase as u32)
        .attr_u32(CARP_NL_ADVSKEW, r.advskew as u32)
        .attr_str(CARP_NL_IFNAME, ifname)
        .attr(CARP_NL_ADDR, &r.addr)
        .attr(CARP_NL_ADDR6, &r.addr6)
        .attr_str(CARP_NL_KEY, r.key)
        .attr_u8(CARP_NL_VERSION, r.version)
        .attr_u8(CARP_NL_VRRP_PRIORITY, r.vrrp_prio)
        .attr_u16(CARP_NL_VRRP_ADV_INTER, r.vrrp_adv_inter)
        .finish()
}

/// The family id from an nlctrl GETFAMILY reply.
pub fn family_id(m: &Msg<'_>) -> Option<u16> {
    m.attrs()
        .find(|(t, _)| *t == CTRL_ATTR_FAMILY_ID)
        .and_then(|(_, p)| Some(u16::from_ne_bytes(p.get(0..2)?.try_into().ok()?)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn getfamily_request_layout() {
        let mut buf = [0u8; 64];
        let n = Builder::new(&mut buf, GENL_ID_CTRL, NLM_F_REQUEST, 7, CTRL_CMD_GETFAMILY)
            .attr(CTRL_ATTR_FAMILY_NAME, b"carp\0")
            .finish()
            .unwrap();
        // 16 nlmsghdr + 4 genl + 4 attr hdr + 5 payload padded to 8.
        assert_eq!(n, 32);
        assert_eq!(u32::from_ne_bytes(buf[0..4].try_into().unwrap()), 32);
        assert_eq!(
            u16::from_ne_bytes(buf[4..6].try_into().unwrap()),
            GENL_ID_CTRL
        );
        assert_eq!(u32::from_ne_bytes(buf[8..12].try_into().unwrap()), 7);
        assert_eq!(buf[16], CTRL_CMD_GETFAMILY);
        assert_eq!(u16::from_ne_bytes(buf[20..22].try_into().unwrap()), 9);
        assert_eq!(&buf[24..29], b"carp\0");
        let m = Msgs::new(&buf[..n]).next().unwrap();
        let a: Vec<_> = m.attrs().collect();
        assert_eq!(a, vec![(CTRL_ATTR_FAMILY_NAME, &b"carp\0"[..])]);
    }

    #[test]
    fn overflow_is_reported() {
        let mut buf = [0u8; 24];
        assert_eq!(
            Builder::new(&mut buf, 1, 0, 0, 0).attr_u32(1, 5).finish(),
            None
        );
    }

    #[test]
    fn parses_replies() {
        let mut buf = [0u8; 256];
        let n1 = Builder::new(&mut buf, 30, 2, 1, CARP_NL_CMD_GET)
            .attr_u32(CARP_NL_VHID, 1)
            .attr_u32(CARP_NL_STATE, 2)
            .attr_u32(CARP_NL_ADVBASE, 1)
            .attr_u32(CARP_NL_ADVSKEW, 100)
            .finish()
            .unwrap();
        let (first, rest) = buf.split_at_mut(n1);
        let n2 = Builder::new(rest, NLMSG_ERROR, 0, 1, 0).finish().unwrap();
        rest[16..20].copy_from_slice(&(-2i32).to_ne_bytes());
        let mut all = first.to_vec();
        all.extend_from_slice(&rest[..n2]);
        let msgs: Vec<_> = Msgs::new(&all).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            vhid_info(&msgs[0]),
            VhidInfo {
                vhid: 1,
                state: 2,
                advbase: 1,
                advskew: 100,
                key: None,
            }
        );
        assert_eq!(msgs[0].error(), None);
        assert_eq!(msgs[1].error(), Some(-2));
        let fam = Builder::new(&mut buf, GENL_ID_CTRL, 0, 1, 1)
            .attr(CTRL_ATTR_FAMILY_ID, &33u16.to_ne_bytes())
            .finish()
            .unwrap();
        assert_eq!(family_id(&Msgs::new(&buf[..fam]).next().unwrap()), Some(33));
    }

    #[test]
    fn set_request_matches_libifconfig() {
        let mut buf = [0u8; 256];
        let r = SetReq {
            vhid: 1,
            advbase: 1,
            advskew: 100,
            key: "foobar",
            ..SetReq::default()
        };
        let n = carp_set_msg(&mut buf, 33, 9, "vtnet0", &r).unwrap();
        let m = Msgs::new(&buf[..n]).next().unwrap();
        assert_eq!((m.ty, m.flags, m.seq), (33, NLM_F_REQUEST | NLM_F_ACK, 9));
        assert_eq!(&m.body[..4], &[CARP_NL_CMD_SET, 0, 0, 0]);
        let a: Vec<_> = m.attrs().collect();
        let types: Vec<u16> = a.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, vec![1, 2, 3, 4, 9, 7, 8, 5, 10, 11, 12]);
        assert_eq!(a[0].1, &1u32.to_ne_bytes()[..]);
        assert_eq!(a[1].1, &0u32.to_ne_bytes()[..]);
        assert_eq!(a[2].1, &1i32.to_ne_bytes()[..]);
        assert_eq!(a[3].1, &100i32.to_ne_bytes()[..]);
        assert_eq!(a[4].1, b"vtnet0\0");
        assert_eq!(a[5].1, &[0u8; 4][..]);
        assert_eq!(a[6].1, &[0u8; 16][..]);
        assert_eq!(a[7].1, b"foobar\0");
        assert_eq!(a[8].1, &[0u8][..]);
        assert_eq!(a[9].1, &[0u8][..]);
        assert_eq!(a[10].1, &0u16.to_ne_bytes()[..]);
        // Header 20 + 4*8 (u32s) + 12 (ifname) + 8 + 20 + 12 (key) + 3*8.
        assert_eq!(n, 20 + 32 + 12 + 8 + 20 + 12 + 24);
        // Each attribute header's length excludes its padding.
        assert_eq!(u16::from_ne_bytes(buf[52..54].try_into().unwrap()), 11);
    }

    #[test]
    fn key_attribute_is_parsed() {
        let mut buf = [0u8; 128];
        let mut key = [0u8; 20];
        key[..6].copy_from_slice(b"foobar");
        let n = Builder::new(&mut buf, 30, 2, 1, CARP_NL_CMD_GET)
            .attr_u32(CARP_NL_VHID, 3)
            .attr(CARP_NL_KEY, &key)
            .finish()
            .unwrap();
        let v = vhid_info(&Msgs::new(&buf[..n]).next().unwrap());
        assert_eq!(v.vhid, 3);
        assert_eq!(v.key_str(), Some("foobar"));
        let n = Builder::new(&mut buf, 30, 2, 1, CARP_NL_CMD_GET)
            .attr_u32(CARP_NL_VHID, 3)
            .finish()
            .unwrap();
        assert_eq!(
            vhid_info(&Msgs::new(&buf[..n]).next().unwrap()).key_str(),
            None
        );
    }
}
