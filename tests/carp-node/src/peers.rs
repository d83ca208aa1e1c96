//! How to start each implementation in a lab host: carp-node, ucarp,
//! keepalived (VRRPv3) and FRR zebra+vrrpd, each with its own config,
//! pid and state files inside the lab directory.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::lab::Lab;

/// The carp-node binary: `CARP_NODE_BIN`, or next to the running
/// executable (target/<profile>/), or one level up (from deps/).
pub fn node_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CARP_NODE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let here = dir.join("carp-node");
    if here.exists() {
        return here;
    }
    dir.parent().map(|p| p.join("carp-node")).unwrap_or(here)
}

#[derive(Clone, Debug)]
pub struct Carp {
    pub vhid: u8,
    pub advbase: u8,
    pub advskew: u8,
    pub pass: String,
    pub preempt: bool,
    /// VIPs with prefix length, e.g. "198.51.100.50/24".
    pub vips: Vec<String>,
}

impl Carp {
    pub fn new(vhid: u8, advskew: u8, vip: &str) -> Carp {
        Carp {
            vhid,
            advbase: 1,
            advskew,
            pass: "testpass".into(),
            preempt: false,
            vips: vec![vip.to_string()],
        }
    }

    pub fn preempt(mut self, on: bool) -> Carp {
        self.preempt = on;
        self
    }

    pub fn pass(mut self, p: &str) -> Carp {
        self.pass = p.into();
        self
    }
}

/// carp-node in CARP mode.
pub fn carp_node(lab: &mut Lab, label: &str, host: usize, c: &Carp) -> io::Result<usize> {
    let mut a: Vec<String> = vec![
        node_bin().display().to_string(),
        "--dev".into(),
        "eth0".into(),
        "--vhid".into(),
        c.vhid.to_string(),
        "--advbase".into(),
        c.advbase.to_string(),
        "--advskew".into(),
        c.advskew.to_string(),
        "--pass".into(),
        c.pass.clone(),
    ];
    if c.preempt {
        a.push("--preempt".into());
    }
    a.extend(c.vips.iter().cloned());
    lab.spawn(label, host, &a)
}

/// carp-node in VRRPv3 mode (`carpver 3`), interval 100 cs.
pub fn carp_node_vrrp(
    lab: &mut Lab,
    label: &str,
    host: usize,
    vrid: u8,
    prio: u8,
    preempt: bool,
    vip: &str,
) -> io::Result<usize> {
    let mut a: Vec<String> = [
        node_bin().display().to_string().as_str(),
        "--dev",
        "eth0",
        "--vhid",
        &vrid.to_string(),
        "--carpver",
        "3",
        "--vrrpprio",
        &prio.to_string(),
        "--vrrpinterval",
        "100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if preempt {
        a.push("--preempt".into());
    }
    a.push(vip.into());
    lab.spawn(label, host, &a)
}

/// ucarp, with up/down scripts that add/remove the VIP (as its docs do).
/// `c.vips[0]` is the one address ucarp supports.
pub fn ucarp(lab: &mut Lab, label: &str, host: usize, c: &Carp) -> io::Result<usize> {
    let up = lab.dir.join("ucarp-up.sh");
    let down = lab.dir.join("ucarp-down.sh");
    std::fs::write(
        &up,
        "#!/bin/sh\nip addr add \"$2/24\" dev \"$1\" 2>/dev/null\nexit 0\n",
    )?;
    std::fs::write(
        &down,
        "#!/bin/sh\nip addr del \"$2/24\" dev \"$1\" 2>/dev/null\nexit 0\n",
    )?;
    for f in [&up, &down] {
        std::process::Command::new("chmod")
            .arg("755")
            .arg(f)
            .status()?;
    }
    let src = lab
        .hosts
        .get(host)
        .map(|h| h.v4.to_string())
        .unwrap_or_default();
    let vip = c
        .vips
        .first()
        .and_then(|v| v.split('/').next())
        .unwrap_or("")
        .to_string();
    let mut a: Vec<String> = vec![
        "ucarp".into(),
        "-i".into(),
        "eth0".into(),
        "-s".into(),
        src,
        "-v".into(),
        c.vhid.to_string(),
        "-p".into(),
        c.pass.clone(),
        "-a".into(),
        vip,
        "-b".into(),
        c.advbase.to_string(),
        "-k".into(),
        c.advskew.to_string(),
        "-u".into(),
        up.display().to_string(),
        "-d".into(),
        down.display().to_string(),
        "-z".into(),
        "-n".into(),
    ];
    if c.preempt {
        a.push("-P".into());
    }
    lab.spawn(label, host, &a)
}

/// keepalived VRRPv3 instance in the foreground, pid files in the lab.
pub fn keepalived(
    lab: &mut Lab,
    label: &str,
    host: usize,
    vrid: u8,
    prio: u8,
    nopreempt: bool,
    vip: &str,
) -> io::Result<usize> {
    let k = Keepalived {
        vrid,
        prio,
        nopreempt,
        vip: vip.into(),
        version: 3,
        vmac: false,
    };
    keepalived_with(lab, label, host, &k)
}

/// One keepalived VRRP instance, advert_int 1.
#[derive(Clone, Debug)]
pub struct Keepalived {
    pub vrid: u8,
    pub prio: u8,
    pub nopreempt: bool,
    pub vip: String,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// `use_vmac`: adverts from 00:00:5e:00:01:vrid on a macvlan.
    pub vmac: bool,
}

/// keepalived in the foreground with the instance `k`, pid files in the lab.
pub fn keepalived_with(
    lab: &mut Lab,
    label: &str,
    host: usize,
    k: &Keepalived,
) -> io::Result<usize> {
    let cfg = lab.dir.join(format!("{label}.conf"));
    let Keepalived {
        vrid,
        prio,
        version,
        ..
    } = *k;
    let vip = &k.vip;
    let np = if k.nopreempt { "  nopreempt\n" } else { "" };
    let vmac = if k.vmac {
        format!("  use_vmac vrrp{vrid}\n")
    } else {
        String::new()
    };
    std::fs::write(
        &cfg,
        format!(
            "global_defs {{\n  router_id {label}\n  vrrp_version {version}\n  script_user root\n  enable_script_security\n}}\n\
             vrrp_instance VI_{vrid} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 1\n{np}\
             virtual_ipaddress {{\n    {vip}/32\n  }}\n{vmac}}}\n"
        ),
    )?;
    let rd = lab.dir.join(format!("{label}.run"));
    std::fs::create_dir_all(&rd)?;
    let a: Vec<String> = vec![
        "keepalived".into(),
        "--vrrp".into(),
        "--dont-fork".into(),
        "--log-console".into(),
        "--no-syslog".into(),
        "--dont-respawn".into(),
        "-f".into(),
        cfg.display().to_string(),
        "-p".into(),
        rd.join("k.pid").display().to_string(),
        "-r".into(),
        rd.join("v.pid").display().to_string(),
        "-c".into(),
        rd.join("c.pid").display().to_string(),
    ];
    lab.spawn(label, host, &a)
}

/// FRR zebra + vrrpd (VRRPv3) in `host`: creates the macvlan with the
/// virtual MAC that vrrpd needs, then both daemons under their own
/// pathspace. Returns (zebra, vrrpd) process indices.
pub fn frr(
    lab: &mut Lab,
    label: &str,
    host: usize,
    vrid: u8,
    prio: u8,
    vip: &str,
) -> io::Result<(usize, usize)> {
    let mv = format!("vrrp4-2-{vrid}");
    let _ = lab.exec(host, &["ip", "link", "del", &mv]);
    lab.exec(
        host,
        &[
            "ip", "link", "add", &mv, "link", "eth0", "type", "macvlan", "mode", "bridge",
        ],
    )?;
    lab.exec(
        host,
        &[
            "ip",
            "link",
            "set",
            "dev",
            &mv,
            "address",
            &format!("00:00:5e:00:01:{vrid:02x}"),
        ],
    )?;
    lab.exec(
        host,
        &["ip", "addr", "add", &format!("{vip}/24"), "dev", &mv],
    )?;
    lab.exec(host, &["ip", "link", "set", "dev", &mv, "up"])?;
    // One pathspace per lab host: vty sockets and pid files under
    // /var/run/frr/<ps>, owned by the frr user the daemons drop to.
    let ps = format!("{}{}", lab.name.replace('-', ""), host);
    let ps: String = ps
        .chars()
        .rev()
        .take(24)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let rund = PathBuf::from("/var/run/frr").join(&ps);
    std::fs::create_dir_all(&rund)?;
    lab.own_dir(rund.clone());
    std::process::Command::new("chown")
        .args(["frr:frr"])
        .arg(&rund)
        .status()?;
    let zc = lab.dir.join(format!("{label}-zebra.conf"));
    let vc = lab.dir.join(format!("{label}-vrrpd.conf"));
    std::fs::write(&zc, format!("hostname {label}\nlog stdout informational\n"))?;
    std::fs::write(
        &vc,
        format!(
            "hostname {label}\nlog stdout informational\ninterface eth0\n vrrp {vrid} version 3\n \
             vrrp {vrid} priority {prio}\n vrrp {vrid} advertisement-interval 1000\n vrrp {vrid} ip {vip}\n!\n"
        ),
    )?;
    for f in [&zc, &vc, &lab.dir] {
        std::process::Command::new("chmod")
            .arg("a+rx")
            .arg(f)
            .status()?;
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let z = lab.spawn(
        &format!("{label}-zebra"),
        host,
        &s(&[
            "/usr/lib/frr/zebra",
            "-N",
            &ps,
            "-f",
            &zc.display().to_string(),
            "-A",
            "127.0.0.1",
            "--log",
            "stdout",
        ]),
    )?;
    let zsock = rund.join("zserv.api");
    lab.wait_until(Duration::from_secs(10), |_| zsock.exists());
    std::thread::sleep(Duration::from_millis(300));
    let v = lab.spawn(
        label,
        host,
        &s(&[
            "/usr/lib/frr/vrrpd",
            "-N",
            &ps,
            "-f",
            &vc.display().to_string(),
            "-A",
            "127.0.0.1",
            "--log",
            "stdout",
        ]),
    )?;
    Ok((z, v))
}
