//! The engine's C ABI against the kernel headers it is built for.

use core::mem::size_of;
use freebsd_kpi_sys as k;

#[test]
fn carpstats_is_the_engines_counter_array() {
    assert_eq!(size_of::<k::carpstats>(), carp_rs::ffi::CARP_RS_NSTATS * 8);
    assert_eq!(
        size_of::<k::carpstats>(),
        size_of::<carp_rs::engine::Stats>()
    );
    // Spot-check the order the copy-out relies on: first, second and last.
    let s = k::carpstats::default();
    let base = core::ptr::addr_of!(s) as usize;
    assert_eq!(core::ptr::addr_of!(s.carps_ipackets) as usize - base, 0);
    assert_eq!(core::ptr::addr_of!(s.carps_ipackets6) as usize - base, 8);
    assert_eq!(core::ptr::addr_of!(s.carps_preempt) as usize - base, 15 * 8);
}

#[test]
fn protocol_constants_match_the_headers() {
    assert_eq!(k::IPPROTO_CARP, 112);
    assert_eq!(k::CARP_KEY_LEN, 20);
    assert_eq!(k::CARP_DFLTTL, 255);
    assert_eq!(size_of::<k::carp_header>(), 36);
    assert_eq!(size_of::<k::carpreq>(), 40);
}
