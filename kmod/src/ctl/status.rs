//! The diagnostics FreeBSD's carp has no place for, as text for read-only
//! sysctls: `net.inet.carp.demotion_sources` (who demotes this host and by
//! how much) and `net.inet.carp.vhids` (per vhid@interface: state, since
//! when and why, adverts, bad authentication, replays, preemptions and
//! master transitions). Interface names come from the driver through
//! `ifname`, as everywhere in `ctl`; like `snprintf`, the functions return
//! the length the whole text needed.

use core::fmt::{self, Write};

use crate::engine::{DemoteSource, Engine, IfIndex, Instant};

use super::log::LineBuf;

/// The driver's interface-name lookup: writes the name of an interface
/// into the buffer and returns its length (0 if unknown).
pub type IfName<'a> = &'a dyn Fn(IfIndex, &mut [u8]) -> usize;

fn name(w: &mut LineBuf<'_>, ifname: IfName<'_>, index: IfIndex) -> fmt::Result {
    let mut buf = [0u8; 16];
    let n = ifname(index, &mut buf).min(buf.len());
    match buf.get(..n) {
        Some(b) if n > 0 => w.bytes(b),
        _ => write!(w, "if{index}")?,
    }
    Ok(())
}

/// One line per live contribution, e.g. `ifdown em0 240`,
/// `senderr 1@em0 240`, `pfsync "bulk start" 240`, `admin -1`;
/// their sum is `net.inet.carp.demotion`. Empty when nothing demotes.
pub fn demotion_sources(buf: &mut [u8], engine: &Engine, ifname: IfName<'_>) -> usize {
    let mut w = LineBuf::new(buf);
    for (source, value) in engine.demotion_sources() {
        let _ = match source {
            DemoteSource::IfDown(i) => {
                let _ = w.write_str("ifdown ");
                let _ = name(&mut w, ifname, i);
                writeln!(w, " {value}")
            }
            DemoteSource::SendError { iface, vhid } => {
                let _ = write!(w, "senderr {vhid}@");
                let _ = name(&mut w, ifname, iface);
                writeln!(w, " {value}")
            }
            // carp_demote_adj_p's callers: pfsync names itself.
            DemoteSource::External(reason) => match reason.strip_prefix("pfsync ") {
                Some(what) => writeln!(w, "pfsync \"{what}\" {value}"),
                None => writeln!(w, "external \"{reason}\" {value}"),
            },
            DemoteSource::Admin => writeln!(w, "admin {value}"),
            DemoteSource::Other => writeln!(w, "other {value}"),
        };
    }
    w.needed()
}

/// Seconds (with milliseconds) between `then` and `now`.
fn ago(now: Instant, then: Instant) -> (u64, u64) {
    let ns = now.as_nanos().saturating_sub(then.as_nanos());
    (ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

/// One line per vhid, e.g.
/// `1@em0 MASTER since 12.345s (master timed out) sent 13 received 0
/// badauth 0 badreplay 0 preemptions 0 masters 1`.
pub fn vhids(buf: &mut [u8], engine: &Engine, now: Instant, ifname: IfName<'_>) -> usize {
    let mut w = LineBuf::new(buf);
    for id in engine.vhids() {
        let (Some(cfg), Some(state), Some(iface), Some(st), Some((since, why))) = (
            engine.vhid_config(id),
            engine.vhid_state(id),
            engine.vhid_iface(id),
            engine.vhid_stats(id),
            engine.vhid_since(id),
        ) else {
            continue;
        };
        let (s, ms) = ago(now, since);
        let why = why.map_or("created", |r| r.as_str());
        let _ = write!(w, "{}@", cfg.vhid);
        let _ = name(&mut w, ifname, iface);
        let _ = writeln!(
            w,
            " {state} since {s}.{ms:03}s ({why}) sent {} received {} badauth {} badreplay {} preemptions {} masters {}",
            st.adverts_out, st.adverts_in, st.bad_auth, st.bad_replay, st.preemptions, st.became_master
        );
    }
    w.needed()
}
