//! `make vmtest-bench`: failover timing of carp_rs.ko and stock carp.ko in
//! the same two VMs, in alternating blocks of rounds.
//!
//! VM a (advskew 0) is MASTER, VM b (advskew 100) BACKUP. Each round b
//! arms a bpf(4) capture, a prints `bench.stop_me`, and the host pauses a
//! with the qemu monitor (`stop`): a hard kill, no goodbye on the wire. b
//! prints `bench.kill` with the capture times of a's last advert and its
//! own first one as MASTER; the host then resumes a (`cont`), a preempts
//! back and the next round starts once b is BACKUP again. Each block ends
//! with a bow-out (the MASTER kldunloads carp_rs, or deletes the VIP so the
//! vhid is destroyed), timed the same way, then both VMs unload the module
//! and load the other one.

use core::fmt::Write;

use carpvm::addr::{parse_v4, Prefix};
use carpvm::line::Line;
use carpvm::takeover::{deadline_us, Watch};

use crate::kernel::{self, Barrier, CarpReq};
use crate::report::{check, info, R};
use crate::scenarios::{self, Env};
use crate::sys;

const IFN: &str = "vtnet0";
const VIP: [u8; 4] = [192, 0, 2, 1];
const BACKUP: i32 = 1;
const MASTER: i32 = 2;
const ADVBASE: u32 = 1;

struct Ctx<'a> {
    bar: &'a Barrier,
    master: bool,
    advskew: i32,
    peer_skew: u32,
    pass: &'a str,
    my4: [u8; 4],
    peer4: [u8; 4],
}

/// A short barrier phase name such as `k3.4`.
fn phase<'a>(buf: &'a mut Line<24>, tag: &str, a: u32, b: u32) -> &'a str {
    buf.clear();
    let _ = write!(buf, "{tag}{a}.{b}");
    core::str::from_utf8(buf.as_bytes()).unwrap_or("?")
}

/// vhid 1's state on vtnet0 once it is `want` (or the last seen at `ms`).
fn wait_state(want: i32, ms: u64) -> i32 {
    scenarios::wait_state(IFN, 1, want, ms).0
}

/// Waits up to `ms` for the peer's `phase` datagram (sent, unlike `sync`,
/// without a linger, so the capture on the other side is already running).
fn wait_go(bar: &Barrier, phase: &str, ms: u64) -> bool {
    let end = sys::now_ms() + ms;
    while sys::now_ms() < end {
        if bar.poll(phase) {
            return true;
        }
        sys::sleep_ms(10);
    }
    false
}

/// Captures adverts on vtnet0 until this host's first one (or `ms`),
/// repeating `go` to the peer every 100 ms meanwhile: a datagram that
/// arrives while the peer still lingers in its last `sync` is discarded
/// there.
fn capture(c: &Ctx<'_>, go: &str, fd: &kernel::Fd, blen: usize, w: &mut Watch, ms: u64) {
    let mut buf = [0u8; 16384];
    let end = sys::now_ms() + ms;
    let mut next_go = 0;
    while sys::now_ms() < end && !w.done() {
        if sys::now_ms() >= next_go {
            c.bar.send(go, "1");
            next_go = sys::now_ms() + 100;
        }
        let Ok(r) = sys::read(fd.0, &mut buf[..blen]) else {
            continue;
        };
        let mut recs = carpvm::arp::BpfRecords::new(&buf[..r.min(blen)]);
        while let Some((ts, pkt)) = recs.next_timed() {
            if let Some(s) = carpvm::carp::parse_frame(pkt) {
                w.feed(ts, &s);
            }
        }
    }
}

/// The BACKUP's side of one timed takeover: arm the capture, tell the
/// MASTER to go (`go`), wait for our own first advert, report `key`.
fn measure(c: &Ctx<'_>, go: &str, key: &str, what: core::fmt::Arguments<'_>) {
    let mut w = Watch::new(c.my4, c.peer4, 1);
    match kernel::bpf_open(IFN) {
        Ok((fd, blen)) => capture(c, go, &fd, blen, &mut w, 60_000),
        Err(e) => info("bench.bpf", format_args!("{}", R(Err(e)))),
    }
    let deadline = deadline_us(ADVBASE, c.advskew as u32);
    match w.result() {
        Some(t) => info(
            key,
            format_args!(
                "{} valid=1 last_us={} first_us={} gap_us={} deadline_us={} late_us={} last_skew={} peer_adverts={} advbase={} advskew={}",
                what,
                t.last_peer_us,
                t.first_own_us,
                t.gap_us(),
                deadline,
                t.gap_us() - deadline,
                t.last_peer_skew,
                t.peer_adverts,
                ADVBASE,
                c.advskew
            ),
        ),
        None => info(
            key,
            format_args!("{} valid=0 own_advert={}", what, w.done()),
        ),
    }
}

/// kldload, preempt, vhid 1 and the VIP, exactly as in the election tests.
fn configure(c: &Ctx<'_>, ko: &Env, name: &str) -> Option<usize> {
    let id = sys::kldload(ko.cstr());
    if !check(
        "bench.load",
        id.is_ok(),
        format_args!("{} ({}) {}", ko.str(), name, R(id)),
    ) {
        return None;
    }
    let p = kernel::sysctl_set_int("net.inet.carp.preempt", 1);
    let s = kernel::carp_set(
        IFN,
        CarpReq {
            vhid: 1,
            advskew: c.advskew,
            key: kernel::key(c.pass),
            ..CarpReq::default()
        },
    );
    let v = kernel::add_v4(IFN, VIP, 24, 1);
    check(
        "bench.configure",
        p.is_ok() && s.is_ok() && v.is_ok(),
        format_args!(
            "{name}: preempt {:?} SIOCSVH advskew {} {:?} vip {:?}",
            p, c.advskew, s, v
        ),
    );
    id.ok()
}

/// One block: `todo` hard kills numbered from `first + 1`, then a bow-out.
/// False on a failure that makes the rest meaningless.
fn block(c: &Ctx<'_>, bi: u32, name: &str, ko: &Env, first: u32, todo: u32) -> bool {
    let mut pb = Line::<24>::default();
    let mut pv = [0u8; 32];
    let Some(kld) = configure(c, ko, name) else {
        return false;
    };
    if c.bar
        .sync(phase(&mut pb, "c", bi, 0), "1", 120_000, &mut pv)
        .is_none()
    {
        check("bench.sync", false, format_args!("block {bi} configure"));
        return false;
    }
    let want = if c.master { MASTER } else { BACKUP };
    for r in 0..todo {
        let n = first + r + 1;
        let st = wait_state(want, 30_000);
        if !check(
            "bench.ready",
            st == want,
            format_args!("{name} round {n}: {}", kernel::state_name(st)),
        ) {
            return false;
        }
        let _ = c
            .bar
            .sync(phase(&mut pb, "k", bi, r), "1", 300_000, &mut pv);
        let mut gb = Line::<24>::default();
        let go = phase(&mut gb, "g", bi, r);
        if c.master {
            let armed = wait_go(c.bar, go, 30_000);
            // At least one more advert (every advbase) inside the peer's
            // capture, so it sees this master's last advert.
            sys::sleep_ms(1500);
            info(
                "bench.stop_me",
                format_args!("mod={name} n={n} armed={}", u32::from(armed)),
            );
        } else {
            measure(
                c,
                go,
                "bench.kill",
                format_args!("mod={name} n={n} how=stop"),
            );
            // The host resumes the old master now; it preempts back.
            let st = wait_state(BACKUP, 300_000);
            info(
                "bench.back",
                format_args!("mod={name} n={n} state={}", kernel::state_name(st)),
            );
        }
        // Paused, the MASTER waits here with its clock stopped too.
        if c.bar
            .sync(phase(&mut pb, "s", bi, r), "1", 900_000, &mut pv)
            .is_none()
        {
            check("bench.sync", false, format_args!("{name} round {n} settle"));
            return false;
        }
        sys::sleep_ms(500);
    }
    // Bow-out: carp_rs alternates kldunload with a live vhid and deleting
    // the VIP (the vhid is destroyed); stock carp refuses the unload
    // (EBUSY) while a vhid exists, so it is always the VIP deletion.
    let how = if name == "carp_rs" && (bi / 2).is_multiple_of(2) {
        "unload"
    } else {
        "destroy"
    };
    let st = wait_state(want, 30_000);
    check(
        "bench.ready",
        st == want,
        format_args!("{name} before bow-out: {}", kernel::state_name(st)),
    );
    let _ = c
        .bar
        .sync(phase(&mut pb, "b", bi, 0), how, 300_000, &mut pv);
    let mut gb = Line::<24>::default();
    let go = phase(&mut gb, "o", bi, 0);
    let mut unloaded = false;
    if c.master {
        let armed = wait_go(c.bar, go, 30_000);
        // As for a kill: one more advert inside the peer's capture.
        sys::sleep_ms(1500);
        let r = if how == "unload" {
            unloaded = true;
            sys::kldunload(kld)
        } else {
            if name == "stock" {
                // Observed, not assumed: stock carp's MOD_UNLOAD is EBUSY
                // while carp_list holds a vhid.
                let u = sys::kldunload(kld);
                info(
                    "bench.stock_unload_live",
                    format_args!("kldunload carp.ko with vhid 1 live: {}", R(u)),
                );
                unloaded = u.is_ok();
            }
            if unloaded {
                Ok(0)
            } else {
                kernel::del_v4(IFN, VIP).map(|_| 0)
            }
        };
        check(
            "bench.bowout_action",
            r.is_ok(),
            format_args!("{name} {how} on the MASTER {} armed={}", R(r), armed),
        );
    } else {
        measure(
            c,
            go,
            "bench.bowout",
            format_args!("mod={name} n={} how={how}", bi / 2 + 1),
        );
    }
    let _ = c
        .bar
        .sync(phase(&mut pb, "e", bi, 0), "1", 300_000, &mut pv);
    if !unloaded {
        let _ = kernel::del_v4(IFN, VIP);
        let r = sys::kldunload(kld);
        if !check(
            "bench.unload",
            r.is_ok(),
            format_args!("{name} kldunload after the block {}", R(r)),
        ) {
            return false;
        }
    }
    let _ = c
        .bar
        .sync(phase(&mut pb, "u", bi, 0), "1", 300_000, &mut pv);
    true
}

pub fn failover_bench() {
    let vm = Env::get("vm");
    let ip = Env::get("ip");
    let peer = Env::get("peer");
    let pass = Env::get("pass");
    let advskew = Env::get("advskew").u32_or(0) as i32;
    let kills = Env::get("kills").u32_or(20);
    let per_block = Env::get("block").u32_or(5).max(1);
    let ours = Env::get("ko");
    let stock = Env::get("stock");
    let (Some(Prefix::V4(my4, len4)), Some(peer4)) =
        (Prefix::parse(ip.str()), parse_v4(peer.str()))
    else {
        check(
            "bench.params",
            false,
            format_args!("ip={} peer={}", ip.str(), peer.str()),
        );
        return;
    };
    let r = kernel::add_v4(IFN, my4, len4, 0);
    check(
        "bench.base_addr",
        r.is_ok(),
        format_args!("{} {:?}", ip.str(), r),
    );
    let Ok(bar) = Barrier::new(vm.str(), peer4) else {
        check("bench.barrier", false, format_args!("socket/bind failed"));
        return;
    };
    let mut pv = [0u8; 32];
    let mut sk = Line::<24>::default();
    let _ = write!(sk, "{advskew}");
    let got = bar.sync(
        "up",
        core::str::from_utf8(sk.as_bytes()).unwrap_or("0"),
        120_000,
        &mut pv,
    );
    let peer_skew = got
        .and_then(|n| core::str::from_utf8(&pv[..n]).ok())
        .and_then(carpvm::parse_u32);
    let Some(peer_skew) = peer_skew else {
        check("bench.peer_up", false, format_args!("no peer"));
        return;
    };
    check(
        "bench.peer_up",
        true,
        format_args!("peer {} advskew {}", peer.str(), peer_skew),
    );
    let c = Ctx {
        bar: &bar,
        master: (advskew as u32) < peer_skew,
        advskew,
        peer_skew,
        pass: pass.str(),
        my4,
        peer4,
    };
    info(
        "bench.plan",
        format_args!(
            "kills={kills} block={per_block} role={} advskew={} peer_advskew={}",
            if c.master { "MASTER" } else { "BACKUP" },
            c.advskew,
            c.peer_skew
        ),
    );
    let mods = [("carp_rs", &ours), ("stock", &stock)];
    let mut done = [0u32; 2];
    let mut bi = 0;
    while done.iter().any(|d| *d < kills) {
        let m = (bi % 2) as usize;
        let (name, ko) = mods[m];
        let todo = per_block.min(kills - done[m]);
        if todo > 0 && !block(&c, bi, name, ko, done[m], todo) {
            break;
        }
        done[m] += todo;
        bi += 1;
    }
    check(
        "bench.rounds",
        done == [kills, kills],
        format_args!(
            "carp_rs {} stock {} of {} hard kills",
            done[0], done[1], kills
        ),
    );
}
