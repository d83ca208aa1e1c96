//! Host tests of the C ABI the shim calls, driven the way the shim drives
//! it: raw pointers, byte buffers, errno returns.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::ffi::c_void;
use core::ptr;

use super::*;
use crate::ctl::carpreq::CarpReq;
use crate::ctl::netlink;

const EM0: u32 = 2;
const CARP0: u32 = 9;
const SEC: u64 = 1_000_000_000;
const ENOENT: i32 = 2;
const EPERM: i32 = 1;
const ENXIO: i32 = 6;
const EINVAL: i32 = 22;
const EOPNOTSUPP: i32 = 45;

fn eth(index: u32) -> CarpRsIfInfo {
    CarpRsIfInfo {
        index,
        flags: 0x8000 | 1,
        if_type: 0x06,
        pad: [0; 3],
    }
}

fn carpreq(vhid: i32, advskew: i32, key: &[u8]) -> [u8; 40] {
    let mut k = [0u8; 20];
    k[..key.len()].copy_from_slice(key);
    let mut b = [0u8; 40];
    CarpReq {
        count: 1,
        vhid,
        state: 0,
        advskew,
        advbase: 1,
        key: k,
    }
    .emit(&mut b)
    .unwrap();
    b
}

unsafe extern "C" fn names(_: *mut c_void, index: u32, buf: *mut u8, len: usize) -> usize {
    let n: &[u8] = match index {
        EM0 => b"em0",
        CARP0 => b"carp0",
        _ => return 0,
    };
    let n = &n[..n.len().min(len)];
    unsafe { ptr::copy_nonoverlapping(n.as_ptr(), buf, n.len()) };
    n.len()
}

fn cstr(b: &[u8]) -> &str {
    let end = b.iter().position(|c| *c == 0).unwrap();
    core::str::from_utf8(&b[..end]).unwrap()
}

/// SIOCSVH through the C ABI as the shim calls it on a parent (no carpN
/// outcome asked for).
unsafe fn set_vhid(
    h: *mut CarpRsEngine,
    now: u64,
    ii: *const CarpRsIfInfo,
    req: &[u8],
    privileged: i32,
    res: &mut CarpRsSetRes,
) -> i32 {
    // SAFETY: the caller's handle; `req` and `res` are live borrows.
    unsafe {
        carp_rs_ioctl_set(
            h,
            now,
            ii,
            req.as_ptr(),
            req.len(),
            privileged,
            res,
            ptr::null_mut(),
        )
    }
}

/// pfsync's demotion as the shim applies it: the hook's reason id, then
/// the task's `carp_rs_demote_adj_id`.
unsafe fn demote(h: *mut CarpRsEngine, now: u64, adj: i32, reason: *const u8, len: usize) -> i32 {
    // SAFETY: the caller's handle; `reason` NULL or `len` readable bytes.
    unsafe { carp_rs_demote_adj_id(h, now, adj, carp_rs_demote_reason_id(reason, len)) }
}

fn events(h: *mut CarpRsEngine) -> Vec<CarpRsEvent> {
    let mut v = Vec::new();
    let mut buf = [0u8; CARP_RS_TXBUF_MIN];
    let mut tx = CarpRsTx::default();
    unsafe {
        while carp_rs_engine_transmit(
            h,
            None,
            ptr::null_mut(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut tx,
        ) == CARP_RS_OK
        {}
        let mut ev = CarpRsEvent::default();
        while carp_rs_engine_event(h, Some(names), ptr::null_mut(), &mut ev) == CARP_RS_OK {
            v.push(ev);
        }
    }
    v
}

/// vhid 1 on EM0 with 192.0.2.50, BACKUP at t=1 s.
fn configured() -> (*mut CarpRsEngine, u64) {
    let h = carp_rs_engine_new();
    let ii = eth(EM0);
    let req = carpreq(1, 100, b"pw");
    let mut res = CarpRsSetRes::default();
    let own = [192u8, 0, 2, 11];
    let vip = [192u8, 0, 2, 50];
    let mut id = 0u64;
    unsafe {
        assert_eq!(carp_rs_iface_addrs(h, EM0, own.as_ptr(), ptr::null()), 0);
        assert_eq!(set_vhid(h, SEC, &ii, &req, 1, &mut res), 0);
        assert_eq!(res.created, 1);
        assert_eq!(
            carp_rs_addr_attach(h, SEC, EM0, 1, CARP_RS_AF_INET, vip.as_ptr(), &mut id),
            0
        );
        assert_eq!(id, res.id);
    }
    (h, id)
}

#[test]
fn every_new_entry_point_is_null_safe() {
    let null = ptr::null_mut::<CarpRsEngine>();
    let b = [0u8; 64];
    let mut out = [0u8; 64];
    let mut used = 0usize;
    let a = [192u8, 0, 2, 1];
    unsafe {
        assert_eq!(
            carp_rs_ioctl_set(
                null,
                0,
                ptr::null(),
                b.as_ptr(),
                40,
                1,
                ptr::null_mut(),
                ptr::null_mut()
            ),
            EINVAL
        );
        assert_eq!(
            carp_rs_ioctl_get(
                null,
                ptr::null(),
                b.as_ptr(),
                40,
                1,
                out.as_mut_ptr(),
                64,
                &mut used
            ),
            EINVAL
        );
        assert_eq!(carp_rs_nl_parse(ptr::null(), 4, ptr::null_mut()), EINVAL);
        assert_eq!(
            carp_rs_nl_set(
                null,
                0,
                b.as_ptr(),
                4,
                ptr::null(),
                1,
                ptr::null_mut(),
                ptr::null_mut()
            ),
            EINVAL
        );
        assert_eq!(
            carp_rs_nl_get(
                null,
                b.as_ptr(),
                4,
                ptr::null(),
                1,
                0,
                0,
                0,
                out.as_mut_ptr(),
                64,
                &mut used
            ),
            EINVAL
        );
        assert_eq!(
            carp_rs_sysctl(null, 0, 0, ptr::null(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(carp_rs_sysctl_read(null, 0), 0);
        assert_eq!(
            carp_rs_addr_attach(null, 0, 1, 1, CARP_RS_AF_INET, a.as_ptr(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(
            carp_rs_addr_detach(null, 0, 0, CARP_RS_AF_INET, a.as_ptr(), 0, ptr::null_mut()),
            EINVAL
        );
        assert_eq!(carp_rs_vhid_remove(null, 0, 0), EINVAL);
        assert_eq!(carp_rs_iface_vhids(null, 1), 0);
        assert_eq!(carp_rs_vhid_list(null, ptr::null_mut(), 0), 0);
        carp_rs_link_state(null, 0, 1, 1);
        assert_eq!(
            carp_rs_iface_addrs(null, 1, ptr::null(), ptr::null()),
            EINVAL
        );
        assert_eq!(carp_rs_vhid_state(null, 0), -1);
        carp_rs_tx_result(null, 0, 1, 1, 0);
        carp_rs_seed(null, 1);
        carp_rs_count(null, 1);
        assert_eq!(
            carp_rs_engine_event(null, None, ptr::null_mut(), ptr::null_mut()),
            CARP_RS_EINVAL
        );
        assert_eq!(carp_rs_forus(null, 1, ptr::null()), 0);
        assert_eq!(carp_rs_is_master(null, 1, 1), 0);
        assert_eq!(carp_rs_arp_filter_wanted(null), 0);
        assert_eq!(carp_rs_arp_filter(null, 1, a.as_ptr(), a.len()), 0);
        assert_eq!(carp_rs_clone_create(null, 1), EINVAL);
        assert_eq!(carp_rs_clone_destroy(null, 0, 1, ptr::null_mut()), EINVAL);
        assert_eq!(carp_rs_clone_known(null, 1), 0);
        assert_eq!(carp_rs_clone_vhid(null, 1), 0);
        assert_eq!(
            carp_rs_clone_add_addr(
                null,
                0,
                1,
                0,
                CARP_RS_AF_INET,
                a.as_ptr(),
                ptr::null(),
                0,
                ptr::null_mut()
            ),
            EINVAL
        );
        assert_eq!(
            carp_rs_clone_remove_addr(null, 0, 1, CARP_RS_AF_INET, a.as_ptr(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(carp_rs_clone_set_up(null, 0, 1, 1, ptr::null_mut()), EINVAL);
        assert_eq!(
            carp_rs_input_drop(null, CARP_RS_AF_INET6, CARP_RS_DROP_BADIF),
            CARP_RS_EINVAL
        );
        assert_eq!(demote(null, 0, 1, a.as_ptr(), 4), EINVAL);
        // A live engine with a NULL event slot or unknown knob.
        let h = carp_rs_engine_new();
        assert_eq!(
            carp_rs_engine_event(h, None, ptr::null_mut(), ptr::null_mut()),
            CARP_RS_EINVAL
        );
        assert_eq!(
            carp_rs_sysctl(h, 0, CARP_RS_SYSCTL_COUNT, ptr::null(), ptr::null_mut()),
            EINVAL
        );
        carp_rs_engine_free(h);
    }
}

#[test]
fn ioctl_errors_are_freebsds() {
    let h = carp_rs_engine_new();
    let req = carpreq(1, 0, b"");
    let mut res = CarpRsSetRes::default();
    let mut lo = eth(1);
    lo.if_type = 0x18;
    unsafe {
        // No such interface, not Ethernet, unprivileged, bad vhid.
        assert_eq!(set_vhid(h, 0, ptr::null(), &req, 1, &mut res), ENXIO);
        assert_eq!(set_vhid(h, 0, &lo, &req, 1, &mut res), EOPNOTSUPP);
        assert_eq!(set_vhid(h, 0, &eth(EM0), &req, 0, &mut res), EPERM);
        let bad = carpreq(256, 0, b"");
        assert_eq!(set_vhid(h, 0, &eth(EM0), &bad, 1, &mut res), EINVAL);
        // A short struct is refused, not read past.
        assert_ne!(
            carp_rs_ioctl_set(
                h,
                0,
                &eth(EM0),
                req.as_ptr(),
                20,
                1,
                &mut res,
                ptr::null_mut()
            ),
            0
        );
        // Nothing was created by any of them.
        assert_eq!(carp_rs_iface_vhids(h, EM0), 0);
        // An address for a vhid never SET: ENOENT.
        let vip = [192u8, 0, 2, 50];
        let mut id = 0;
        assert_eq!(
            carp_rs_addr_attach(h, 0, EM0, 1, CARP_RS_AF_INET, vip.as_ptr(), &mut id),
            ENOENT
        );
        carp_rs_engine_free(h);
    }
}

#[test]
fn set_get_roundtrip_and_key_visibility() {
    let (h, _) = configured();
    let q = carpreq(0, 0, b"");
    let mut out = [0u8; 40 * 255];
    let mut used = 0usize;
    unsafe {
        assert_eq!(
            carp_rs_ioctl_get(
                h,
                &eth(EM0),
                q.as_ptr(),
                40,
                1,
                out.as_mut_ptr(),
                out.len(),
                &mut used
            ),
            0
        );
        assert_eq!(used, 40);
        let r = CarpReq::parse(&out[..40]).unwrap();
        assert_eq!((r.vhid, r.advskew, r.advbase, r.state), (1, 100, 1, 1));
        assert_eq!(&r.key[..2], b"pw");
        // Unprivileged readers see no key.
        assert_eq!(
            carp_rs_ioctl_get(
                h,
                &eth(EM0),
                q.as_ptr(),
                40,
                0,
                out.as_mut_ptr(),
                out.len(),
                &mut used
            ),
            0
        );
        assert_eq!(CarpReq::parse(&out[..40]).unwrap().key, [0; 20]);
        // A second SET changes advskew, creates nothing.
        let mut res = CarpRsSetRes::default();
        let req = carpreq(1, 20, b"");
        assert_eq!(set_vhid(h, 2 * SEC, &eth(EM0), &req, 1, &mut res), 0);
        assert_eq!(res.created, 0);
        carp_rs_ioctl_get(
            h,
            &eth(EM0),
            q.as_ptr(),
            40,
            1,
            out.as_mut_ptr(),
            out.len(),
            &mut used,
        );
        assert_eq!(CarpReq::parse(&out[..40]).unwrap().advskew, 20);
        carp_rs_engine_free(h);
    }
}

#[test]
fn master_events_carry_freebsd_text_and_data_path_follows() {
    let (h, id) = configured();
    unsafe {
        let evs = events(h);
        let st: Vec<_> = evs.iter().filter(|e| e.kind == CARP_RS_EV_STATE).collect();
        assert_eq!(st.last().unwrap().to, 1, "BACKUP after attach");
        assert_eq!(
            cstr(&st.last().unwrap().log),
            "carp: 1@em0: INIT -> BACKUP (initialization complete)"
        );
        assert_eq!(carp_rs_vhid_state(h, id), 1);
        assert_eq!(carp_rs_is_master(h, EM0, 1), 0);
        let deadline = carp_rs_engine_deadline(h);
        assert!(
            deadline > SEC && deadline < 6 * SEC,
            "master-down armed: {deadline}"
        );
        carp_rs_engine_timeout(h, deadline);
        let evs = events(h);
        let m = evs.iter().find(|e| e.kind == CARP_RS_EV_STATE).unwrap();
        assert_eq!((m.from, m.to, m.vhid, m.ifindex, m.id), (1, 2, 1, EM0, id));
        assert_eq!(
            cstr(&m.log),
            "carp: 1@em0: BACKUP -> MASTER (master timed out)"
        );
        assert_eq!(m.log_pri, LOG_INFO);
        assert_eq!(cstr(&m.devd_subsystem), "1@em0");
        assert_eq!(cstr(&m.devd_type), "MASTER");
        assert_eq!(m.legacy_ifindex, 0);
        assert!(evs
            .iter()
            .any(|e| e.kind == CARP_RS_EV_ANNOUNCE && e.id == id));
        assert_eq!(carp_rs_is_master(h, EM0, 1), 1);
        let vmac = [0u8, 0, 0x5e, 0, 1, 1];
        assert_eq!(carp_rs_forus(h, EM0, vmac.as_ptr()), 1);
        assert_eq!(carp_rs_forus(h, EM0 + 1, vmac.as_ptr()), 0);
        let other = [0u8, 0, 0x5e, 0, 1, 2];
        assert_eq!(carp_rs_forus(h, EM0, other.as_ptr()), 0);
        let (vip, from) = ([192u8, 0, 2, 50], [192u8, 0, 2, 99]);
        let mac = (*h).engine.arp_reply_mac(EM0, vip.into(), from.into());
        assert_eq!(mac, Some(vmac));
        // Link down: INIT, demotion logged with FreeBSD's words.
        carp_rs_link_state(h, deadline + 1, EM0, 0);
        let evs = events(h);
        assert!(evs.iter().any(|e| e.kind == CARP_RS_EV_STATE
            && cstr(&e.log) == "carp: 1@em0: MASTER -> INIT (hardware interface down)"));
        assert!(evs.iter().any(|e| e.kind == CARP_RS_EV_DEMOTED
            && cstr(&e.log) == "carp: demoted by 240 to 240 (interface down)"));
        assert_eq!(carp_rs_forus(h, EM0, vmac.as_ptr()), 0);
        carp_rs_engine_free(h);
    }
}

#[test]
fn adverts_leave_with_the_parent_source_and_the_virtual_mac() {
    let (h, _) = configured();
    let mut buf = [0u8; CARP_RS_TXBUF_MIN];
    let mut tx = CarpRsTx::default();
    unsafe {
        events(h);
        carp_rs_engine_timeout(h, carp_rs_engine_deadline(h));
        assert_eq!(
            carp_rs_engine_transmit(
                h,
                None,
                ptr::null_mut(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut tx
            ),
            CARP_RS_OK
        );
        assert_eq!(
            (tx.ifindex, tx.vhid, tx.af, tx.ttl, tx.hlen, tx.len),
            (EM0, 1, CARP_RS_AF_INET, 255, 20, 56)
        );
        assert_eq!(&tx.src[..4], &[192, 0, 2, 11]);
        assert_eq!(&tx.dst[..4], &[224, 0, 0, 18]);
        assert_eq!(tx.src_mac, [0, 0, 0x5e, 0, 1, 1]);
        // The IPv4 header as carp_send_ad_locked() hands it to
        // ip_output(IP_RAWOUTPUT): ip_len/ip_off big-endian, DF, id and
        // checksum left to ip_fillid()/ip_output; TOS from the default DSCP
        // (CS7, net.inet.carp.dscp=56).
        assert_eq!(
            &buf[..20],
            &[0x45, 0xe0, 0, 56, 0, 0, 0x40, 0, 255, 112, 0, 0, 192, 0, 2, 11, 224, 0, 0, 18]
        );
        assert_eq!(buf[20], 0x21);
        assert_eq!(buf[22], 100, "advskew");
        carp_rs_engine_free(h);
    }
}

#[test]
fn detach_destroys_the_vhid_with_its_last_address_unless_kept() {
    let (h, id) = configured();
    let vip = [192u8, 0, 2, 50];
    let mut destroyed = -1;
    let mut ids = [0u64; 4];
    unsafe {
        assert_eq!(carp_rs_vhid_list(h, ids.as_mut_ptr(), 4), 1);
        assert_eq!(ids[0], id);
        assert_eq!(
            carp_rs_addr_detach(
                h,
                2 * SEC,
                id,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                1,
                &mut destroyed
            ),
            0
        );
        assert_eq!(destroyed, 0);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 1);
        let mut id2 = 0;
        assert_eq!(
            carp_rs_addr_attach(h, 3 * SEC, EM0, 1, CARP_RS_AF_INET, vip.as_ptr(), &mut id2),
            0
        );
        assert_eq!(
            carp_rs_addr_detach(
                h,
                4 * SEC,
                id2,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                0,
                &mut destroyed
            ),
            0
        );
        assert_eq!(destroyed, 1);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 0);
        assert_eq!(carp_rs_vhid_list(h, ids.as_mut_ptr(), 4), 0);
        // Removing it again is an error, not a crash.
        assert_ne!(
            carp_rs_addr_detach(
                h,
                5 * SEC,
                id2,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                0,
                &mut destroyed
            ),
            0
        );
        carp_rs_engine_free(h);
    }
}

/// The leaves the shim registers: FreeBSD's names, flags and order, then
/// carp_rs's; `allow` a tunable (CTLFLAG_RWTUN), `suppress_preempt`
/// read-only; each handler number names what it reads.
#[test]
fn sysctl_oids_are_freebsds_leaves() {
    let mut o = CarpRsOid {
        name: ptr::null(),
        descr: ptr::null(),
        kind: 99,
        arg2: 99,
    };
    let mut got = Vec::new();
    unsafe {
        assert_eq!(carp_rs_sysctl_oid(0, ptr::null_mut()), EINVAL);
        let mut i = 0;
        while carp_rs_sysctl_oid(i, &mut o) == 0 {
            let name = core::ffi::CStr::from_ptr(o.name).to_str().unwrap();
            let descr = core::ffi::CStr::from_ptr(o.descr).to_str().unwrap();
            assert!(!descr.is_empty(), "{name}: no description");
            got.push((name, o.kind, o.arg2));
            i += 1;
        }
        assert_eq!(carp_rs_sysctl_oid(i, &mut o), ENOENT);
        assert_eq!(carp_rs_sysctl_oid(u32::MAX, &mut o), ENOENT);
    }
    use crate::ctl::sysctl::Knob;
    let (int, ro, tun) = (CARP_RS_OID_INT, CARP_RS_OID_INT_RO, CARP_RS_OID_INT_TUN);
    assert_eq!(
        got,
        [
            ("allow", tun, Knob::Allow as u32),
            ("preempt", int, Knob::Preempt as u32),
            ("log", int, Knob::Log as u32),
            ("demotion", int, Knob::Demotion as u32),
            (
                "senderr_demotion_factor",
                int,
                Knob::SenderrDemotionFactor as u32
            ),
            (
                "ifdown_demotion_factor",
                int,
                Knob::IfdownDemotionFactor as u32
            ),
            ("dscp", int, Knob::Dscp as u32),
            ("arpbalance", int, Knob::Arpbalance as u32),
            ("suppress_preempt", ro, Knob::SuppressPreempt as u32),
            ("replay_check", int, Knob::ReplayCheck as u32),
            ("garp_interval", int, Knob::GarpInterval as u32),
            ("stats", CARP_RS_OID_STATS, 0),
            (
                "demotion_sources",
                CARP_RS_OID_TEXT,
                CARP_RS_STATUS_DEMOTION_SOURCES
            ),
            ("vhids", CARP_RS_OID_TEXT, CARP_RS_STATUS_VHIDS),
        ]
    );
}

#[test]
fn sysctl_knobs_keep_stock_semantics() {
    let h = carp_rs_engine_new();
    let mut old = 0;
    unsafe {
        let defaults = [1, 0, 1, 0, 240, 240, 56, 0, 0, 0, 0];
        for (k, d) in defaults.iter().enumerate() {
            assert_eq!(carp_rs_sysctl_read(h, k as u32), *d, "knob {k}");
        }
        // demotion: a write adds.
        let v = 5;
        assert_eq!(carp_rs_sysctl(h, 0, 3, &v, &mut old), 0);
        assert_eq!(old, 0);
        assert_eq!(carp_rs_sysctl(h, 0, 3, &v, &mut old), 0);
        assert_eq!(carp_rs_sysctl_read(h, 3), 10);
        // dscp out of range; suppress_preempt is read-only.
        let bad = 64;
        assert_eq!(carp_rs_sysctl(h, 0, 6, &bad, &mut old), EINVAL);
        assert_eq!(carp_rs_sysctl_read(h, 6), 56);
        assert_eq!(carp_rs_sysctl(h, 0, 8, &v, &mut old), EPERM);
        // A read-only request returns the value and changes nothing.
        assert_eq!(carp_rs_sysctl(h, 0, 0, ptr::null(), &mut old), 0);
        assert_eq!(old, 1);
        // carp_rs's opt-in knobs: replay_check 0/1, garp_interval >= 0.
        let on = 1;
        assert_eq!(carp_rs_sysctl(h, 0, 9, &on, &mut old), 0);
        assert_eq!(carp_rs_sysctl_read(h, 9), 1);
        let neg = -1;
        assert_eq!(carp_rs_sysctl(h, 0, 10, &neg, &mut old), EINVAL);
        let ten = 10;
        assert_eq!(carp_rs_sysctl(h, 0, 10, &ten, &mut old), 0);
        assert_eq!(carp_rs_sysctl_read(h, 10), 10);
        carp_rs_engine_free(h);
    }
}

#[test]
fn status_texts_for_the_text_sysctls() {
    let h = carp_rs_engine_new();
    unsafe {
        let adj = -1;
        let mut old = 0;
        assert_eq!(carp_rs_sysctl(h, 0, 3, &adj, &mut old), 0);
        let r = b"pfsync bulk start";
        assert_eq!(demote(h, 0, 240, r.as_ptr(), r.len()), 0);
        let mut buf = [0xffu8; 128];
        let n = carp_rs_status_text(
            h,
            0,
            CARP_RS_STATUS_DEMOTION_SOURCES,
            Some(names),
            ptr::null_mut(),
            buf.as_mut_ptr(),
            buf.len(),
        );
        assert_eq!(cstr(&buf), "admin -1\npfsync \"bulk start\" 240\n");
        assert_eq!(n, cstr(&buf).len());
        // Too small: cut, NUL-terminated, the needed length returned.
        let mut small = [0xffu8; 8];
        let m = carp_rs_status_text(
            h,
            0,
            CARP_RS_STATUS_DEMOTION_SOURCES,
            Some(names),
            ptr::null_mut(),
            small.as_mut_ptr(),
            small.len(),
        );
        assert_eq!((m, cstr(&small)), (n, "admin -"));
        // NULL handle, unknown text, no buffer.
        let null: *const CarpRsEngine = ptr::null();
        assert_eq!(
            carp_rs_status_text(null, 0, 0, None, ptr::null_mut(), buf.as_mut_ptr(), 4),
            0
        );
        assert_eq!(
            carp_rs_status_text(h, 0, 7, None, ptr::null_mut(), buf.as_mut_ptr(), 4),
            0
        );
        assert_eq!(
            carp_rs_status_text(h, 0, 0, None, ptr::null_mut(), ptr::null_mut(), 0),
            n
        );
        carp_rs_engine_free(h);
    }
}

fn stats(h: *mut CarpRsEngine) -> [u64; CARP_RS_NSTATS] {
    let mut st = [0u64; CARP_RS_NSTATS];
    assert_eq!(
        unsafe { carp_rs_engine_stats(h, st.as_mut_ptr(), st.len()) },
        CARP_RS_NSTATS
    );
    st
}

#[test]
fn ipv6_on_a_parent_without_vhids_is_badif_and_resets_with_the_rest() {
    const IPACKETS6: usize = 1;
    const BADIF: usize = 2;
    let h = carp_rs_engine_new();
    let v = [1u8; 16];
    unsafe {
        assert_eq!(
            carp_rs_input_drop(h, CARP_RS_AF_INET6, CARP_RS_DROP_BADIF),
            CARP_RS_DROPPED
        );
        // An engine drop adds to the same counters (ipackets6, badvhid).
        assert_eq!(
            carp_rs_engine_input(
                h,
                SEC,
                EM0,
                CARP_RS_AF_INET6,
                v.as_ptr(),
                v.as_ptr(),
                255,
                v.as_ptr(),
                16
            ),
            CARP_RS_DROPPED
        );
        let st = stats(h);
        assert_eq!((st[IPACKETS6], st[BADIF]), (2, 1));
        // allow=0: counted as received, not as badif.
        let off = 0;
        let mut old = 0;
        assert_eq!(carp_rs_sysctl(h, 0, 0, &off, &mut old), 0);
        assert_eq!(
            carp_rs_input_drop(h, CARP_RS_AF_INET6, CARP_RS_DROP_BADIF),
            CARP_RS_DROPPED
        );
        let st = stats(h);
        assert_eq!((st[IPACKETS6], st[BADIF]), (3, 1));
        // A short copy-out still works; netstat -z zeroes both sources.
        let mut two = [0u64; 2];
        assert_eq!(carp_rs_engine_stats(h, two.as_mut_ptr(), 2), 2);
        assert_eq!(two, [0, 3]);
        carp_rs_engine_stats_reset(h);
        assert_eq!(stats(h), [0; CARP_RS_NSTATS]);
        carp_rs_engine_free(h);
    }
}

#[test]
fn an_oversized_payload_is_received_and_badlen_unknown_reasons_refused() {
    const IPACKETS: usize = 0;
    const BADLEN: usize = 7;
    let h = carp_rs_engine_new();
    unsafe {
        assert_eq!(
            carp_rs_input_drop(h, CARP_RS_AF_INET, CARP_RS_DROP_BADLEN),
            CARP_RS_DROPPED
        );
        assert_eq!((stats(h)[IPACKETS], stats(h)[BADLEN]), (1, 1));
        // allow=0: received, not judged.
        let mut old = 0;
        assert_eq!(carp_rs_sysctl(h, 0, 0, &0, &mut old), 0);
        assert_eq!(
            carp_rs_input_drop(h, CARP_RS_AF_INET, CARP_RS_DROP_BADLEN),
            CARP_RS_DROPPED
        );
        assert_eq!((stats(h)[IPACKETS], stats(h)[BADLEN]), (2, 1));
        // Neither an unknown family nor an unknown reason counts anything.
        assert_eq!(
            carp_rs_input_drop(h, 9, CARP_RS_DROP_BADLEN),
            CARP_RS_EINVAL
        );
        assert_eq!(carp_rs_input_drop(h, CARP_RS_AF_INET, 7), CARP_RS_EINVAL);
        assert_eq!((stats(h)[IPACKETS], stats(h)[BADLEN]), (2, 1));
        carp_rs_engine_free(h);
    }
}

fn demote_log(h: *mut CarpRsEngine, adj: i32, reason: &[u8]) -> String {
    unsafe { assert_eq!(demote(h, SEC, adj, reason.as_ptr(), reason.len()), 0) };
    let ev = events(h);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, CARP_RS_EV_DEMOTED);
    cstr(&ev[0].log).to_string()
}

#[test]
fn demote_adj_adds_and_logs_the_callers_reason() {
    let h = carp_rs_engine_new();
    assert_eq!(
        demote_log(h, 240, b"pfsync bulk start"),
        "carp: demoted by 240 to 240 (pfsync bulk start)"
    );
    assert_eq!(
        demote_log(h, -240, b"pfsync bulk done"),
        "carp: demoted by -240 to 0 (pfsync bulk done)"
    );
    assert_eq!(
        demote_log(h, 1, b"pfsync bulk fail"),
        "carp: demoted by 1 to 1 (pfsync bulk fail)"
    );
    assert_eq!(
        demote_log(h, -1, b"pfsync destroy"),
        "carp: demoted by -1 to 0 (pfsync destroy)"
    );
    // Unknown text (or a prefix of a known one) is not copied.
    assert_eq!(
        demote_log(h, 3, b"pfsync bulk"),
        "carp: demoted by 3 to 3 (external)"
    );
    unsafe {
        assert_eq!(carp_rs_sysctl_read(h, 3), 3);
        assert_eq!(demote(h, SEC, -3, ptr::null(), 99), 0);
        assert_eq!(carp_rs_sysctl_read(h, 3), 0);
    }
    assert_eq!(
        cstr(&events(h)[0].log),
        "carp: demoted by -3 to 0 (external)"
    );
    unsafe { carp_rs_engine_free(h) };
}

fn nl_set_msg(buf: &mut [u8], vhid: u32, advskew: i32, ifindex: u32) -> usize {
    let mut w = netlink::AttrWriter::new(buf);
    w.raw(&[netlink::CMD_SET, 0, 0, 0]).unwrap();
    w.u32(netlink::ATTR_VHID, vhid).unwrap();
    w.s32(netlink::ATTR_ADVSKEW, advskew).unwrap();
    w.s32(netlink::ATTR_ADVBASE, 1).unwrap();
    w.u32(netlink::ATTR_IFINDEX, ifindex).unwrap();
    w.len()
}

#[test]
fn netlink_set_then_get_writes_reply_messages() {
    let h = carp_rs_engine_new();
    let mut req = [0u8; 128];
    let n = nl_set_msg(&mut req, 3, 42, EM0);
    let mut r = CarpRsNlReq::default();
    let mut res = CarpRsSetRes::default();
    unsafe {
        assert_eq!(carp_rs_nl_parse(req.as_ptr(), n, &mut r), 0);
        assert_eq!((r.cmd, r.ifindex, r.has_ifname), (netlink::CMD_SET, EM0, 0));
        assert_eq!(
            carp_rs_nl_set(
                h,
                SEC,
                req.as_ptr(),
                n,
                &eth(EM0),
                0,
                &mut res,
                ptr::null_mut()
            ),
            EPERM
        );
        assert_eq!(
            carp_rs_nl_set(
                h,
                SEC,
                req.as_ptr(),
                n,
                &eth(EM0),
                1,
                &mut res,
                ptr::null_mut()
            ),
            0
        );
        assert_eq!(res.created, 1);
        let mut get = [0u8; 64];
        let gn = {
            let mut w = netlink::AttrWriter::new(&mut get);
            w.raw(&[netlink::CMD_GET, 0, 0, 0]).unwrap();
            w.u32(netlink::ATTR_IFINDEX, EM0).unwrap();
            w.len()
        };
        let mut out = [0u8; 1024];
        let mut used = 0usize;
        assert_eq!(
            carp_rs_nl_get(
                h,
                get.as_ptr(),
                gn,
                &eth(EM0),
                1,
                0x20,
                7,
                99,
                out.as_mut_ptr(),
                out.len(),
                &mut used
            ),
            0
        );
        assert!(used > 16);
        let len = u32::from_ne_bytes(out[..4].try_into().unwrap()) as usize;
        assert_eq!(len, used, "one message");
        assert_eq!(u16::from_ne_bytes([out[4], out[5]]), 0x20);
        assert_eq!(u32::from_ne_bytes(out[8..12].try_into().unwrap()), 7);
        let (cmd, back) = netlink::Request::parse_message(&out[..used]).unwrap();
        assert_eq!(cmd, netlink::CMD_GET);
        assert_eq!((back.vhid, back.advskew, back.advbase), (3, 42, 1));
        // Too small a buffer: ENOMEM, never an overrun.
        assert_ne!(
            carp_rs_nl_get(
                h,
                get.as_ptr(),
                gn,
                &eth(EM0),
                1,
                0x20,
                7,
                99,
                out.as_mut_ptr(),
                20,
                &mut used
            ),
            0
        );
        carp_rs_engine_free(h);
    }
}

#[test]
fn legacy_carp0_binds_by_subnet_and_reports_its_link() {
    let h = carp_rs_engine_new();
    let cand = CarpRsCand {
        ifindex: EM0,
        flags: 0x8000 | 1,
        if_type: 0x06,
        af: CARP_RS_AF_INET,
        pad: [0; 2],
        addr: {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&[198, 51, 100, 11]);
            a
        },
        mask: {
            let mut m = [0u8; 16];
            m[..3].fill(0xff);
            m
        },
    };
    let vip = [198u8, 51, 100, 50];
    let elsewhere = [203u8, 0, 113, 5];
    let mut out = CarpRsLegacyOut::default();
    let req = carpreq(1, 100, b"x");
    unsafe {
        assert_eq!(carp_rs_clone_create(h, CARP0), 0);
        assert_eq!(carp_rs_clone_create(h, CARP0), 17, "EEXIST");
        assert_eq!(carp_rs_clone_known(h, CARP0), 1);
        assert_eq!(
            carp_rs_ioctl_set(
                h,
                SEC,
                &carp_if(CARP0),
                req.as_ptr(),
                40,
                1,
                ptr::null_mut(),
                &mut out
            ),
            0
        );
        assert_eq!((out.has_id, out.vip, out.vhid), (0, 1, 1), "no address yet");
        assert_eq!(carp_rs_clone_vhid(h, CARP0), 1);
        assert_eq!(
            carp_rs_clone_add_addr(
                h,
                SEC,
                CARP0,
                0,
                CARP_RS_AF_INET,
                elsewhere.as_ptr(),
                &cand,
                1,
                &mut out
            ),
            49,
            "EADDRNOTAVAIL outside every subnet"
        );
        assert_eq!(
            carp_rs_clone_add_addr(
                h,
                SEC,
                CARP0,
                0,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                &cand,
                1,
                &mut out
            ),
            0
        );
        assert_eq!(
            (out.has_id, out.created, out.parent, out.vhid, out.vip),
            (1, 1, EM0, 1, 1)
        );
        // GET on carp0 shows the vhid with its advskew.
        let q = carpreq(0, 0, b"");
        let mut g = [0u8; 40];
        let mut used = 0;
        assert_eq!(
            carp_rs_ioctl_get(
                h,
                &carp_if(CARP0),
                q.as_ptr(),
                40,
                1,
                g.as_mut_ptr(),
                40,
                &mut used
            ),
            0
        );
        let r = CarpReq::parse(&g).unwrap();
        assert_eq!((used, r.vhid, r.advskew, r.state), (40, 1, 100, 1));
        events(h);
        carp_rs_engine_timeout(h, carp_rs_engine_deadline(h));
        let evs = events(h);
        let m = evs
            .iter()
            .find(|e| e.kind == CARP_RS_EV_STATE && e.to == 2)
            .unwrap();
        assert_eq!(
            (m.legacy_ifindex, m.legacy_link),
            (CARP0, 2),
            "LINK_STATE_UP"
        );
        assert_eq!(cstr(&m.devd_subsystem), "1@em0");
        assert!(evs
            .iter()
            .any(|e| e.kind == CARP_RS_EV_ANNOUNCE && e.legacy_ifindex == CARP0));
        assert_eq!(carp_rs_is_master(h, EM0, 1), 1);
        assert_eq!(carp_rs_clone_destroy(h, 9 * SEC, CARP0, &mut out), 0);
        assert_eq!((out.has_destroyed, out.destroyed), (1, m.id));
        assert_eq!(carp_rs_clone_known(h, CARP0), 0);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 0);
        carp_rs_engine_free(h);
    }
}

#[test]
fn netlink_set_on_carp0_configures_its_vhid() {
    let h = carp_rs_engine_new();
    let mut req = [0u8; 128];
    let n = nl_set_msg(&mut req, 4, 30, 0);
    let mut out = CarpRsLegacyOut::default();
    let mut res = CarpRsSetRes::default();
    let carp0 = carp_if(CARP0);
    let set = |privileged, res: &mut CarpRsSetRes, out: &mut CarpRsLegacyOut| unsafe {
        carp_rs_nl_set(h, SEC, req.as_ptr(), n, &carp0, privileged, res, out)
    };
    unsafe {
        // Not a registered carpN: the per-address model refuses the type.
        assert_ne!(set(1, &mut res, &mut out), 0);
        assert_eq!(out.vip, 0);
        assert_eq!(carp_rs_clone_create(h, CARP0), 0);
        assert_eq!(set(0, &mut res, &mut out), EPERM);
        assert_eq!(
            carp_rs_clone_vhid(h, CARP0),
            0,
            "refused SET changed nothing"
        );
        assert_eq!(set(1, &mut res, &mut out), 0);
        assert_eq!(carp_rs_clone_vhid(h, CARP0), 4);
        assert_eq!(out.has_id, 0, "unbound until it has an address");
        assert_eq!(
            (out.vip, out.vhid, res.created),
            (1, 4, 0),
            "a carpN outcome"
        );
        // GET over netlink on carp0 reports the pending vhid as INIT.
        let mut get = [0u8; 64];
        let gn = {
            let mut w = netlink::AttrWriter::new(&mut get);
            w.raw(&[netlink::CMD_GET, 0, 0, 0]).unwrap();
            w.len()
        };
        let mut buf = [0u8; 512];
        let mut used = 0usize;
        let mut ii = eth(CARP0);
        ii.if_type = crate::ctl::IFT_CARP;
        assert_eq!(
            carp_rs_nl_get(
                h,
                get.as_ptr(),
                gn,
                &ii,
                1,
                0x20,
                1,
                1,
                buf.as_mut_ptr(),
                buf.len(),
                &mut used
            ),
            0
        );
        let (_, back) = netlink::Request::parse_message(&buf[..used]).unwrap();
        assert_eq!((back.vhid, back.advskew, back.state), (4, 30, 0));
        carp_rs_engine_free(h);
    }
}

#[test]
fn demote_reason_ids_name_pfsyncs_texts_and_external() {
    let id = |t: &[u8]| unsafe { carp_rs_demote_reason_id(t.as_ptr(), t.len()) };
    assert_eq!(id(b"pfsync bulk start"), 0);
    assert_eq!(id(b"pfsync destroy"), 3);
    assert_eq!(id(b"something else"), CARP_RS_DEMOTE_REASONS - 1);
    assert_eq!(
        unsafe { carp_rs_demote_reason_id(ptr::null(), 5) },
        CARP_RS_DEMOTE_REASONS - 1
    );
    let h = carp_rs_engine_new();
    assert_eq!(unsafe { carp_rs_demote_adj_id(h, SEC, 240, 0) }, 0);
    let ev = events(h);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        cstr(&ev[0].log),
        "carp: demoted by 240 to 240 (pfsync bulk start)"
    );
    assert_eq!(unsafe { carp_rs_demote_adj_id(h, SEC, -240, 99) }, 0);
    let ev = events(h);
    assert_eq!(cstr(&ev[0].log), "carp: demoted by -240 to 0 (external)");
    assert_eq!(
        unsafe { carp_rs_demote_adj_id(ptr::null_mut(), 0, 1, 0) },
        EINVAL
    );
    unsafe { carp_rs_engine_free(h) };
}

/// Issue 11: a state event the engine had to drop (its queue full while
/// the shim was slow to drain) is not lost for good: once the queue is
/// empty, one `from == to` state event per vhid reports the current state
/// (no log line), so routes, carpN link and devd converge.
#[test]
fn lost_events_are_followed_by_a_state_resync() {
    let (h, id) = configured();
    events(h);
    unsafe {
        // Fill the queue without draining it (administrator demotion
        // writes: their events are queued whole, unlike pfsync's texts,
        // which have a small side queue of their own).
        let mut old = 0;
        for i in 0..400 {
            let v: i32 = if i % 2 == 0 { 1 } else { -1 };
            carp_rs_sysctl(h, SEC, 3, &v, &mut old);
        }
        // This state change is dropped: the queue is full.
        carp_rs_link_state(h, 2 * SEC, EM0, 0);
        assert_eq!(carp_rs_vhid_state(h, id), 0);
    }
    let ev = events(h);
    let states: Vec<_> = ev.iter().filter(|e| e.kind == CARP_RS_EV_STATE).collect();
    assert_eq!(states.len(), 1, "{states:?}");
    let s = states[0];
    assert_eq!((s.id, s.from, s.to), (id, 0, 0));
    assert_eq!(cstr(&s.log), "");
    assert_eq!(cstr(&s.devd_subsystem), "1@em0");
    assert_eq!(cstr(&s.devd_type), "INIT");
    // Nothing lost since: no second resync.
    assert!(events(h).is_empty());
    unsafe { carp_rs_engine_free(h) };
}

/// Issue 11: a departing parent takes its vhids (with or without
/// addresses) along; other interfaces keep theirs.
#[test]
fn departing_interface_drops_its_vhids() {
    let (h, id) = configured();
    let ii = eth(EM0 + 1);
    let req = carpreq(2, 0, b"pw");
    let mut res = CarpRsSetRes::default();
    unsafe {
        assert_eq!(set_vhid(h, SEC, &ii, &req, 1, &mut res), 0);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 1);
        assert_eq!(carp_rs_iface_depart(h, 2 * SEC, EM0), 1);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 0);
        assert_eq!(carp_rs_vhid_state(h, id), -1);
        assert_eq!(carp_rs_iface_vhids(h, EM0 + 1), 1);
        assert_eq!(carp_rs_iface_depart(h, 2 * SEC, EM0), 0);
        assert_eq!(carp_rs_iface_depart(ptr::null_mut(), 0, EM0), 0);
        carp_rs_engine_free(h);
    }
}

/// em0 as a parent candidate: 198.51.100.11/24, Ethernet, up, multicast.
fn em0_cand() -> CarpRsCand {
    let mut cand = CarpRsCand {
        ifindex: EM0,
        flags: 0x8000 | 1,
        if_type: 0x06,
        af: CARP_RS_AF_INET,
        ..CarpRsCand::default()
    };
    cand.addr[..4].copy_from_slice(&[198, 51, 100, 11]);
    cand.mask[..3].fill(0xff);
    cand
}

/// Review of issue 11: carp0's parent departs. carp0's vhid goes and carp0
/// is unbound with its addresses forgotten (the shim unlinks their records
/// with the parent's); before, the carpN kept the removed vhid's handle.
/// Setting the address again binds anew.
#[test]
fn a_departing_parent_unbinds_its_carpn() {
    let h = carp_rs_engine_new();
    let cand = em0_cand();
    let vip = [198, 51, 100, 50];
    let mut out = CarpRsLegacyOut::default();
    unsafe {
        assert_eq!(carp_rs_clone_create(h, CARP0), 0);
        assert_eq!(
            carp_rs_clone_add_addr(
                h,
                SEC,
                CARP0,
                3,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                &cand,
                1,
                &mut out
            ),
            0
        );
        assert_eq!((out.vip, out.has_id, out.parent), (1, 1, EM0));
        let id = out.id;
        assert_eq!(carp_rs_iface_vhids(h, EM0), 1);
        assert_eq!(carp_rs_iface_depart(h, 2 * SEC, EM0), 1);
        assert_eq!(carp_rs_iface_vhids(h, EM0), 0);
        assert_eq!(carp_rs_vhid_state(h, id), -1);
        // Forgotten: removing the address is no longer carp's business.
        assert_eq!(
            carp_rs_clone_remove_addr(h, 3 * SEC, CARP0, CARP_RS_AF_INET, vip.as_ptr(), &mut out),
            crate::ctl::Errno::EADDRNOTAVAIL.get()
        );
        // The vhid number stays; the address set again binds anew.
        assert_eq!(carp_rs_clone_vhid(h, CARP0), 3);
        assert_eq!(
            carp_rs_clone_add_addr(
                h,
                4 * SEC,
                CARP0,
                0,
                CARP_RS_AF_INET,
                vip.as_ptr(),
                &cand,
                1,
                &mut out
            ),
            0
        );
        assert_eq!((out.vip, out.vhid, out.has_id, out.parent), (1, 3, 1, EM0));
        assert_eq!(carp_rs_iface_vhids(h, EM0), 1);
        carp_rs_engine_free(h);
    }
}

/// What carpN's address hook used to decide in C: which addresses are VIPs
/// and what an address naming a vhid does to an unconfigured carpN.
#[test]
fn legacy_add_addr_decides_vip_and_implicit_vhid() {
    let h = carp_rs_engine_new();
    let cand = em0_cand();
    let add = |vhid: u8, af: u8, a: &[u8], out: &mut CarpRsLegacyOut| unsafe {
        *out = CarpRsLegacyOut {
            vip: 9,
            ..CarpRsLegacyOut::default()
        };
        carp_rs_clone_add_addr(h, SEC, CARP0, vhid, af, a.as_ptr(), &cand, 1, out)
    };
    let mut out = CarpRsLegacyOut::default();
    unsafe {
        assert_eq!(carp_rs_clone_create(h, CARP0), 0);
        // Loopback net, carpN's own link-local and ::1: plain addresses.
        assert_eq!(add(3, CARP_RS_AF_INET, &[127, 0, 0, 1], &mut out), 0);
        assert_eq!(out.vip, 0);
        let ll: core::net::Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(add(3, CARP_RS_AF_INET6, &ll.octets(), &mut out), 0);
        assert_eq!(out.vip, 0);
        assert_eq!(
            add(
                3,
                CARP_RS_AF_INET6,
                &core::net::Ipv6Addr::LOCALHOST.octets(),
                &mut out
            ),
            0
        );
        assert_eq!(out.vip, 0);
        // No vhid named and none configured: a plain address too.
        assert_eq!(add(0, CARP_RS_AF_INET, &[198, 51, 100, 50], &mut out), 0);
        assert_eq!((out.vip, carp_rs_clone_vhid(h, CARP0)), (0, 0));
        // A vhid named: configures carp0 (advbase 1) and binds.
        assert_eq!(add(3, CARP_RS_AF_INET, &[198, 51, 100, 50], &mut out), 0);
        assert_eq!((out.vip, out.vhid, out.has_id, out.parent), (1, 3, 1, EM0));
        // Another vhid on the same carpN: EINVAL, nothing changes.
        assert_eq!(add(4, CARP_RS_AF_INET, &[198, 51, 100, 51], &mut out), 22);
        assert_eq!(carp_rs_clone_vhid(h, CARP0), 3);
        // The legacy two-step: a plain address joins the configured vhid.
        assert_eq!(add(0, CARP_RS_AF_INET, &[198, 51, 100, 51], &mut out), 0);
        assert_eq!((out.vip, out.vhid, out.has_id), (1, 3, 1));
        carp_rs_engine_free(h);
    }
}

#[test]
fn netmask_prefix_lengths() {
    use crate::ctl::legacy::mask_len;
    assert_eq!(mask_len(&[255, 255, 255, 0]), 24);
    assert_eq!(mask_len(&[255, 255, 255, 255]), 32);
    assert_eq!(mask_len(&[255, 254, 0, 0]), 15);
    assert_eq!(mask_len(&[0xff; 16]), 128);
    // Not contiguous: up to the first zero bit.
    assert_eq!(mask_len(&[255, 0, 255, 0]), 8);
    assert_eq!(mask_len(&[]), 0);
}

/// What the shim passes for a carpN (IFF_MULTICAST | IFF_LOOPBACK | IFF_UP).
fn carp_if(index: u32) -> CarpRsIfInfo {
    CarpRsIfInfo {
        index,
        flags: 0x8000 | 0x8 | 1,
        if_type: crate::ctl::IFT_CARP,
        pad: [0; 3],
    }
}

/// The shim registers each `CARP_RS_SYSCTL_*` id under FreeBSD's leaf name
/// (`carp_rs_shim.c`): every id must reach the knob of that name.
#[test]
fn sysctl_ids_reach_the_knob_of_their_name() {
    let ids = [
        (CARP_RS_SYSCTL_ALLOW, "allow"),
        (CARP_RS_SYSCTL_PREEMPT, "preempt"),
        (CARP_RS_SYSCTL_LOG, "log"),
        (CARP_RS_SYSCTL_DEMOTION, "demotion"),
        (CARP_RS_SYSCTL_SENDERR, "senderr_demotion_factor"),
        (CARP_RS_SYSCTL_IFDOWN, "ifdown_demotion_factor"),
        (CARP_RS_SYSCTL_DSCP, "dscp"),
        (CARP_RS_SYSCTL_ARPBALANCE, "arpbalance"),
        (CARP_RS_SYSCTL_SUPPRESS, "suppress_preempt"),
        (CARP_RS_SYSCTL_REPLAY, "replay_check"),
        (CARP_RS_SYSCTL_GARP, "garp_interval"),
    ];
    assert_eq!(ids.len(), CARP_RS_SYSCTL_COUNT as usize);
    for (id, name) in ids {
        assert_eq!(ctl::knob(id).map(|k| k.name()), Some(name), "id {id}");
    }
    assert_eq!(ctl::knob(CARP_RS_SYSCTL_COUNT), None);
}
