//! carp_rs: FreeBSD's carp(4) as a sans-IO engine.
//!
//! The crate is `no_std` so that the very same code runs inside the FreeBSD
//! kernel (linked as a staticlib into `carp_rs.ko`), in the Linux test node
//! and in the deterministic simulator. Nothing here touches a socket, a clock
//! or a lock: drivers feed packets and the current time in, and poll packets,
//! deadlines and events out (the quinn-proto model).
//!
//! * [`wire`]: zero-copy views and typed representations of the CARP v2 and
//!   VRRPv3 headers (the smoltcp `wire` pattern).
//! * [`auth`]: HMAC-SHA1 exactly as FreeBSD's `carp_hmac_*` computes it, with
//!   the pads precomputed so a verify costs two SHA-1 compressions.
//! * [`engine`]: the vhid table and state machine.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod auth;
pub mod ctl;
pub mod engine;
pub mod ffi;
#[cfg(target_os = "none")]
pub mod kernel;
pub mod util;
pub mod wire;
