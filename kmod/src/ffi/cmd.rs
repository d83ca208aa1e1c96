//! Per-address commands (`struct carp_rs_cmd`): the engine decides which
//! routes, published entries and announces the host needs
//! ([`crate::engine::Engine::poll_command`]); the shim maps each to one
//! kernel call, in the order handed out.

use core::ffi::c_int;

use super::engine::{read_addr, CarpRsEngine};
use super::tx::addr_bytes;
use crate::engine::{Command, Op};

/// `CARP_RS_CMD_*`: the kernel call of a command. `carp_ifa_addroute`.
pub const CARP_RS_CMD_ROUTE_ADD: u32 = 1;
/// `carp_ifa_delroute`.
pub const CARP_RS_CMD_ROUTE_DEL: u32 = 2;
/// A carpN VIP's published ARP entry.
pub const CARP_RS_CMD_PUBLISH: u32 = 3;
/// Its removal.
pub const CARP_RS_CMD_UNPUBLISH: u32 = 4;
/// `carp_send_arp`: a gratuitous ARP.
pub const CARP_RS_CMD_GARP: u32 = 5;
/// `carp_send_na`: an unsolicited neighbour advertisement.
pub const CARP_RS_CMD_NA: u32 = 6;

/// `struct carp_rs_cmd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsCmd {
    /// `CARP_RS_CMD_*`.
    pub op: u32,
    /// The parent the address is served on.
    pub ifindex: u32,
    /// `CARP_RS_AF_*` of `addr`.
    pub af: u8,
    pub vhid: u8,
    /// The virtual MAC of `vhid` (published entry, gratuitous ARP).
    pub mac: [u8; 6],
    /// IPv4 in the first 4 bytes.
    pub addr: [u8; 16],
}

impl From<Command> for CarpRsCmd {
    fn from(c: Command) -> Self {
        let (af, addr) = addr_bytes(c.addr);
        CarpRsCmd {
            op: match c.op {
                Op::RouteAdd => CARP_RS_CMD_ROUTE_ADD,
                Op::RouteDelete => CARP_RS_CMD_ROUTE_DEL,
                Op::Publish => CARP_RS_CMD_PUBLISH,
                Op::Unpublish => CARP_RS_CMD_UNPUBLISH,
                Op::Garp => CARP_RS_CMD_GARP,
                Op::Na => CARP_RS_CMD_NA,
            },
            ifindex: c.iface,
            af,
            vhid: c.vhid,
            mac: crate::wire::virtual_mac(c.vhid),
            addr,
        }
    }
}

/// Takes the next command into `*cmd`: `CARP_RS_OK`, or `CARP_RS_DROPPED`
/// when the host's tables match the vhid states. Allocates nothing.
///
/// # Safety
/// `h` is NULL or a live handle; `cmd` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_command(
    h: *mut CarpRsEngine,
    cmd: *mut CarpRsCmd,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return super::CARP_RS_EINVAL;
    };
    if cmd.is_null() {
        return super::CARP_RS_EINVAL;
    }
    match h.engine.poll_command() {
        Some(c) => {
            // SAFETY: non-null and writable per the contract.
            unsafe { cmd.write_unaligned(c.into()) };
            super::CARP_RS_OK
        }
        None => super::CARP_RS_DROPPED,
    }
}

/// The shim linked a record for `addr` on parent `ifindex` (`clone`: it
/// lives on a carpN). `CARP_RS_OK`, `CARP_RS_ENOMEM` or `CARP_RS_EINVAL`.
///
/// # Safety
/// `h` is NULL or a live handle; `addr` NULL or readable for `af`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_route_track(
    h: *mut CarpRsEngine,
    ifindex: u32,
    af: u8,
    addr: *const u8,
    clone: c_int,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; `addr` per the contract.
    let (Some(h), Some(a)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return super::CARP_RS_EINVAL;
    };
    match h.engine.route_track(ifindex, a, clone != 0) {
        Ok(()) => super::CARP_RS_OK,
        Err(_) => super::CARP_RS_ENOMEM,
    }
}

/// The shim unlinks a record: 1 with the removal to apply now in `*cmd`
/// (the engine forgets it as applied), 0 if there is nothing to remove.
///
/// # Safety
/// As [`carp_rs_route_track`]; `cmd` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_route_untrack(
    h: *mut CarpRsEngine,
    ifindex: u32,
    af: u8,
    addr: *const u8,
    clone: c_int,
    cmd: *mut CarpRsCmd,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; `addr` per the contract.
    let (Some(h), Some(a)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return 0;
    };
    if cmd.is_null() {
        return 0;
    }
    match h.engine.route_untrack(ifindex, a, clone != 0) {
        Some(c) => {
            // SAFETY: non-null and writable per the contract.
            unsafe { cmd.write_unaligned(c.into()) };
            1
        }
        None => 0,
    }
}
