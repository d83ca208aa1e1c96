//! What the MASTER has put into the host's tables, per virtual address, and
//! the commands that bring those tables in line with the vhid states.
//!
//! FreeBSD changes routes under the vhid lock as the state changes:
//! `carp_master_down_locked` (BACKUP -> MASTER) calls `carp_send_arp`,
//! `carp_send_na` and `carp_ifa_addroute` for every address, and
//! `carp_set_state` to BACKUP/INIT calls `carp_ifa_delroute`. Here the
//! engine keeps the record of what is installed (`installed`) and hands
//! out one command at a time ([`Engine::poll_command`]) until the record
//! matches what the states want; the record changes when the command is
//! handed out, so a command is never issued twice, a removal always names
//! something installed, and whatever sequence of state changes, address
//! removals and detaches happens in between, the tables converge.

use alloc::vec::Vec;
use core::net::IpAddr;

use super::config::ConfigError;
use super::state::State;
use super::vhid::Vhid;
use super::{Engine, IfIndex};
use crate::util::push_within_capacity;

/// The kernel call a [`Command`] maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `carp_ifa_addroute`: prefix and loopback routes (IPv4) or the
    /// loopback route and the ND entry (IPv6) of a parent's VIP.
    RouteAdd,
    /// `carp_ifa_delroute`.
    RouteDelete,
    /// A carpN VIP (IPv4): a published static ARP entry on the parent
    /// holding the virtual MAC, FreeBSD 9's answer for carpN.
    Publish,
    Unpublish,
    /// `carp_send_arp`: a gratuitous ARP from the virtual MAC.
    Garp,
    /// `carp_send_na`: an unsolicited NA (override) for the VIP.
    Na,
}

/// One per-address effect, for the driver to apply in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    pub op: Op,
    /// The parent interface the address is served on.
    pub iface: IfIndex,
    pub addr: IpAddr,
    /// The vhid whose MASTER it serves (the one installed, for removals).
    pub vhid: u8,
}

/// The bytes one tracked address takes (the benchmark's breakdown).
pub const ENTRY_BYTES: usize = core::mem::size_of::<Entry>();

/// One tracked address.
#[derive(Clone, Copy, Debug)]
struct Entry {
    iface: IfIndex,
    addr: IpAddr,
    /// Lives on a carpN interface: published, never routed.
    clone: bool,
    /// Driver records naming it (the same VIP on several carpN).
    refs: u16,
    /// The vhid whose MASTER routes/entry are in the tables, if any.
    installed: Option<u8>,
    /// An announce was asked for (`Event::Announce`) and not yet handed out.
    announce: bool,
}

impl Entry {
    fn add_op(&self) -> Option<Op> {
        match (self.clone, self.addr) {
            (false, _) => Some(Op::RouteAdd),
            (true, IpAddr::V4(_)) => Some(Op::Publish),
            // carpN's IPv6 VIPs are answered by nd6 on carpN itself.
            (true, IpAddr::V6(_)) => None,
        }
    }

    fn del_op(&self) -> Op {
        if self.clone {
            Op::Unpublish
        } else {
            Op::RouteDelete
        }
    }

    fn announce_op(&self) -> Option<Op> {
        match (self.clone, self.addr) {
            (_, IpAddr::V4(_)) => Some(Op::Garp),
            (false, IpAddr::V6(_)) => Some(Op::Na),
            (true, IpAddr::V6(_)) => None,
        }
    }
}

/// The per-address record and a flag saying it may differ from the states.
#[derive(Default)]
pub(crate) struct Routes {
    entries: Vec<Entry>,
    dirty: bool,
}

impl Routes {
    pub fn mark(&mut self) {
        self.dirty = true;
    }

    /// Asks for one announce per address served by vhid `vhid` of `iface`.
    pub fn announce(&mut self, iface: IfIndex, vhid: &Vhid) {
        for e in self.entries.iter_mut() {
            if e.iface == iface && vhid.addrs.contains(e.addr) {
                e.announce = true;
                self.dirty = true;
            }
        }
    }
}

/// The vhid whose MASTER serves `addr` on `iface`, if any.
fn wanted(eng: &Engine, iface: IfIndex, addr: IpAddr) -> Option<u8> {
    eng.table
        .iter()
        .map(|(_, v)| v)
        .find(|v| {
            v.iface == iface && !v.dying && v.state == State::Master && v.addrs.contains(addr)
        })
        .map(|v| v.cfg.vhid)
}

impl Engine {
    /// The driver linked a record for `addr` on parent `iface` (`clone`:
    /// the address lives on a carpN). Configuration path: may allocate.
    pub fn route_track(
        &mut self,
        iface: IfIndex,
        addr: IpAddr,
        clone: bool,
    ) -> Result<(), ConfigError> {
        let r = &mut self.routes;
        r.dirty = true;
        if let Some(e) = r
            .entries
            .iter_mut()
            .find(|e| e.iface == iface && e.addr == addr && e.clone == clone)
        {
            e.refs = e.refs.saturating_add(1);
            return Ok(());
        }
        r.entries
            .try_reserve(1)
            .map_err(|_| ConfigError::NoMemory)?;
        push_within_capacity(
            &mut r.entries,
            Entry {
                iface,
                addr,
                clone,
                refs: 1,
                installed: None,
                announce: false,
            },
        )
        .map_err(|_| ConfigError::NoMemory)
    }

    /// The driver unlinks a record: the removal to apply now, while the
    /// record still exists, if this was the last record and something of
    /// it is installed.
    pub fn route_untrack(&mut self, iface: IfIndex, addr: IpAddr, clone: bool) -> Option<Command> {
        let r = &mut self.routes;
        let i = r
            .entries
            .iter()
            .position(|e| e.iface == iface && e.addr == addr && e.clone == clone)?;
        let e = r.entries.get_mut(i)?;
        e.refs = e.refs.saturating_sub(1);
        if e.refs > 0 {
            return None;
        }
        let e = r.entries.swap_remove(i);
        e.installed.map(|vhid| Command {
            op: e.del_op(),
            iface,
            addr,
            vhid,
        })
    }

    /// The next per-address command, `None` when the tables match the
    /// states. Removals before installs of the same address, except that a
    /// carpN VIP that moved to another vhid is published again with the new
    /// MAC, replacing its entry; an address's announce after its install. Allocates
    /// nothing; costs nothing while no state or address changed.
    pub fn poll_command(&mut self) -> Option<Command> {
        if !self.routes.dirty {
            return None;
        }
        for i in 0..self.routes.entries.len() {
            let Some(e) = self.routes.entries.get(i).copied() else {
                break;
            };
            let want = e.add_op().and_then(|_| wanted(self, e.iface, e.addr));
            let slot = self.routes.entries.get_mut(i)?;
            let cmd = |op, vhid| Command {
                op,
                iface: e.iface,
                addr: e.addr,
                vhid,
            };
            if let Some(have) = e.installed {
                if want != Some(have) {
                    // A published entry is replaced in place (lla_rt_output's
                    // RTM_ADD unlinks the old one): a shared carpN VIP whose
                    // serving vhid changes (arpbalance) is never withdrawn
                    // in between.
                    if let (Some(w), Some(Op::Publish)) = (want, e.add_op()) {
                        slot.installed = Some(w);
                        return Some(cmd(Op::Publish, w));
                    }
                    slot.installed = None;
                    return Some(cmd(e.del_op(), have));
                }
            } else if let (Some(vhid), Some(op)) = (want, e.add_op()) {
                slot.installed = Some(vhid);
                return Some(cmd(op, vhid));
            }
            if e.announce {
                slot.announce = false;
                if let (Some(vhid), Some(op)) = (e.installed, e.announce_op()) {
                    return Some(cmd(op, vhid));
                }
            }
        }
        self.routes.dirty = false;
        None
    }

    /// Whether `addr` of `iface` has routes or a published entry.
    pub fn route_installed(&self, iface: IfIndex, addr: IpAddr) -> bool {
        self.routes
            .entries
            .iter()
            .any(|e| e.iface == iface && e.addr == addr && e.installed.is_some())
    }
}
