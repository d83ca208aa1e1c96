//! `net.inet.carp.*`: what reading and writing each knob means.
//!
//! The shim registers one OID per [`Knob`] and calls [`handle`] with the
//! value written, if any; as `sysctl_handle_int` does, the value before the
//! write is what the caller reads back. The engine keeps booleans and a u8
//! log level, so an `allow` of 5 reads back as 1 and a log level is clamped
//! to 0..=255 (FreeBSD stores the int; only zero/non-zero and >0/>1 matter).

use core::ffi::CStr;

use crate::engine::{DemoteReason, Engine, Instant, Stats};

use super::Errno;

/// One integer OID under `net.inet.carp`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Knob {
    Allow,
    Preempt,
    Log,
    /// Reads the current demotion; a write *adds* the value.
    Demotion,
    SenderrDemotionFactor,
    IfdownDemotionFactor,
    /// 0..=63, else EINVAL.
    Dscp,
    /// FreeBSD 9.
    Arpbalance,
    /// FreeBSD 9, read-only.
    SuppressPreempt,
    /// carp_rs, opt-in: drop adverts whose counter does not advance.
    ReplayCheck,
    /// carp_rs, opt-in: seconds between a MASTER's re-announcements.
    GarpInterval,
}

impl Knob {
    pub const ALL: [Knob; 11] = [
        Knob::Allow,
        Knob::Preempt,
        Knob::Log,
        Knob::Demotion,
        Knob::SenderrDemotionFactor,
        Knob::IfdownDemotionFactor,
        Knob::Dscp,
        Knob::Arpbalance,
        Knob::SuppressPreempt,
        Knob::ReplayCheck,
        Knob::GarpInterval,
    ];

    /// The leaf name under `net.inet.carp`, NUL-terminated: the shim
    /// registers it as it is (`carp_rs_sysctl_oid`).
    pub const fn c_name(self) -> &'static CStr {
        match self {
            Knob::Allow => c"allow",
            Knob::Preempt => c"preempt",
            Knob::Log => c"log",
            Knob::Demotion => c"demotion",
            Knob::SenderrDemotionFactor => c"senderr_demotion_factor",
            Knob::IfdownDemotionFactor => c"ifdown_demotion_factor",
            Knob::Dscp => c"dscp",
            Knob::Arpbalance => c"arpbalance",
            Knob::SuppressPreempt => c"suppress_preempt",
            Knob::ReplayCheck => c"replay_check",
            Knob::GarpInterval => c"garp_interval",
        }
    }

    /// The description FreeBSD gives the OID (`sysctl -d`).
    pub const fn c_description(self) -> &'static CStr {
        match self {
            Knob::Allow => c"Accept incoming CARP packets",
            Knob::Preempt => c"High-priority backup preemption mode",
            Knob::Log => c"CARP log level",
            Knob::Demotion => c"Adjust demotion factor (skew of advskew)",
            Knob::SenderrDemotionFactor => c"Send error demotion factor adjustment",
            Knob::IfdownDemotionFactor => c"Interface down demotion factor adjustment",
            Knob::Dscp => c"DSCP value for carp packets",
            Knob::Arpbalance => c"balance arp responses",
            Knob::SuppressPreempt => c"Preemption is suppressed",
            Knob::ReplayCheck => c"Drop advertisements whose counter does not advance",
            Knob::GarpInterval => c"Seconds between a MASTER's gratuitous ARP/NA (0 off)",
        }
    }

    /// [`Knob::c_name`] as text.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("")
    }

    /// [`Knob::c_description`] as text.
    pub fn description(self) -> &'static str {
        self.c_description().to_str().unwrap_or("")
    }

    pub fn from_name(name: &[u8]) -> Option<Knob> {
        Knob::ALL.into_iter().find(|k| k.name().as_bytes() == name)
    }

    /// `CTLFLAG_RW`, except `suppress_preempt` (`CTLFLAG_RD`).
    pub const fn writable(self) -> bool {
        !matches!(self, Knob::SuppressPreempt)
    }
}

/// The value a read returns.
pub fn read(engine: &Engine, knob: Knob) -> i32 {
    let k = engine.knobs();
    match knob {
        Knob::Allow => i32::from(k.allow),
        Knob::Preempt => i32::from(k.preempt),
        Knob::Log => i32::from(k.log),
        Knob::Demotion => k.demotion,
        Knob::SenderrDemotionFactor => k.senderr_demotion_factor,
        Knob::IfdownDemotionFactor => k.ifdown_demotion_factor,
        Knob::Dscp => i32::from(k.dscp),
        Knob::Arpbalance => i32::from(k.arpbalance),
        Knob::SuppressPreempt => i32::try_from(k.suppress_preempt).unwrap_or(i32::MAX),
        Knob::ReplayCheck => i32::from(k.replay_check),
        Knob::GarpInterval => i32::try_from(k.garp_interval).unwrap_or(i32::MAX),
    }
}

/// Applies a written value. `allow` re-runs every vhid's state only when it
/// changes; `demotion` adds `value` (logged with reason "sysctl", and every
/// MASTER re-advertises); a read-only OID gives EPERM as the sysctl layer
/// does.
pub fn write(engine: &mut Engine, now: Instant, knob: Knob, value: i32) -> Result<(), Errno> {
    match knob {
        Knob::Allow => engine.set_allow(now, value != 0),
        Knob::Preempt => engine.set_preempt(value != 0),
        Knob::Log => engine.set_log(u8::try_from(value.clamp(0, 255)).unwrap_or(u8::MAX)),
        Knob::Demotion => engine.demote(now, value, DemoteReason::Sysctl),
        Knob::SenderrDemotionFactor => engine.set_senderr_demotion_factor(value),
        Knob::IfdownDemotionFactor => engine.set_ifdown_demotion_factor(value),
        Knob::Dscp => {
            let d = u8::try_from(value).map_err(|_| Errno::EINVAL)?;
            engine.set_dscp(d).map_err(|_| Errno::EINVAL)?;
        }
        Knob::Arpbalance => engine.set_arpbalance(value != 0),
        Knob::SuppressPreempt => return Err(Errno::EPERM),
        Knob::ReplayCheck => engine
            .set_replay_check(value != 0)
            .map_err(|_| Errno::ENOMEM)?,
        Knob::GarpInterval => {
            let secs = u32::try_from(value).map_err(|_| Errno::EINVAL)?;
            engine.set_garp_interval(secs);
        }
    }
    Ok(())
}

/// A whole sysctl request: returns the old value (what `sysctl` prints
/// before "->"), then applies `new` if given.
pub fn handle(
    engine: &mut Engine,
    now: Instant,
    knob: Knob,
    new: Option<i32>,
) -> Result<i32, Errno> {
    let old = read(engine, knob);
    if let Some(v) = new {
        write(engine, now, knob, v)?;
    }
    Ok(old)
}

/// `sizeof(struct carpstats)`.
pub const STATS_LEN: usize = 16 * 8;

/// `net.inet.carp.stats`: copies the counters out as 16 native-endian
/// `uint64_t` and, if the request writes anything (`netstat -z`), zeroes
/// them after taking the copy (`VNET_PCPUSTAT_SYSCTL`). Returns the bytes
/// written; ENOMEM if `out` is shorter than `struct carpstats`.
pub fn stats(engine: &mut Engine, out: &mut [u8], reset: bool) -> Result<usize, Errno> {
    let dst = out.get_mut(..STATS_LEN).ok_or(Errno::ENOMEM)?;
    write_stats(engine.stats(), dst);
    if reset {
        engine.reset_stats();
    }
    Ok(STATS_LEN)
}

fn write_stats(s: &Stats, dst: &mut [u8]) {
    for (chunk, v) in dst.chunks_exact_mut(8).zip(s.as_array()) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ctl::tests::{at, running_engine};
    use crate::engine::{Event, Reason, State};

    #[test]
    fn defaults_are_freebsds() {
        let e = Engine::new();
        let got: alloc::vec::Vec<_> = Knob::ALL.iter().map(|k| (k.name(), read(&e, *k))).collect();
        assert_eq!(
            got,
            [
                ("allow", 1),
                ("preempt", 0),
                ("log", 1),
                ("demotion", 0),
                ("senderr_demotion_factor", 240),
                ("ifdown_demotion_factor", 240),
                ("dscp", 56),
                ("arpbalance", 0),
                ("suppress_preempt", 0),
                // carp_rs's additions, off by default.
                ("replay_check", 0),
                ("garp_interval", 0),
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for k in Knob::ALL {
            assert_eq!(Knob::from_name(k.name().as_bytes()), Some(k));
            assert!(!k.description().is_empty());
        }
        assert_eq!(Knob::from_name(b"alloww"), None);
        assert_eq!(Knob::from_name(b""), None);
    }

    #[test]
    fn demotion_writes_add_and_log() {
        // The engine only queues events once a vhid reserved room for them.
        let (mut e, _) = running_engine(State::Backup);
        assert_eq!(handle(&mut e, at(0), Knob::Demotion, Some(50)), Ok(0));
        assert_eq!(handle(&mut e, at(0), Knob::Demotion, Some(-20)), Ok(50));
        assert_eq!(read(&e, Knob::Demotion), 30);
        assert_eq!(
            e.poll_event(),
            Some(Event::Demoted {
                by: 50,
                total: 50,
                reason: DemoteReason::Sysctl
            })
        );
        assert_eq!(
            e.poll_event(),
            Some(Event::Demoted {
                by: -20,
                total: 30,
                reason: DemoteReason::Sysctl
            })
        );
    }

    #[test]
    fn dscp_range() {
        let mut e = Engine::new();
        for bad in [-1, 64, 1000, i32::MIN] {
            assert_eq!(write(&mut e, at(0), Knob::Dscp, bad), Err(Errno::EINVAL));
            assert_eq!(read(&e, Knob::Dscp), 56);
        }
        write(&mut e, at(0), Knob::Dscp, 0).unwrap();
        assert_eq!(read(&e, Knob::Dscp), 0);
        assert_eq!(handle(&mut e, at(0), Knob::Dscp, Some(63)), Ok(0));
        assert_eq!(read(&e, Knob::Dscp), 63);
    }

    #[test]
    fn plain_knobs() {
        let mut e = Engine::new();
        write(&mut e, at(0), Knob::Preempt, 7).unwrap();
        assert_eq!(read(&e, Knob::Preempt), 1);
        assert!(e.knobs().preempt);
        write(&mut e, at(0), Knob::Log, 2).unwrap();
        assert_eq!(read(&e, Knob::Log), 2);
        write(&mut e, at(0), Knob::Log, -5).unwrap();
        assert_eq!(read(&e, Knob::Log), 0);
        write(&mut e, at(0), Knob::IfdownDemotionFactor, -3).unwrap();
        write(&mut e, at(0), Knob::SenderrDemotionFactor, 100).unwrap();
        assert_eq!(read(&e, Knob::IfdownDemotionFactor), -3);
        assert_eq!(read(&e, Knob::SenderrDemotionFactor), 100);
        write(&mut e, at(0), Knob::Arpbalance, 1).unwrap();
        assert!(e.knobs().arpbalance);
        assert_eq!(
            write(&mut e, at(0), Knob::SuppressPreempt, 1),
            Err(Errno::EPERM)
        );
        assert!(!Knob::SuppressPreempt.writable());
        e.adjust_suppress_preempt(at(0), 2);
        assert_eq!(read(&e, Knob::SuppressPreempt), 2);
    }

    #[test]
    fn allow_zero_stops_and_one_restarts() {
        let (mut e, id) = running_engine(State::Master);
        write(&mut e, at(10), Knob::Allow, 0).unwrap();
        assert_eq!(e.vhid_state(id), Some(State::Init));
        let mut saw_down = false;
        while let Some(ev) = e.poll_event() {
            if let Event::StateChanged {
                to: State::Init,
                reason,
                ..
            } = ev
            {
                assert_eq!(reason, Reason::HardwareDown);
                saw_down = true;
            }
        }
        assert!(saw_down);
        assert_eq!(read(&e, Knob::Demotion), 240, "ifdown demotion applied");
        // Writing the same value again is not a change.
        write(&mut e, at(11), Knob::Allow, 0).unwrap();
        assert_eq!(e.poll_event(), None);
        write(&mut e, at(12), Knob::Allow, 1).unwrap();
        assert_eq!(e.vhid_state(id), Some(State::Backup));
        assert_eq!(read(&e, Knob::Demotion), 0);
    }

    #[test]
    fn stats_copy_then_reset() {
        let mut e = Engine::new();
        e.count_hdrop();
        e.count_hdrop();
        e.count_onomem();
        let mut out = [0xffu8; STATS_LEN + 4];
        assert_eq!(stats(&mut e, &mut out, false), Ok(STATS_LEN));
        let words: alloc::vec::Vec<u64> = out[..STATS_LEN]
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(words[4], 2, "hdrops is the fifth counter");
        assert_eq!(words[13], 1, "onomem is the fourteenth");
        assert_eq!(words.iter().sum::<u64>(), 3);
        assert_eq!(out[STATS_LEN], 0xff);
        // The write returns the old values, then zeroes.
        stats(&mut e, &mut out, true).unwrap();
        assert_eq!(u64::from_ne_bytes(out[32..40].try_into().unwrap()), 2);
        stats(&mut e, &mut out, false).unwrap();
        assert!(out[..STATS_LEN].iter().all(|b| *b == 0));
        assert_eq!(stats(&mut e, &mut out[..100], false), Err(Errno::ENOMEM));
    }
}
