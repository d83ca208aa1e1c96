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
pub const CARP_NL_IFNAME: u16 = 9;

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
            _ => {}
        }
    }
    v
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
                advskew: 100
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
}
