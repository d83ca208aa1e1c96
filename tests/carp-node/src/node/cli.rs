//! The command line, shaped like `ifconfig IF vhid N advbase B advskew S
//! pass P [peer A] inet ADDR/LEN` so a FreeBSD admin reads it at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use carp_rs::auth::Key;
use carp_rs::engine::{Version, VhidConfig};

pub const USAGE: &str =
    "usage: carp-node --dev IF --vhid N [--advbase B] [--advskew S] [--pass P] \
[--preempt] [--peer ADDR] [--peer6 ADDR] [--carpver 2|3] [--vrrpprio P] [--vrrpinterval CS] \
[--dscp D] [--replay-check] [--garp-interval S] [--no-rt] ADDR/LEN...";

#[derive(Debug)]
pub struct Args {
    pub dev: String,
    pub cfg: VhidConfig,
    pub preempt: bool,
    pub dscp: u8,
    /// Stay in SCHED_OTHER instead of asking for SCHED_FIFO.
    pub no_rt: bool,
    /// `net.inet.carp.replay_check=1`.
    pub replay_check: bool,
    /// `net.inet.carp.garp_interval`, seconds (0 = off).
    pub garp_interval: u32,
    pub addrs: Vec<(IpAddr, u8)>,
}

fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: cannot parse {v:?} as a number"))
}

pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut it = argv.into_iter();
    let mut dev = None;
    let mut cfg = VhidConfig::new(1);
    let mut vhid = None;
    let mut preempt = false;
    let mut dscp = 56u8;
    let mut no_rt = false;
    let mut replay_check = false;
    let mut garp_interval = 0u32;
    let mut addrs = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dev" => dev = it.next(),
            "--vhid" => vhid = Some(num::<u8>("--vhid", it.next())?),
            "--advbase" => cfg.advbase = num("--advbase", it.next())?,
            "--advskew" => cfg.advskew = num("--advskew", it.next())?,
            "--pass" => {
                let p = it.next().ok_or("--pass needs a value")?;
                // ifconfig keeps at most 19 characters (strlcpy into 20).
                let bytes = p.as_bytes();
                let kept = bytes.get(..bytes.len().min(19)).unwrap_or(bytes);
                cfg.key = Key::new(kept).map_err(|_| "--pass: too long".to_string())?;
            }
            "--preempt" => preempt = true,
            "--no-rt" => no_rt = true,
            "--replay-check" => replay_check = true,
            "--garp-interval" => garp_interval = num("--garp-interval", it.next())?,
            "--peer" | "--peer6" => {
                let v = it.next().ok_or("--peer needs an address")?;
                match v.parse::<IpAddr>() {
                    Ok(IpAddr::V4(p)) => cfg.peer4 = Some(p),
                    Ok(IpAddr::V6(p)) => cfg.peer6 = Some(p),
                    Err(_) => return Err(format!("--peer: bad address {v:?}")),
                }
            }
            "--carpver" => {
                cfg.version = match num::<u8>("--carpver", it.next())? {
                    2 => Version::Carp,
                    3 => Version::Vrrp3,
                    v => return Err(format!("--carpver: {v} is neither 2 nor 3")),
                }
            }
            "--vrrpprio" => cfg.vrrp_priority = num("--vrrpprio", it.next())?,
            "--vrrpinterval" => cfg.vrrp_interval = num("--vrrpinterval", it.next())?,
            "--dscp" => dscp = num("--dscp", it.next())?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s => addrs.push(parse_addr(s)?),
        }
    }
    let dev = dev.ok_or_else(|| format!("--dev is required\n{USAGE}"))?;
    cfg.vhid = vhid.ok_or_else(|| format!("--vhid is required\n{USAGE}"))?;
    if addrs.is_empty() {
        return Err(format!("at least one ADDR/LEN is required\n{USAGE}"));
    }
    cfg.validate().map_err(|e| e.to_string())?;
    if dscp > 63 {
        return Err("--dscp must be 0..63".into());
    }
    Ok(Args {
        dev,
        cfg,
        preempt,
        dscp,
        no_rt,
        replay_check,
        garp_interval,
        addrs,
    })
}

fn parse_addr(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().map_err(|_| format!("bad address {s:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => l
            .parse::<u8>()
            .map_err(|_| format!("bad prefix length in {s:?}"))?,
        None => max,
    };
    if len > max {
        return Err(format!("prefix length too long in {s:?}"));
    }
    if matches!(addr, IpAddr::V4(a) if a == Ipv4Addr::UNSPECIFIED)
        || matches!(addr, IpAddr::V6(a) if a == Ipv6Addr::UNSPECIFIED)
    {
        return Err(format!("unspecified address {s:?}"));
    }
    Ok((addr, len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn ifconfig_like_line() {
        let a = args("--dev eth0 --vhid 7 --advskew 100 --pass testpass --preempt 198.51.100.50/24 2001:db8::50/64").unwrap();
        assert_eq!(a.cfg.vhid, 7);
        assert_eq!(a.cfg.advskew, 100);
        assert_eq!(a.cfg.advbase, 1);
        assert!(a.preempt);
        assert_eq!(a.cfg.key, Key::new(b"testpass").unwrap());
        assert_eq!(a.addrs.len(), 2);
        assert_eq!(a.addrs[1].1, 64);
    }

    #[test]
    fn vrrp_and_errors() {
        let a = args("--dev e --vhid 9 --carpver 3 --vrrpprio 200 --vrrpinterval 100 192.0.2.9/32")
            .unwrap();
        assert_eq!(a.cfg.version, Version::Vrrp3);
        assert_eq!(a.cfg.vrrp_priority, 200);
        assert!(args("--dev e --vhid 0 192.0.2.9").is_err());
        assert!(args("--dev e --vhid 1 --advskew 255 192.0.2.9").is_err());
        assert!(args("--dev e --vhid 1").is_err());
        assert!(args("--dev e --vhid 1 192.0.2.9/33").is_err());
        assert!(args("--vhid 1 192.0.2.9").is_err());
    }

    #[test]
    fn long_password_truncated_like_ifconfig() {
        let a = args("--dev e --vhid 1 --pass abcdefghijklmnopqrstuvwxyz 192.0.2.9").unwrap();
        assert_eq!(a.cfg.key, Key::new(b"abcdefghijklmnopqrs").unwrap());
    }
}
