//! carp-bench: cost of the engine's hot paths and of 4,080 vhids.
//!
//!   carp-bench ops N OP   run OP N times (verify | emit | hmac | sha1 |
//!                         naive | none); bench.sh runs this under
//!                         callgrind with two N and divides the difference
//!   carp-bench wall [ms]  wall time per op, ~ms each (std::time)
//!   carp-bench scale [s]  4,080 vhids (255 × 16 interfaces) at advbase 1
//!                         for s simulated seconds: CPU per simulated
//!                         second and bytes per vhid
//!
//! A counting global allocator measures heap bytes live per vhid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Instant as WallClock;

use carp_rs::auth::{digest_naive, Key, Signer};
use carp_rs::engine::{Engine, Instant, Received, State, VhidConfig, VhidId};
use carp_rs::wire::CARP_GROUP_V4;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`/`dealloc`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SEC: u64 = 1_000_000_000;
const IF: u32 = 1;
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn key() -> Key {
    Key::new(b"benchpass").expect("short")
}

fn one_vhid(own: Ipv4Addr, skew: u8) -> (Engine, VhidId) {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(own), None).expect("iface");
    let mut c = VhidConfig::new(7);
    c.key = key();
    c.advskew = skew;
    let id = e.vhid_set(Instant::ZERO, IF, &c).expect("vhid");
    e.addr_add(Instant::ZERO, id, IpAddr::V4(VIP))
        .expect("addr");
    (e, id)
}

/// Runs the engine's timers until `id` is MASTER; returns the time.
fn until_master(e: &mut Engine, id: VhidId) -> u64 {
    let mut buf = [0u8; 1500];
    let mut now = 0;
    while e.vhid_state(id) != Some(State::Master) {
        now = e.poll_timeout().expect("timer").as_nanos();
        e.handle_timeout(Instant::from_nanos(now));
        while e.poll_transmit(&mut buf).is_some() {}
    }
    while e.poll_event().is_some() {}
    now
}

/// A valid advert from a better master (skew 0), as a BACKUP receives it.
fn peer_advert() -> Vec<u8> {
    let (mut m, id) = one_vhid(PEER, 0);
    until_master(&mut m, id);
    let t = m.poll_timeout().expect("advert timer");
    m.handle_timeout(t);
    let mut buf = [0u8; 1500];
    let tx = m.poll_transmit(&mut buf).expect("advert");
    buf[..tx.len].to_vec()
}

/// The per-op closures the benchmarks share; `setup` is excluded from the
/// callgrind difference because both runs pay it.
#[allow(clippy::large_enum_variant)] // one lives per process
enum Op {
    Verify {
        e: Engine,
        pkt: Vec<u8>,
        now: u64,
    },
    Emit {
        e: Engine,
        buf: [u8; 1500],
    },
    Hmac {
        s: Signer,
        digest: [u8; 20],
    },
    Sha1 {
        state: [u32; 5],
        block: [u8; 64],
    },
    Naive,
    Failover {
        e: Engine,
        ids: Vec<VhidId>,
        k: usize,
        now: u64,
    },
    None,
}

impl Op {
    fn new(name: &str) -> Op {
        match name {
            "verify" => {
                let (e, id) = one_vhid(Ipv4Addr::new(192, 0, 2, 1), 100);
                let pkt = peer_advert();
                let mut op = Op::Verify { e, pkt, now: SEC };
                op.step();
                if let Op::Verify { e, .. } = &op {
                    assert_eq!(e.vhid_state(id), Some(State::Backup));
                    assert_eq!(e.vhid_stats(id).map(|s| s.adverts_in), Some(1));
                }
                op
            }
            "emit" => {
                let (mut e, id) = one_vhid(Ipv4Addr::new(192, 0, 2, 1), 0);
                until_master(&mut e, id);
                Op::Emit { e, buf: [0; 1500] }
            }
            "hmac" => {
                let s = Signer::new(&key(), 7, &[VIP.octets()], &[]);
                let digest = s.sign(1);
                Op::Hmac { s, digest }
            }
            "sha1" => Op::Sha1 {
                state: [1, 2, 3, 4, 5],
                block: [0x5a; 64],
            },
            "naive" => Op::Naive,
            "failover" => {
                let (mut e, ids) = big_engine(1, 0);
                while e.poll_event().is_some() {}
                while e.poll_command().is_some() {}
                assert!(ids
                    .iter()
                    .all(|&id| e.vhid_state(id) == Some(State::Backup)));
                Op::Failover {
                    e,
                    ids,
                    k: 0,
                    now: SEC,
                }
            }
            "none" => Op::None,
            other => panic!("unknown op {other}"),
        }
    }

    #[inline(never)]
    fn step(&mut self) {
        match self {
            Op::Verify { e, pkt, now } => {
                *now += 1000;
                let rx = Received {
                    iface: IF,
                    src: IpAddr::V4(PEER),
                    dst: IpAddr::V4(CARP_GROUP_V4),
                    ttl: 255,
                    payload: black_box(&pkt[..]),
                };
                let r = e.handle_packet(Instant::from_nanos(*now), &rx);
                debug_assert!(r.is_ok());
                black_box(r).ok();
            }
            Op::Emit { e, buf } => {
                let t = e.poll_timeout().expect("advert timer");
                e.handle_timeout(t);
                let tx = e.poll_transmit(buf);
                black_box(tx).expect("one advert per period");
            }
            Op::Hmac { s, digest } => {
                assert!(s.verify(black_box(1), black_box(&digest[..])));
            }
            Op::Sha1 { state, block } => {
                sha1::compress(state, &[(*block).into()]);
                black_box(&state);
            }
            Op::Naive => {
                black_box(digest_naive(
                    &key(),
                    7,
                    black_box(&[VIP.octets()]),
                    &[],
                    black_box(1),
                ));
            }
            Op::Failover { e, ids, k, now } => {
                // The next vhid changes state, MASTER one round and BACKUP
                // the next; its advert, events and route commands are
                // drained as the kernel's applier does.
                let id = ids[*k % ids.len()];
                *k += 1;
                *now += 1_000_000;
                let to = match e.vhid_state(id) {
                    Some(State::Master) => State::Backup,
                    _ => State::Master,
                };
                e.vhid_force_state(Instant::from_nanos(*now), id, to)
                    .expect("running vhid");
                let mut buf = [0u8; 1500];
                while e.poll_transmit(&mut buf).is_some() {}
                while e.poll_event().is_some() {}
                let mut cmds = 0;
                while let Some(c) = e.poll_command() {
                    black_box(c);
                    cmds += 1;
                }
                debug_assert!(cmds >= 1);
            }
            Op::None => {
                black_box(());
            }
        }
    }
}

fn ops(n: u64, name: &str) {
    let mut op = Op::new(name);
    for _ in 0..n {
        op.step();
    }
    if let Op::Emit { e, .. } = &op {
        let s = e.stats();
        black_box(s);
    }
}

fn wall(ms: u64) {
    println!("| op | ns/op (wall, std::time) |");
    println!("|---|---|");
    for name in ["sha1", "hmac", "naive", "verify", "emit"] {
        let mut op = Op::new(name);
        // Calibrate to roughly `ms` milliseconds.
        let mut n = 1u64;
        loop {
            let t = WallClock::now();
            for _ in 0..n {
                op.step();
            }
            let el = t.elapsed();
            if el.as_millis() as u64 >= ms || n > 1 << 30 {
                println!("| {name} | {:.1} |", el.as_nanos() as f64 / n as f64);
                break;
            }
            n *= 2;
        }
    }
}

/// 255 vhids on each of 16 interfaces, all VIPs distinct.
fn big_engine(own: u8, skew: u8) -> (Engine, Vec<VhidId>) {
    let mut e = Engine::new();
    e.seed_rng(u64::from(own));
    let mut ids = Vec::with_capacity(4080);
    for i in 0..16u32 {
        e.set_iface_addrs(i + 1, Some(Ipv4Addr::new(10, i as u8, 0, own)), None)
            .expect("iface");
        for vhid in 1..=255u8 {
            let mut c = VhidConfig::new(vhid);
            c.key = key();
            c.advskew = skew;
            let id = e.vhid_set(Instant::ZERO, i + 1, &c).expect("vhid");
            let vip = IpAddr::V4(Ipv4Addr::new(10, 100 + i as u8, 0, vhid));
            e.addr_add(Instant::ZERO, id, vip).expect("addr");
            // As the kernel glue does for every address it links.
            e.route_track(i + 1, vip, false).expect("route record");
            ids.push(id);
        }
    }
    (e, ids)
}

fn scale(secs: u64) {
    let before = LIVE.load(Ordering::Relaxed);
    let allocs0 = ALLOCS.load(Ordering::Relaxed);
    let (mut a, ids) = big_engine(1, 0);
    // The engine's heap only: `ids` is this benchmark's list of handles.
    let heap = LIVE.load(Ordering::Relaxed)
        - before
        - (ids.capacity() * std::mem::size_of::<VhidId>()) as isize;
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs0;
    let (mut b, _) = big_engine(2, 100);
    let n = ids.len() as u64;
    println!(
        "scale: {n} vhids; heap {heap} B in {allocs} allocations = {:.0} B/vhid",
        heap as f64 / n as f64,
    );
    let parts = carp_rs::engine::per_vhid_sizes();
    let fixed: usize = parts
        .iter()
        .filter(|(name, _)| !name.starts_with(' '))
        .map(|p| p.1)
        .sum();
    println!(
        "scale: per-vhid breakdown (size_of; Engine itself {} B):",
        std::mem::size_of::<Engine>()
    );
    for (name, bytes) in parts {
        println!("scale:   {name:<50} {bytes:>4} B");
    }
    println!(
        "scale:   {:<50} {:>4.1} B (the rest: index, address buffers, spare capacity)",
        "measured minus the parts above",
        heap as f64 / n as f64 - fixed as f64
    );

    // Two hosts on a zero-delay segment: A (skew 0) becomes MASTER of all
    // 4,080 vhids, B backs them all up. Each engine's calls are timed
    // separately: A's cost is the master's, B's the backup's.
    let mut buf = [0u8; 1500];
    let mut pkts: Vec<(u32, Vec<u8>)> = Vec::new();
    let (mut ta, mut tb) = (0u128, 0u128);
    let (mut emitted, mut received) = (0u64, 0u64);
    let end = (secs + 5) * SEC;
    let mut measure_from = None;
    let mut busy_from = None;
    loop {
        let na = a.poll_timeout().map(Instant::as_nanos);
        let nb = b.poll_timeout().map(Instant::as_nanos);
        let now = match (na, nb) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => break,
        };
        if now > end {
            break;
        }
        // Measure the steady state only: from 5 s on, every vhid elected.
        let counting = now >= 5 * SEC;
        if counting && measure_from.is_none() {
            measure_from = Some(now);
            busy_from = Some((thread_cpu_ns(), WallClock::now()));
            assert!(ids
                .iter()
                .all(|&id| a.vhid_state(id) == Some(State::Master)));
        }
        let t = WallClock::now();
        if na == Some(now) {
            a.handle_timeout(Instant::from_nanos(now));
        }
        while let Some(tx) = a.poll_transmit(&mut buf) {
            pkts.push((tx.iface, buf[..tx.len].to_vec()));
        }
        while a.poll_event().is_some() {}
        let el = t.elapsed().as_nanos();
        if counting {
            ta += el;
            emitted += pkts.len() as u64;
        }
        let t = WallClock::now();
        if nb == Some(now) {
            b.handle_timeout(Instant::from_nanos(now));
        }
        for (iface, p) in pkts.drain(..) {
            let rx = Received {
                iface,
                src: IpAddr::V4(Ipv4Addr::new(10, (iface - 1) as u8, 0, 1)),
                dst: IpAddr::V4(CARP_GROUP_V4),
                ttl: 255,
                payload: &p,
            };
            let _ = b.handle_packet(Instant::from_nanos(now), &rx);
            if counting {
                received += 1;
            }
        }
        while b.poll_transmit(&mut buf).is_some() {}
        while b.poll_event().is_some() {}
        if counting {
            tb += t.elapsed().as_nanos();
        }
    }
    // The figures are wall-clock time, which other processes inflate: the
    // share of the measured stretch this CPU-bound thread actually ran says
    // whether the machine was busy (the goals are then not judged).
    if let Some((cpu0, wall0)) = busy_from {
        let ran = (thread_cpu_ns() - cpu0) as f64 / wall0.elapsed().as_nanos().max(1) as f64;
        println!(
            "scale: the bench thread ran {:.0} % of the wall time",
            ran * 100.0
        );
        if ran < 0.9 {
            println!("scale: machine busy: the CPU figures below are not judged");
        }
    }
    let per_s = |ns: u128| ns as f64 / secs as f64;
    println!(
        "scale: {secs} simulated s: master emitted {emitted} adverts, {:.0} ns CPU per simulated s ({:.3} % of a core, master)",
        per_s(ta),
        per_s(ta) / 1e7
    );
    println!(
        "scale: backup verified {received} adverts, {:.0} ns CPU per simulated s ({:.3} % of a core, backup)",
        per_s(tb),
        per_s(tb) / 1e7
    );
    assert_eq!(emitted, received);
    assert!(emitted >= n * (secs - 1), "master fell behind: {emitted}");
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`), which other
/// processes do not add to.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call to fill.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    u128::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u128::try_from(ts.tv_nsec).unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ops") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
            let op = args.get(2).map(String::as_str).unwrap_or("none");
            ops(n, op);
        }
        Some("wall") => wall(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300)),
        Some("scale") => scale(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60)),
        _ => {
            eprintln!("usage: carp-bench ops N OP | wall [ms] | scale [simulated s]");
            std::process::exit(2);
        }
    }
}
