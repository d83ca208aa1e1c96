//! What crosses the engine boundary: received packets in, transmit
//! descriptors and events out.

use core::net::IpAddr;

use super::config::{DemoteReason, Version};
use super::state::{Reason, State};
use super::stats::Drop;
use super::{IfIndex, VhidId};

/// One protocol-112 packet as the IP layer delivered it.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    pub iface: IfIndex,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The IP payload: CARP or VRRP header onwards.
    pub payload: &'a [u8],
}

/// An advert the engine wrote into the caller's buffer; the driver wraps it
/// in an IP header with these fields and sends it on `iface`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub id: VhidId,
    pub iface: IfIndex,
    pub vhid: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Always 255 (`CARP_DFLTTL`).
    pub ttl: u8,
    /// IPv4 TOS / IPv6 traffic class: `dscp << 2`.
    pub tos: u8,
    /// Bytes of payload written to the buffer.
    pub len: usize,
    /// The virtual MAC to use as Ethernet source: set when the destination is
    /// multicast, as `carp_output` rewrites only tagged multicast adverts.
    pub src_mac: Option<[u8; 6]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Logged as `carp: <vhid>@<if>: <from> -> <to> (<reason>)` and sent to
    /// devd as `CARP <vhid>@<if> <to>`.
    StateChanged {
        id: VhidId,
        iface: IfIndex,
        vhid: u8,
        from: State,
        to: State,
        reason: Reason,
    },
    /// Became MASTER: send one gratuitous ARP per IPv4 address and one
    /// unsolicited NA (override) per IPv6 address, with the virtual MAC.
    Announce {
        id: VhidId,
        iface: IfIndex,
        vhid: u8,
    },
    /// `carp: demoted by <by> to <total> (<reason>)`.
    Demoted {
        by: i32,
        total: i32,
        reason: DemoteReason,
    },
    /// The first occurrence of a conflict episode (split brain, bad
    /// authentication, protocol clash): logged at `log >= 1` and sent to
    /// devd as `CARP <vhid>@<if> CONFLICT` (or `BADAUTH`).
    Conflict {
        id: VhidId,
        iface: IfIndex,
        vhid: u8,
        peer: IpAddr,
        kind: Conflict,
    },
    /// A dropped packet, reported only when `log >= 2` (LOG_DEBUG).
    BadPacket {
        iface: IfIndex,
        vhid: u8,
        drop: Drop,
    },
}

/// What kind of trouble an episode (detect.rs) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// We are MASTER and keep hearing another MASTER with a worse
    /// advert for more than three advert intervals: it does not hear us.
    /// `ours`/`theirs` are the advertised skews (CARP advskew, VRRP
    /// priority).
    SplitBrain { ours: u8, theirs: u8 },
    /// Adverts from this peer fail our HMAC; the hint says what the
    /// failure most likely is.
    BadAuth(AuthHint),
    /// The peer speaks the other protocol (`theirs`) with our vhid/vrid.
    Protocol { theirs: Version },
}

/// The likely cause of an HMAC failure. A CARP advert carries no address
/// list, so only our own address set and key can be tried: a peer with
/// the same password and a subset of our addresses is recognised, one
/// with extra addresses is not (it reads as "wrong password").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthHint {
    /// The digest verifies with our password over a subset of our
    /// addresses: the peer has the same password and fewer addresses
    /// (`missing` of ours).
    FewerAddresses { missing: u8 },
    /// The digest verifies with no password over our addresses.
    PeerHasNoPassword,
    /// We have no password and the peer has one.
    PeerHasPassword,
    /// Nothing we can try verifies: a different password, or an address
    /// set that differs by more than a subset of ours.
    WrongPasswordOrAddresses,
}
