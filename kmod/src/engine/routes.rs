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
use core::num::NonZeroU8;

use super::config::ConfigError;
use super::state::State;
use super::vhid::{flag, Vhid};
use super::{Engine, IfIndex};
use crate::util::try_push;

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

/// The bytes one tracked address takes in its group, by family (the
/// benchmark's breakdown): (IPv4, IPv6).
pub const ENTRY_BYTES: (usize, usize) = (
    core::mem::size_of::<Entry<4>>(),
    core::mem::size_of::<Entry<16>>(),
);

/// One tracked address of a [`Group`]: its octets and what is installed.
/// The parent and the kind are the group's, so they are not repeated per
/// address (at 4,080 vhids with one VIP each this record is most of what
/// the routes cost).
#[derive(Clone, Copy, Debug)]
struct Entry<const N: usize> {
    addr: [u8; N],
    /// Driver records naming it (the same VIP on several carpN of one
    /// parent). A parent holds an address once and at most 255 vhids, one
    /// per carpN, so a byte counts them all.
    refs: u8,
    /// The vhid whose MASTER routes/entry are in the tables, if any
    /// (vhid 0 does not exist).
    installed: Option<NonZeroU8>,
    /// An announce was asked for (`Event::Announce`) and not yet handed out.
    announce: bool,
}

/// The tracked addresses of one parent and kind (`clone`: they live on a
/// carpN: published, never routed), per family in tracking order.
#[derive(Debug)]
struct Group {
    iface: IfIndex,
    clone: bool,
    v4: Vec<Entry<4>>,
    v6: Vec<Entry<16>>,
}

/// Where one entry is: group, family, index.
#[derive(Clone, Copy)]
struct At {
    group: usize,
    v6: bool,
    i: usize,
}

/// One entry as the command logic sees it.
#[derive(Clone, Copy)]
struct View {
    iface: IfIndex,
    addr: IpAddr,
    clone: bool,
    installed: Option<u8>,
    announce: bool,
}

impl View {
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
    groups: Vec<Group>,
    dirty: bool,
    /// Entries before this one (in [`Routes::next`] order) matched the
    /// states when last looked at and nothing changed since: the next
    /// [`Engine::poll_command`] starts here, so draining n commands costs
    /// n looks, not n².
    cursor: usize,
}

fn find<const N: usize>(v: &[Entry<N>], addr: [u8; N]) -> Option<usize> {
    v.iter().position(|e| e.addr == addr)
}

impl Routes {
    pub fn mark(&mut self) {
        self.dirty = true;
        self.cursor = 0;
    }

    fn group(&self, iface: IfIndex, clone: bool) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.iface == iface && g.clone == clone)
    }

    fn locate(&self, iface: IfIndex, addr: IpAddr, clone: bool) -> Option<At> {
        let group = self.group(iface, clone)?;
        let g = self.groups.get(group)?;
        let (v6, i) = match addr {
            IpAddr::V4(a) => (false, find(&g.v4, a.octets())?),
            IpAddr::V6(a) => (true, find(&g.v6, a.octets())?),
        };
        Some(At { group, v6, i })
    }

    fn view(&self, at: At) -> Option<View> {
        let g = self.groups.get(at.group)?;
        let (addr, installed, announce) = if at.v6 {
            let e = g.v6.get(at.i)?;
            (IpAddr::from(e.addr), e.installed, e.announce)
        } else {
            let e = g.v4.get(at.i)?;
            (IpAddr::from(e.addr), e.installed, e.announce)
        };
        Some(View {
            iface: g.iface,
            addr,
            clone: g.clone,
            installed: installed.map(NonZeroU8::get),
            announce,
        })
    }

    /// Writes an entry's installed vhid and announce flag.
    fn set(&mut self, at: At, installed: Option<u8>, announce: bool) {
        let installed = installed.and_then(NonZeroU8::new);
        let Some(g) = self.groups.get_mut(at.group) else {
            return;
        };
        if at.v6 {
            if let Some(e) = g.v6.get_mut(at.i) {
                (e.installed, e.announce) = (installed, announce);
            }
        } else if let Some(e) = g.v4.get_mut(at.i) {
            (e.installed, e.announce) = (installed, announce);
        }
    }

    /// The entry numbered `n` in poll order (groups in order, each group's
    /// IPv4 then IPv6 addresses), if there are that many.
    fn nth(&self, mut n: usize) -> Option<At> {
        for (group, g) in self.groups.iter().enumerate() {
            if n < g.v4.len() {
                return Some(At {
                    group,
                    v6: false,
                    i: n,
                });
            }
            n -= g.v4.len();
            if n < g.v6.len() {
                return Some(At {
                    group,
                    v6: true,
                    i: n,
                });
            }
            n -= g.v6.len();
        }
        None
    }

    /// Asks for one announce per address served by vhid `vhid` of `iface`.
    pub fn announce(&mut self, iface: IfIndex, vhid: &Vhid) {
        let mut any = false;
        for g in self.groups.iter_mut().filter(|g| g.iface == iface) {
            for e in g.v4.iter_mut() {
                if vhid.addrs.contains(IpAddr::from(e.addr)) {
                    e.announce = true;
                    any = true;
                }
            }
            for e in g.v6.iter_mut() {
                if vhid.addrs.contains(IpAddr::from(e.addr)) {
                    e.announce = true;
                    any = true;
                }
            }
        }
        if any {
            self.mark();
        }
    }

    /// Counts one more record for `addr`, adding its entry (and group) if
    /// new. Configuration path: may allocate.
    fn track(&mut self, iface: IfIndex, addr: IpAddr, clone: bool) -> Result<(), ConfigError> {
        self.mark();
        if let Some(at) = self.locate(iface, addr, clone) {
            if let Some(g) = self.groups.get_mut(at.group) {
                let refs = if at.v6 {
                    g.v6.get_mut(at.i).map(|e| &mut e.refs)
                } else {
                    g.v4.get_mut(at.i).map(|e| &mut e.refs)
                };
                if let Some(r) = refs {
                    *r = r.saturating_add(1);
                }
            }
            return Ok(());
        }
        let group = match self.group(iface, clone) {
            Some(g) => g,
            None => {
                try_push(
                    &mut self.groups,
                    Group {
                        iface,
                        clone,
                        v4: Vec::new(),
                        v6: Vec::new(),
                    },
                )
                .map_err(|_| ConfigError::NoMemory)?;
                self.groups.len() - 1
            }
        };
        let g = self.groups.get_mut(group).ok_or(ConfigError::NoMemory)?;
        let pushed = match addr {
            IpAddr::V4(a) => try_push(&mut g.v4, Entry::new(a.octets())).is_ok(),
            IpAddr::V6(a) => try_push(&mut g.v6, Entry::new(a.octets())).is_ok(),
        };
        if !pushed {
            if g.v4.is_empty() && g.v6.is_empty() {
                self.groups.remove(group);
            }
            return Err(ConfigError::NoMemory);
        }
        Ok(())
    }

    /// Counts one record less; when it was the last, forgets the entry
    /// (and an emptied group) and returns what of it was installed.
    fn untrack(&mut self, iface: IfIndex, addr: IpAddr, clone: bool) -> Option<Option<u8>> {
        let at = self.locate(iface, addr, clone)?;
        self.mark();
        let g = self.groups.get_mut(at.group)?;
        let installed = if at.v6 {
            let e = g.v6.get_mut(at.i)?;
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                return None;
            }
            g.v6.remove(at.i).installed
        } else {
            let e = g.v4.get_mut(at.i)?;
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                return None;
            }
            g.v4.remove(at.i).installed
        };
        if g.v4.is_empty() && g.v6.is_empty() {
            self.groups.remove(at.group);
        }
        Some(installed.map(NonZeroU8::get))
    }
}

impl<const N: usize> Entry<N> {
    fn new(addr: [u8; N]) -> Entry<N> {
        Entry {
            addr,
            refs: 1,
            installed: None,
            announce: false,
        }
    }
}

/// The vhid whose MASTER serves `addr` on `iface`, if any.
fn wanted(eng: &Engine, iface: IfIndex, addr: IpAddr) -> Option<u8> {
    eng.table
        .iter()
        .map(|(_, v)| v)
        .find(|v| {
            v.iface == iface
                && !v.is(flag::DYING)
                && v.state == State::Master
                && v.addrs.contains(addr)
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
        self.routes.track(iface, addr, clone)
    }

    /// The driver unlinks a record: the removal to apply now, while the
    /// record still exists, if this was the last record and something of
    /// it is installed.
    pub fn route_untrack(&mut self, iface: IfIndex, addr: IpAddr, clone: bool) -> Option<Command> {
        let vhid = self.routes.untrack(iface, addr, clone)??;
        Some(Command {
            op: if clone {
                Op::Unpublish
            } else {
                Op::RouteDelete
            },
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
        while let Some(at) = self.routes.nth(self.routes.cursor) {
            let e = self.routes.view(at)?;
            let want = e.add_op().and_then(|_| wanted(self, e.iface, e.addr));
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
                        self.routes.set(at, Some(w), e.announce);
                        return Some(cmd(Op::Publish, w));
                    }
                    self.routes.set(at, None, e.announce);
                    return Some(cmd(e.del_op(), have));
                }
            } else if let (Some(vhid), Some(op)) = (want, e.add_op()) {
                self.routes.set(at, Some(vhid), e.announce);
                return Some(cmd(op, vhid));
            }
            if e.announce {
                self.routes.set(at, e.installed, false);
                if let (Some(vhid), Some(op)) = (e.installed, e.announce_op()) {
                    return Some(cmd(op, vhid));
                }
            }
            self.routes.cursor += 1;
        }
        self.routes.dirty = false;
        self.routes.cursor = 0;
        None
    }

    /// Whether `addr` of `iface` has routes or a published entry.
    pub fn route_installed(&self, iface: IfIndex, addr: IpAddr) -> bool {
        [false, true].into_iter().any(|clone| {
            self.routes
                .locate(iface, addr, clone)
                .and_then(|at| self.routes.view(at))
                .is_some_and(|e| e.installed.is_some())
        })
    }
}
