//! The scenarios, mirroring FreeBSD's tests/sys/netinet/carp.sh plus
//! carp_rs's own. Each reads its parameters from kenv (`carpvm.*`) and
//! reports through `report`; cross-VM facts travel over the barrier.

use carpvm::addr::{parse_v4, Prefix};
use carpvm::parse_u32;

use crate::kernel::{self, Barrier, CarpReq, Devctl};
use crate::report::{check, info, R};
use crate::sys;

/// Loader-environment parameters, fetched on demand.
pub struct Env {
    buf: [u8; 128],
    len: usize,
}

impl Env {
    pub fn get(key: &str) -> Env {
        let mut name = [0u8; 64];
        let mut e = Env {
            buf: [0; 128],
            len: 0,
        };
        let pre = b"carpvm.";
        let total = pre.len() + key.len();
        if total >= name.len() {
            return e;
        }
        name[..pre.len()].copy_from_slice(pre);
        name[pre.len()..total].copy_from_slice(key.as_bytes());
        if let Ok(n) = sys::kenv_get(&name[..=total], &mut e.buf) {
            // The kernel counts the NUL; keep it in the buffer for C users.
            e.len = carpvm::cstr(&e.buf[..n.min(128)]).len();
        }
        e
    }

    pub fn str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// NUL-terminated bytes for syscalls that take a C string.
    pub fn cstr(&self) -> &[u8] {
        &self.buf[..=self.len.min(127)]
    }

    pub fn u32_or(&self, d: u32) -> u32 {
        parse_u32(self.str()).unwrap_or(d)
    }
}

fn modfind_carp() -> R {
    R(sys::modfind(b"carp\0"))
}

pub fn smoke() {
    let mut b = [0u8; 64];
    let rel = kernel::sysctl_str("kern.osrelease", &mut b);
    check(
        "smoke.osrelease",
        rel.starts_with("15."),
        format_args!("kern.osrelease={rel}"),
    );
    let mut b2 = [0u8; 64];
    info(
        "kern.ident",
        format_args!("{}", kernel::sysctl_str("kern.ident", &mut b2)),
    );
    let pid = sys::getpid();
    check("smoke.pid1", pid == 1, format_args!("pid={pid}"));
    let inv = kernel::sysctl_int("debug.witness.watch").is_ok();
    info("witness", format_args!("{}", inv));
}

/// kldload/kldunload of our module `count` times; with `vhids`, each cycle
/// first configures a live vhid with an address (stock carp refuses that
/// unload with EBUSY; carp_rs must tear down instead).
pub fn loadunload(vhids: bool) {
    let ko = Env::get("ko");
    let count = Env::get("count").u32_or(50);
    let ifn = Env::get("if");
    let ifn = if ifn.str().is_empty() {
        "vtnet0"
    } else {
        ifn.str()
    };
    let mut loaded = 0;
    let mut unloaded = 0;
    let mut first_err = None;
    let mut sysctl_seen = 0;
    for i in 0..count {
        let id = match sys::kldload(ko.cstr()) {
            Ok(id) => id,
            Err(e) => {
                first_err.get_or_insert((i, "kldload", e));
                break;
            }
        };
        loaded += 1;
        if modfind_carp().0.is_err() {
            first_err.get_or_insert((i, "modfind-after-load", 2));
        }
        if kernel::sysctl_int("net.inet.carp.allow").is_ok() {
            sysctl_seen += 1;
        }
        if vhids {
            let vip = [192, 0, 2, 1 + (i % 200) as u8];
            let cr = CarpReq {
                vhid: 1,
                advskew: 0,
                key: kernel::key("loop"),
                ..CarpReq::default()
            };
            if let Err(e) = kernel::carp_set(ifn, cr) {
                first_err.get_or_insert((i, "SIOCSVH", e));
            } else if let Err(e) = kernel::add_v4(ifn, vip, 32, 1) {
                first_err.get_or_insert((i, "SIOCAIFADDR-vhid", e));
            }
            sys::sleep_ms(50);
        }
        match sys::kldunload(id) {
            Ok(_) => unloaded += 1,
            Err(e) => {
                first_err.get_or_insert((i, "kldunload", e));
                break;
            }
        }
        if modfind_carp().0.is_ok() {
            first_err.get_or_insert((i, "modfind-after-unload", 0));
        }
    }
    let tag = if vhids {
        "loadunload_vhids"
    } else {
        "loadunload"
    };
    let mut n = [0u8; 40];
    let name = join(&mut n, tag, ".cycles");
    match first_err {
        None => check(
            name,
            loaded == count && unloaded == count,
            format_args!("{} load+unload cycles of {} ok", count, ko.str()),
        ),
        Some((i, what, e)) => check(
            name,
            false,
            format_args!(
                "cycle {} {}: {} (loaded {} unloaded {})",
                i,
                what,
                R(Err(e)),
                loaded,
                unloaded
            ),
        ),
    };
    // The sysctl tree is kernel integration work: an observation for the
    // plain cycle, an assertion once vhids are involved.
    if vhids {
        let mut n2 = [0u8; 40];
        check(
            join(&mut n2, tag, ".sysctls"),
            sysctl_seen == loaded && loaded > 0,
            format_args!("net.inet.carp.allow present in {sysctl_seen}/{loaded} loads"),
        );
    } else {
        info(
            "sysctls",
            format_args!("net.inet.carp.allow present in {sysctl_seen}/{loaded} loads"),
        );
    }
}

fn join<'a>(buf: &'a mut [u8; 40], a: &str, b: &str) -> &'a str {
    let la = a.len().min(20);
    let lb = b.len().min(20);
    buf[..la].copy_from_slice(&a.as_bytes()[..la]);
    buf[la..la + lb].copy_from_slice(&b.as_bytes()[..lb]);
    core::str::from_utf8(&buf[..la + lb]).unwrap_or("?")
}

pub fn wait_state(ifn: &str, vhid: i32, want: i32, ms: u64) -> (i32, u64) {
    let start = sys::now_ms();
    let mut last = -1;
    while sys::now_ms() < start + ms {
        if let Ok(cr) = kernel::carp_get(ifn, vhid) {
            last = cr.state;
            if cr.state == want {
                break;
            }
        }
        sys::sleep_ms(100);
    }
    (last, sys::now_ms() - start)
}

/// Stock carp.ko loaded first; our module must refuse to load and leave
/// stock carp fully working.
pub fn refused_load() {
    let ko = Env::get("ko");
    let stock = Env::get("stock");
    let stock_id = sys::kldload(stock.cstr());
    if !check(
        "refused.stock_load",
        stock_id.is_ok(),
        format_args!("{} {}", stock.str(), R(stock_id)),
    ) {
        return;
    }
    let allow_before = kernel::sysctl_int("net.inet.carp.allow");
    let ours = sys::kldload(ko.cstr());
    check(
        "refused.load_refused",
        ours.is_err(),
        format_args!("kldload {} -> {}", ko.str(), R(ours)),
    );
    if let Ok(id) = ours {
        let _ = sys::kldunload(id);
    }
    check(
        "refused.modfind",
        modfind_carp().0.is_ok(),
        format_args!("modfind(carp) {}", modfind_carp()),
    );
    let allow_after = kernel::sysctl_int("net.inet.carp.allow");
    check(
        "refused.sysctl_intact",
        allow_before.is_ok() && allow_before == allow_after,
        format_args!(
            "net.inet.carp.allow before {:?} after {:?}",
            allow_before, allow_after
        ),
    );
    // Stock carp still works end to end: a vhid on vtnet0 alone goes MASTER.
    let ifn = "vtnet0";
    let base = kernel::add_v4(ifn, [192, 0, 2, 11], 24, 0);
    let set = kernel::carp_set(
        ifn,
        CarpReq {
            vhid: 1,
            advskew: 0,
            key: kernel::key("foobar"),
            ..CarpReq::default()
        },
    );
    let vip = kernel::add_v4(ifn, [192, 0, 2, 1], 24, 1);
    info(
        "refused.config",
        format_args!("base {:?} SIOCSVH {:?} vip {:?}", base, set, vip),
    );
    let (st, ms) = wait_state(ifn, 1, 2, 8000);
    check(
        "refused.stock_works",
        st == 2,
        format_args!(
            "stock vhid 1 state {} after {} ms",
            kernel::state_name(st),
            ms
        ),
    );
    let st = kernel::carp_stats();
    check(
        "refused.stock_adverts",
        st.map(|s| s.get("opackets") > 0).unwrap_or(false),
        format_args!("opackets {:?}", st.map(|s| s.get("opackets"))),
    );
}

/// Which module a VM loads, per `carpvm.ko`: stock or ours; its file id.
fn load_module() -> Option<usize> {
    let ko = Env::get("ko");
    let r = sys::kldload(ko.cstr());
    check(
        "elect.load",
        r.is_ok(),
        format_args!("{} {}", ko.str(), R(r)),
    );
    r.ok()
}

/// devd's view of this VM's carp state changes, checked while the VM is
/// MASTER (so both the BACKUP and the MASTER event must have been sent).
/// carpN's own link state is what legacy devd.conf rules watch.
fn devctl_checks(dc: &mut Option<Devctl>, carpif: &str, parent: &str) {
    let Some(d) = dc.as_mut() else {
        return;
    };
    sys::sleep_ms(200);
    let ev = d.drain();
    info("devctl", format_args!("{} events read", ev));
    let mut sub = [0u8; 24];
    let sub = vhid_at(&mut sub, parent);
    let n = d.log.count_system("CARP");
    // carpN has no stock counterpart to copy CARP events from: only its
    // link state is asserted there, the CARP lines are reported below.
    let carp_events: &[(&str, &str)] = if carpif == parent {
        &[
            ("elect.devctl_backup", "BACKUP"),
            ("elect.devctl_master", "MASTER"),
        ]
    } else {
        &[]
    };
    for &(name, ty) in carp_events {
        check(
            name,
            d.log.has("CARP", sub, ty),
            format_args!(
                "!system=CARP subsystem={} type={} ({} CARP events, {} bytes dropped)",
                sub, ty, n, d.log.dropped
            ),
        );
    }
    if carpif != parent {
        check(
            "elect.devctl_link_up",
            d.log.has("IFNET", carpif, "LINK_UP"),
            format_args!("!system=IFNET subsystem={} type=LINK_UP", carpif),
        );
    }
    for l in carpvm::devctl::lines(d.log.bytes()) {
        let own = carpif != parent && devctl_names(l, carpif);
        if l.starts_with("!system=CARP") || own {
            info("devctl", format_args!("{}", l));
        }
    }
}

fn devctl_names(line: &str, ifn: &str) -> bool {
    line.split(' ')
        .any(|f| f.strip_prefix("subsystem=") == Some(ifn))
}

fn vhid_at<'a>(buf: &'a mut [u8; 24], ifn: &str) -> &'a str {
    let n = ifn.len().min(20);
    buf[..2].copy_from_slice(b"1@");
    buf[2..2 + n].copy_from_slice(&ifn.as_bytes()[..n]);
    core::str::from_utf8(&buf[..2 + n]).unwrap_or("?")
}

/// Two-VM election and failover. `style` is `peraddr` (FreeBSD 10+
/// `ifconfig vtnet0 vhid 1 ... alias`) or `carp0` (the legacy carpN
/// front-end); `af` is 4 or 6 for the VIP.
pub fn elect(style: &str, af: u32) {
    let vm = Env::get("vm");
    let me = vm.str();
    let ip = Env::get("ip");
    let peer = Env::get("peer");
    let vip = Env::get("vip");
    let advskew = Env::get("advskew").u32_or(0) as i32;
    let pass = Env::get("pass");
    let preempt = Env::get("preempt").u32_or(0);
    let mac = Env::get("mac");
    let ifn = "vtnet0";
    let (Some(Prefix::V4(my4, len4)), Some(peer4), Some(vipp)) = (
        Prefix::parse(ip.str()),
        parse_v4(peer.str()),
        Prefix::parse(vip.str()),
    ) else {
        check(
            "elect.params",
            false,
            format_args!("ip={} peer={} vip={}", ip.str(), peer.str(), vip.str()),
        );
        return;
    };
    let nlset = Env::get("nl").u32_or(0) != 0;
    let novhid = Env::get("novhid").u32_or(0) != 0;
    let bowout = Env::get("bowout").u32_or(0) != 0;
    // devctl queues events only while open: open it before the load.
    let mut dc = None;
    if Env::get("devctl").u32_or(0) != 0 {
        let r = Devctl::open();
        check(
            "elect.devctl_open",
            r.is_ok(),
            format_args!("/dev/devctl {:?}", r.as_ref().err()),
        );
        dc = r.ok();
    }
    let Some(kld) = load_module() else {
        return;
    };
    if preempt != 0 {
        let r = kernel::sysctl_set_int("net.inet.carp.preempt", 1);
        check("elect.preempt_sysctl", r.is_ok(), format_args!("{:?}", r));
    }
    let r = kernel::add_v4(ifn, my4, len4, 0);
    check(
        "elect.base_addr",
        r.is_ok(),
        format_args!("{} {:?}", ip.str(), r),
    );
    // `vip6`: a v4 election whose vhid also holds an IPv6 VIP (the unload
    // scenarios' neighbour solicitations need a v6 base address).
    let vip6 = Prefix::parse(Env::get("vip6").str());
    if af == 6 || vip6.is_some() {
        let ip6 = Env::get("ip6");
        if let Some(Prefix::V6(a, l)) = Prefix::parse(ip6.str()) {
            let r = kernel::add_v6(ifn, a, l, 0, true);
            check(
                "elect.base_addr6",
                r.is_ok(),
                format_args!("{} {:?}", ip6.str(), r),
            );
        }
    }
    let Ok(bar) = Barrier::new(me, peer4) else {
        check(
            "elect.barrier_socket",
            false,
            format_args!("socket/bind failed"),
        );
        return;
    };
    let mut pv = [0u8; 32];
    let up = bar.sync("up", "1", 90_000, &mut pv);
    if !check(
        "elect.peer_up",
        up.is_some(),
        format_args!("peer {} reachable over UDP", peer.str()),
    ) {
        return;
    }
    // Configure carp the way ifconfig does: vhid record first, then the
    // address carrying the vhid.
    let carpif = if style == "carp0" {
        let r = kernel::if_create("carp0");
        if !check(
            "elect.carp0_create",
            r.is_ok(),
            format_args!("SIOCIFCREATE2 carp0 {:?}", r),
        ) {
            return;
        }
        "carp0"
    } else {
        ifn
    };
    let (name, r) = if nlset {
        // `ifconfig <if> vhid 1 advbase 1 advskew N pass P` on 15.x.
        let req = carpvm::netlink::SetReq {
            vhid: 1,
            advbase: 1,
            advskew,
            key: pass.str(),
            ..Default::default()
        };
        ("elect.nl_set", kernel::nl_carp_set(carpif, &req))
    } else {
        let cr = CarpReq {
            vhid: 1,
            advskew,
            key: kernel::key(pass.str()),
            ..CarpReq::default()
        };
        ("elect.siocsvh", kernel::carp_set(carpif, cr))
    };
    if !check(
        name,
        r.is_ok(),
        format_args!("{} vhid 1 advskew {} {:?}", carpif, advskew, r),
    ) {
        return;
    }
    // The legacy two-step flow adds the VIP without a vhid: the carpN
    // interface's vhid applies.
    let vh = if novhid { 0 } else { 1 };
    let r = match vipp {
        Prefix::V4(a, l) => kernel::add_v4(carpif, a, l, vh),
        Prefix::V6(a, l) => kernel::add_v6(carpif, a, l, vh, false),
    };
    if !check(
        "elect.vip",
        r.is_ok(),
        format_args!("{} on {} vhid {} {:?}", vip.str(), carpif, vh, r),
    ) {
        return;
    }
    if let Some(Prefix::V6(a, l)) = vip6 {
        let r = kernel::add_v6(carpif, a, l, vh, true);
        if !check(
            "elect.vip6",
            r.is_ok(),
            format_args!(
                "{:?} on {} vhid {} {:?}",
                Env::get("vip6").str(),
                carpif,
                vh,
                r
            ),
        ) {
            return;
        }
    }
    let _ = bar.sync("configured", "1", 30_000, &mut pv);
    // PR 259528: a negative demotion on one node must not give two masters.
    if Env::get("demote_neg").u32_or(0) != 0 {
        sys::sleep_ms(4000);
        let r = kernel::sysctl_set_int("net.inet.carp.demotion", -1);
        let d = kernel::sysctl_int("net.inet.carp.demotion");
        check(
            "elect.demotion_set",
            r.is_ok(),
            format_args!("net.inet.carp.demotion=-1 {:?} now {:?}", r, d),
        );
    }
    // Master-down is 3 x advbase + skew/256 s: 6 s is enough for both the
    // first election and a preemption.
    sys::sleep_ms(7000);
    let st = kernel::carp_get(carpif, 1).map(|c| c.state).unwrap_or(-1);
    let my = kernel::state_name(st);
    info(
        "state",
        format_args!("{} vhid 1 {} advskew {}", carpif, my, advskew),
    );
    let mut nlv = [carpvm::netlink::VhidInfo::default(); 4];
    let got = kernel::nl_carp_get(carpif, &mut nlv);
    if nlset {
        // What was SET comes back by a dump on the interface name, with
        // the key (we are root) and the state SIOCGVH reports.
        let v = nlv[0];
        let ok = got == Ok(1)
            && v.vhid == 1
            && v.advbase == 1
            && v.advskew == advskew
            && v.key_str() == Some(pass.str())
            && v.state as i32 == st;
        check(
            "elect.nl_get",
            ok,
            format_args!(
                "{} dump {:?}: vhid {} state {} (SIOCGVH {}) advbase {} advskew {} key {:?}",
                carpif,
                got,
                v.vhid,
                v.state,
                st,
                v.advbase,
                v.advskew,
                v.key_str()
            ),
        );
    }
    match got {
        Ok(n) => info(
            "netlink",
            format_args!(
                "{} vhids; first vhid {} state {} advskew {}",
                n, nlv[0].vhid, nlv[0].state, nlv[0].advskew
            ),
        ),
        Err(e) => info("netlink", format_args!("{}", R(Err(e)))),
    }
    if let Ok(s) = kernel::carp_stats() {
        info(
            "stats",
            format_args!(
                "ipackets {} opackets {} ipackets6 {} opackets6 {} badauth {} preempt {}",
                s.get("ipackets"),
                s.get("opackets"),
                s.get("ipackets6"),
                s.get("opackets6"),
                s.get("badauth"),
                s.get("preempt")
            ),
        );
    }
    let got = bar.sync("state", my, 30_000, &mut pv);
    let peer_state = got
        .and_then(|n| core::str::from_utf8(&pv[..n]).ok())
        .unwrap_or("?");
    let masters = u32::from(my == "MASTER") + u32::from(peer_state == "MASTER");
    check(
        "elect.one_master",
        masters == 1,
        format_args!("me {} peer {}", my, peer_state),
    );
    // The peer with the lower advskew wins (preempt=1 makes this
    // independent of who booted first).
    let mut pskew = [0u8; 32];
    let mut skb = [0u8; 12];
    let sk = fmt_i32(&mut skb, advskew);
    let ps = bar.sync("advskew", sk, 30_000, &mut pskew);
    let peer_skew = ps
        .and_then(|n| core::str::from_utf8(&pskew[..n]).ok())
        .and_then(parse_u32)
        .map(|v| v as i32);
    if let Some(pk) = peer_skew {
        let expect = if advskew < pk { "MASTER" } else { "BACKUP" };
        if preempt != 0 && advskew != pk {
            check(
                "elect.by_advskew",
                my == expect,
                format_args!(
                    "advskew {} vs peer {}: {} (expected {})",
                    advskew, pk, my, expect
                ),
            );
        }
    }
    // ARP for the VIP from each side: only the MASTER answers, with the
    // virtual MAC 00:00:5e:00:01:01; the BACKUP stays silent.
    if let (Prefix::V4(v, _), Some(m)) = (vipp, parse_mac(mac.str())) {
        let mut rep = [[0u8; 6]; 4];
        match kernel::arp_probe(ifn, m, my4, v, 1500, &mut rep) {
            Ok(n) => {
                let vmac = [0, 0, 0x5e, 0, 1, 1];
                if my == "BACKUP" {
                    check(
                        "elect.arp_vmac",
                        n >= 1 && rep[0] == vmac,
                        format_args!("{} replies, first {}", n, Mac(rep[0])),
                    );
                } else {
                    check(
                        "elect.arp_backup_silent",
                        n == 0,
                        format_args!("{} replies from the BACKUP side", n),
                    );
                }
            }
            Err(e) => info("arp", format_args!("bpf {}", R(Err(e)))),
        }
    }
    let _ = bar.sync("probed", "1", 30_000, &mut pv);
    if my == "MASTER" {
        devctl_checks(&mut dc, carpif, ifn);
    }
    let unload = Env::get("unload");
    if !unload.str().is_empty() {
        unload_role(&bar, kld, my, unload.str(), vipp, my4, mac.str());
        return;
    }
    if bowout {
        bow_out(&bar, kld, my, carpif);
        if my == "BACKUP" {
            devctl_checks(&mut dc, carpif, ifn);
        }
        return;
    }
    if my == "MASTER" {
        info("failover", format_args!("MASTER powering off"));
        return;
    }
    if my == "BACKUP" {
        let (st, ms) = wait_state(carpif, 1, 2, 12_000);
        check(
            "elect.failover",
            st == 2,
            format_args!(
                "BACKUP -> {} {} ms after the MASTER VM went away",
                kernel::state_name(st),
                ms
            ),
        );
        devctl_checks(&mut dc, carpif, ifn);
    }
}

/// The MASTER unloads the module while the peer watches: teardown must
/// bow out (an advert that lets the BACKUP take over at once), not leave
/// the peer to wait out the ~3.4 s master-down interval.
fn bow_out(bar: &Barrier, kld: usize, my: &str, carpif: &str) {
    let mut pv = [0u8; 32];
    let _ = bar.sync("bowout", my, 30_000, &mut pv);
    if my == "MASTER" {
        sys::sleep_ms(1000);
        let r = sys::kldunload(kld);
        for _ in 0..20 {
            bar.send("unloaded", "1");
            sys::sleep_ms(50);
        }
        check(
            "elect.bowout_unload",
            r.is_ok(),
            format_args!("kldunload of the MASTER's module {}", R(r)),
        );
        return;
    }
    if my != "BACKUP" {
        return;
    }
    let t0 = sys::now_ms();
    let (mut t_unl, mut t_master, mut last) = (None, None, -1);
    while sys::now_ms() < t0 + 10_000 && (t_unl.is_none() || t_master.is_none()) {
        if t_unl.is_none() && bar.poll("unloaded") {
            t_unl = Some(sys::now_ms());
        }
        if t_master.is_none() {
            if let Ok(c) = kernel::carp_get(carpif, 1) {
                last = c.state;
                if c.state == 2 {
                    t_master = Some(sys::now_ms());
                }
            }
        }
        sys::sleep_ms(20);
    }
    // The peer's "unloaded" datagram leaves after kldunload returns, so a
    // bow-out advert sent during teardown may win: a negative delta is fine.
    let delta = match (t_unl, t_master) {
        (Some(u), Some(m)) => Some(m as i64 - u as i64),
        _ => None,
    };
    let since_sync = t_master.map(|m| m - t0);
    check(
        "elect.bowout",
        delta.is_some_and(|d| d < 1000) && since_sync.is_some_and(|s| s >= 500),
        format_args!(
            "BACKUP -> {}: MASTER {:?} ms after the peer's unload (master-down would be ~3400), {:?} ms after the sync",
            kernel::state_name(last),
            delta,
            since_sync
        ),
    );
}

/// Issue 11 (b): the VM in role `who` (`backup` or `master`) kldunloads
/// carp_rs with its vhid live. Afterwards it must hold no VIP address and
/// answer no ARP for the VIP (a plain leftover address would answer with
/// the host's own MAC: a duplicate IP); the peer must be MASTER.
fn unload_role(
    bar: &Barrier,
    kld: usize,
    my: &str,
    who: &str,
    vip: Prefix,
    my4: [u8; 4],
    mac: &str,
) {
    let mut pv = [0u8; 32];
    let role = if who == "master" { "MASTER" } else { "BACKUP" };
    let _ = bar.sync("unload", my, 30_000, &mut pv);
    let Prefix::V4(v, _) = vip else {
        return;
    };
    if my == role {
        sys::sleep_ms(500);
        let r = sys::kldunload(kld);
        check(
            "unload.kldunload",
            r.is_ok(),
            format_args!("kldunload carp_rs on the {} with vhid 1 live: {}", my, R(r)),
        );
        // The peer probes ARP first (a leftover plain VIP answers it);
        // then the VIP must be gone from vtnet0: deleting it finds nothing.
        let _ = bar.sync("unloaded", "1", 30_000, &mut pv);
        let _ = bar.sync("probed2", "1", 60_000, &mut pv);
        let d = kernel::del_v4("vtnet0", v);
        check(
            "unload.no_vip_addr",
            d == Err(49),
            format_args!(
                "after unload, SIOCDIFADDR {}.{}.{}.{} on vtnet0: {} (EADDRNOTAVAIL = the VIP was removed)",
                v[0],
                v[1],
                v[2],
                v[3],
                R(d.map(|_| 0))
            ),
        );
        info("after", format_args!("vtnet0 vhid 1 UNLOADED (was {})", my));
        return;
    }
    let _ = bar.sync("unloaded", "1", 30_000, &mut pv);
    let (st, ms) = wait_state("vtnet0", 1, 2, 6000);
    check(
        "unload.peer_master",
        st == 2,
        format_args!(
            "peer of the unloaded {}: {} after {} ms",
            role,
            kernel::state_name(st),
            ms
        ),
    );
    // Who answers ARP (and NS for the v6 VIP) now: never the unloaded
    // host. The MASTER's own answers never reach its bpf: the probe
    // leaves by the wire.
    let mut rep = [[0u8; 6]; 8];
    if let Some(m) = parse_mac(mac) {
        let got = kernel::arp_probe_all("vtnet0", m, my4, v, 2000, &mut rep);
        only_vmac("unload.no_arp_from_unloaded", "ARP replies", got, &rep);
    }
    if let (Some(Prefix::V6(v6, _)), Some(Prefix::V6(src, _)), Some(m)) = (
        Prefix::parse(Env::get("vip6").str()),
        Prefix::parse(Env::get("ip6").str()),
        parse_mac(mac),
    ) {
        let got = kernel::ns_probe_all("vtnet0", m, src, v6, 2000, &mut rep);
        only_vmac(
            "unload.no_na_from_unloaded",
            "neighbour advertisements",
            got,
            &rep,
        );
    }
    let _ = bar.sync("probed2", "1", 60_000, &mut pv);
    let st = kernel::carp_get("vtnet0", 1).map(|c| c.state).unwrap_or(-1);
    info(
        "after",
        format_args!(
            "vtnet0 vhid 1 {} (after the peer unloaded)",
            kernel::state_name(st)
        ),
    );
}

/// Check `name`: every answer a bpf probe for the VIP collected (`got`
/// of them in `rep`) carries the virtual MAC of vhid 1.
fn only_vmac(name: &str, what: &str, got: Result<usize, i32>, rep: &[[u8; 6]; 8]) {
    let n = match got {
        Ok(n) => n.min(rep.len()),
        Err(e) => {
            info("bpf", format_args!("{} {}", what, R(Err(e))));
            return;
        }
    };
    let vmac = [0, 0, 0x5e, 0, 1, 1];
    let foreign = rep.iter().take(n).filter(|r| **r != vmac).count();
    check(
        name,
        foreign == 0,
        format_args!(
            "{} {} for the VIP on the wire, {} not from the virtual MAC (first {})",
            n,
            what,
            foreign,
            Mac(rep[0])
        ),
    );
}

pub struct Mac(pub [u8; 6]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut m = [0u8; 6];
    let mut it = s.split(':');
    for b in m.iter_mut() {
        *b = u8::from_str_radix(it.next()?, 16).ok()?;
    }
    it.next().is_none().then_some(m)
}

fn fmt_i32(buf: &mut [u8; 12], v: i32) -> &str {
    use core::fmt::Write;
    let mut l = carpvm::line::Line::<12>::default();
    let _ = write!(l, "{v}");
    let n = l.as_bytes().len();
    buf[..n].copy_from_slice(l.as_bytes());
    core::str::from_utf8(&buf[..n]).unwrap_or("0")
}

/// A wrong password on one side: both go MASTER and every advert is
/// counted as badauth.
pub fn badauth() {
    let ko = Env::get("ko");
    let r = sys::kldload(ko.cstr());
    if !check(
        "badauth.load",
        r.is_ok(),
        format_args!("{} {}", ko.str(), R(r)),
    ) {
        return;
    }
    let ip = Env::get("ip");
    let peer = Env::get("peer");
    let (Some(Prefix::V4(my4, l)), Some(peer4)) = (Prefix::parse(ip.str()), parse_v4(peer.str()))
    else {
        check("badauth.params", false, format_args!("bad params"));
        return;
    };
    let _ = kernel::add_v4("vtnet0", my4, l, 0);
    let Ok(bar) = Barrier::new(Env::get("vm").str(), peer4) else {
        return;
    };
    let mut pv = [0u8; 32];
    if !check(
        "badauth.peer_up",
        bar.sync("up", "1", 90_000, &mut pv).is_some(),
        format_args!("barrier"),
    ) {
        return;
    }
    let pass = Env::get("pass");
    let r = kernel::carp_set(
        "vtnet0",
        CarpReq {
            vhid: 1,
            key: kernel::key(pass.str()),
            ..CarpReq::default()
        },
    );
    let v = kernel::add_v4("vtnet0", [192, 0, 2, 1], 24, 1);
    check(
        "badauth.config",
        r.is_ok() && v.is_ok(),
        format_args!("SIOCSVH {:?} vip {:?}", r, v),
    );
    sys::sleep_ms(8000);
    let s = kernel::carp_stats();
    check(
        "badauth.counted",
        s.map(|s| s.get("badauth") > 0).unwrap_or(false),
        format_args!("badauth {:?}", s.map(|s| s.get("badauth"))),
    );
    let _ = bar.sync("done", "1", 30_000, &mut pv);
}
