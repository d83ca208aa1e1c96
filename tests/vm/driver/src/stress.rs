//! Issue 11 (c): configuration from four concurrent helpers (SIOCSVH and
//! SIOCGVH, netlink SET and GET, address add/delete, knob writes) and an
//! advert flood from the peer VM, with kldunload in the middle, `count`
//! times; then the module is loaded once more and must elect normally.
//! The kernel (WITNESS on the debug kernel) must not panic or report a
//! lock-order reversal; parse.py checks the console for both.

use carpvm::addr::{parse_v4, sockaddr_in, Prefix};

use crate::kernel::{self, Barrier, CarpReq, Exit, Fd};
use crate::report::{check, info, R};
use crate::scenarios::Env;
use crate::sys;

const VIF: &str = "vtnet0";

fn carp_cfg(skew: i32) -> CarpReq {
    CarpReq {
        vhid: 1,
        advskew: skew,
        key: kernel::key("stress"),
        ..CarpReq::default()
    }
}

/// One helper's loop until `deadline` (monotonic ms). Errors are the
/// point once the module is gone, so they are only counted.
fn worker(k: u32, deadline: u64) -> i32 {
    let mut ops = 0u32;
    let mut i = 0u32;
    while sys::now_ms() < deadline {
        i = i.wrapping_add(1);
        match k {
            0 => {
                let _ = kernel::carp_set(VIF, carp_cfg(150 + (i % 100) as i32));
                let _ = kernel::carp_get(VIF, 1);
                let _ = kernel::carp_get(VIF, 0);
            }
            1 => {
                let req = carpvm::netlink::SetReq {
                    vhid: 1,
                    advbase: 1,
                    advskew: 200,
                    key: "stress",
                    ..Default::default()
                };
                let _ = kernel::nl_carp_set(VIF, &req);
                let mut v = [carpvm::netlink::VhidInfo::default(); 4];
                let _ = kernel::nl_carp_get(VIF, &mut v);
            }
            2 => {
                let vhid = 1 + i % 2;
                if vhid == 2 {
                    let _ = kernel::carp_set(
                        VIF,
                        CarpReq {
                            vhid: 2,
                            ..carp_cfg(200)
                        },
                    );
                }
                let a = [192, 0, 2, 100 + (i % 4) as u8];
                let _ = kernel::add_v4(VIF, a, 32, vhid);
                let _ = kernel::del_v4(VIF, a);
            }
            _ => {
                // Each demotion write prints a log line: keep the console
                // readable (and TCG fast) with one pair per 8 rounds.
                if i.is_multiple_of(8) {
                    let _ = kernel::sysctl_set_int("net.inet.carp.demotion", 1);
                    let _ = kernel::sysctl_set_int("net.inet.carp.demotion", -1);
                }
                let _ = kernel::sysctl_set_int("net.inet.carp.preempt", (i % 2) as i32);
                let _ = kernel::carp_stats();
            }
        }
        ops = ops.wrapping_add(1);
    }
    if ops == 0 {
        1
    } else {
        0
    }
}

/// The stressed VM.
pub fn stress() {
    let ko = Env::get("ko");
    let count = Env::get("count").u32_or(50);
    let (mut loads, mut unloads, mut hangs, mut crashed, mut left) = (0u32, 0u32, 0u32, 0u32, 0u32);
    let mut first: Option<(u32, &'static str, i32)> = None;
    let mut flood_seen = 0u64;
    let t0 = sys::now_ms();
    for i in 0..count {
        let id = match sys::kldload(ko.cstr()) {
            Ok(id) => id,
            Err(e) => {
                first.get_or_insert((i, "kldload", e));
                break;
            }
        };
        loads += 1;
        let c = kernel::carp_set(VIF, carp_cfg(200))
            .and_then(|_| kernel::add_v4(VIF, [192, 0, 2, 1], 24, 1));
        if let Err(e) = c {
            first.get_or_insert((i, "configure", e));
        }
        let deadline = sys::now_ms() + 400 + u64::from((i * 37) % 600);
        let mut pids = [0usize; 4];
        for (k, slot) in pids.iter_mut().enumerate() {
            match kernel::spawn(None, &|| worker(k as u32, deadline)) {
                Ok(p) => *slot = p,
                Err(e) => {
                    first.get_or_insert((i, "fork", e));
                }
            }
        }
        sys::sleep_ms(100 + u64::from((i * 53) % 500));
        if let Ok(s) = kernel::carp_stats() {
            flood_seen = flood_seen.max(s.get("badauth") + s.get("badvhid"));
        }
        let mut unloaded = false;
        for _ in 0..50 {
            match sys::kldunload(id) {
                Ok(_) => {
                    unloaded = true;
                    break;
                }
                Err(16) => sys::sleep_ms(100),
                Err(e) => {
                    first.get_or_insert((i, "kldunload", e));
                    break;
                }
            }
        }
        if unloaded {
            unloads += 1;
        } else {
            first.get_or_insert((i, "kldunload EBUSY x50", 16));
        }
        for p in pids.iter().filter(|p| **p != 0) {
            match kernel::reap(*p, deadline.saturating_sub(sys::now_ms()) + 15_000) {
                Exit::Code(_) => {}
                Exit::TimedOut => hangs += 1,
                Exit::Signal(_) => crashed += 1,
            }
        }
        // Unload removes every CARP address (issue 11 point 2): nothing
        // may be left behind as a plain address. Clean up for the next
        // round either way.
        for a in [1u8, 100, 101, 102, 103] {
            if kernel::del_v4(VIF, [192, 0, 2, a]).is_ok() {
                left += 1;
            }
        }
        if i == 0 || i + 1 == count {
            info(
                "stress.round",
                format_args!(
                    "{} of {}: {} s so far, flood counted {}",
                    i + 1,
                    count,
                    (sys::now_ms() - t0) / 1000,
                    flood_seen
                ),
            );
        }
    }
    check(
        "stress.cycles",
        loads == count && unloads == count,
        format_args!(
            "{} loads, {} unloads of {} rounds; first error {:?}",
            loads, unloads, count, first
        ),
    );
    check(
        "stress.no_hang",
        hangs == 0 && crashed == 0,
        format_args!(
            "{} helpers hung past their deadline, {} died on a signal",
            hangs, crashed
        ),
    );
    check(
        "stress.flood_seen",
        flood_seen > 0,
        format_args!("badauth+badvhid counted while flooded: {}", flood_seen),
    );
    check(
        "stress.no_vip_left",
        left == 0,
        format_args!(
            "{} CARP addresses left as plain addresses after unloads",
            left
        ),
    );
    // Afterwards the module must still work: load, configure, elect.
    load_configured("stress.reload", 200);
}

/// kldload the module and configure vhid 1 with the VIP (advskew `skew`),
/// as one check `name`.
fn load_configured(name: &str, skew: i32) {
    let ko = Env::get("ko");
    let id = sys::kldload(ko.cstr());
    let c = kernel::carp_set(VIF, carp_cfg(skew))
        .and_then(|_| kernel::add_v4(VIF, [192, 0, 2, 1], 24, 1));
    check(
        name,
        id.is_ok() && c.is_ok(),
        format_args!("kldload {} configure {:?}", R(id), c),
    );
}

/// The peer: a CARP vhid of its own (advskew 100) plus a flood of
/// well-formed adverts with a wrong HMAC and unknown vhids.
fn flood(my4: [u8; 4]) -> i32 {
    const IPPROTO_IP: i32 = 0;
    const IP_MULTICAST_IF: i32 = 9;
    const IP_MULTICAST_TTL: i32 = 10;
    const IP_MULTICAST_LOOP: i32 = 11;
    let Ok(fd) = sys::socket(2, 3, 112) else {
        return 2;
    };
    let fd = Fd(fd);
    let _ = sys::setsockopt(fd.0, IPPROTO_IP, IP_MULTICAST_IF, &my4);
    let _ = sys::setsockopt(fd.0, IPPROTO_IP, IP_MULTICAST_TTL, &[255]);
    let _ = sys::setsockopt(fd.0, IPPROTO_IP, IP_MULTICAST_LOOP, &[0]);
    let to = sockaddr_in([224, 0, 0, 18], 0);
    let mut n = 0u64;
    loop {
        let vhid = if n.is_multiple_of(4) { 7 } else { 1 };
        let p = carpvm::carp::advert(vhid, 0, 1, n, [0x5a; 20]);
        let _ = sys::sendto(fd.0, &p, &to);
        n += 1;
        if n.is_multiple_of(8) {
            sys::sleep_ms(1);
        }
    }
}

/// Entry for both VMs: `a` is stressed, `b` floods.
pub fn stress_unload() {
    let vm = Env::get("vm");
    let me = vm.str();
    let ip = Env::get("ip");
    let peer = Env::get("peer");
    let (Some(Prefix::V4(my4, l)), Some(peer4)) = (Prefix::parse(ip.str()), parse_v4(peer.str()))
    else {
        check(
            "stress.params",
            false,
            format_args!("ip={} peer={}", ip.str(), peer.str()),
        );
        return;
    };
    let _ = kernel::add_v4(VIF, my4, l, 0);
    let Ok(bar) = Barrier::new(me, peer4) else {
        check("stress.barrier", false, format_args!("socket/bind failed"));
        return;
    };
    let mut pv = [0u8; 32];
    if !check(
        "stress.peer_up",
        bar.sync("up", "1", 90_000, &mut pv).is_some(),
        format_args!("peer {} reachable over UDP", peer.str()),
    ) {
        return;
    }
    let mut flooder = None;
    if me == "a" {
        stress();
    } else {
        load_configured("stress.peer_config", 100);
        let f = kernel::spawn(None, &|| flood(my4));
        info("stress.flood", format_args!("flooder {:?}", f));
        flooder = f.ok();
    }
    let done = bar.sync("done", "1", 1_500_000, &mut pv);
    if let Some(p) = flooder {
        let _ = sys::kill(p, 9);
        let _ = kernel::reap(p, 5000);
    }
    check(
        "stress.done_sync",
        done.is_some(),
        format_args!("both VMs finished the stress phase"),
    );
    sys::sleep_ms(6000);
    let st = kernel::carp_get(VIF, 1).map(|c| c.state).unwrap_or(-1);
    let my = kernel::state_name(st);
    info(
        "state",
        format_args!("{} vhid 1 {} after the stress", VIF, my),
    );
    let got = bar.sync("state", my, 30_000, &mut pv);
    let peer_state = got
        .and_then(|n| core::str::from_utf8(&pv[..n]).ok())
        .unwrap_or("?");
    let masters = u32::from(my == "MASTER") + u32::from(peer_state == "MASTER");
    check(
        "stress.one_master",
        masters == 1,
        format_args!("me {} peer {}", my, peer_state),
    );
}
