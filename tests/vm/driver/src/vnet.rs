//! Scenarios with vnet jails and cloned interfaces (issue 11 (a), (d)):
//! two CARP groups with the same vhid in two jails must not share state,
//! knobs, statistics or keys; jail create/configure/destroy cycles and
//! departing parent interfaces must leave nothing behind. Work inside a
//! jail runs in a forked child that `jail_attach`es, as `jexec` does.

use carpvm::carp::Seen;
use carpvm::mstats::InUse;

use crate::kernel::{self, CarpReq, Exit, IfName};
use crate::report::{check, info, R};
use crate::scenarios::Env;
use crate::sys;

const MASTER: i32 = 2;

/// Loads carp_rs and if_epair from the root image; false (reported) if
/// either fails.
fn load_modules(tag: &str) -> Option<usize> {
    let ko = Env::get("ko");
    let epair = Env::get("epair");
    let e = sys::kldload(epair.cstr());
    let c = sys::kldload(ko.cstr());
    let ok = e.is_ok() && c.is_ok();
    let mut n = [0u8; 40];
    check(
        join(&mut n, tag, ".load"),
        ok,
        format_args!("{} {} {} {}", epair.str(), R(e), ko.str(), R(c)),
    );
    if ok {
        c.ok()
    } else {
        None
    }
}

fn join<'a>(buf: &'a mut [u8; 40], a: &str, b: &str) -> &'a str {
    let la = a.len().min(24);
    let lb = b.len().min(16);
    buf[..la].copy_from_slice(&a.as_bytes()[..la]);
    buf[la..la + lb].copy_from_slice(&b.as_bytes()[..lb]);
    core::str::from_utf8(&buf[..la + lb]).unwrap_or("?")
}

fn in_use() -> Option<InUse> {
    kernel::malloc_in_use("carp_rs").ok().flatten()
}

/// Child body: `ifconfig <e> up <base>; ifconfig <e> vhid 1 advskew S
/// pass P <vip>/32 alias`, as an admin inside the jail would type it.
fn configure(e: &str, base: [u8; 4], vip: [u8; 4], skew: i32, pass: &str) -> i32 {
    if kernel::if_up(e).is_err() {
        return 10;
    }
    if kernel::add_v4(e, base, 24, 0).is_err() {
        return 11;
    }
    let cr = CarpReq {
        vhid: 1,
        advskew: skew,
        key: kernel::key(pass),
        ..CarpReq::default()
    };
    if kernel::carp_set(e, cr).is_err() {
        return 12;
    }
    if kernel::add_v4(e, vip, 32, 1).is_err() {
        return 13;
    }
    0
}

fn exit_ok(x: Result<Exit, i32>) -> bool {
    x == Ok(Exit::Code(0))
}

/// One jail with one epair end moved in; the other end stays in the host,
/// up, for sniffing.
struct JailIf {
    jid: usize,
    e: IfName,
}

fn jail_with_epair(name: &str) -> Result<JailIf, (&'static str, i32)> {
    let jid = kernel::jail_create_vnet(name).map_err(|e| ("jail_set", e))?;
    let e = kernel::if_create_named("epair").map_err(|x| ("epair create", x))?;
    kernel::if_vnet(e.as_str(), jid).map_err(|x| ("SIOCSIFVNET", x))?;
    kernel::if_up(e.peer().as_str()).map_err(|x| ("up", x))?;
    Ok(JailIf { jid, e })
}

/// (a) Two jails, the same vhid 1 on each one's epair, different advskew,
/// password and preempt: nothing may leak from one VNET to another.
pub fn vnet_isolation() {
    if load_modules("vnet").is_none() {
        return;
    }
    let (j1, j2) = match (jail_with_epair("one"), jail_with_epair("two")) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let err = a.err().or(b.err()).unwrap_or(("?", 0));
            check(
                "vnet.setup",
                false,
                format_args!("{} {}", err.0, R(Err(err.1))),
            );
            return;
        }
    };
    let (e1, e2) = (j1.e, j2.e);
    check(
        "vnet.setup",
        true,
        format_args!(
            "jails {} ({}) and {} ({})",
            j1.jid,
            e1.as_str(),
            j2.jid,
            e2.as_str()
        ),
    );
    // `jexec one sysctl net.inet.carp.preempt=1` must work: FreeBSD's
    // knobs are per VNET (CTLFLAG_VNET) and carp.sh relies on it.
    let r = kernel::run_child(Some(j1.jid), 10_000, &|| {
        let r = kernel::sysctl_set_int("net.inet.carp.preempt", 1);
        check(
            "vnet.sysctl_in_jail",
            r.is_ok(),
            format_args!(
                "jexec one sysctl net.inet.carp.preempt=1: {}",
                R(r.map(|_| 0))
            ),
        );
        let p = kernel::sysctl_int("net.inet.carp.preempt");
        check(
            "vnet.knob_in_jail",
            p == Ok(1),
            format_args!("jail one reads back net.inet.carp.preempt {:?}", p),
        );
        configure(e1.as_str(), [192, 0, 2, 21], [192, 0, 2, 50], 10, "one")
    });
    let r2 = kernel::run_child(Some(j2.jid), 10_000, &|| {
        configure(
            e2.as_str(),
            [198, 51, 100, 21],
            [198, 51, 100, 50],
            20,
            "two",
        )
    });
    check(
        "vnet.configure",
        exit_ok(r) && exit_ok(r2),
        format_args!("jail one {:?}, jail two {:?}", r, r2),
    );
    // Each jail is alone on its link: both become MASTER of their vhid 1.
    sys::sleep_ms(5000);
    for (jid, e, skew, pass, name) in [
        (j1.jid, e1, 10, "one", "vnet.jail_one_vhid"),
        (j2.jid, e2, 20, "two", "vnet.jail_two_vhid"),
    ] {
        let r = kernel::run_child(Some(jid), 10_000, &|| {
            let g = kernel::carp_get(e.as_str(), 1);
            let ok = g.is_ok_and(|c| {
                c.vhid == 1 && c.advskew == skew && c.key == kernel::key(pass) && c.state == MASTER
            });
            check(
                name,
                ok,
                format_args!(
                    "SIOCGVH {} in jail: {:?} (want vhid 1 advskew {} key {:?} MASTER)",
                    e.as_str(),
                    g.map(|c| (
                        c.vhid,
                        kernel::state_name(c.state),
                        c.advskew,
                        carpvm::cstr(&c.key).len()
                    )),
                    skew,
                    pass
                ),
            );
            let mut v = [carpvm::netlink::VhidInfo::default(); 4];
            let n = kernel::nl_carp_get(e.as_str(), &mut v);
            info(
                "vnet.netlink",
                format_args!(
                    "{} {:?} key {:?} advskew {}",
                    e.as_str(),
                    n,
                    v[0].key_str(),
                    v[0].advskew
                ),
            );
            0
        });
        if r != Ok(Exit::Code(0)) {
            check(name, false, format_args!("jail worker {:?}", r));
        }
    }
    // Knobs: what jail one set is not jail two's or the host's.
    let r = kernel::run_child(Some(j2.jid), 10_000, &|| {
        let p = kernel::sysctl_int("net.inet.carp.preempt");
        check(
            "vnet.knob_isolated",
            p == Ok(0),
            format_args!(
                "jail two net.inet.carp.preempt {:?} after jail one set 1",
                p
            ),
        );
        0
    });
    info("vnet.worker", format_args!("{:?}", r));
    let hp = kernel::sysctl_int("net.inet.carp.preempt");
    check(
        "vnet.host_knob_isolated",
        hp == Ok(0),
        format_args!("host net.inet.carp.preempt {:?} after jail one set 1", hp),
    );
    // Demotion set on the host must not demote the jails' vhids.
    let set = kernel::sysctl_set_int("net.inet.carp.demotion", 100);
    let r = kernel::run_child(Some(j1.jid), 10_000, &|| {
        let d = kernel::sysctl_int("net.inet.carp.demotion");
        check(
            "vnet.demotion_isolated",
            d == Ok(0),
            format_args!(
                "jail one net.inet.carp.demotion {:?} after the host's +100",
                d
            ),
        );
        0
    });
    info(
        "vnet.worker",
        format_args!("demotion set {:?}; {:?}", set, r),
    );
    let _ = kernel::sysctl_set_int("net.inet.carp.demotion", -100);
    // Statistics: the host has no vhid and sent nothing.
    let hs = kernel::carp_stats().map(|s| (s.get("opackets"), s.get("ipackets")));
    check(
        "vnet.stats_isolated",
        hs.is_ok_and(|(o, _)| o == 0),
        format_args!(
            "host net.inet.carp.stats (opackets, ipackets) {:?}; only the jails advertise",
            hs
        ),
    );
    let r = kernel::run_child(Some(j1.jid), 10_000, &|| {
        let s = kernel::carp_stats().map(|s| s.get("opackets"));
        check(
            "vnet.stats_in_jail",
            s.is_ok_and(|o| o > 0),
            format_args!("jail one opackets {:?}", s),
        );
        0
    });
    info("vnet.worker", format_args!("{:?}", r));
    // On the wire: each epair carries its own jail's advert only.
    for (e, skew, name) in [
        (e1, 10u8, "vnet.adverts_epair_one"),
        (e2, 20u8, "vnet.adverts_epair_two"),
    ] {
        let mut seen = [Seen::default(); 16];
        let n = kernel::sniff_adverts(e.peer().as_str(), 2500, &mut seen);
        let got = &seen[..n.unwrap_or(0).min(16)];
        let mine = got
            .iter()
            .filter(|s| s.vhid == 1 && s.advskew == skew)
            .count();
        check(
            name,
            mine > 0 && mine == got.len(),
            format_args!(
                "on {}: {} adverts, {} with vhid 1 advskew {}; first {:?}",
                e.peer().as_str(),
                got.len(),
                mine,
                skew,
                got.first().map(|s| (s.vhid, s.advskew))
            ),
        );
    }
    for j in [&j1, &j2] {
        let r = sys::jail_remove(j.jid);
        let d = kernel::if_destroy(j.e.peer().as_str());
        info(
            "vnet.teardown",
            format_args!("jail {} remove {} epair destroy {:?}", j.jid, R(r), d),
        );
    }
}

/// (a) `count` jail create/configure/destroy cycles with a live vhid in
/// each, while the host keeps its own vhid 1: every jail must see its own
/// configuration, the host's must never change, and malloc type carp_rs
/// must not grow once warmed up.
pub fn vnet_cycles() {
    let Some(kld) = load_modules("vnet_cycles") else {
        return;
    };
    let count = Env::get("count").u32_or(300);
    let host = "vtnet0";
    let hcr = CarpReq {
        vhid: 1,
        advskew: 0,
        key: kernel::key("host"),
        ..CarpReq::default()
    };
    let hr = kernel::add_v4(host, [192, 0, 2, 11], 24, 0)
        .and_then(|_| kernel::carp_set(host, hcr))
        .and_then(|_| kernel::add_v4(host, [192, 0, 2, 1], 32, 1));
    check(
        "vnet_cycles.host_config",
        hr.is_ok(),
        format_args!("vtnet0 vhid 1 {:?}", hr),
    );
    let warm = 10u32.min(count);
    let mut failures = 0u32;
    let mut first: Option<(u32, &'static str, i32)> = None;
    let mut base = None;
    let t0 = sys::now_ms();
    for i in 0..count {
        if i == warm {
            sys::sleep_ms(500);
            base = in_use();
        }
        let mut name = [0u8; 40];
        let name = fmt_name(&mut name, "cyc", i);
        let j = match jail_with_epair(name) {
            Ok(j) => j,
            Err((what, e)) => {
                failures += 1;
                first.get_or_insert((i, what, e));
                continue;
            }
        };
        let skew = (i % 200) as i32 + 1;
        let e = j.e;
        // Every tenth jail also has a carp0 bound to its epair end, live
        // when the jail goes: the parent leaves the dying VNET first.
        let carpn = i % 10 == 5;
        let r = kernel::run_child(Some(j.jid), 15_000, &|| {
            let c = configure(e.as_str(), [203, 0, 113, 2], [203, 0, 113, 50], skew, "cyc");
            if c != 0 {
                return c;
            }
            if carpn {
                let cr = CarpReq {
                    vhid: 2,
                    advskew: skew,
                    key: kernel::key("cyc"),
                    ..CarpReq::default()
                };
                if kernel::if_create("carp0").is_err() {
                    return 30;
                }
                if kernel::carp_set("carp0", cr).is_err() {
                    return 31;
                }
                if kernel::add_v4("carp0", [203, 0, 113, 60], 24, 0).is_err() {
                    return 32;
                }
            }
            match kernel::carp_get(e.as_str(), 1) {
                Ok(g) if g.vhid == 1 && g.advskew == skew && g.key == kernel::key("cyc") => 0,
                Ok(_) => 20,
                Err(_) => 21,
            }
        });
        if r != Ok(Exit::Code(0)) {
            failures += 1;
            let code = match r {
                Ok(Exit::Code(c)) => c,
                Ok(Exit::Signal(s)) => 1000 + s,
                Ok(Exit::TimedOut) => 9999,
                Err(e) => -e,
            };
            first.get_or_insert((i, "jail worker exit", code));
        }
        let rm = sys::jail_remove(j.jid);
        let d = kernel::if_destroy(e.peer().as_str());
        if rm.is_err() || d.is_err() {
            failures += 1;
            first.get_or_insert((i, "teardown", d.err().unwrap_or(0)));
        }
    }
    let secs = (sys::now_ms() - t0) / 1000;
    check(
        "vnet_cycles.cycles",
        failures == 0,
        format_args!(
            "{} jail create/configure/destroy cycles (one in ten with a carp0) in {} s, {} failed; first failure {:?}",
            count, secs, failures, first
        ),
    );
    let g = kernel::carp_get(host, 1);
    check(
        "vnet_cycles.host_intact",
        g.is_ok_and(|c| {
            c.vhid == 1 && c.advskew == 0 && c.key == kernel::key("host") && c.state == MASTER
        }),
        format_args!(
            "host vtnet0 vhid 1 after the cycles: {:?}",
            g.map(|c| (
                kernel::state_name(c.state),
                c.advskew,
                carpvm::cstr(&c.key).len()
            ))
        ),
    );
    // Jail teardown finishes asynchronously (the vnet is destroyed when
    // its last reference goes): give it a moment before counting.
    sys::sleep_ms(2000);
    let after = in_use();
    check(
        "vnet_cycles.no_leak",
        matches!((base, after), (Some(b), Some(a)) if a.bytes <= b.bytes && a.allocs <= b.allocs),
        format_args!(
            "malloc type carp_rs in use after {} warm-up cycles {:?}, after {} cycles {:?}",
            warm, base, count, after
        ),
    );
    let u = sys::kldunload(kld);
    check(
        "vnet_cycles.unload",
        u.is_ok(),
        format_args!("kldunload {}", R(u)),
    );
}

fn fmt_name<'a>(buf: &'a mut [u8; 40], pre: &str, i: u32) -> &'a str {
    use core::fmt::Write;
    let mut l = carpvm::line::Line::<40>::default();
    let _ = write!(l, "{pre}{i}");
    let n = l.as_bytes().len().min(40);
    buf[..n].copy_from_slice(&l.as_bytes()[..n]);
    core::str::from_utf8(&buf[..n]).unwrap_or("j")
}

/// (d) A parent interface with a vhid and no address departs
/// (`ifconfig epairNa destroy`): the vhid, its memory and its interface
/// reference must go with it, and a new interface must start clean.
/// carp0's parent is destroyed under it (a vlan, an epair, a USB NIC
/// unplugged). The stack purges the parent's multicast memberships
/// (in_ifdetach) before the departure event, and the carpN's memberships are
/// not tied to any address of the parent: they must be forgotten, not left
/// again (a use after free). carp0's vhid goes with its parent, nothing is
/// left demoted, carp0 can then be destroyed. One warm-up round (the
/// engine's carpN table keeps its capacity), then three measured ones.
fn carpn_parent_departs() {
    let round = || -> Result<(i32, i32), i32> {
        let e = kernel::if_create_named("epair")?;
        kernel::if_up(e.as_str())?;
        kernel::add_v4(e.as_str(), [203, 0, 113, 2], 24, 0)?;
        kernel::if_create("carp0")?;
        let cr = CarpReq {
            vhid: 2,
            advskew: 0,
            key: kernel::key("gone"),
            ..CarpReq::default()
        };
        kernel::carp_set("carp0", cr)?;
        kernel::add_v4("carp0", [203, 0, 113, 60], 24, 0)?;
        sys::sleep_ms(500);
        let d0 = kernel::sysctl_int("net.inet.carp.demotion")?;
        kernel::if_destroy(e.as_str())?;
        sys::sleep_ms(300);
        let d1 = kernel::sysctl_int("net.inet.carp.demotion")?;
        kernel::if_destroy("carp0")?;
        Ok((d0, d1))
    };
    let warm = round();
    sys::sleep_ms(300);
    let before = in_use();
    let rounds = [round(), round(), round()];
    sys::sleep_ms(300);
    let after = in_use();
    let ok = |r: &Result<(i32, i32), i32>| matches!(r, Ok((d0, d1)) if d1 == d0);
    check(
        "departure.carpn_parent",
        ok(&warm)
            && rounds.iter().all(ok)
            && matches!((before, after), (Some(b), Some(a)) if a.bytes <= b.bytes && a.allocs <= b.allocs),
        format_args!(
            "4 x (carp0 bound to an epair, the epair destroyed, then carp0): (demotion before, after) {:?} {:?}; \
             malloc type carp_rs in use after the first {:?}, after the last {:?}",
            warm, rounds, before, after
        ),
    );
}

/// `ifconfig epairNa name carplan0`: if_rename() raises the departure
/// event (IFF_RENAMING set) for an interface that stays, with its addresses
/// and vhids. The handler used to drop them: the VIP stayed as a plain
/// address (a duplicate IP next to the MASTER) and the vhid was gone.
fn parent_renamed() {
    let r = (|| -> Result<(i32, i32), i32> {
        let e = kernel::if_create_named("epair")?;
        kernel::if_up(e.as_str())?;
        kernel::add_v4(e.as_str(), [203, 0, 113, 2], 24, 0)?;
        let cr = CarpReq {
            vhid: 3,
            advskew: 0,
            key: kernel::key("renamed"),
            ..CarpReq::default()
        };
        kernel::carp_set(e.as_str(), cr)?;
        kernel::add_v4(e.as_str(), [203, 0, 113, 70], 32, 3)?;
        sys::sleep_ms(500);
        let before = kernel::carp_get(e.as_str(), 3)?.state;
        kernel::if_rename(e.as_str(), "carplan0")?;
        sys::sleep_ms(300);
        let after = kernel::carp_get("carplan0", 3).map(|c| c.state);
        let _ = kernel::if_destroy("carplan0");
        Ok((before, after?))
    })();
    check(
        "departure.rename",
        matches!(r, Ok((b, a)) if b != 0 && a != 0),
        format_args!(
            "SIOCGVH vhid 3 before and after renaming its parent to carplan0 (state: 0 INIT or gone, 1 BACKUP, 2 MASTER): {:?}",
            r
        ),
    );
}

pub fn departure() {
    let Some(kld) = load_modules("departure") else {
        return;
    };
    let rounds = Env::get("count").u32_or(20);
    let cr = CarpReq {
        vhid: 1,
        advskew: 0,
        key: kernel::key("gone"),
        ..CarpReq::default()
    };
    // Warm-up: one full life cycle (vhid, address, address removed).
    let w = kernel::if_create_named("epair").and_then(|e| {
        kernel::if_up(e.as_str())?;
        kernel::add_v4(e.as_str(), [203, 0, 113, 2], 24, 0)?;
        kernel::carp_set(e.as_str(), cr)?;
        kernel::add_v4(e.as_str(), [203, 0, 113, 50], 32, 1)?;
        kernel::del_v4(e.as_str(), [203, 0, 113, 50])?;
        kernel::if_destroy(e.as_str())
    });
    check(
        "departure.warmup",
        w.is_ok(),
        format_args!("epair with a vhid and address, removed: {:?}", w),
    );
    sys::sleep_ms(300);
    let before = in_use();
    let mut errs = 0;
    let mut last = None;
    for _ in 0..rounds {
        let r = kernel::if_create_named("epair").and_then(|e| {
            last = Some(e);
            kernel::if_up(e.as_str())?;
            kernel::carp_set(e.as_str(), cr)?;
            kernel::if_destroy(e.as_str())
        });
        if r.is_err() {
            errs += 1;
        }
    }
    sys::sleep_ms(500);
    let after = in_use();
    check(
        "departure.cycles",
        errs == 0,
        format_args!(
            "{} x (epair create, SIOCSVH vhid 1 without address, destroy): {} errors",
            rounds, errs
        ),
    );
    check(
        "departure.no_leak",
        matches!((before, after), (Some(b), Some(a)) if a.bytes <= b.bytes && a.allocs <= b.allocs),
        format_args!(
            "malloc type carp_rs in use before {:?}, after {} departures {:?}",
            before, rounds, after
        ),
    );
    // The same name (and likely the same if_index) again: no stale vhid.
    let fresh = kernel::if_create_named("epair");
    let stale = fresh.map(|e| kernel::carp_get(e.as_str(), 1));
    check(
        "departure.no_stale_vhid",
        matches!(stale, Ok(Err(_))) || matches!(stale, Ok(Ok(c)) if c.vhid != 1),
        format_args!(
            "SIOCGVH vhid 1 on the new {} (last departed {}): {:?}",
            fresh.as_ref().map_or("?", |e| e.as_str()),
            last.as_ref().map_or("?", |e| e.as_str()),
            stale.map(|r| r.map(|c| (c.vhid, kernel::state_name(c.state))))
        ),
    );
    if let Ok(e) = fresh {
        let _ = kernel::if_destroy(e.as_str());
    }
    carpn_parent_departs();
    parent_renamed();
    let u = sys::kldunload(kld);
    check(
        "departure.unload",
        u.is_ok(),
        format_args!("kldunload {}", R(u)),
    );
}
