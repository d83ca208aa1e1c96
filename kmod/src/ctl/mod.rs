//! Control plane: the decisions carp(4) takes when userland talks to it, as
//! plain Rust over the [`Engine`], so the C shim only translates and copies.
//!
//! * [`carpreq`]: `SIOCSVH`/`SIOCGVH` with `struct carpreq` (10.0+ and the
//!   FreeBSD 9 layout) as byte views.
//! * [`netlink`]: the generic-netlink family `carp` (attribute parser and
//!   writer, SET and GET).
//! * [`sysctl`]: `net.inet.carp.*` handlers.
//! * [`log`]: FreeBSD's log, devd and ifconfig text into a caller's buffer.
//! * [`legacy`]: the FreeBSD 9 `carpN` front-end.
//!
//! Both configuration paths funnel into [`SetRequest`] and [`apply_set`], so
//! ioctl and netlink cannot drift apart; both read paths produce
//! [`VhidInfo`]. Nothing here allocates except through the engine's own
//! fallible configuration calls.

pub mod carpreq;
pub mod legacy;
pub mod log;
pub mod netlink;
pub mod status;
pub mod sysctl;

#[cfg(test)]
mod tests;

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::auth::{Key, KEY_LEN};
use crate::engine::{
    ConfigError, Engine, IfIndex, Instant, State, Version, VhidConfig, VhidId, VRRP_MAX_INTERVAL,
};

/// A FreeBSD errno value, as the kernel returns it to userland.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ENXIO: Errno = Errno(6);
    pub const ENOMEM: Errno = Errno(12);
    pub const EFAULT: Errno = Errno(14);
    pub const EEXIST: Errno = Errno(17);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOSPC: Errno = Errno(28);
    pub const EMSGSIZE: Errno = Errno(40);
    pub const EOPNOTSUPP: Errno = Errno(45);
    pub const EAFNOSUPPORT: Errno = Errno(47);
    pub const EADDRNOTAVAIL: Errno = Errno(49);
    pub const ENOBUFS: Errno = Errno(55);

    pub const fn get(self) -> i32 {
        self.0
    }
}

impl From<ConfigError> for Errno {
    fn from(e: ConfigError) -> Errno {
        Errno(e.errno())
    }
}

/// `CARP_MAXVHID`.
pub const MAX_VHID: u8 = 255;
/// `CARP_MAXSTATE`.
pub const MAX_STATE: u32 = 2;

/// `net/if_types.h` values the control plane cares about.
pub const IFT_ETHER: u8 = 0x06;
pub const IFT_L2VLAN: u8 = 0x87;
pub const IFT_BRIDGE: u8 = 0xd1;
/// Only the legacy `carpN` clones have this type.
pub const IFT_CARP: u8 = 0xfa;

/// `net/if.h` flags.
pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_MULTICAST: u32 = 0x8000;

/// `INADDR_CARP_GROUP` and its IPv6 twin: what "no unicast peer" reads as.
pub const CARP_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const CARP_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// What the shim knows of the ifnet a request names; `None` where the
/// kernel's lookup (`ifunit_ref`/`ifnet_byindex_ref`) found nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IfInfo {
    pub index: IfIndex,
    pub if_type: u8,
    pub flags: u32,
}

/// `carp_is_supported_if`: only Ethernet-like parents can carry a vhid,
/// because `carp_output` has to rewrite an Ethernet source address.
pub fn check_supported(ifp: Option<&IfInfo>) -> Result<&IfInfo, Errno> {
    let ifp = ifp.ok_or(Errno::ENXIO)?;
    match ifp.if_type {
        IFT_ETHER | IFT_L2VLAN | IFT_BRIDGE => Ok(ifp),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// Adverts go to a multicast group, so SET refuses a parent that cannot
/// join one.
pub fn check_multicast(ifp: &IfInfo) -> Result<(), Errno> {
    if ifp.flags & IFF_MULTICAST == 0 {
        return Err(Errno::EADDRNOTAVAIL);
    }
    Ok(())
}

/// A SET that passed its front-end's checks (`struct carpkreq` in the
/// kernel). Zero fields mean "keep" where FreeBSD says so: advbase, the
/// peers, the VRRP priority and interval, and a key whose first byte is 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SetRequest {
    pub vhid: u8,
    pub version: Version,
    /// Raw requested state: only BACKUP (1) and MASTER (2) ever act.
    pub state: u32,
    pub advbase: u8,
    /// Always replaces the old value (there is no "keep").
    pub advskew: u8,
    pub key: [u8; KEY_LEN],
    pub peer4: [u8; 4],
    pub peer6: [u8; 16],
    pub vrrp_priority: u8,
    pub vrrp_interval: u16,
}

impl SetRequest {
    /// A CARP request with everything else left as "keep"/default.
    pub fn carp(vhid: u8) -> SetRequest {
        SetRequest {
            vhid,
            version: Version::Carp,
            state: 0,
            advbase: 0,
            advskew: 0,
            key: [0; KEY_LEN],
            peer4: [0; 4],
            peer6: [0; 16],
            vrrp_priority: 0,
            vrrp_interval: 0,
        }
    }

    /// `carp_ioctl_set`'s own range checks on the C integers, done before
    /// anything is looked up or created.
    pub fn from_ints(
        vhid: i64,
        version: Version,
        state: u32,
        advbase: i64,
        advskew: i64,
    ) -> Result<SetRequest, Errno> {
        let vhid = u8::try_from(vhid)
            .ok()
            .filter(|v| *v != 0)
            .ok_or(Errno::EINVAL)?;
        let mut req = SetRequest::carp(vhid);
        req.version = version;
        req.state = state;
        if version == Version::Carp {
            // advbase 0 keeps the old value; 1..=255 replaces it.
            req.advbase = u8::try_from(advbase).map_err(|_| Errno::EINVAL)?;
            req.advskew = u8::try_from(advskew)
                .ok()
                .filter(|s| *s != 255)
                .ok_or(Errno::EINVAL)?;
        }
        Ok(req)
    }
}

/// What [`apply_set`] did, so the shim knows which side effects to run
/// (a new vhid means: allocate `if_carp`, go promiscuous).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SetOutcome {
    pub id: VhidId,
    pub created: bool,
    /// The state the user forced, if the request changed it.
    pub forced: Option<State>,
}

fn peer4_of(raw: [u8; 4]) -> Option<Ipv4Addr> {
    let a = Ipv4Addr::from(raw);
    (a != CARP_GROUP4).then_some(a)
}

fn peer6_of(raw: [u8; 16]) -> Option<Ipv6Addr> {
    let a = Ipv6Addr::from(raw);
    (a != CARP_GROUP6).then_some(a)
}

/// The configuration `req` makes of `base` (FreeBSD's field-by-field
/// overlay in `carp_ioctl_set`). The caller has checked the version.
pub fn merge(base: &VhidConfig, req: &SetRequest) -> Result<VhidConfig, Errno> {
    let mut cfg = base.clone();
    match base.version {
        Version::Carp => {
            if req.advbase != 0 {
                cfg.advbase = req.advbase;
            }
            cfg.advskew = req.advskew;
            // Storing the group address as "no peer" keeps GET and a
            // repeated SET of GET's output identical.
            if req.peer4 != [0; 4] {
                cfg.peer4 = peer4_of(req.peer4);
            }
            if req.peer6 != [0; 16] {
                cfg.peer6 = peer6_of(req.peer6);
            }
            // A key cannot be cleared: a leading NUL means "keep".
            if req.key.first().is_some_and(|b| *b != 0) {
                cfg.key = Key::new(&req.key).map_err(|_| Errno::EINVAL)?;
            }
        }
        Version::Vrrp3 => {
            if req.vrrp_priority != 0 {
                cfg.vrrp_priority = req.vrrp_priority;
            }
            if req.vrrp_interval != 0 {
                if req.vrrp_interval > VRRP_MAX_INTERVAL {
                    return Err(Errno::EINVAL);
                }
                cfg.vrrp_interval = req.vrrp_interval;
            }
        }
    }
    Ok(cfg)
}

/// The default configuration of a vhid created by a SET of `version`.
pub fn new_config(vhid: u8, version: Version) -> VhidConfig {
    let mut cfg = VhidConfig::new(vhid);
    cfg.version = version;
    cfg
}

/// `carp_ioctl_set` on the engine: creates the vhid on first SET, overlays
/// the request, then applies a forced state (spec §3.5). Every check runs
/// before the engine is touched, so a refused request changes nothing.
/// Applying the same request twice is the same as applying it once.
pub fn apply_set(
    engine: &mut Engine,
    now: Instant,
    iface: IfIndex,
    req: &SetRequest,
) -> Result<SetOutcome, Errno> {
    if req.vhid == 0 {
        return Err(Errno::EINVAL);
    }
    let existing = engine.vhid_lookup(iface, req.vhid);
    let base = match existing.and_then(|id| engine.vhid_config(id)) {
        Some(cfg) => cfg.clone(),
        None => new_config(req.vhid, req.version),
    };
    if base.version != req.version {
        return Err(Errno::EINVAL);
    }
    let cfg = merge(&base, req)?;
    cfg.validate()?;
    let (id, created) = match existing {
        Some(id) if cfg == base => (id, false),
        Some(_) => (engine.vhid_set(now, iface, &cfg)?, false),
        None => (engine.vhid_set(now, iface, &cfg)?, true),
    };
    let forced = force_state(engine, now, id, req.state)?;
    Ok(SetOutcome {
        id,
        created,
        forced,
    })
}

/// The state part of SET: only a running vhid, only a different state, and
/// only BACKUP or MASTER; anything else is silently ignored, as in FreeBSD.
fn force_state(
    engine: &mut Engine,
    now: Instant,
    id: VhidId,
    want: u32,
) -> Result<Option<State>, Errno> {
    let cur = engine.vhid_state(id).ok_or(Errno::ENOENT)?;
    if cur == State::Init || want == cur as u32 {
        return Ok(None);
    }
    let target = match State::from_u32(want) {
        Some(s @ (State::Backup | State::Master)) => s,
        _ => return Ok(None),
    };
    engine.vhid_force_state(now, id, target)?;
    Ok(Some(target))
}

/// One vhid as GET reports it. CARP fields are zero for a VRRP vhid and
/// the key is zero unless the reader is privileged (`PRIV_NETINET_CARP`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VhidInfo {
    pub vhid: u8,
    pub state: State,
    pub version: Version,
    pub advbase: u8,
    pub advskew: u8,
    pub key: [u8; KEY_LEN],
    /// Whether `key` holds the real key (and netlink sends KEY).
    pub key_visible: bool,
    pub peer4: Ipv4Addr,
    pub peer6: Ipv6Addr,
    pub vrrp_priority: u8,
    pub vrrp_interval: u16,
}

impl VhidInfo {
    /// The GET view of a configuration in `state`.
    pub fn from_config(cfg: &VhidConfig, state: State, privileged: bool) -> VhidInfo {
        let carp = cfg.version == Version::Carp;
        VhidInfo {
            vhid: cfg.vhid,
            state,
            version: cfg.version,
            advbase: if carp { cfg.advbase } else { 0 },
            advskew: if carp { cfg.advskew } else { 0 },
            key: if carp && privileged {
                *cfg.key.as_bytes()
            } else {
                [0; KEY_LEN]
            },
            key_visible: carp && privileged,
            peer4: cfg.peer4.unwrap_or(CARP_GROUP4),
            peer6: cfg.peer6.unwrap_or(CARP_GROUP6),
            vrrp_priority: cfg.vrrp_priority,
            vrrp_interval: cfg.vrrp_interval,
        }
    }
}

/// The GET view of a live vhid.
pub fn info(engine: &Engine, id: VhidId, privileged: bool) -> Option<VhidInfo> {
    let cfg = engine.vhid_config(id)?;
    let state = engine.vhid_state(id)?;
    Some(VhidInfo::from_config(&cfg, state, privileged))
}

/// The vhids of `iface` in ascending vhid order. (FreeBSD lists them in
/// creation order; the engine does not keep that, and sorted output is what
/// FreeBSD 9 printed.)
pub fn vhids_on(engine: &Engine, iface: IfIndex) -> impl Iterator<Item = VhidId> + '_ {
    (1..=MAX_VHID).filter_map(move |v| engine.vhid_lookup(iface, v))
}

/// `carp_ioctl_get`: `vhid` 0 means all, each entry then carrying the
/// number returned; `count` is how many entries the caller has room for.
/// `out` receives each entry and that number, and returns false when it
/// cannot take it (ENOMEM, as the kernel's output callback). Returns the
/// number of entries produced.
pub fn get(
    engine: &Engine,
    iface: IfIndex,
    vhid: i64,
    count: i64,
    privileged: bool,
    mut out: impl FnMut(&VhidInfo, u32) -> bool,
) -> Result<u32, Errno> {
    if !(0..=i64::from(MAX_VHID)).contains(&vhid) {
        return Err(Errno::EINVAL);
    }
    if count < 1 {
        return Err(Errno::EMSGSIZE);
    }
    if vhids_on(engine, iface).next().is_none() {
        return Err(Errno::ENOENT);
    }
    if let Ok(v @ 1..=255) = u8::try_from(vhid) {
        let id = engine.vhid_lookup(iface, v).ok_or(Errno::ENOENT)?;
        let i = info(engine, id, privileged).ok_or(Errno::ENOENT)?;
        return if out(&i, 1) {
            Ok(1)
        } else {
            Err(Errno::ENOMEM)
        };
    }
    let n = vhids_on(engine, iface).count() as u32;
    if i64::from(n) > count {
        return Err(Errno::EMSGSIZE);
    }
    for id in vhids_on(engine, iface) {
        let i = info(engine, id, privileged).ok_or(Errno::ENOENT)?;
        if !out(&i, n) {
            return Err(Errno::ENOMEM);
        }
    }
    Ok(n)
}
