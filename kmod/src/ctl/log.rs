//! FreeBSD's carp text, formatted into a caller's fixed buffer: log(9)
//! lines, devd notifications and the `ifconfig` status lines.
//!
//! Admins grep for these, so they are byte-for-byte FreeBSD's. Log lines
//! come without the trailing newline (the shim passes them to
//! `log(LOG_INFO, "%s\n", ..)`); the ifconfig lines carry ifconfig's own
//! leading tab and newline. Like `snprintf`, output that does not fit is
//! cut and the functions return the length the whole text needed.

use core::fmt::{self, Write};

use crate::engine::{AuthHint, Conflict, Event, State, Version};

use super::VhidInfo;

/// `core::fmt::Write` over a byte buffer, truncating like `snprintf`.
#[derive(Debug)]
pub struct LineBuf<'a> {
    buf: &'a mut [u8],
    written: usize,
    needed: usize,
}

impl<'a> LineBuf<'a> {
    pub fn new(buf: &'a mut [u8]) -> LineBuf<'a> {
        LineBuf {
            buf,
            written: 0,
            needed: 0,
        }
    }

    /// Appends raw bytes (interface names come from C as bytes).
    pub fn bytes(&mut self, b: &[u8]) {
        self.needed = self.needed.saturating_add(b.len());
        let room = self.buf.len().saturating_sub(self.written);
        let n = room.min(b.len());
        if let (Some(dst), Some(src)) = (
            self.buf
                .get_mut(self.written..self.written.saturating_add(n)),
            b.get(..n),
        ) {
            dst.copy_from_slice(src);
            self.written = self.written.saturating_add(n);
        }
    }

    /// Bytes actually in the buffer.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Length of the whole text, fitting or not.
    pub fn needed(&self) -> usize {
        self.needed
    }

    pub fn truncated(&self) -> bool {
        self.needed > self.written
    }
}

impl Write for LineBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

fn with(buf: &mut [u8], f: impl FnOnce(&mut LineBuf<'_>) -> fmt::Result) -> usize {
    let mut w = LineBuf::new(buf);
    // LineBuf never fails; a formatting error would only mean less text.
    let _ = f(&mut w);
    w.needed()
}

/// `IFNAMSIZ + 5`: the kernel's `subsys` buffer for "<vhid>@<ifname>",
/// NUL included, so longer names are cut to 20 characters.
pub const SUBSYS_MAX: usize = 16 + 5 - 1;

fn subsys(w: &mut LineBuf<'_>, vhid: u8, ifname: &[u8]) -> fmt::Result {
    let mut tmp = [0u8; SUBSYS_MAX];
    let n = {
        let mut s = LineBuf::new(&mut tmp);
        write!(s, "{vhid}@")?;
        s.bytes(ifname);
        s.written()
    };
    w.bytes(tmp.get(..n).unwrap_or(&[]));
    Ok(())
}

/// `carp: <vhid>@<if>: <OLD> -> <NEW> (<reason>)`.
pub fn state_change(
    buf: &mut [u8],
    vhid: u8,
    ifname: &[u8],
    from: State,
    to: State,
    reason: &str,
) -> usize {
    with(buf, |w| {
        w.write_str("carp: ")?;
        subsys(w, vhid, ifname)?;
        write!(w, ": {from} -> {to} ({reason})")
    })
}

/// `carp: demoted by <n> to <total> (<reason>)`.
pub fn demoted(buf: &mut [u8], by: i32, total: i32, reason: &str) -> usize {
    with(buf, |w| {
        write!(w, "carp: demoted by {by} to {total} ({reason})")
    })
}

/// `carp: <vhid>@<if>: <what> from <peer>: <diagnosis>` for the first
/// report of a conflict episode. FreeBSD has no such line; it follows the
/// state-change line's form so the same log filters catch it.
pub fn conflict(
    buf: &mut [u8],
    vhid: u8,
    ifname: &[u8],
    peer: &core::net::IpAddr,
    kind: &Conflict,
) -> usize {
    with(buf, |w| {
        w.write_str("carp: ")?;
        subsys(w, vhid, ifname)?;
        match kind {
            Conflict::SplitBrain { ours, theirs } => write!(
                w,
                ": split brain: {peer} also MASTER (skew {theirs}, ours {ours}), does not hear us"
            ),
            Conflict::BadAuth(hint) => {
                write!(w, ": bad auth from {peer}: ")?;
                match hint {
                    AuthHint::FewerAddresses { missing } => {
                        write!(w, "same password, {missing} of our addresses missing")
                    }
                    AuthHint::PeerHasNoPassword => w.write_str("peer has no password"),
                    AuthHint::PeerHasPassword => w.write_str("peer has a password, we have none"),
                    AuthHint::WrongPasswordOrAddresses => {
                        w.write_str("wrong password (or addresses we lack)")
                    }
                }
            }
            Conflict::Protocol { theirs } => {
                let (name, ours) = match theirs {
                    Version::Carp => ("CARP", "VRRP vrid"),
                    Version::Vrrp3 => ("VRRPv3", "CARP vhid"),
                };
                write!(w, ": {name} adverts from {peer} use our {ours} {vhid}")
            }
        }
    })
}

/// devd type of a conflict report.
pub const fn conflict_devd_type(kind: &Conflict) -> &'static str {
    match kind {
        Conflict::BadAuth(_) => "BADAUTH",
        _ => "CONFLICT",
    }
}

/// `carp: <address> removed from <if>: module unloaded`: carp_rs takes
/// every address it manages away when it goes, so that no host answers
/// for a VIP without CARP (a plain address would answer ARP/NS with the
/// host's own MAC next to the MASTER).
pub fn addr_removed(buf: &mut [u8], addr: core::net::IpAddr, ifname: &[u8]) -> usize {
    with(buf, |w| {
        write!(w, "carp: {addr} removed from ")?;
        w.bytes(ifname);
        w.write_str(": module unloaded")
    })
}

/// The log line of an engine event, if `log_level` wants one: state
/// changes and demotion at level >= 1 (LOG_INFO), bad packets at >= 2
/// (LOG_DEBUG, no prefix). `ifname` names the event's interface. Returns
/// the length, 0 meaning "nothing to log". Announce events are not logged.
pub fn event(buf: &mut [u8], log_level: u8, ev: &Event, ifname: &[u8]) -> usize {
    match *ev {
        Event::StateChanged {
            vhid,
            from,
            to,
            reason,
            ..
        } if log_level >= 1 => state_change(buf, vhid, ifname, from, to, reason.as_str()),
        Event::Demoted { by, total, reason } if log_level >= 1 => {
            demoted(buf, by, total, reason.as_str())
        }
        Event::Conflict {
            vhid,
            ref peer,
            ref kind,
            ..
        } if log_level >= 1 => conflict(buf, vhid, ifname, peer, kind),
        Event::BadPacket { vhid, drop, .. } if log_level >= 2 => with(buf, |w| {
            write!(w, "{}: ", drop.as_str())?;
            subsys(w, vhid, ifname)
        }),
        _ => 0,
    }
}

/// devd system of the modern notifications.
pub const DEVD_SYSTEM: &str = "CARP";

/// devd subsystem `<vhid>@<ifname>` (cut as the kernel's buffer cuts it).
pub fn devd_subsystem(buf: &mut [u8], vhid: u8, ifname: &[u8]) -> usize {
    with(buf, |w| subsys(w, vhid, ifname))
}

/// devd type: the new state's name.
pub const fn devd_type(state: State) -> &'static str {
    state.as_str()
}

/// The line `devctl_notify("CARP", "<vhid>@<if>", "<STATE>", NULL)` puts on
/// /dev/devctl: `!system=CARP subsystem=1@em0 type=MASTER`.
pub fn devd_notify(buf: &mut [u8], vhid: u8, ifname: &[u8], state: State) -> usize {
    with(buf, |w| {
        write!(w, "!system={DEVD_SYSTEM} subsystem=")?;
        subsys(w, vhid, ifname)?;
        write!(w, " type={}", devd_type(state))
    })
}

/// ifconfig's status for one vhid: CARP prints
/// `\tcarp: MASTER vhid 1 advbase 1 advskew 100` (plus ` key "<k>"` with
/// `-k` when the key is visible and set) and
/// `\t      peer 224.0.0.18 peer6 ff02::12`; VRRP prints
/// `\tvrrp: MASTER vrid 1 prio 100 interval 100`. Each line ends in "\n".
pub fn ifconfig_status(buf: &mut [u8], info: &VhidInfo, show_key: bool) -> usize {
    with(buf, |w| match info.version {
        Version::Carp => {
            write!(
                w,
                "\tcarp: {} vhid {} advbase {} advskew {}",
                info.state, info.vhid, info.advbase, info.advskew
            )?;
            if show_key && info.key.first().is_some_and(|b| *b != 0) {
                let len = info
                    .key
                    .iter()
                    .position(|b| *b == 0)
                    .unwrap_or(info.key.len());
                w.write_str(" key \"")?;
                w.bytes(info.key.get(..len).unwrap_or(&[]));
                w.write_str("\"")?;
            }
            write!(w, "\n\t      peer {} peer6 {}\n", info.peer4, info.peer6)
        }
        Version::Vrrp3 => writeln!(
            w,
            "\tvrrp: {} vrid {} prio {} interval {}",
            info.state, info.vhid, info.vrrp_priority, info.vrrp_interval
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ctl::info;
    use crate::ctl::tests::running_engine;
    use crate::engine::{DemoteReason, Drop, Reason, VhidConfig, VhidId};
    use core::net::Ipv4Addr;

    fn s(buf: &[u8], n: usize) -> &str {
        core::str::from_utf8(&buf[..n]).unwrap()
    }

    #[test]
    fn state_change_line() {
        let mut b = [0u8; 128];
        let n = state_change(
            &mut b,
            1,
            b"em0",
            State::Backup,
            State::Master,
            "master timed out",
        );
        assert_eq!(s(&b, n), "carp: 1@em0: BACKUP -> MASTER (master timed out)");
        let n = state_change(
            &mut b,
            255,
            b"vtnet0",
            State::Init,
            State::Backup,
            Reason::InitComplete.as_str(),
        );
        assert_eq!(
            s(&b, n),
            "carp: 255@vtnet0: INIT -> BACKUP (initialization complete)"
        );
    }

    #[test]
    fn demotion_line() {
        let mut b = [0u8; 64];
        let n = demoted(&mut b, -240, 0, "interface up");
        assert_eq!(s(&b, n), "carp: demoted by -240 to 0 (interface up)");
    }

    #[test]
    fn truncation_is_like_snprintf() {
        let mut b = [0u8; 10];
        let n = demoted(&mut b, 1, 1, "sysctl");
        assert_eq!(n, "carp: demoted by 1 to 1 (sysctl)".len());
        assert_eq!(
            &b, b"carp: demo",
            "no NUL is written: the length is returned"
        );
        let mut w = LineBuf::new(&mut []);
        w.bytes(b"abc");
        assert!(w.truncated());
        assert_eq!((w.written(), w.needed()), (0, 3));
    }

    #[test]
    fn event_lines_follow_the_log_level() {
        let mut b = [0u8; 128];
        let ev = Event::StateChanged {
            id: VhidId::from_raw(0),
            iface: 2,
            vhid: 3,
            from: State::Master,
            to: State::Backup,
            reason: Reason::MoreFrequentAdvert,
        };
        assert_eq!(event(&mut b, 0, &ev, b"igb1"), 0);
        let n = event(&mut b, 1, &ev, b"igb1");
        assert_eq!(
            s(&b, n),
            "carp: 3@igb1: MASTER -> BACKUP (more frequent advertisement received)"
        );
        let d = Event::Demoted {
            by: 240,
            total: 240,
            reason: DemoteReason::InterfaceDown,
        };
        let n = event(&mut b, 1, &d, b"");
        assert_eq!(s(&b, n), "carp: demoted by 240 to 240 (interface down)");
        let bad = Event::BadPacket {
            iface: 2,
            vhid: 3,
            drop: Drop::BadAuth,
        };
        assert_eq!(event(&mut b, 1, &bad, b"igb1"), 0);
        let n = event(&mut b, 2, &bad, b"igb1");
        assert_eq!(s(&b, n), "incorrect hash: 3@igb1");
        let ann = Event::Announce {
            id: VhidId::from_raw(0),
            iface: 2,
            vhid: 3,
        };
        assert_eq!(event(&mut b, 9, &ann, b"igb1"), 0);
    }

    #[test]
    fn devd_pieces() {
        let mut b = [0u8; 64];
        let n = devd_notify(&mut b, 1, b"em0", State::Master);
        assert_eq!(s(&b, n), "!system=CARP subsystem=1@em0 type=MASTER");
        let n = devd_subsystem(&mut b, 12, b"lagg0.100");
        assert_eq!(s(&b, n), "12@lagg0.100");
        assert_eq!(devd_type(State::Init), "INIT");
        // The longest real name (15 characters) fits; anything longer is cut
        // at 20 characters like the kernel's snprintf into IFNAMSIZ + 5.
        let n = devd_subsystem(&mut b, 200, b"abcdefghijklmno");
        assert_eq!(s(&b, n), "200@abcdefghijklmno");
        let n = devd_subsystem(&mut b, 200, b"abcdefghijklmnopqrst");
        assert_eq!(s(&b, n), "200@abcdefghijklmnop");
        let n = devd_notify(&mut b, 200, b"abcdefghijklmnopqrst", State::Backup);
        assert_eq!(
            s(&b, n),
            "!system=CARP subsystem=200@abcdefghijklmnop type=BACKUP"
        );
    }

    #[test]
    fn ifconfig_carp_status() {
        let (e, id) = running_engine(State::Master);
        let mut i = info(&e, id, true).unwrap();
        i.advskew = 100;
        let mut b = [0u8; 256];
        let n = ifconfig_status(&mut b, &i, false);
        assert_eq!(
            s(&b, n),
            "\tcarp: MASTER vhid 1 advbase 1 advskew 100\n\t      peer 224.0.0.18 peer6 ff02::12\n"
        );
        i.key[..4].copy_from_slice(b"pass");
        let n = ifconfig_status(&mut b, &i, true);
        assert!(s(&b, n).starts_with("\tcarp: MASTER vhid 1 advbase 1 advskew 100 key \"pass\"\n"));
        i.peer4 = Ipv4Addr::new(198, 51, 100, 224);
        let n = ifconfig_status(&mut b, &i, false);
        assert!(s(&b, n).ends_with("\t      peer 198.51.100.224 peer6 ff02::12\n"));
    }

    #[test]
    fn ifconfig_vrrp_status() {
        let mut cfg = VhidConfig::new(1);
        cfg.version = Version::Vrrp3;
        let i = VhidInfo::from_config(&cfg, State::Master, true);
        let mut b = [0u8; 128];
        let n = ifconfig_status(&mut b, &i, true);
        assert_eq!(s(&b, n), "\tvrrp: MASTER vrid 1 prio 100 interval 100\n");
    }

    #[test]
    fn addr_removed_names_address_and_interface() {
        let mut b = [0u8; 96];
        let n = addr_removed(&mut b, Ipv4Addr::new(192, 0, 2, 50).into(), b"em0");
        assert_eq!(
            &b[..n],
            b"carp: 192.0.2.50 removed from em0: module unloaded"
        );
        let a6: core::net::Ipv6Addr = "2001:db8::50".parse().unwrap();
        let n = addr_removed(&mut b, a6.into(), b"vtnet0");
        assert_eq!(
            &b[..n],
            b"carp: 2001:db8::50 removed from vtnet0: module unloaded"
        );
    }
}
