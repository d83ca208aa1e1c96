//! `struct carpreq` as bytes, and `SIOCSVH`/`SIOCGVH` on the engine.
//!
//! Two layouts exist and the ioctl numbers cannot tell them apart (they
//! encode `sizeof(struct ifreq)`):
//!
//! ```text
//! 10.0+ (40 bytes)                     FreeBSD <= 9 (36 bytes)
//!  0  int count                          0  int state
//!  4  int vhid                           4  int vhid
//!  8  int state                          8  int advskew
//! 12  int advskew                       12  int advbase
//! 16  int advbase                       16  u_char key[20]
//! 20  u_char key[20]
//! ```
//!
//! The ints are in the kernel's native byte order (little-endian on amd64
//! and arm64, the targets we build for); the shim copies the user's bytes in
//! and out unchanged.

use crate::auth::KEY_LEN;
use crate::engine::{Engine, Instant, Version};

use super::{check_multicast, check_supported, Errno, IfInfo, SetOutcome, SetRequest, VhidInfo};

/// `sizeof(struct carpreq)`, 10.0 and later.
pub const CARPREQ_LEN: usize = 40;
/// `sizeof(struct carpreq)`, FreeBSD 9 and earlier.
pub const CARPREQ_LEGACY_LEN: usize = 36;

/// The fields of either layout; `count` is 0 for the legacy one.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CarpReq {
    pub count: i32,
    pub vhid: i32,
    pub state: i32,
    pub advskew: i32,
    pub advbase: i32,
    pub key: [u8; KEY_LEN],
}

mod field {
    use core::ops::Range;
    pub const COUNT: Range<usize> = 0..4;
    pub const VHID: Range<usize> = 4..8;
    pub const STATE: Range<usize> = 8..12;
    pub const ADVSKEW: Range<usize> = 12..16;
    pub const ADVBASE: Range<usize> = 16..20;
    pub const KEY: Range<usize> = 20..40;

    pub mod legacy {
        use core::ops::Range;
        pub const STATE: Range<usize> = 0..4;
        pub const VHID: Range<usize> = 4..8;
        pub const ADVSKEW: Range<usize> = 8..12;
        pub const ADVBASE: Range<usize> = 12..16;
        pub const KEY: Range<usize> = 16..36;
    }
}

fn get_int(b: &[u8], r: core::ops::Range<usize>) -> Result<i32, Errno> {
    let raw: [u8; 4] = b
        .get(r)
        .and_then(|s| s.try_into().ok())
        .ok_or(Errno::EFAULT)?;
    Ok(i32::from_ne_bytes(raw))
}

fn get_key(b: &[u8], r: core::ops::Range<usize>) -> Result<[u8; KEY_LEN], Errno> {
    b.get(r)
        .and_then(|s| s.try_into().ok())
        .ok_or(Errno::EFAULT)
}

fn put(b: &mut [u8], r: core::ops::Range<usize>, v: &[u8]) -> Result<(), Errno> {
    let dst = b.get_mut(r).ok_or(Errno::EFAULT)?;
    if dst.len() != v.len() {
        return Err(Errno::EFAULT);
    }
    dst.copy_from_slice(v);
    Ok(())
}

impl CarpReq {
    /// Reads the 40-byte layout; a short buffer is what a failed `copyin`
    /// would give (EFAULT). Extra bytes are ignored.
    pub fn parse(b: &[u8]) -> Result<CarpReq, Errno> {
        Ok(CarpReq {
            count: get_int(b, field::COUNT)?,
            vhid: get_int(b, field::VHID)?,
            state: get_int(b, field::STATE)?,
            advskew: get_int(b, field::ADVSKEW)?,
            advbase: get_int(b, field::ADVBASE)?,
            key: get_key(b, field::KEY)?,
        })
    }

    /// Reads the 36-byte FreeBSD 9 layout.
    pub fn parse_legacy(b: &[u8]) -> Result<CarpReq, Errno> {
        use field::legacy as f;
        Ok(CarpReq {
            count: 0,
            vhid: get_int(b, f::VHID)?,
            state: get_int(b, f::STATE)?,
            advskew: get_int(b, f::ADVSKEW)?,
            advbase: get_int(b, f::ADVBASE)?,
            key: get_key(b, f::KEY)?,
        })
    }

    /// Writes the 40-byte layout into `b[..40]`.
    pub fn emit(&self, b: &mut [u8]) -> Result<(), Errno> {
        put(b, field::COUNT, &self.count.to_ne_bytes())?;
        put(b, field::VHID, &self.vhid.to_ne_bytes())?;
        put(b, field::STATE, &self.state.to_ne_bytes())?;
        put(b, field::ADVSKEW, &self.advskew.to_ne_bytes())?;
        put(b, field::ADVBASE, &self.advbase.to_ne_bytes())?;
        put(b, field::KEY, &self.key)
    }

    /// Writes the 36-byte layout into `b[..36]`.
    pub fn emit_legacy(&self, b: &mut [u8]) -> Result<(), Errno> {
        use field::legacy as f;
        put(b, f::STATE, &self.state.to_ne_bytes())?;
        put(b, f::VHID, &self.vhid.to_ne_bytes())?;
        put(b, f::ADVSKEW, &self.advskew.to_ne_bytes())?;
        put(b, f::ADVBASE, &self.advbase.to_ne_bytes())?;
        put(b, f::KEY, &self.key)
    }

    /// What `carp_carprcp` copies out for one vhid.
    pub fn from_info(i: &VhidInfo, count: u32) -> CarpReq {
        CarpReq {
            count: i32::try_from(count).unwrap_or(i32::MAX),
            vhid: i32::from(i.vhid),
            state: i.state as i32,
            advskew: i32::from(i.advskew),
            advbase: i32::from(i.advbase),
            key: i.key,
        }
    }

    /// The SET this request asks for. The ioctl always means CARP: VRRP and
    /// peers are netlink-only. A negative state can never match a state and
    /// is ignored like any other unknown one.
    pub fn to_set(&self) -> Result<SetRequest, Errno> {
        let state = u32::try_from(self.state).unwrap_or(u32::MAX);
        let mut req = SetRequest::from_ints(
            i64::from(self.vhid),
            Version::Carp,
            state,
            i64::from(self.advbase),
            i64::from(self.advskew),
        )?;
        req.key = self.key;
        Ok(req)
    }
}

/// `SIOCSVH`: `req` is the caller's `struct carpreq` (40 bytes), `ifp` the
/// ifnet `ifr_name` resolved to. Errors in FreeBSD's order: EFAULT (short
/// buffer), ENXIO/EOPNOTSUPP (interface), EADDRNOTAVAIL (not multicast),
/// EPERM (unprivileged), EINVAL (ranges, version), ENOMEM.
pub fn ioctl_set(
    engine: &mut Engine,
    now: Instant,
    ifp: Option<&IfInfo>,
    req: &[u8],
    privileged: bool,
) -> Result<SetOutcome, Errno> {
    let r = CarpReq::parse(req)?;
    let ifp = check_supported(ifp)?;
    check_multicast(ifp)?;
    if !privileged {
        return Err(Errno::EPERM);
    }
    let set = r.to_set()?;
    super::apply_set(engine, now, ifp.index, &set)
}

/// `SIOCGVH`: reads the caller's first `struct carpreq` from `req`, fills
/// `out` with one 40-byte entry per vhid returned, and gives the number of
/// bytes to copy out (`count * 40`, as the kernel does). The shim sizes
/// `out` for `min(count, 255)` entries; a smaller `out` gives ENOMEM.
pub fn ioctl_get(
    engine: &Engine,
    ifp: Option<&IfInfo>,
    req: &[u8],
    privileged: bool,
    out: &mut [u8],
) -> Result<usize, Errno> {
    let r = CarpReq::parse(req)?;
    let ifp = check_supported(ifp)?;
    check_multicast(ifp)?;
    let mut chunks = out.chunks_exact_mut(CARPREQ_LEN);
    let n = super::get(
        engine,
        ifp.index,
        i64::from(r.vhid),
        i64::from(r.count),
        privileged,
        |info, count| match chunks.next() {
            Some(dst) => CarpReq::from_info(info, count).emit(dst).is_ok(),
            None => false,
        },
    )?;
    (n as usize).checked_mul(CARPREQ_LEN).ok_or(Errno::ENOMEM)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ctl::tests::{at, running_engine, ETH0};
    use crate::ctl::{IFF_MULTICAST, IFT_CARP, IFT_ETHER};
    use crate::engine::{State, VhidConfig};
    use proptest::prelude::*;

    fn req(count: i32, vhid: i32, state: i32, advskew: i32, advbase: i32, key: &[u8]) -> [u8; 40] {
        let mut k = [0u8; 20];
        k[..key.len()].copy_from_slice(key);
        let mut b = [0u8; 40];
        CarpReq {
            count,
            vhid,
            state,
            advskew,
            advbase,
            key: k,
        }
        .emit(&mut b)
        .unwrap();
        b
    }

    const IFP: IfInfo = IfInfo {
        index: ETH0,
        if_type: IFT_ETHER,
        flags: IFF_MULTICAST | 1,
    };

    #[test]
    fn layout_matches_the_c_struct_offsets() {
        let b = req(3, 7, 2, 100, 5, b"secret");
        assert_eq!(&b[0..4], &3i32.to_ne_bytes());
        assert_eq!(&b[4..8], &7i32.to_ne_bytes());
        assert_eq!(&b[8..12], &2i32.to_ne_bytes());
        assert_eq!(&b[12..16], &100i32.to_ne_bytes());
        assert_eq!(&b[16..20], &5i32.to_ne_bytes());
        assert_eq!(&b[20..26], b"secret");
        assert_eq!(CarpReq::parse(&b).unwrap().advskew, 100);

        let mut l = [0u8; 36];
        let r = CarpReq::parse(&b).unwrap();
        r.emit_legacy(&mut l).unwrap();
        assert_eq!(&l[0..4], &2i32.to_ne_bytes(), "legacy starts with state");
        assert_eq!(&l[4..8], &7i32.to_ne_bytes());
        assert_eq!(&l[8..12], &100i32.to_ne_bytes());
        assert_eq!(&l[12..16], &5i32.to_ne_bytes());
        assert_eq!(&l[16..22], b"secret");
        let back = CarpReq::parse_legacy(&l).unwrap();
        assert_eq!(back, CarpReq { count: 0, ..r });
    }

    #[test]
    fn short_buffers_are_efault() {
        assert_eq!(CarpReq::parse(&[0; 39]), Err(Errno::EFAULT));
        assert_eq!(CarpReq::parse_legacy(&[0; 35]), Err(Errno::EFAULT));
        assert!(CarpReq::parse_legacy(&[0; 36]).is_ok());
        assert_eq!(CarpReq::default().emit(&mut [0; 39]), Err(Errno::EFAULT));
        assert_eq!(
            CarpReq::default().emit_legacy(&mut [0; 35]),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn first_set_creates_the_vhid_in_init() {
        let mut e = Engine::new();
        let out = ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 1, 0, 100, 0, b"x"), true).unwrap();
        assert!(out.created);
        let cfg = e.vhid_config(out.id).unwrap();
        assert_eq!((cfg.vhid, cfg.advbase, cfg.advskew), (1, 1, 100));
        assert_eq!(&cfg.key.as_bytes()[..2], b"x\0");
        assert_eq!(e.vhid_state(out.id), Some(State::Init));
        assert_eq!(e.poll_event(), None, "creating a vhid emits nothing");
        let again =
            ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 1, 0, 100, 0, b"x"), true).unwrap();
        assert!(!again.created);
        assert_eq!(again.id, out.id);
    }

    #[test]
    fn field_rules_advbase_keep_advskew_replace_key_sticky() {
        let mut e = Engine::new();
        let id = ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 9, 0, 50, 3, b"pw"), true)
            .unwrap()
            .id;
        // advbase 0 keeps 3; advskew 0 replaces 50; key[0] == 0 keeps "pw".
        ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 9, 0, 0, 0, b""), true).unwrap();
        let cfg = e.vhid_config(id).unwrap();
        assert_eq!((cfg.advbase, cfg.advskew), (3, 0));
        assert_eq!(&cfg.key.as_bytes()[..3], b"pw\0");
        // A key whose first byte is NUL cannot clear or change it.
        ioctl_set(
            &mut e,
            at(0),
            Some(&IFP),
            &req(1, 9, 0, 0, 0, b"\0zz"),
            true,
        )
        .unwrap();
        assert_eq!(&e.vhid_config(id).unwrap().key.as_bytes()[..3], b"pw\0");
        ioctl_set(
            &mut e,
            at(0),
            Some(&IFP),
            &req(1, 9, 0, 254, 255, b"new"),
            true,
        )
        .unwrap();
        let cfg = e.vhid_config(id).unwrap();
        assert_eq!((cfg.advbase, cfg.advskew), (255, 254));
        assert_eq!(&cfg.key.as_bytes()[..4], b"new\0");
    }

    #[test]
    fn invalid_requests_change_nothing() {
        let mut e = Engine::new();
        let id = ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 4, 0, 10, 2, b"k"), true)
            .unwrap()
            .id;
        let before = e.vhid_config(id).unwrap().clone();
        for (vhid, skew, base) in [
            (0, 0, 0),
            (256, 0, 0),
            (-1, 0, 0),
            (4, 255, 5),
            (4, -1, 5),
            (4, 20, 256),
            (4, 20, -1),
        ] {
            let r = ioctl_set(
                &mut e,
                at(0),
                Some(&IFP),
                &req(1, vhid, 0, skew, base, b"z"),
                true,
            );
            assert_eq!(r, Err(Errno::EINVAL), "vhid {vhid} skew {skew} base {base}");
        }
        assert_eq!(e.vhid_config(id).unwrap(), before);
        assert_eq!(e.vhids().count(), 1);
    }

    #[test]
    fn interface_and_privilege_errors_in_freebsd_order() {
        let mut e = Engine::new();
        let good = req(1, 1, 0, 0, 0, b"");
        let bad = req(1, 0, 0, 0, 0, b"");
        assert_eq!(
            ioctl_set(&mut e, at(0), None, &bad, false),
            Err(Errno::ENXIO)
        );
        let carp0 = IfInfo {
            if_type: IFT_CARP,
            ..IFP
        };
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&carp0), &good, true),
            Err(Errno::EOPNOTSUPP)
        );
        let nomcast = IfInfo { flags: 1, ..IFP };
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&nomcast), &bad, false),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&IFP), &bad, false),
            Err(Errno::EPERM)
        );
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&IFP), &bad, true),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&IFP), &good[..20], true),
            Err(Errno::EFAULT)
        );
        assert_eq!(e.vhids().count(), 0);
    }

    #[test]
    fn set_on_a_vrrp_vhid_is_einval() {
        let mut e = Engine::new();
        let mut cfg = VhidConfig::new(5);
        cfg.version = Version::Vrrp3;
        e.vhid_set(at(0), ETH0, &cfg).unwrap();
        assert_eq!(
            ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 5, 0, 0, 0, b""), true),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn state_request_forces_only_a_running_vhid() {
        let (mut e, id) = running_engine(State::Backup);
        // MASTER requested from BACKUP: becomes MASTER, user reason.
        let out = ioctl_set(&mut e, at(10), Some(&IFP), &req(1, 1, 2, 0, 0, b""), true).unwrap();
        assert_eq!(out.forced, Some(State::Master));
        assert_eq!(e.vhid_state(id), Some(State::Master));
        let ev = e.poll_event().unwrap();
        assert!(matches!(
            ev,
            crate::engine::Event::StateChanged {
                to: State::Master,
                reason: crate::engine::Reason::UserRequested,
                ..
            }
        ));
        // Unknown or INIT states are ignored.
        for s in [0, 3, -1, 77] {
            let out =
                ioctl_set(&mut e, at(10), Some(&IFP), &req(1, 1, s, 0, 0, b""), true).unwrap();
            assert_eq!(out.forced, None);
            assert_eq!(e.vhid_state(id), Some(State::Master));
        }
        let out = ioctl_set(&mut e, at(10), Some(&IFP), &req(1, 1, 1, 0, 0, b""), true).unwrap();
        assert_eq!(out.forced, Some(State::Backup));
        assert_eq!(e.vhid_state(id), Some(State::Backup));

        // A vhid without addresses stays INIT whatever is asked.
        let mut e = Engine::new();
        let id = ioctl_set(&mut e, at(0), Some(&IFP), &req(1, 1, 2, 0, 0, b""), true)
            .unwrap()
            .id;
        assert_eq!(e.vhid_state(id), Some(State::Init));
    }

    #[test]
    fn get_one_all_and_errors() {
        let mut e = Engine::new();
        let mut out = [0u8; 40 * 4];
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(1, 0, 0, 0, 0, b""), true, &mut out),
            Err(Errno::ENOENT),
            "no carp on the interface"
        );
        for (v, skew) in [(3, 30), (1, 10), (2, 20)] {
            ioctl_set(
                &mut e,
                at(0),
                Some(&IFP),
                &req(1, v, 0, skew, 0, b"key"),
                true,
            )
            .unwrap();
        }
        // One vhid.
        let n = ioctl_get(&e, Some(&IFP), &req(1, 2, 0, 0, 0, b""), true, &mut out).unwrap();
        assert_eq!(n, 40);
        let r = CarpReq::parse(&out).unwrap();
        assert_eq!(
            (r.count, r.vhid, r.advskew, r.advbase, r.state),
            (1, 2, 20, 1, 0)
        );
        assert_eq!(&r.key[..4], b"key\0");
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(1, 9, 0, 0, 0, b""), true, &mut out),
            Err(Errno::ENOENT)
        );
        // All of them, each with count = 3.
        out.fill(0xee);
        let n = ioctl_get(&e, Some(&IFP), &req(4, 0, 0, 0, 0, b""), false, &mut out).unwrap();
        assert_eq!(n, 120);
        for (i, c) in out[..120].chunks(40).enumerate() {
            let r = CarpReq::parse(c).unwrap();
            assert_eq!(r.count, 3);
            assert_eq!(r.vhid, i as i32 + 1);
            assert_eq!(r.advskew, (i as i32 + 1) * 10);
            assert_eq!(r.key, [0; 20], "key hidden from the unprivileged");
        }
        assert_eq!(out[120], 0xee, "nothing written past the entries");
        // Count too small, zero, or vhid out of range.
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(2, 0, 0, 0, 0, b""), true, &mut out),
            Err(Errno::EMSGSIZE)
        );
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(0, 1, 0, 0, 0, b""), true, &mut out),
            Err(Errno::EMSGSIZE)
        );
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(1, 256, 0, 0, 0, b""), true, &mut out),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            ioctl_get(&e, Some(&IFP), &req(1, -1, 0, 0, 0, b""), true, &mut out),
            Err(Errno::EINVAL)
        );
        // An output buffer too small for the entries.
        assert_eq!(
            ioctl_get(
                &e,
                Some(&IFP),
                &req(3, 0, 0, 0, 0, b""),
                true,
                &mut out[..80]
            ),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn get_of_vrrp_vhid_zeroes_carp_fields() {
        let mut e = Engine::new();
        let mut cfg = VhidConfig::new(5);
        cfg.version = Version::Vrrp3;
        e.vhid_set(at(0), ETH0, &cfg).unwrap();
        let mut out = [0xffu8; 40];
        ioctl_get(&e, Some(&IFP), &req(1, 5, 0, 0, 0, b""), true, &mut out).unwrap();
        let r = CarpReq::parse(&out).unwrap();
        assert_eq!((r.vhid, r.advbase, r.advskew, r.key), (5, 0, 0, [0; 20]));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = CarpReq::parse(&bytes);
            let _ = CarpReq::parse_legacy(&bytes);
            let mut e = Engine::new();
            let _ = ioctl_set(&mut e, at(0), Some(&IFP), &bytes, true);
            let mut out = [0u8; 80];
            let _ = ioctl_get(&e, Some(&IFP), &bytes, true, &mut out);
        }

        #[test]
        fn emit_parse_roundtrip(count: i32, vhid: i32, state: i32, skew: i32, base: i32, key: [u8; 20]) {
            let r = CarpReq { count, vhid, state, advskew: skew, advbase: base, key };
            let mut b = [0u8; 40];
            r.emit(&mut b).unwrap();
            prop_assert_eq!(CarpReq::parse(&b).unwrap(), r);
            let mut l = [0u8; 36];
            r.emit_legacy(&mut l).unwrap();
            prop_assert_eq!(CarpReq::parse_legacy(&l).unwrap(), CarpReq { count: 0, ..r });
        }
    }
}
