//! The structs of carp_rs's C ABI, field by field: bindgen's (clang's)
//! reading of `carp_rs_ffi.h` (what the C shim compiles, generated from
//! `carp_rs::ffi` by cbindgen, see build.rs) against the Rust definitions
//! (what the engine writes). A field cbindgen or the C compiler lays out
//! differently from Rust (type mapping, size, alignment, padding) fails
//! here, not in a kernel.

use core::mem::{align_of, offset_of, size_of};

use carp_rs::ffi as rs;
use freebsd_kpi_sys as c;

/// Size of a field, from a projection closure (no value needed).
fn field_size<S, F>(_: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

/// One struct: same size and alignment; every listed field at the same
/// offset with the same size on both sides; and the listed fields tile the
/// C struct with no gap, so a field the list forgot cannot hide.
macro_rules! same_layout {
    ($c:ty, $rs:ty, [$($f:ident),+ $(,)?]) => {{
        let name = stringify!($c);
        assert_eq!(size_of::<$c>(), size_of::<$rs>(), "{name}: size");
        assert_eq!(align_of::<$c>(), align_of::<$rs>(), "{name}: alignment");
        let mut spans: Vec<(usize, usize, &str)> = Vec::new();
        $(
            let (co, ro) = (offset_of!($c, $f), offset_of!($rs, $f));
            let (cs, rsz) = (field_size(|s: &$c| &s.$f), field_size(|s: &$rs| &s.$f));
            assert_eq!(co, ro, "{name}.{}: C offset {co}, Rust offset {ro}", stringify!($f));
            assert_eq!(cs, rsz, "{name}.{}: C size {cs}, Rust size {rsz}", stringify!($f));
            spans.push((co, cs, stringify!($f)));
        )+
        spans.sort();
        let mut end = 0;
        for (off, len, f) in spans {
            assert_eq!(off, end, "{name}: {f} at {off}, previous field ends at {end}");
            end = off + len;
        }
        assert_eq!(end, size_of::<$c>(), "{name}: fields end at {end}");
    }};
}

#[test]
fn tx() {
    same_layout!(
        c::carp_rs_tx,
        rs::CarpRsTx,
        [
            ifindex,
            len,
            vhid,
            af,
            ttl,
            tos,
            has_src_mac,
            src_mac,
            hlen,
            src,
            dst
        ]
    );
}

#[test]
fn cmd() {
    same_layout!(
        c::carp_rs_cmd,
        rs::CarpRsCmd,
        [op, ifindex, af, vhid, mac, addr]
    );
}

#[test]
fn event() {
    same_layout!(
        c::carp_rs_event,
        rs::CarpRsEvent,
        [
            kind,
            ifindex,
            id,
            legacy_ifindex,
            legacy_link,
            vhid,
            from,
            to,
            log_pri,
            pad,
            log,
            devd_subsystem,
            devd_type
        ]
    );
}

#[test]
fn control_plane() {
    same_layout!(
        c::carp_rs_ifinfo,
        rs::CarpRsIfInfo,
        [index, flags, if_type, pad]
    );
    same_layout!(
        c::carp_rs_setres,
        rs::CarpRsSetRes,
        [id, created, forced, pad]
    );
    same_layout!(
        c::carp_rs_nlreq,
        rs::CarpRsNlReq,
        [cmd, has_ifname, pad, ifindex, ifname]
    );
}

#[test]
fn legacy() {
    same_layout!(
        c::carp_rs_cand,
        rs::CarpRsCand,
        [ifindex, flags, if_type, af, pad, addr, mask]
    );
    same_layout!(
        c::carp_rs_legacy_out,
        rs::CarpRsLegacyOut,
        [
            id,
            destroyed,
            parent,
            has_id,
            created,
            has_destroyed,
            forced,
            vhid,
            vip,
            pad
        ]
    );
}

#[test]
fn oid() {
    same_layout!(c::carp_rs_oid, rs::CarpRsOid, [name, descr, kind, arg2]);
}
