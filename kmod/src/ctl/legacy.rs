//! The FreeBSD <= 9 `carpN` front-end (spec §8): one vhid per cloned
//! interface, configured before or after its address, bound to the parent
//! the legacy subnet rule picks, with its link state following the vhid.
//!
//! A [`CarpN`] holds the pending configuration and the addresses; once it
//! has a vhid, an address and is up, it owns a live engine vhid on its
//! parent, fed by the same state machine as the per-address model. The
//! shim does the ifnet work the returned outcomes call for (multicast
//! joins, promiscuous mode, published ARP entries, link-state changes).

use alloc::vec::Vec;
use core::net::IpAddr;

use crate::engine::{Engine, Event, IfIndex, Instant, State, VhidConfig, VhidId};

use super::carpreq::{CarpReq, CARPREQ_LEGACY_LEN};
use super::log::LineBuf;
use super::{apply_set, info, merge, new_config, Errno, SetRequest, VhidInfo, IFF_MULTICAST};
use super::{IFT_CARP, MAX_VHID};

/// `if_link_state` values (`net/if.h`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(i32)]
pub enum LinkState {
    #[default]
    Unknown = 0,
    Down = 1,
    Up = 2,
}

impl LinkState {
    /// The type of the `IFNET` devd event `if_link_state_change` sends:
    /// anything but UP is reported as LINK_DOWN.
    pub const fn devd_type(self) -> &'static str {
        match self {
            LinkState::Up => "LINK_UP",
            LinkState::Down | LinkState::Unknown => "LINK_DOWN",
        }
    }
}

/// FreeBSD 9's `carp_set_state`: MASTER = UP, BACKUP = DOWN, INIT = UNKNOWN.
pub const fn link_state(state: State) -> LinkState {
    match state {
        State::Master => LinkState::Up,
        State::Backup => LinkState::Down,
        State::Init => LinkState::Unknown,
    }
}

/// The devctl line of a carpN link change:
/// `!system=IFNET subsystem=carp0 type=LINK_UP`.
pub fn devd_ifnet(buf: &mut [u8], ifname: &[u8], link: LinkState) -> usize {
    let mut w = LineBuf::new(buf);
    w.bytes(b"!system=IFNET subsystem=");
    w.bytes(ifname);
    w.bytes(b" type=");
    w.bytes(link.devd_type().as_bytes());
    w.needed()
}

/// One configured address of the system, as the shim lists them for the
/// parent search (`V_in_ifaddrhead` / `V_in6_ifaddrhead` order).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Candidate {
    pub ifindex: IfIndex,
    pub if_type: u8,
    pub flags: u32,
    pub addr: IpAddr,
    pub prefixlen: u8,
}

/// The parent the subnet rule chose; `own` when the VIP is also a real
/// address there (FreeBSD 9 then forces advskew 0: that host is the owner).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Parent {
    pub ifindex: IfIndex,
    pub own: bool,
}

fn same_prefix(a: &[u8], b: &[u8], prefixlen: u8) -> bool {
    let bits = usize::from(prefixlen);
    let full = bits / 8;
    let rest = bits % 8;
    let (Some(ah), Some(bh)) = (a.get(..full), b.get(..full)) else {
        return false;
    };
    if ah != bh {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

fn in_subnet(c: &Candidate, vip: IpAddr) -> bool {
    match (c.addr, vip) {
        (IpAddr::V4(a), IpAddr::V4(v)) => {
            c.prefixlen <= 32 && same_prefix(&a.octets(), &v.octets(), c.prefixlen)
        }
        (IpAddr::V6(a), IpAddr::V6(v)) => {
            c.prefixlen <= 128 && same_prefix(&a.octets(), &v.octets(), c.prefixlen)
        }
        _ => false,
    }
}

/// The prefix length of a netmask: its leading one bits (a non-contiguous
/// mask counts up to its first zero, as `in_mask2len` does).
pub fn mask_len(mask: &[u8]) -> u8 {
    let mut n = 0u8;
    for b in mask {
        let ones = b.leading_ones() as u8;
        n = n.saturating_add(ones);
        if ones < 8 {
            break;
        }
    }
    n
}

/// Whether an address put on a carpN is a VIP. Not the loopback net, nor
/// the IPv6 link-local and `::1` the stack gives every loopback-like
/// interface (`in6_ifattach`): those stay carpN's own addresses.
pub fn is_vip(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_loopback() && !a.is_unspecified(),
        IpAddr::V6(a) => !a.is_loopback() && !a.is_unicast_link_local() && !a.is_unspecified(),
    }
}

/// `carp_set_addr`'s search: the first multicast-capable interface other
/// than the carpN itself (and other than any carp clone) holding an address
/// of the VIP's family whose prefix contains the VIP. None: EADDRNOTAVAIL.
pub fn select_parent(
    self_index: IfIndex,
    vip: IpAddr,
    cands: &[Candidate],
) -> Result<Parent, Errno> {
    let eligible = |c: &&Candidate| {
        c.ifindex != self_index
            && c.if_type != IFT_CARP
            && c.flags & IFF_MULTICAST != 0
            && in_subnet(c, vip)
    };
    let first = cands.iter().find(eligible).ok_or(Errno::EADDRNOTAVAIL)?;
    let own = cands.iter().filter(eligible).any(|c| c.addr == vip);
    Ok(Parent {
        ifindex: first.ifindex,
        own,
    })
}

/// What a configuration step did, for the shim's side effects.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Outcome {
    /// The live engine vhid, if the carpN is bound.
    pub id: Option<VhidId>,
    /// A vhid was created on `parent` (allocate `if_carp`, promiscuous,
    /// join the groups, point the carpN's lladdr at the virtual MAC).
    pub created: bool,
    /// The previous engine vhid was destroyed (bow-out sent if it was
    /// MASTER); undo its side effects.
    pub destroyed: Option<VhidId>,
    pub forced: Option<State>,
    pub parent: Option<IfIndex>,
}

/// One `carpN` clone.
#[derive(Debug)]
pub struct CarpN {
    ifindex: IfIndex,
    /// Pending (or mirrored live) configuration; vhid 0 until one is set.
    cfg: VhidConfig,
    parent: Option<IfIndex>,
    id: Option<VhidId>,
    up: bool,
    link: LinkState,
    addrs: Vec<IpAddr>,
}

impl CarpN {
    /// `ifconfig carpN create`: no vhid, no address, down.
    pub fn new(ifindex: IfIndex) -> CarpN {
        CarpN {
            ifindex,
            cfg: VhidConfig::new(0),
            parent: None,
            id: None,
            up: false,
            link: LinkState::Unknown,
            addrs: Vec::new(),
        }
    }

    pub fn ifindex(&self) -> IfIndex {
        self.ifindex
    }
    pub fn vhid(&self) -> Option<u8> {
        (self.cfg.vhid != 0).then_some(self.cfg.vhid)
    }
    pub fn config(&self) -> &VhidConfig {
        &self.cfg
    }
    pub fn parent(&self) -> Option<IfIndex> {
        self.parent
    }
    pub fn id(&self) -> Option<VhidId> {
        self.id
    }
    pub fn is_up(&self) -> bool {
        self.up
    }
    pub fn link(&self) -> LinkState {
        self.link
    }
    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    /// Whether engine events for (`iface`, `vhid`) belong to this clone.
    pub fn owns(&self, iface: IfIndex, vhid: u8) -> bool {
        self.id.is_some() && self.parent == Some(iface) && self.cfg.vhid == vhid
    }

    fn refresh(&mut self, engine: &Engine) {
        if let Some(cfg) = self.id.and_then(|id| engine.vhid_config(id)) {
            self.cfg = cfg.clone();
        }
    }

    /// Creates the engine vhid once vhid, parent, address and IFF_UP are all
    /// there, and attaches every address.
    fn try_bind(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<(), Errno> {
        let (Some(parent), None, true, false, true) = (
            self.parent,
            self.id,
            self.up,
            self.addrs.is_empty(),
            self.cfg.vhid != 0,
        ) else {
            return Ok(());
        };
        if engine.vhid_lookup(parent, self.cfg.vhid).is_some() {
            return Err(if self.addrs.iter().all(IpAddr::is_ipv6) {
                Errno::EINVAL
            } else {
                Errno::EEXIST
            });
        }
        let id = engine.vhid_set(now, parent, &self.cfg)?;
        for a in &self.addrs {
            if let Err(e) = engine.addr_add(now, id, *a) {
                let _ = engine.vhid_remove(now, id);
                return Err(e.into());
            }
        }
        self.id = Some(id);
        out.id = Some(id);
        out.created = true;
        out.parent = Some(parent);
        Ok(())
    }

    fn unbind(&mut self, engine: &mut Engine, now: Instant, out: &mut Outcome) {
        if let Some(id) = self.id.take() {
            self.refresh_from(engine, id);
            let _ = engine.vhid_remove(now, id);
            out.destroyed = Some(id);
        }
    }

    fn refresh_from(&mut self, engine: &Engine, id: VhidId) {
        if let Some(cfg) = engine.vhid_config(id) {
            self.cfg = cfg.clone();
        }
    }

    /// SET addressed to the carpN (netlink IFNAME=carpN, or SIOCSVH on it),
    /// with the modern all-or-nothing checks. Unbound: updates the pending
    /// configuration (a new vhid keeps advbase and key, as the carpN owns
    /// them). Bound, same vhid: the engine vhid is updated as in the
    /// per-address model. Bound, new vhid: EEXIST if the parent already has
    /// it, else the vhid is recreated under its new number with the
    /// carpN's addresses.
    pub fn set(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        req: &SetRequest,
    ) -> Result<Outcome, Errno> {
        let mut out = Outcome {
            id: self.id,
            parent: self.parent,
            ..Outcome::default()
        };
        if req.vhid == 0 {
            return Err(Errno::EINVAL);
        }
        if let (Some(id), Some(parent)) = (self.id, self.parent) {
            if req.vhid == self.cfg.vhid {
                let r = apply_set(engine, now, parent, req)?;
                out.forced = r.forced;
                self.refresh(engine);
                return Ok(out);
            }
            if engine.vhid_lookup(parent, req.vhid).is_some() {
                return Err(Errno::EEXIST);
            }
            let cfg = self.next_config(req)?;
            self.refresh_from(engine, id);
            self.unbind(engine, now, &mut out);
            self.cfg = cfg;
            out.id = None;
            self.try_bind(engine, now, &mut out)?;
            return Ok(out);
        }
        self.cfg = self.next_config(req)?;
        self.try_bind(engine, now, &mut out)?;
        Ok(out)
    }

    fn next_config(&self, req: &SetRequest) -> Result<VhidConfig, Errno> {
        let mut base = self.cfg.clone();
        if base.version != req.version {
            base = new_config(req.vhid, req.version);
        }
        base.vhid = req.vhid;
        let cfg = merge(&base, req)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// GET addressed to the carpN: its one vhid, if it has one and `vhid`
    /// is 0 or that vhid. An unbound vhid reads as INIT.
    pub fn get(&self, engine: &Engine, vhid: i64, privileged: bool) -> Result<VhidInfo, Errno> {
        if !(0..=i64::from(MAX_VHID)).contains(&vhid) {
            return Err(Errno::EINVAL);
        }
        if self.cfg.vhid == 0 || (vhid != 0 && vhid != i64::from(self.cfg.vhid)) {
            return Err(Errno::ENOENT);
        }
        match self.id {
            Some(id) => info(engine, id, privileged).ok_or(Errno::ENOENT),
            None => Ok(VhidInfo::from_config(&self.cfg, State::Init, privileged)),
        }
    }

    /// FreeBSD 9's SIOCGVH on carpN: the 36-byte layout.
    pub fn ioctl_get_legacy(
        &self,
        engine: &Engine,
        privileged: bool,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let r = match self.get(engine, 0, privileged) {
            Ok(i) => CarpReq::from_info(&i, 0),
            // An unconfigured carpN reads as all zeros, not an error.
            Err(_) => CarpReq::default(),
        };
        r.emit_legacy(out)?;
        Ok(CARPREQ_LEGACY_LEN)
    }

    /// FreeBSD 9's SIOCSVH on carpN (36-byte layout), mapped onto [`Self::set`]:
    /// vhid <= 0 keeps the current vhid; advbase and advskew apply only if
    /// either is non-zero.
    pub fn ioctl_set_legacy(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        bytes: &[u8],
        privileged: bool,
    ) -> Result<Outcome, Errno> {
        if !privileged {
            return Err(Errno::EPERM);
        }
        let r = CarpReq::parse_legacy(bytes)?;
        let vhid = if r.vhid > 0 {
            u8::try_from(r.vhid).map_err(|_| Errno::EINVAL)?
        } else {
            self.vhid().ok_or(Errno::EINVAL)?
        };
        let mut req = SetRequest::carp(vhid);
        req.version = self.cfg.version;
        req.state = u32::try_from(r.state).unwrap_or(u32::MAX);
        req.key = r.key;
        if r.advbase > 0 || r.advskew > 0 {
            if r.advskew >= 255 || r.advbase > 255 {
                return Err(Errno::EINVAL);
            }
            req.advbase = u8::try_from(r.advbase.max(0)).map_err(|_| Errno::EINVAL)?;
            req.advskew = u8::try_from(r.advskew.max(0)).map_err(|_| Errno::EINVAL)?;
        } else {
            req.advskew = self.cfg.advskew;
        }
        self.set(engine, now, &req)
    }

    /// An address is added to the carpN (SIOCAIFADDR / SIOCSIFADDR on it,
    /// or the attach hook with `ifa_ifp == carpN`). Picks the parent by the
    /// subnet rule (EADDRNOTAVAIL if none, or if it differs from the parent
    /// already bound), refuses a vhid the parent already has (EEXIST; IPv6
    /// EINVAL), marks the carpN up, forces advskew 0 when the VIP is the
    /// parent's own address, and binds once a vhid is known.
    pub fn add_addr(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        vip: IpAddr,
        cands: &[Candidate],
    ) -> Result<Outcome, Errno> {
        let mut out = Outcome {
            id: self.id,
            parent: self.parent,
            ..Outcome::default()
        };
        if vip.is_unspecified() || self.addrs.contains(&vip) {
            return Ok(out);
        }
        let p = select_parent(self.ifindex, vip, cands)?;
        if self.parent.is_some_and(|cur| cur != p.ifindex) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if self.id.is_none()
            && self.cfg.vhid != 0
            && engine.vhid_lookup(p.ifindex, self.cfg.vhid).is_some()
        {
            return Err(if vip.is_ipv6() {
                Errno::EINVAL
            } else {
                Errno::EEXIST
            });
        }
        self.addrs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        if let Some(id) = self.id {
            engine.addr_add(now, id, vip)?;
        }
        // Room was reserved above, before the engine was touched.
        let _ = crate::util::push_within_capacity(&mut self.addrs, vip);
        self.parent = Some(p.ifindex);
        out.parent = self.parent;
        self.up = true;
        if p.own && self.cfg.advskew != 0 {
            self.cfg.advskew = 0;
            if let Some(id) = self.id {
                engine.vhid_set(now, p.ifindex, &self.cfg)?;
                self.refresh_from(engine, id);
            }
        }
        if let Err(e) = self.try_bind(engine, now, &mut out) {
            self.addrs.retain(|a| *a != vip);
            if self.addrs.is_empty() {
                self.parent = None;
            }
            return Err(e);
        }
        Ok(out)
    }

    /// An address put on the carpN, with the vhid the request named (0: a
    /// plain `ifconfig carpN 192.0.2.1/24`, FreeBSD 9's two-step). `None`:
    /// not a VIP (see [`is_vip`]), or no vhid yet, so nothing to bind: the
    /// address stays carpN's own. A named vhid configures an unconfigured
    /// carpN (advbase 1, as `carp_ioctl`'s defaults) and must match a
    /// configured one (EINVAL). Then [`CarpN::add_addr`].
    pub fn attach_addr(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        vhid: u8,
        vip: IpAddr,
        cands: &[Candidate],
    ) -> Result<Option<Outcome>, Errno> {
        if !is_vip(vip) {
            return Ok(None);
        }
        match (self.vhid(), vhid) {
            (None, 0) => return Ok(None),
            (Some(cur), v) if v != 0 && v != cur => return Err(Errno::EINVAL),
            (None, v) => {
                let req = CarpReq {
                    vhid: i32::from(v),
                    advbase: 1,
                    ..CarpReq::default()
                };
                self.set(engine, now, &req.to_set()?)?;
            }
            (Some(_), _) => {}
        }
        self.add_addr(engine, now, vip, cands).map(Some)
    }

    /// An address leaves the carpN. With the last one gone the vhid is
    /// destroyed (MASTER sends a bow-out), the carpN goes down and forgets
    /// its parent; the vhid number and settings stay for the next address.
    pub fn remove_addr(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        vip: IpAddr,
    ) -> Result<Outcome, Errno> {
        let mut out = Outcome {
            id: self.id,
            parent: self.parent,
            ..Outcome::default()
        };
        if !self.addrs.contains(&vip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        self.addrs.retain(|a| *a != vip);
        if self.addrs.is_empty() {
            self.unbind(engine, now, &mut out);
            out.id = None;
            self.parent = None;
            self.up = false;
        } else if let Some(id) = self.id {
            engine.addr_remove(now, id, vip)?;
        }
        Ok(out)
    }

    /// `ifconfig carpN up|down`. Down stops the vhid (a MASTER bows out so
    /// backups take over at once); up restarts it from INIT.
    pub fn set_up(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        up: bool,
    ) -> Result<Outcome, Errno> {
        let mut out = Outcome {
            id: self.id,
            parent: self.parent,
            ..Outcome::default()
        };
        self.up = up;
        if up {
            self.try_bind(engine, now, &mut out)?;
        } else {
            self.unbind(engine, now, &mut out);
            out.id = None;
        }
        Ok(out)
    }

    /// `ifconfig carpN destroy`.
    pub fn destroy(&mut self, engine: &mut Engine, now: Instant) -> Outcome {
        let mut out = Outcome {
            parent: self.parent,
            ..Outcome::default()
        };
        self.unbind(engine, now, &mut out);
        self.addrs.clear();
        self.parent = None;
        self.up = false;
        out
    }

    /// The parent departed (`ifnet_departure_event`): as FreeBSD 9's
    /// `carpdetach()`, the vhid goes (no bow-out: the parent is gone) and the
    /// carpN is unbound. Its addresses are forgotten too: the shim unlinks
    /// their records with the parent's, so they stay on the carpN as plain
    /// addresses until the admin sets them again (which binds anew). The
    /// vhid number and settings stay.
    fn parent_departed(&mut self, engine: &mut Engine, now: Instant) -> bool {
        let mut out = Outcome::default();
        self.unbind(engine, now, &mut out);
        self.addrs.clear();
        self.parent = None;
        out.destroyed.is_some()
    }

    /// Follows an engine state change of the bound vhid; returns the new
    /// carpN link state if it changed (`if_link_state_change` is a no-op on
    /// an unchanged state, so no devd event either).
    pub fn on_state(&mut self, to: State) -> Option<LinkState> {
        let l = link_state(to);
        (l != self.link).then(|| {
            self.link = l;
            l
        })
    }
}

/// The carpN clones of one VNET.
#[derive(Debug, Default)]
pub struct Clones {
    list: Vec<CarpN>,
}

impl Clones {
    pub fn new() -> Clones {
        Clones::default()
    }

    /// The clone for a new `carpN` ifnet; EEXIST if the index is taken.
    pub fn create(&mut self, ifindex: IfIndex) -> Result<&mut CarpN, Errno> {
        if self.get(ifindex).is_some() {
            return Err(Errno::EEXIST);
        }
        crate::util::try_push(&mut self.list, CarpN::new(ifindex)).map_err(|_| Errno::ENOMEM)?;
        self.list.last_mut().ok_or(Errno::ENOMEM)
    }

    /// Destroys the clone and its vhid.
    pub fn destroy(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        ifindex: IfIndex,
    ) -> Result<Outcome, Errno> {
        let pos = self
            .list
            .iter()
            .position(|c| c.ifindex == ifindex)
            .ok_or(Errno::ENXIO)?;
        let out = self
            .list
            .get_mut(pos)
            .map(|c| c.destroy(engine, now))
            .unwrap_or_default();
        self.list.swap_remove(pos);
        Ok(out)
    }

    pub fn get(&self, ifindex: IfIndex) -> Option<&CarpN> {
        self.list.iter().find(|c| c.ifindex == ifindex)
    }

    /// Unbinds every clone bound to `parent`, which departed; returns how
    /// many vhids that removed.
    pub fn parent_departed(&mut self, engine: &mut Engine, now: Instant, parent: IfIndex) -> u32 {
        let mut n = 0u32;
        for c in self.list.iter_mut().filter(|c| c.parent == Some(parent)) {
            n = n.saturating_add(u32::from(c.parent_departed(engine, now)));
        }
        n
    }

    pub fn get_mut(&mut self, ifindex: IfIndex) -> Option<&mut CarpN> {
        self.list.iter_mut().find(|c| c.ifindex == ifindex)
    }

    /// The clone that owns the engine vhid (`iface`, `vhid`).
    pub fn owner(&self, iface: IfIndex, vhid: u8) -> Option<&CarpN> {
        self.list.iter().find(|c| c.owns(iface, vhid))
    }

    pub fn iter(&self) -> impl Iterator<Item = &CarpN> + '_ {
        self.list.iter()
    }

    /// Routes an engine event: a state change of a clone's vhid gives the
    /// clone's ifindex and, if it changed, its new link state.
    pub fn on_event(&mut self, ev: &Event) -> Option<(IfIndex, Option<LinkState>)> {
        let Event::StateChanged {
            iface, vhid, to, ..
        } = *ev
        else {
            return None;
        };
        let c = self.list.iter_mut().find(|c| c.owns(iface, vhid))?;
        Some((c.ifindex, c.on_state(to)))
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::ctl::tests::{at, drain, ETH0};
    use crate::ctl::{IFF_LOOPBACK, IFT_ETHER};

    use core::net::{Ipv4Addr, Ipv6Addr};

    const CARP0: IfIndex = 10;
    const EM1: IfIndex = 3;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn cand(ifindex: IfIndex, addr: IpAddr, prefixlen: u8) -> Candidate {
        Candidate {
            ifindex,
            if_type: IFT_ETHER,
            flags: IFF_MULTICAST | 1,
            addr,
            prefixlen,
        }
    }

    fn system() -> Vec<Candidate> {
        alloc::vec![
            Candidate {
                ifindex: 1,
                if_type: 0x18,
                flags: IFF_LOOPBACK | IFF_MULTICAST,
                addr: v4(127, 0, 0, 1),
                prefixlen: 8
            },
            cand(ETH0, v4(198, 51, 100, 1), 24),
            cand(EM1, v4(203, 0, 113, 1), 24),
            cand(
                EM1,
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)),
                64
            ),
        ]
    }

    #[test]
    fn subnet_rule() {
        let s = system();
        assert_eq!(
            select_parent(CARP0, v4(198, 51, 100, 50), &s),
            Ok(Parent {
                ifindex: ETH0,
                own: false
            })
        );
        assert_eq!(
            select_parent(CARP0, v4(203, 0, 113, 200), &s)
                .unwrap()
                .ifindex,
            EM1
        );
        assert_eq!(
            select_parent(CARP0, v4(192, 0, 2, 1), &s),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert_eq!(
            select_parent(CARP0, v4(198, 51, 100, 1), &s),
            Ok(Parent {
                ifindex: ETH0,
                own: true
            })
        );
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x50));
        assert_eq!(select_parent(CARP0, v6, &s).unwrap().ifindex, EM1);
        let other6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x50));
        assert_eq!(select_parent(CARP0, other6, &s), Err(Errno::EADDRNOTAVAIL));
        // Not multicast, the carpN itself, or another carp clone: skipped.
        let mut s2 = s.clone();
        s2.insert(
            0,
            Candidate {
                flags: 1,
                ..cand(7, v4(198, 51, 100, 2), 24)
            },
        );
        s2.insert(0, cand(CARP0, v4(198, 51, 100, 3), 24));
        s2.insert(
            0,
            Candidate {
                if_type: IFT_CARP,
                ..cand(11, v4(198, 51, 100, 4), 24)
            },
        );
        assert_eq!(
            select_parent(CARP0, v4(198, 51, 100, 50), &s2)
                .unwrap()
                .ifindex,
            ETH0
        );
        // Non-octet prefixes and a /0 catch-all; nonsense prefix lengths skip.
        let s3 = [
            cand(5, v4(10, 0, 0, 1), 33),
            cand(6, v4(10, 0, 0, 129), 25),
            cand(8, v4(0, 0, 0, 0), 0),
        ];
        assert_eq!(
            select_parent(CARP0, v4(10, 0, 0, 200), &s3)
                .unwrap()
                .ifindex,
            6
        );
        assert_eq!(
            select_parent(CARP0, v4(10, 0, 0, 100), &s3)
                .unwrap()
                .ifindex,
            8
        );
    }

    #[test]
    fn one_line_flow_vhid_then_address() {
        let mut e = Engine::new();
        let mut cl = Clones::new();
        cl.create(CARP0).unwrap();
        assert_eq!(cl.create(CARP0).err(), Some(Errno::EEXIST));
        let c = cl.get_mut(CARP0).unwrap();
        let mut req = SetRequest::carp(1);
        req.advskew = 100;
        req.key[..4].copy_from_slice(b"pass");
        let out = c.set(&mut e, at(0), &req).unwrap();
        assert_eq!(
            (out.id, out.created),
            (None, false),
            "no address yet: pending"
        );
        assert_eq!(c.get(&e, 0, true).unwrap().state, State::Init);
        assert_eq!(e.vhids().count(), 0);
        let out = c
            .add_addr(&mut e, at(0), v4(198, 51, 100, 50), &system())
            .unwrap();
        assert!(out.created);
        assert_eq!(out.parent, Some(ETH0));
        let id = out.id.unwrap();
        assert_eq!(e.vhid_iface(id), Some(ETH0));
        let cfg = e.vhid_config(id).unwrap();
        assert_eq!((cfg.vhid, cfg.advskew), (1, 100));
        assert_eq!(&cfg.key.as_bytes()[..5], b"pass\0");
        assert_eq!(e.vhid_state(id), Some(State::Backup));
        assert!(c.is_up());
        // Master-down timer: MASTER, link UP.
        e.handle_timeout(at(5));
        let evs = drain(&mut e);
        let mut links = Vec::new();
        for ev in &evs {
            if let Some((ifx, Some(l))) = cl.on_event(ev) {
                assert_eq!(ifx, CARP0);
                links.push(l);
            }
        }
        assert_eq!(links, [LinkState::Down, LinkState::Up]);
        let c = cl.get(CARP0).unwrap();
        assert_eq!(c.link(), LinkState::Up);
        let i = c.get(&e, 1, true).unwrap();
        assert_eq!((i.state, i.vhid, i.advskew), (State::Master, 1, 100));
        assert_eq!(c.get(&e, 2, true), Err(Errno::ENOENT));
        assert_eq!(cl.owner(ETH0, 1).map(|c| c.ifindex()), Some(CARP0));
    }

    #[test]
    fn two_step_flow_address_then_vhid() {
        let mut e = Engine::new();
        let mut c = CarpN::new(CARP0);
        assert_eq!(c.get(&e, 0, true), Err(Errno::ENOENT));
        let out = c
            .add_addr(&mut e, at(0), v4(203, 0, 113, 9), &system())
            .unwrap();
        assert_eq!((out.id, out.parent), (None, Some(EM1)));
        assert_eq!(e.vhids().count(), 0);
        let mut req = SetRequest::carp(4);
        req.advbase = 2;
        let out = c.set(&mut e, at(0), &req).unwrap();
        assert!(out.created);
        let id = out.id.unwrap();
        assert_eq!(e.addrs_v4(id), &[[203, 0, 113, 9]]);
        assert_eq!(e.vhid_config(id).unwrap().advbase, 2);
    }

    #[test]
    fn vhid_collisions_and_parent_mismatch() {
        let mut e = Engine::new();
        // The modern model already has vhid 1 on ETH0.
        apply_set(&mut e, at(0), ETH0, &SetRequest::carp(1)).unwrap();
        let mut c = CarpN::new(CARP0);
        c.set(&mut e, at(0), &SetRequest::carp(1)).unwrap();
        assert_eq!(
            c.add_addr(&mut e, at(0), v4(198, 51, 100, 50), &system())
                .err(),
            Some(Errno::EEXIST)
        );
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x50));
        apply_set(&mut e, at(0), EM1, &SetRequest::carp(1)).unwrap();
        assert_eq!(
            c.add_addr(&mut e, at(0), v6, &system()).err(),
            Some(Errno::EINVAL)
        );
        assert!(
            c.addrs().is_empty() && c.parent().is_none(),
            "refused adds leave nothing"
        );
        // Bound on ETH0, an address in EM1's subnet is refused.
        let mut c = CarpN::new(CARP0 + 1);
        c.set(&mut e, at(0), &SetRequest::carp(2)).unwrap();
        c.add_addr(&mut e, at(0), v4(198, 51, 100, 60), &system())
            .unwrap();
        assert_eq!(
            c.add_addr(&mut e, at(0), v4(203, 0, 113, 60), &system())
                .err(),
            Some(Errno::EADDRNOTAVAIL)
        );
        // Renumbering onto a vhid the parent has: EEXIST, nothing changes.
        assert_eq!(
            c.set(&mut e, at(0), &SetRequest::carp(1)).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(c.vhid(), Some(2));
    }

    #[test]
    fn renumber_moves_addresses_and_keeps_settings() {
        let mut e = Engine::new();
        let mut c = CarpN::new(CARP0);
        let mut req = SetRequest::carp(2);
        req.advbase = 3;
        req.key[..1].copy_from_slice(b"k");
        c.set(&mut e, at(0), &req).unwrap();
        let old = c
            .add_addr(&mut e, at(0), v4(198, 51, 100, 70), &system())
            .unwrap()
            .id
            .unwrap();
        let out = c.set(&mut e, at(1), &SetRequest::carp(9)).unwrap();
        assert_eq!(out.destroyed, Some(old));
        let new = out.id.unwrap();
        assert_eq!(e.vhid_lookup(ETH0, 2), None);
        assert_eq!(e.vhid_lookup(ETH0, 9), Some(new));
        let cfg = e.vhid_config(new).unwrap();
        assert_eq!((cfg.advbase, cfg.key.as_bytes()[0]), (3, b'k'));
        assert_eq!(e.addrs_v4(new), &[[198, 51, 100, 70]]);
    }

    #[test]
    fn own_address_forces_advskew_zero() {
        let mut e = Engine::new();
        let mut c = CarpN::new(CARP0);
        let mut req = SetRequest::carp(5);
        req.advskew = 100;
        c.set(&mut e, at(0), &req).unwrap();
        let id = c
            .add_addr(&mut e, at(0), v4(198, 51, 100, 1), &system())
            .unwrap()
            .id
            .unwrap();
        assert_eq!(e.vhid_config(id).unwrap().advskew, 0);
    }

    #[test]
    fn down_bows_out_up_restarts_destroy_removes() {
        let mut e = Engine::new();
        let mut cl = Clones::new();
        let c = cl.create(CARP0).unwrap();
        c.set(&mut e, at(0), &SetRequest::carp(1)).unwrap();
        c.add_addr(&mut e, at(0), v4(198, 51, 100, 50), &system())
            .unwrap();
        e.handle_timeout(at(5));
        drain(&mut e);
        let out = c.set_up(&mut e, at(6), false).unwrap();
        assert!(out.destroyed.is_some());
        assert_eq!(e.vhids().count(), 0);
        let mut buf = [0u8; 64];
        let t = e
            .poll_transmit(&mut buf)
            .expect("bow-out advert from the MASTER");
        let pkt = &buf[..t.len];
        assert_eq!((pkt[5], pkt[2]), (255, 255), "advbase/advskew 255");
        drain(&mut e);
        let out = c.set_up(&mut e, at(7), true).unwrap();
        assert!(out.created);
        assert_eq!(e.vhid_state(out.id.unwrap()), Some(State::Backup));
        let out = cl.destroy(&mut e, at(8), CARP0).unwrap();
        assert!(out.destroyed.is_some());
        assert_eq!(e.vhids().count(), 0);
        assert!(cl.get(CARP0).is_none());
        assert_eq!(cl.destroy(&mut e, at(8), CARP0).err(), Some(Errno::ENXIO));
    }

    #[test]
    fn last_address_removal_unbinds_but_keeps_the_vhid_number() {
        let mut e = Engine::new();
        let mut c = CarpN::new(CARP0);
        c.set(&mut e, at(0), &SetRequest::carp(3)).unwrap();
        c.add_addr(&mut e, at(0), v4(198, 51, 100, 50), &system())
            .unwrap();
        let id = c
            .add_addr(&mut e, at(0), v4(198, 51, 100, 51), &system())
            .unwrap()
            .id
            .unwrap();
        assert_eq!(e.addrs_v4(id).len(), 2);
        c.remove_addr(&mut e, at(1), v4(198, 51, 100, 50)).unwrap();
        assert_eq!(e.addrs_v4(id), &[[198, 51, 100, 51]]);
        assert_eq!(
            c.remove_addr(&mut e, at(1), v4(198, 51, 100, 50)).err(),
            Some(Errno::EADDRNOTAVAIL)
        );
        let out = c.remove_addr(&mut e, at(1), v4(198, 51, 100, 51)).unwrap();
        assert_eq!(out.destroyed, Some(id));
        assert_eq!(
            (c.id(), c.parent(), c.is_up(), c.vhid()),
            (None, None, false, Some(3))
        );
    }

    #[test]
    fn legacy_ioctls() {
        let mut e = Engine::new();
        let mut c = CarpN::new(CARP0);
        let mut out = [0xffu8; 36];
        assert_eq!(c.ioctl_get_legacy(&e, true, &mut out), Ok(36));
        assert_eq!(out, [0; 36], "unconfigured carpN reads zeros");
        let mut req = [0u8; 36];
        CarpReq {
            vhid: 7,
            advskew: 100,
            advbase: 1,
            key: *b"pw\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            ..CarpReq::default()
        }
        .emit_legacy(&mut req)
        .unwrap();
        assert_eq!(
            c.ioctl_set_legacy(&mut e, at(0), &req, false).err(),
            Some(Errno::EPERM)
        );
        c.ioctl_set_legacy(&mut e, at(0), &req, true).unwrap();
        assert_eq!((c.vhid(), c.config().advskew), (Some(7), 100));
        // vhid 0 and advbase/advskew 0: keeps vhid and both timers.
        let mut keep = [0u8; 36];
        CarpReq::default().emit_legacy(&mut keep).unwrap();
        c.ioctl_set_legacy(&mut e, at(0), &keep, true).unwrap();
        assert_eq!(
            (c.vhid(), c.config().advskew, c.config().advbase),
            (Some(7), 100, 1)
        );
        c.ioctl_get_legacy(&e, false, &mut out).unwrap();
        let r = CarpReq::parse_legacy(&out).unwrap();
        assert_eq!(
            (r.vhid, r.advskew, r.advbase, r.state, r.key),
            (7, 100, 1, 0, [0; 20])
        );
        let mut bad = [0u8; 36];
        CarpReq {
            vhid: 7,
            advskew: 255,
            ..CarpReq::default()
        }
        .emit_legacy(&mut bad)
        .unwrap();
        assert_eq!(
            c.ioctl_set_legacy(&mut e, at(0), &bad, true).err(),
            Some(Errno::EINVAL)
        );
        CarpReq {
            vhid: 256,
            ..CarpReq::default()
        }
        .emit_legacy(&mut bad)
        .unwrap();
        assert_eq!(
            c.ioctl_set_legacy(&mut e, at(0), &bad, true).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            c.ioctl_set_legacy(&mut e, at(0), &bad[..30], true).err(),
            Some(Errno::EFAULT)
        );
    }

    #[test]
    fn link_mapping_and_devd() {
        assert_eq!(link_state(State::Master), LinkState::Up);
        assert_eq!(link_state(State::Backup), LinkState::Down);
        assert_eq!(link_state(State::Init), LinkState::Unknown);
        assert_eq!(LinkState::Unknown as i32, 0);
        let mut b = [0u8; 64];
        let n = devd_ifnet(&mut b, b"carp0", LinkState::Up);
        assert_eq!(&b[..n], b"!system=IFNET subsystem=carp0 type=LINK_UP");
        let n = devd_ifnet(&mut b, b"carp12", LinkState::Unknown);
        assert_eq!(&b[..n], b"!system=IFNET subsystem=carp12 type=LINK_DOWN");
        let mut c = CarpN::new(CARP0);
        assert_eq!(
            c.on_state(State::Init),
            None,
            "UNKNOWN -> UNKNOWN is no change"
        );
        assert_eq!(c.on_state(State::Backup), Some(LinkState::Down));
        assert_eq!(c.on_state(State::Backup), None);
        assert_eq!(c.on_state(State::Master), Some(LinkState::Up));
    }
}
