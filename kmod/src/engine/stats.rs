//! Counters: the global `struct carpstats` (so `netstat -s -p carp` reads
//! them unchanged) and per-vhid counters, which FreeBSD does not have.

/// `struct carpstats`: 16 `uint64_t` in FreeBSD's order. `#[repr(C)]` so the
/// kernel shim can copy it out to the `net.inet.carp.stats` sysctl as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Stats {
    pub ipackets: u64,
    pub ipackets6: u64,
    pub badif: u64,
    pub badttl: u64,
    pub hdrops: u64,
    pub badsum: u64,
    pub badver: u64,
    pub badlen: u64,
    pub badauth: u64,
    pub badvhid: u64,
    pub badaddrs: u64,
    pub opackets: u64,
    pub opackets6: u64,
    pub onomem: u64,
    pub ostates: u64,
    pub preempt: u64,
}

impl Stats {
    /// The counter names in `struct carpstats` order, as `netstat` and the
    /// drivers' JSON output spell them; pairs with [`Stats::as_array`].
    pub const NAMES: [&'static str; 16] = [
        "ipackets",
        "ipackets6",
        "badif",
        "badttl",
        "hdrops",
        "badsum",
        "badver",
        "badlen",
        "badauth",
        "badvhid",
        "badaddrs",
        "opackets",
        "opackets6",
        "onomem",
        "ostates",
        "preempt",
    ];

    /// The counters in `struct carpstats` order, for copying out.
    pub fn as_array(&self) -> [u64; 16] {
        [
            self.ipackets,
            self.ipackets6,
            self.badif,
            self.badttl,
            self.hdrops,
            self.badsum,
            self.badver,
            self.badlen,
            self.badauth,
            self.badvhid,
            self.badaddrs,
            self.opackets,
            self.opackets6,
            self.onomem,
            self.ostates,
            self.preempt,
        ]
    }

    pub(crate) fn count(&mut self, drop: Drop) {
        let c = match drop {
            Drop::NotAllowed => return,
            Drop::BadLength => &mut self.badlen,
            Drop::BadVersion => &mut self.badver,
            Drop::BadChecksum => &mut self.badsum,
            Drop::Looped => &mut self.badif,
            Drop::UnknownVhid => &mut self.badvhid,
            Drop::BadTtl => &mut self.badttl,
            Drop::BadAuth => &mut self.badauth,
            Drop::BadAddresses => &mut self.badaddrs,
            // Not a carpstats field: counted per vhid (`bad_replay`).
            Drop::Replayed => return,
        };
        *c = c.saturating_add(1);
    }
}

/// Why an incoming packet was dropped. Each maps to one carpstats counter.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Drop {
    /// `net.inet.carp.allow` is 0.
    NotAllowed,
    /// Shorter than the header (`badlen`).
    BadLength,
    /// Not CARP v2 / VRRPv3, or the vhid speaks the other version (`badver`).
    BadVersion,
    /// `badsum`.
    BadChecksum,
    /// Our own advert came back (`badif`).
    Looped,
    /// No such vhid with an address of that family here (`badvhid`).
    UnknownVhid,
    /// TTL / hop limit not 255 on a multicast vhid (`badttl`).
    BadTtl,
    /// HMAC mismatch: wrong password or different address set (`badauth`).
    BadAuth,
    /// VRRP address list that cannot be right (`badaddrs`).
    BadAddresses,
    /// Authenticated, but the counter did not advance for this peer
    /// (opt-in `replay_check`; no carpstats counter).
    Replayed,
}

impl Drop {
    /// The debug-level log text FreeBSD prints for this drop (log >= 2).
    pub const fn as_str(self) -> &'static str {
        match self {
            Drop::NotAllowed => "carp disabled",
            Drop::BadLength => "packet too short",
            Drop::BadVersion => "invalid version",
            Drop::BadChecksum => "checksum failed",
            Drop::Looped => "dropping looped packet",
            Drop::UnknownVhid => "unknown vhid",
            Drop::BadTtl => "received ttl != 255",
            Drop::BadAuth => "incorrect hash",
            Drop::BadAddresses => "bad address list",
            Drop::Replayed => "replayed advertisement (counter did not advance)",
        }
    }
}

/// Per-vhid counters: the "who is master and why" FreeBSD cannot answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VhidStats {
    /// Authenticated adverts accepted.
    pub adverts_in: u64,
    /// Adverts handed to the driver.
    pub adverts_out: u64,
    pub bad_auth: u64,
    pub bad_ttl: u64,
    /// State changes of any kind.
    pub transitions: u64,
    /// Times this vhid became MASTER.
    pub became_master: u64,
    /// Times it saw another MASTER while MASTER itself (split brain seen).
    pub dual_master: u64,
    pub send_errors: u64,
    /// BACKUP -> MASTER by preempting a slower master.
    pub preemptions: u64,
    /// Authenticated adverts dropped because their counter did not advance
    /// (`net.inet.carp.replay_check`); not a carpstats field.
    pub bad_replay: u64,
}
