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
use super::table::Table;
use super::vhid::Vhid;
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

/// Bits of [`Entry::flags`].
mod bit {
    /// An announce was asked for (`Event::Announce`) and not yet handed out.
    pub const ANNOUNCE: u8 = 1;
    /// The entry is in [`super::Routes::queue`].
    pub const QUEUED: u8 = 2;
    /// Several vhids of the parent hold the address (FreeBSD 9's
    /// arpbalance): `holder` does not name them all.
    pub const SHARED: u8 = 4;
}

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
    /// [`bit`]s.
    flags: u8,
    /// Unless [`bit::SHARED`]: the only live vhid of the parent holding the
    /// address, if any, so finding its MASTER is one index lookup. Kept by
    /// [`Routes::recount`] whenever a vhid gains or loses the address; a
    /// vhid that dies keeps its number here and the lookup skips it.
    holder: Option<NonZeroU8>,
}

/// The tracked addresses of one parent and kind (`clone`: they live on a
/// carpN: published, never routed), per family sorted by address so an
/// address is found by binary search.
#[derive(Debug)]
struct Group {
    iface: IfIndex,
    clone: bool,
    v4: Vec<Entry<4>>,
    v6: Vec<Entry<16>>,
}

/// Where one entry is: group, family, index; ordered as [`Routes::nth`]
/// walks them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct At {
    group: u32,
    v6: bool,
    i: u32,
}

/// One entry as the command logic sees it.
#[derive(Clone, Copy)]
struct View {
    iface: IfIndex,
    addr: IpAddr,
    clone: bool,
    installed: Option<u8>,
    announce: bool,
    holder: Option<u8>,
    shared: bool,
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

/// Entries a state change may leave to look at before [`Routes::all`]
/// takes over: a vhid's addresses on both kinds, with room to spare for
/// the applier running behind by a few changes.
const QUEUE: usize = 32;

/// The per-address record and what may differ from the states.
///
/// A state change or announce marks only the entries of the vhid's own
/// addresses ([`Routes::mark_vhid`]) in a small queue, so the drain after
/// k changes costs what those k changes touch; only configuration changes
/// (and a queue overflow) walk every entry.
#[derive(Default)]
pub(crate) struct Routes {
    groups: Vec<Group>,
    /// Every entry may differ: [`Engine::poll_command`] walks them all.
    all: bool,
    /// Entries before this one (in [`Routes::nth`] order) matched the
    /// states when the walk passed them; anything changed since is in
    /// `queue`, so the walk goes on from here.
    cursor: usize,
    /// Entries that may differ, each once ([`bit::QUEUED`]); the first
    /// `queued` are live.
    queue: [At; QUEUE],
    queued: usize,
    /// Vhid records `wanted` examined (the cost test's counter).
    #[cfg(test)]
    pub looks: core::cell::Cell<u64>,
}

fn find<const N: usize>(v: &[Entry<N>], addr: [u8; N]) -> Result<usize, usize> {
    v.binary_search_by(|e| e.addr.cmp(&addr))
}

/// Inserts `e` at `i` without `Vec::insert`, which may grow with the
/// aborting allocator the kernel's `alloc` lacks.
fn insert<T>(v: &mut Vec<T>, i: usize, e: T) -> Result<(), ConfigError> {
    try_push(v, e).map_err(|_| ConfigError::NoMemory)?;
    if let Some(tail) = v.get_mut(i..) {
        tail.rotate_right(1);
    }
    Ok(())
}

/// The live vhids of `iface` holding `addr`: the one it is (`None`: none)
/// and whether there are several. At most 255 index lookups: a parent has
/// at most 255 vhids.
fn holders(table: &Table, iface: IfIndex, addr: IpAddr) -> (Option<NonZeroU8>, bool) {
    let mut found = None;
    for n in 1..=255u8 {
        let holds = table
            .lookup(iface, n)
            .and_then(|s| table.get(s))
            .is_some_and(|v| v.addrs.contains(addr));
        if holds {
            if found.is_some() {
                return (found, true);
            }
            found = NonZeroU8::new(n);
        }
    }
    (found, false)
}

impl Routes {
    /// Everything may differ (configuration changed): walk all entries.
    pub fn mark(&mut self) {
        self.unqueue_all();
        self.all = true;
        self.cursor = 0;
    }

    fn dirty(&self) -> bool {
        self.all || self.queued > 0
    }

    fn flags_mut(&mut self, at: At) -> Option<&mut u8> {
        let g = self.groups.get_mut(at.group as usize)?;
        if at.v6 {
            g.v6.get_mut(at.i as usize).map(|e| &mut e.flags)
        } else {
            g.v4.get_mut(at.i as usize).map(|e| &mut e.flags)
        }
    }

    fn unqueue_all(&mut self) {
        for k in 0..self.queued {
            if let Some(at) = self.queue.get(k).copied() {
                if let Some(f) = self.flags_mut(at) {
                    *f &= !bit::QUEUED;
                }
            }
        }
        self.queued = 0;
    }

    /// Queues one entry to be looked at (and asks for its announce); a
    /// full queue falls back to walking every entry. No allocation.
    fn mark_entry(&mut self, at: At, announce: bool) {
        let queued = self.queued;
        let Some(f) = self.flags_mut(at) else {
            return;
        };
        if announce {
            *f |= bit::ANNOUNCE;
        }
        if *f & bit::QUEUED != 0 {
            return;
        }
        if queued < QUEUE {
            *f |= bit::QUEUED;
            if let Some(q) = self.queue.get_mut(queued) {
                *q = at;
                self.queued += 1;
            }
        } else {
            self.mark();
        }
    }

    /// Queues the entries of `vhid`'s addresses on its parent, both kinds:
    /// its state changed (`announce` false) or it asked for an announce
    /// (`Event::Announce`). Costs a binary search per address, whatever
    /// the number of entries; allocates nothing (the input path calls it).
    pub fn mark_vhid(&mut self, vhid: &Vhid, announce: bool) {
        let v4 = vhid.addrs.v4().iter().map(|a| IpAddr::from(*a));
        let v6 = vhid.addrs.v6().iter().map(|a| IpAddr::from(*a));
        for addr in v4.chain(v6) {
            for clone in [false, true] {
                if let Some(at) = self.locate(vhid.iface, addr, clone) {
                    self.mark_entry(at, announce);
                }
            }
        }
    }

    /// A vhid of `iface` gained or lost `addr`: the entries of `addr`
    /// learn who holds it now and are queued. Configuration path.
    pub fn recount(&mut self, table: &Table, iface: IfIndex, addr: IpAddr) {
        let (holder, shared) = holders(table, iface, addr);
        for clone in [false, true] {
            if let Some(at) = self.locate(iface, addr, clone) {
                self.set_holder(at, holder, shared);
                self.mark_entry(at, false);
            }
        }
    }

    fn set_holder(&mut self, at: At, holder: Option<NonZeroU8>, shared: bool) {
        let Some(g) = self.groups.get_mut(at.group as usize) else {
            return;
        };
        let (h, f) = if at.v6 {
            match g.v6.get_mut(at.i as usize) {
                Some(e) => (&mut e.holder, &mut e.flags),
                None => return,
            }
        } else {
            match g.v4.get_mut(at.i as usize) {
                Some(e) => (&mut e.holder, &mut e.flags),
                None => return,
            }
        };
        *h = holder;
        if shared {
            *f |= bit::SHARED;
        } else {
            *f &= !bit::SHARED;
        }
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
            IpAddr::V4(a) => (false, find(&g.v4, a.octets()).ok()?),
            IpAddr::V6(a) => (true, find(&g.v6, a.octets()).ok()?),
        };
        Some(At {
            group: group as u32,
            v6,
            i: i as u32,
        })
    }

    fn view(&self, at: At) -> Option<View> {
        let g = self.groups.get(at.group as usize)?;
        let (addr, installed, flags, holder) = if at.v6 {
            let e = g.v6.get(at.i as usize)?;
            (IpAddr::from(e.addr), e.installed, e.flags, e.holder)
        } else {
            let e = g.v4.get(at.i as usize)?;
            (IpAddr::from(e.addr), e.installed, e.flags, e.holder)
        };
        Some(View {
            iface: g.iface,
            addr,
            clone: g.clone,
            installed: installed.map(NonZeroU8::get),
            announce: flags & bit::ANNOUNCE != 0,
            holder: holder.map(NonZeroU8::get),
            shared: flags & bit::SHARED != 0,
        })
    }

    /// Writes an entry's installed vhid and announce flag.
    fn set(&mut self, at: At, installed: Option<u8>, announce: bool) {
        let installed = installed.and_then(NonZeroU8::new);
        let Some(g) = self.groups.get_mut(at.group as usize) else {
            return;
        };
        let (inst, f) = if at.v6 {
            match g.v6.get_mut(at.i as usize) {
                Some(e) => (&mut e.installed, &mut e.flags),
                None => return,
            }
        } else {
            match g.v4.get_mut(at.i as usize) {
                Some(e) => (&mut e.installed, &mut e.flags),
                None => return,
            }
        };
        *inst = installed;
        if announce {
            *f |= bit::ANNOUNCE;
        } else {
            *f &= !bit::ANNOUNCE;
        }
    }

    /// The entry numbered `n` in poll order (groups in order, each group's
    /// IPv4 then IPv6 addresses), if there are that many.
    fn nth(&self, mut n: usize) -> Option<At> {
        for (group, g) in self.groups.iter().enumerate() {
            let group = group as u32;
            if n < g.v4.len() {
                return Some(At {
                    group,
                    v6: false,
                    i: n as u32,
                });
            }
            n -= g.v4.len();
            if n < g.v6.len() {
                return Some(At {
                    group,
                    v6: true,
                    i: n as u32,
                });
            }
            n -= g.v6.len();
        }
        None
    }

    /// The queued entry first in walk order (so the commands of several
    /// changes come out in table order), and its place in the queue.
    fn first_queued(&self) -> Option<(usize, At)> {
        self.queue
            .get(..self.queued)?
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(_, at)| at)
    }

    fn dequeue(&mut self, k: usize) {
        if let Some(at) = self.queue.get(k).copied() {
            if let Some(f) = self.flags_mut(at) {
                *f &= !bit::QUEUED;
            }
            let last = self.queued.saturating_sub(1);
            self.queue.swap(k, last);
            self.queued = last;
        }
    }

    /// Counts one more record for `addr`, adding its entry (and group) if
    /// new; `holders` says which vhids of `iface` hold it. Configuration
    /// path: may allocate.
    fn track(
        &mut self,
        iface: IfIndex,
        addr: IpAddr,
        clone: bool,
        holders: (Option<NonZeroU8>, bool),
    ) -> Result<(), ConfigError> {
        self.mark();
        if let Some(at) = self.locate(iface, addr, clone) {
            if let Some(g) = self.groups.get_mut(at.group as usize) {
                let refs = if at.v6 {
                    g.v6.get_mut(at.i as usize).map(|e| &mut e.refs)
                } else {
                    g.v4.get_mut(at.i as usize).map(|e| &mut e.refs)
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
            IpAddr::V4(a) => {
                let i = find(&g.v4, a.octets()).unwrap_or_else(|i| i);
                insert(&mut g.v4, i, Entry::new(a.octets(), holders))
            }
            IpAddr::V6(a) => {
                let i = find(&g.v6, a.octets()).unwrap_or_else(|i| i);
                insert(&mut g.v6, i, Entry::new(a.octets(), holders))
            }
        };
        if pushed.is_err() {
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
        let (group, i) = (at.group as usize, at.i as usize);
        let g = self.groups.get_mut(group)?;
        let installed = if at.v6 {
            let e = g.v6.get_mut(i)?;
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                return None;
            }
            g.v6.remove(i).installed
        } else {
            let e = g.v4.get_mut(i)?;
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                return None;
            }
            g.v4.remove(i).installed
        };
        if g.v4.is_empty() && g.v6.is_empty() {
            self.groups.remove(group);
        }
        Some(installed.map(NonZeroU8::get))
    }
}

impl<const N: usize> Entry<N> {
    fn new(addr: [u8; N], (holder, shared): (Option<NonZeroU8>, bool)) -> Entry<N> {
        Entry {
            addr,
            refs: 1,
            installed: None,
            flags: if shared { bit::SHARED } else { 0 },
            holder,
        }
    }
}

/// The vhid whose MASTER serves the entry's address on its parent, if
/// any: the first in slot order, as a walk of the table would find it.
/// One index lookup through the entry's `holder`; only a shared address
/// asks the parent's 255 possible vhid numbers.
fn wanted(eng: &Engine, e: &View) -> Option<u8> {
    let serving = |n: u8| {
        let slot = eng.table.lookup(e.iface, n)?;
        let v = eng.table.get(slot)?;
        #[cfg(test)]
        eng.routes.looks.set(eng.routes.looks.get() + 1);
        (v.state == State::Master && v.addrs.contains(e.addr)).then_some(slot)
    };
    if !e.shared {
        let n = e.holder?;
        return serving(n).map(|_| n);
    }
    (1..=255u8)
        .filter_map(|n| serving(n).map(|slot| (slot, n)))
        .min()
        .map(|(_, n)| n)
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
        let holders = holders(&self.table, iface, addr);
        self.routes.track(iface, addr, clone, holders)
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
    /// MAC, replacing its entry; an address's announce after its install.
    /// Allocates nothing; costs nothing while no state or address changed,
    /// and after state changes a few index lookups per address they touch
    /// (a walk of every entry only after a configuration change).
    pub fn poll_command(&mut self) -> Option<Command> {
        while self.routes.dirty() {
            let (at, queued) = match self.routes.first_queued() {
                Some((k, at)) => (at, Some(k)),
                None => match self.routes.nth(self.routes.cursor) {
                    Some(at) => (at, None),
                    None => {
                        self.routes.all = false;
                        self.routes.cursor = 0;
                        continue;
                    }
                },
            };
            let Some(e) = self.routes.view(at) else {
                match queued {
                    Some(k) => self.routes.dequeue(k),
                    None => self.routes.cursor += 1,
                }
                continue;
            };
            let want = e.add_op().and_then(|_| wanted(self, &e));
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
            match queued {
                Some(k) => self.routes.dequeue(k),
                None => self.routes.cursor += 1,
            }
        }
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
