//! Configuration: per-vhid settings and the global `net.inet.carp.*` knobs,
//! with FreeBSD's defaults and limits.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::auth::Key;

/// `CARP_MAXSKEW`: the demoted skew is clamped to this.
pub const MAX_SKEW: u8 = 240;
/// `VRRP_MAX_INTERVAL`, centiseconds (the field has 12 bits).
pub const VRRP_MAX_INTERVAL: u16 = 4095;
/// `CARP_SENDAD_MAX_ERRORS` / `CARP_SENDAD_MIN_SUCCESS`.
pub const SENDAD_MAX_ERRORS: u32 = 3;
pub const SENDAD_MIN_SUCCESS: u32 = 3;

/// Which protocol a vhid speaks. Fixed when the vhid is created, as in
/// FreeBSD 15 (`carpver`): a live vhid cannot change dialect.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum Version {
    #[default]
    Carp,
    Vrrp3,
}

impl Version {
    /// The number ifconfig and netlink use (`carpver 2|3`).
    pub const fn number(self) -> u8 {
        match self {
            Version::Carp => 2,
            Version::Vrrp3 => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhidConfig {
    /// 1..=255.
    pub vhid: u8,
    pub version: Version,
    /// Seconds, 1..=255 (CARP).
    pub advbase: u8,
    /// 0..=254 (CARP).
    pub advskew: u8,
    pub key: Key,
    /// 1..=255, 255 meaning "address owner" (VRRP).
    pub vrrp_priority: u8,
    /// Centiseconds, 1..=4095 (VRRP).
    pub vrrp_interval: u16,
    /// Unicast peer; `None` means the group 224.0.0.18.
    pub peer4: Option<Ipv4Addr>,
    /// Unicast peer; `None` means the group ff02::12.
    pub peer6: Option<Ipv6Addr>,
}

impl VhidConfig {
    /// FreeBSD's defaults: advbase 1, advskew 0, no key, VRRP priority 100
    /// and interval 100 cs, multicast.
    pub fn new(vhid: u8) -> Self {
        VhidConfig {
            vhid,
            version: Version::Carp,
            advbase: 1,
            advskew: 0,
            key: Key::ZERO,
            vrrp_priority: 100,
            vrrp_interval: 100,
            peer4: None,
            peer6: None,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vhid == 0 {
            return Err(ConfigError::Vhid);
        }
        match self.version {
            Version::Carp => {
                if self.advbase == 0 {
                    return Err(ConfigError::Advbase);
                }
                if self.advskew == 255 {
                    return Err(ConfigError::Advskew);
                }
            }
            Version::Vrrp3 => {
                if self.vrrp_interval == 0 || self.vrrp_interval > VRRP_MAX_INTERVAL {
                    return Err(ConfigError::Interval);
                }
                if self.vrrp_priority == 0 {
                    return Err(ConfigError::Priority);
                }
            }
        }
        Ok(())
    }
}

/// A [`VhidConfig`] as the vhid record keeps it: everything but the
/// unicast peers, which few vhids set and which would cost 22 bytes in
/// every record; the table keeps them in a side list
/// ([`Table::peers`](super::table::Table::peers)) and the vhid's
/// `HAS_PEERS` flag says whether to look there. Byte-aligned (27 bytes),
/// so the vhid record packs it with its own single bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub vhid: u8,
    pub version: Version,
    pub advbase: u8,
    pub advskew: u8,
    pub key: Key,
    pub vrrp_priority: u8,
    /// `vrrp_interval`, native byte order: see [`Settings::vrrp_interval`].
    vrrp_interval: [u8; 2],
}

impl Settings {
    pub fn new(cfg: &VhidConfig) -> Settings {
        Settings {
            vhid: cfg.vhid,
            version: cfg.version,
            advbase: cfg.advbase,
            advskew: cfg.advskew,
            key: cfg.key,
            vrrp_priority: cfg.vrrp_priority,
            vrrp_interval: cfg.vrrp_interval.to_ne_bytes(),
        }
    }

    /// VRRP's advertisement interval, centiseconds.
    #[inline(always)]
    pub fn vrrp_interval(&self) -> u16 {
        u16::from_ne_bytes(self.vrrp_interval)
    }

    /// The configuration as it was given, with the peers from the side list.
    pub fn config(&self, peer4: Option<Ipv4Addr>, peer6: Option<Ipv6Addr>) -> VhidConfig {
        VhidConfig {
            vhid: self.vhid,
            version: self.version,
            advbase: self.advbase,
            advskew: self.advskew,
            key: self.key,
            vrrp_priority: self.vrrp_priority,
            vrrp_interval: self.vrrp_interval(),
            peer4,
            peer6,
        }
    }
}

/// Why a configuration request was refused; `errno()` gives the value the
/// kernel returns for it, matching carp(4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConfigError {
    Vhid,
    Advbase,
    Advskew,
    Interval,
    Priority,
    Dscp,
    /// The vhid exists with the other protocol version.
    VersionChange,
    /// The (interface, vhid) pair is unknown.
    NoSuchVhid,
    /// The address is not on this vhid.
    NoSuchAddress,
    /// A fallible allocation failed (M_NOWAIT).
    NoMemory,
    /// Too many vhids or addresses for the engine's index types.
    TooMany,
    /// The vhid is still in INIT, where a forced state does not apply.
    NotRunning,
}

impl ConfigError {
    pub const fn errno(self) -> i32 {
        const EINVAL: i32 = 22;
        const ENOENT: i32 = 2;
        const EADDRNOTAVAIL: i32 = 49;
        const ENOMEM: i32 = 12;
        const ENOSPC: i32 = 28;
        match self {
            ConfigError::Vhid
            | ConfigError::Advbase
            | ConfigError::Advskew
            | ConfigError::Interval
            | ConfigError::Priority
            | ConfigError::Dscp
            | ConfigError::VersionChange
            | ConfigError::NotRunning => EINVAL,
            ConfigError::NoSuchVhid => ENOENT,
            ConfigError::NoSuchAddress => EADDRNOTAVAIL,
            ConfigError::NoMemory => ENOMEM,
            ConfigError::TooMany => ENOSPC,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConfigError::Vhid => "vhid must be 1..255",
            ConfigError::Advbase => "advbase must be 1..255",
            ConfigError::Advskew => "advskew must be 0..254",
            ConfigError::Interval => "vrrpinterval must be 1..4095",
            ConfigError::Priority => "vrrpprio must be 1..255",
            ConfigError::Dscp => "dscp must be 0..63",
            ConfigError::VersionChange => "carpver of a live vhid cannot change",
            ConfigError::NoSuchVhid => "no such vhid",
            ConfigError::NoSuchAddress => "address not on this vhid",
            ConfigError::NoMemory => "out of memory",
            ConfigError::TooMany => "too many vhids or addresses",
            ConfigError::NotRunning => "vhid is not running",
        })
    }
}

/// Who moved the global demotion, for the "demoted by %d to %d (%s)" line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DemoteReason {
    Sysctl,
    InterfaceDown,
    InterfaceUp,
    SendError,
    SendOk,
    VhidRemoved,
    /// External callers of `carp_demote_adj_p` (pfsync) pass their own text.
    External(&'static str),
}

impl DemoteReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            DemoteReason::Sysctl => "sysctl",
            DemoteReason::InterfaceDown => "interface down",
            DemoteReason::InterfaceUp => "interface up",
            DemoteReason::SendError => "send error",
            DemoteReason::SendOk => "send ok",
            DemoteReason::VhidRemoved => "vhid removed",
            DemoteReason::External(s) => s,
        }
    }
}

/// The `net.inet.carp.*` sysctls, stock defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    pub allow: bool,
    pub preempt: bool,
    pub log: u8,
    /// Reads the total; writes add (see [`crate::engine::Engine::demote`]).
    pub demotion: i32,
    pub ifdown_demotion_factor: i32,
    pub senderr_demotion_factor: i32,
    pub dscp: u8,
    /// FreeBSD 9's `arpbalance`: share one VIP between masters of several
    /// vhids by ARP source address.
    pub arpbalance: bool,
    /// FreeBSD 9's `suppress_preempt`: while non-zero, adverts carry and are
    /// compared with skew 240 and a backup does not preempt.
    pub suppress_preempt: u32,
    /// Opt-in: drop authenticated adverts whose counter does not advance
    /// per peer (`net.inet.carp.replay_check`, 0 = FreeBSD's behaviour).
    pub replay_check: bool,
    /// Seconds between a MASTER's re-announcements, 0 = off (the default;
    /// `net.inet.carp.garp_interval`).
    pub garp_interval: u32,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            allow: true,
            preempt: false,
            log: 1,
            demotion: 0,
            ifdown_demotion_factor: 240,
            senderr_demotion_factor: 240,
            dscp: 56,
            arpbalance: false,
            suppress_preempt: 0,
            replay_check: false,
            garp_interval: 0,
        }
    }
}
