//! The node: one vhid of the engine on one Linux interface, driven by a
//! single-threaded poll loop over the raw sockets, a timerfd armed at
//! `poll_timeout()` and a signalfd.

pub mod cli;
mod frame;
mod json;
mod netlink;
mod sys;

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use carp_rs::ctl::status;
use carp_rs::engine::{Drop, Engine, Event, Instant, Received, State, Transmit, VhidId};

use cli::Args;
use json::Val;

const IFINDEX_ENGINE: u32 = 1;

struct Node {
    args: Args,
    engine: Engine,
    id: VhidId,
    ifindex: u32,
    mac: [u8; 6],
    raw4: OwnedFd,
    raw6: OwnedFd,
    pkt: OwnedFd,
    rtnl: netlink::Rtnl,
    ip_id: u16,
    frame: Vec<u8>,
    /// Drop kinds already logged: each is logged once, with a hint, so a
    /// misconfigured peer is visible without flooding the log.
    logged: HashSet<&'static str>,
    vips_up: bool,
}

fn now() -> Instant {
    Instant::from_nanos(sys::mono_ns())
}

fn hint(d: Drop) -> &'static str {
    match d {
        Drop::BadAuth => {
            "check that both sides use the same pass and the same addresses on this vhid"
        }
        Drop::BadTtl => "the advert crossed a router or the peer does not send with TTL 255",
        Drop::BadVersion => "a VRRP speaker shares this vhid number: use carpver 3 or another vhid",
        Drop::BadChecksum => "corrupted packet, or a VRRPv3 peer with another checksum convention",
        Drop::BadAddresses => "the VRRP peer advertises another address list",
        _ => "",
    }
}

pub fn run(args: Args) -> io::Result<i32> {
    sys::tighten_timer_slack();
    let rt = !args.no_rt && sys::realtime();
    let ifindex = sys::ifindex(&args.dev)?;
    let info = sys::ifinfo(&args.dev)?;
    let vips: Vec<IpAddr> = args.addrs.iter().map(|(a, _)| *a).collect();
    // Own addresses, not the VIPs: the advert source and the looped check.
    let own4 = info
        .v4
        .iter()
        .copied()
        .find(|a| !vips.contains(&IpAddr::V4(*a)));
    let own6 = pick_v6(&info.v6, &vips);
    let tos = args.dscp << 2;
    let raw4 = sys::raw4(&args.dev, ifindex, tos)?;
    let want6 = vips.iter().any(|a| a.is_ipv6());
    let raw6 = if want6 {
        sys::raw6(&args.dev, ifindex, tos)?
    } else {
        // An IPv4-only vhid still owns an fd here to keep the poll set
        // uniform: a socket that never becomes readable.
        sys::timerfd()?
    };
    let pkt = sys::packet()?;
    let mut rtnl = netlink::Rtnl::open()?;
    // A node killed with SIGKILL leaves its VIPs behind: start clean, as a
    // BACKUP must not hold them.
    for (a, l) in &args.addrs {
        rtnl.addr_del(ifindex, *a, *l)?;
    }

    let mut engine = Engine::new();
    engine.seed_rng(sys::wall_ns() ^ (u64::from(std::process::id()) << 32));
    engine.set_preempt(args.preempt);
    engine.set_garp_interval(args.garp_interval);
    engine
        .set_replay_check(args.replay_check)
        .map_err(|e| io::Error::other(e.to_string()))?;
    engine
        .set_dscp(args.dscp)
        .map_err(|e| io::Error::other(e.to_string()))?;
    engine
        .set_iface_addrs(IFINDEX_ENGINE, own4, own6)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let t = now();
    let id = engine
        .vhid_set(t, IFINDEX_ENGINE, &args.cfg)
        .map_err(|e| io::Error::other(e.to_string()))?;

    let addrs_json = format!(
        "[{}]",
        args.addrs
            .iter()
            .map(|(a, l)| json::escape(&format!("{a}/{l}")))
            .collect::<Vec<_>>()
            .join(",")
    );
    json::emit(&[
        ("event", Val::Str("start")),
        ("t_ns", Val::Num(t.as_nanos())),
        ("wall_ns", Val::Num(sys::wall_ns())),
        ("pid", Val::Num(u64::from(std::process::id()))),
        ("dev", Val::Str(&args.dev)),
        ("vhid", Val::Num(u64::from(args.cfg.vhid))),
        ("carpver", Val::Num(u64::from(args.cfg.version.number()))),
        ("advbase", Val::Num(u64::from(args.cfg.advbase))),
        ("advskew", Val::Num(u64::from(args.cfg.advskew))),
        ("vrrpprio", Val::Num(u64::from(args.cfg.vrrp_priority))),
        ("preempt", Val::Raw(args.preempt.to_string())),
        ("sched", Val::Str(if rt { "fifo" } else { "other" })),
        ("src4", Val::Raw(opt_str(own4.map(IpAddr::V4)))),
        ("src6", Val::Raw(opt_str(own6.map(IpAddr::V6)))),
        ("addrs", Val::Raw(addrs_json)),
    ]);

    let mut node = Node {
        args,
        engine,
        id,
        ifindex,
        mac: info.mac,
        raw4,
        raw6,
        pkt,
        rtnl,
        ip_id: (sys::wall_ns() & 0xffff) as u16,
        frame: Vec::with_capacity(1600),
        logged: HashSet::new(),
        vips_up: false,
    };
    for (a, _) in node.args.addrs.clone() {
        node.engine
            .addr_add(t, id, a)
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    node.flush(t);
    node.run_loop()
}

fn opt_str(a: Option<IpAddr>) -> String {
    a.map(|a| json::escape(&a.to_string()))
        .unwrap_or_else(|| "null".into())
}

/// Global address first (it names the host in captures), else link-local.
fn pick_v6(v6: &[Ipv6Addr], vips: &[IpAddr]) -> Option<Ipv6Addr> {
    let own = || {
        v6.iter()
            .copied()
            .filter(|a| !vips.contains(&IpAddr::V6(*a)))
    };
    own()
        .find(|a| !a.is_unicast_link_local())
        .or_else(|| own().next())
}

impl Node {
    fn run_loop(&mut self) -> io::Result<i32> {
        let timer = sys::timerfd()?;
        let sig = sys::signalfd()?;
        let fds = [
            self.raw4.as_raw_fd(),
            self.raw6.as_raw_fd(),
            timer.as_raw_fd(),
            sig.as_raw_fd(),
        ];
        let mut ready = [false; 4];
        let mut buf = vec![0u8; 65536];
        loop {
            sys::timer_set(&timer, self.engine.poll_timeout().map(|t| t.as_nanos()))?;
            sys::poll(&fds, &mut ready)?;
            let t = now();
            if ready[2] {
                sys::drain(&timer);
            }
            if self.engine.poll_timeout().is_some_and(|d| d <= t) {
                self.engine.handle_timeout(t);
                self.flush(t);
            }
            if ready[0] {
                while let Some(n) = sys::recv4(&self.raw4, &mut buf)? {
                    let t = now();
                    if let Some(ip) = frame::parse_ipv4(buf.get(..n).unwrap_or(&[])) {
                        let rx = Received {
                            iface: IFINDEX_ENGINE,
                            src: IpAddr::V4(ip.src),
                            dst: IpAddr::V4(ip.dst),
                            ttl: ip.ttl,
                            payload: ip.payload,
                        };
                        let r = self.engine.handle_packet(t, &rx);
                        self.note_drop(t, r, rx.src);
                    } else {
                        self.engine.count_hdrop();
                    }
                    self.flush(t);
                }
            }
            if ready[1] && self.args.addrs.iter().any(|(a, _)| a.is_ipv6()) {
                while let Some(rx6) = sys::recv6(&self.raw6, &mut buf)? {
                    let t = now();
                    let rx = Received {
                        iface: IFINDEX_ENGINE,
                        src: IpAddr::V6(rx6.src),
                        dst: IpAddr::V6(rx6.dst.unwrap_or(Ipv6Addr::UNSPECIFIED)),
                        ttl: rx6.hoplimit.unwrap_or(0),
                        payload: buf.get(..rx6.len).unwrap_or(&[]),
                    };
                    let r = self.engine.handle_packet(t, &rx);
                    self.note_drop(t, r, rx.src);
                    self.flush(t);
                }
            }
            if ready[3] {
                while let Some(s) = sys::read_signal(&sig) {
                    match s as i32 {
                        libc::SIGUSR1 => self.print_stats(),
                        _ => return self.shutdown(s),
                    }
                }
            }
        }
    }

    fn note_drop(&mut self, t: Instant, r: Result<(), Drop>, src: IpAddr) {
        let Err(d) = r else { return };
        if matches!(d, Drop::UnknownVhid | Drop::Looped | Drop::NotAllowed) {
            return;
        }
        if !self.logged.insert(d.as_str()) {
            return;
        }
        let log = format!(
            "carp: {}@{}: {} from {} (hint: {}; logged once, see stats for the count)",
            self.args.cfg.vhid,
            self.args.dev,
            d.as_str(),
            src,
            hint(d)
        );
        eprintln!("{log}");
        json::emit(&[
            ("event", Val::Str("drop")),
            ("t_ns", Val::Num(t.as_nanos())),
            ("wall_ns", Val::Num(sys::wall_ns())),
            ("vhid", Val::Num(u64::from(self.args.cfg.vhid))),
            ("drop", Val::Str(drop_counter(d))),
            ("src", Val::Str(&src.to_string())),
            ("log", Val::Str(&log)),
        ]);
    }

    /// Sends every queued advert first (the takeover advert is what the
    /// peers and the failover clock wait for), then acts on events.
    fn flush(&mut self, t: Instant) {
        let mut buf = [0u8; 1500];
        while let Some(tx) = self.engine.poll_transmit(&mut buf) {
            let ok = self.send(&tx, buf.get(..tx.len).unwrap_or(&[]));
            if let Err(e) = &ok {
                eprintln!(
                    "carp: {}@{}: send failed: {e}",
                    self.args.cfg.vhid, self.args.dev
                );
            }
            self.engine.transmit_result(t, tx.id, ok.is_ok());
        }
        while let Some(ev) = self.engine.poll_event() {
            self.on_event(t, ev);
        }
        // Events may have queued more adverts (none today, but cheap).
        while let Some(tx) = self.engine.poll_transmit(&mut buf) {
            let ok = self.send(&tx, buf.get(..tx.len).unwrap_or(&[]));
            self.engine.transmit_result(t, tx.id, ok.is_ok());
        }
    }

    fn send(&mut self, tx: &Transmit, payload: &[u8]) -> io::Result<()> {
        match (tx.src, tx.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) if dst.is_multicast() => {
                self.ip_id = self.ip_id.wrapping_add(1);
                let mac = tx.src_mac.unwrap_or(self.mac);
                frame::ipv4(
                    &mut self.frame,
                    frame::mcast_mac4(dst),
                    mac,
                    src,
                    dst,
                    tx.tos,
                    tx.ttl,
                    self.ip_id,
                    payload,
                );
                sys::send_frame(&self.pkt, self.ifindex, frame::mcast_mac4(dst), &self.frame)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) if dst.is_multicast() => {
                let mac = tx.src_mac.unwrap_or(self.mac);
                frame::ipv6(
                    &mut self.frame,
                    frame::mcast_mac6(dst),
                    mac,
                    src,
                    dst,
                    tx.tos,
                    tx.ttl,
                    112,
                    payload,
                );
                sys::send_frame(&self.pkt, self.ifindex, frame::mcast_mac6(dst), &self.frame)
            }
            (_, IpAddr::V4(dst)) => sys::send_raw4(&self.raw4, dst, payload),
            (_, IpAddr::V6(dst)) => sys::send_raw6(&self.raw6, dst, self.ifindex, payload),
        }
    }

    fn on_event(&mut self, t: Instant, ev: Event) {
        match ev {
            Event::StateChanged {
                vhid,
                from,
                to,
                reason,
                ..
            } => {
                if to == State::Master {
                    self.vips(true);
                } else if self.vips_up {
                    self.vips(false);
                }
                let log = format!(
                    "carp: {vhid}@{}: {} -> {} ({})",
                    self.args.dev,
                    from.as_str(),
                    to.as_str(),
                    reason.as_str()
                );
                json::emit(&[
                    ("event", Val::Str("state")),
                    ("t_ns", Val::Num(t.as_nanos())),
                    ("wall_ns", Val::Num(sys::wall_ns())),
                    ("dev", Val::Str(&self.args.dev)),
                    ("vhid", Val::Num(u64::from(vhid))),
                    ("from", Val::Str(from.as_str())),
                    ("to", Val::Str(to.as_str())),
                    ("reason", Val::Str(reason.as_str())),
                    ("log", Val::Str(&log)),
                ]);
            }
            Event::Announce { id, .. } => self.announce(id),
            Event::Demoted { by, total, reason } => {
                let log = format!("carp: demoted by {by} to {total} ({})", reason.as_str());
                json::emit(&[
                    ("event", Val::Str("demoted")),
                    ("t_ns", Val::Num(t.as_nanos())),
                    ("log", Val::Str(&log)),
                ]);
            }
            Event::Conflict {
                vhid,
                ref peer,
                ref kind,
                ..
            } => {
                let mut buf = [0u8; 256];
                let n = carp_rs::ctl::log::conflict(
                    &mut buf,
                    vhid,
                    self.args.dev.as_bytes(),
                    peer,
                    kind,
                )
                .min(buf.len());
                let log = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
                let peer = peer.to_string();
                json::emit(&[
                    ("event", Val::Str("conflict")),
                    ("t_ns", Val::Num(t.as_nanos())),
                    ("wall_ns", Val::Num(sys::wall_ns())),
                    ("vhid", Val::Num(u64::from(vhid))),
                    ("peer", Val::Str(&peer)),
                    (
                        "devd_type",
                        Val::Str(carp_rs::ctl::log::conflict_devd_type(kind)),
                    ),
                    ("log", Val::Str(&log)),
                ]);
            }
            Event::BadPacket { .. } => {}
        }
    }

    fn vips(&mut self, up: bool) {
        for (a, l) in self.args.addrs.clone() {
            let r = if up {
                self.rtnl.addr_add(self.ifindex, a, l)
            } else {
                self.rtnl.addr_del(self.ifindex, a, l)
            };
            if let Err(e) = r {
                eprintln!(
                    "carp: {}@{}: {} {a}/{l}: {e}",
                    self.args.cfg.vhid,
                    self.args.dev,
                    if up { "adding" } else { "removing" }
                );
            }
        }
        self.vips_up = up;
    }

    /// Gratuitous ARP / unsolicited NA for every VIP. The sender hardware
    /// address is the interface's own MAC, not the virtual one: Linux
    /// answers ARP for the VIP with its own MAC and does not receive frames
    /// sent to 00:00:5e:00:01:vhid, so announcing that MAC would black-hole
    /// traffic.
    fn announce(&mut self, id: VhidId) {
        let v4: Vec<Ipv4Addr> = self
            .engine
            .addrs_v4(id)
            .iter()
            .map(|o| Ipv4Addr::from(*o))
            .collect();
        let v6: Vec<Ipv6Addr> = self
            .engine
            .addrs_v6(id)
            .iter()
            .map(|o| Ipv6Addr::from(*o))
            .collect();
        for a in v4 {
            frame::garp(&mut self.frame, self.mac, a);
            let _ = sys::send_frame(&self.pkt, self.ifindex, frame::BROADCAST, &self.frame);
        }
        for a in v6 {
            frame::unsolicited_na(&mut self.frame, self.mac, a);
            let dst = [0x33, 0x33, 0, 0, 0, 1];
            let _ = sys::send_frame(&self.pkt, self.ifindex, dst, &self.frame);
        }
    }

    fn print_stats(&self) {
        let s = self.engine.stats();
        let carpstats = format!(
            "{{{}}}",
            carp_rs::engine::Stats::NAMES
                .iter()
                .zip(s.as_array())
                .map(|(n, v)| format!("\"{n}\":{v}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let vs = self
            .engine
            .vhid_stats(self.id)
            .map(|v| {
                format!(
                    "{{\"adverts_in\":{},\"adverts_out\":{},\"bad_auth\":{},\"bad_ttl\":{},\"transitions\":{},\"became_master\":{},\"dual_master\":{},\"send_errors\":{},\"preemptions\":{},\"bad_replay\":{}}}",
                    v.adverts_in, v.adverts_out, v.bad_auth, v.bad_ttl, v.transitions,
                    v.became_master, v.dual_master, v.send_errors, v.preemptions, v.bad_replay
                )
            })
            .unwrap_or_else(|| "null".into());
        let state = self
            .engine
            .vhid_state(self.id)
            .map(State::as_str)
            .unwrap_or("INIT");
        // The texts of net.inet.carp.vhids and .demotion_sources.
        let dev = self.args.dev.clone();
        let ifname = |_: u32, b: &mut [u8]| {
            let n = dev.len().min(b.len());
            b[..n].copy_from_slice(&dev.as_bytes()[..n]);
            n
        };
        let mut buf = vec![0u8; 4096];
        let n = status::vhids(&mut buf, &self.engine, now(), &ifname).min(buf.len());
        let vhids = String::from_utf8_lossy(&buf[..n]).into_owned();
        let n = status::demotion_sources(&mut buf, &self.engine, &ifname).min(buf.len());
        let sources = String::from_utf8_lossy(&buf[..n]).into_owned();
        json::emit(&[
            ("event", Val::Str("stats")),
            ("t_ns", Val::Num(sys::mono_ns())),
            ("vhid", Val::Num(u64::from(self.args.cfg.vhid))),
            ("state", Val::Str(state)),
            ("carpstats", Val::Raw(carpstats)),
            ("vhid_stats", Val::Raw(vs)),
            ("vhids", Val::Str(&vhids)),
            ("demotion_sources", Val::Str(&sources)),
        ]);
    }

    /// SIGTERM/SIGINT: remove the vhid, which makes a MASTER queue its
    /// bow-out advert; send it, drop the VIPs, report and exit.
    fn shutdown(&mut self, sig: u32) -> io::Result<i32> {
        self.print_stats();
        let t = now();
        let _ = self.engine.vhid_remove(t, self.id);
        self.flush(t);
        if self.vips_up {
            self.vips(false);
        }
        json::emit(&[
            ("event", Val::Str("exit")),
            ("t_ns", Val::Num(sys::mono_ns())),
            ("wall_ns", Val::Num(sys::wall_ns())),
            ("signal", Val::Num(u64::from(sig))),
        ]);
        Ok(0)
    }
}

fn drop_counter(d: Drop) -> &'static str {
    match d {
        Drop::NotAllowed => "notallowed",
        Drop::BadLength => "badlen",
        Drop::BadVersion => "badver",
        Drop::BadChecksum => "badsum",
        Drop::Looped => "badif",
        Drop::UnknownVhid => "badvhid",
        Drop::BadTtl => "badttl",
        Drop::BadAuth => "badauth",
        Drop::BadAddresses => "badaddrs",
        Drop::Replayed => "badreplay",
    }
}
