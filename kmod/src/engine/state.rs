//! vhid states and the reasons FreeBSD logs for moving between them.

/// The three states of `carp_softc`, numbered as in `CARP_STATES`, so the
/// value can be copied straight into `carpreq.carpr_state` and netlink.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[repr(u8)]
pub enum State {
    #[default]
    Init = 0,
    Backup = 1,
    Master = 2,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
        }
    }

    pub const fn from_u32(v: u32) -> Option<State> {
        match v {
            0 => Some(State::Init),
            1 => Some(State::Backup),
            2 => Some(State::Master),
            _ => None,
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a vhid changed state; the strings are FreeBSD's, byte for byte,
/// because admins grep logs and devd scripts for them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Reason {
    InitComplete,
    MoreFrequentAdvert,
    PreemptingSlowerMaster,
    MasterWillTimeOut,
    MasterTimedOut,
    UserRequested,
    HardwareDown,
    HardwareUp,
    /// The vhid is being destroyed or the module unloaded.
    Destroyed,
}

impl Reason {
    /// The reason numbered `i` in declaration order (`reason as u8`).
    pub const fn from_index(i: u8) -> Option<Reason> {
        Some(match i {
            0 => Reason::InitComplete,
            1 => Reason::MoreFrequentAdvert,
            2 => Reason::PreemptingSlowerMaster,
            3 => Reason::MasterWillTimeOut,
            4 => Reason::MasterTimedOut,
            5 => Reason::UserRequested,
            6 => Reason::HardwareDown,
            7 => Reason::HardwareUp,
            8 => Reason::Destroyed,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::InitComplete => "initialization complete",
            Reason::MoreFrequentAdvert => "more frequent advertisement received",
            Reason::PreemptingSlowerMaster => "preempting a slower master",
            Reason::MasterWillTimeOut => "master will time out",
            Reason::MasterTimedOut => "master timed out",
            Reason::UserRequested => "user requested via ifconfig",
            Reason::HardwareDown => "hardware interface down",
            Reason::HardwareUp => "hardware interface up",
            Reason::Destroyed => "vhid destroyed",
        }
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
