//! A throw-away L2 segment of network namespaces: one namespace holding a
//! bridge (the capture point) and N host namespaces, each with an `eth0`
//! veth plugged into it. Documentation addresses only: hosts are
//! 198.51.100.(10+i)/24 and 2001:db8::(10+i)/64.
//!
//! Everything the lab starts is a child of this process (`ip netns exec`
//! execs in place, so the child PID is the daemon's), dies with the thread
//! that started it (PR_SET_PDEATHSIG), and is killed by PID in `Drop`,
//! which also deletes the namespaces, whether the test passed or panicked.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::pcap;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Host {
    pub ns: String,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub mac: [u8; 6],
}

pub struct Proc {
    pub label: String,
    pub host: usize,
    pub pid: u32,
    pub out: PathBuf,
    child: Child,
}

pub struct Lab {
    pub name: String,
    pub br_ns: String,
    pub hosts: Vec<Host>,
    pub dir: PathBuf,
    procs: Vec<Proc>,
    capture: Option<(u32, PathBuf)>,
    made_ns: Vec<String>,
    /// Directories outside `dir` made for peers (FRR's pathspace).
    made_dirs: Vec<PathBuf>,
    deadline: Instant,
    keep: bool,
}

/// Where a lab's hosts sit: host i is `v4_net.(first+i)/24`,
/// `2001:db8::(mac_first+i)/64`, MAC `02:00:00:00:00:(mac_first+i)`.
/// Documentation prefixes only.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub v4_net: [u8; 3],
    pub first: u8,
    pub mac_first: u8,
}

impl Segment {
    /// The tests' and the demo's segment: 198.51.100.10, .11, ...
    pub const LAB: Segment = Segment {
        v4_net: [198, 51, 100],
        first: 10,
        mac_first: 0x10,
    };
    /// The segment the captured vectors (tests/vectors) were made on:
    /// 192.0.2.1, .2, .3 with MACs 02:00:00:00:00:01..03.
    pub const VECTORS: Segment = Segment {
        v4_net: [192, 0, 2],
        first: 1,
        mac_first: 1,
    };
}

/// Why a lab could not be built where that is not a failure of the code
/// under test: not root, or namespaces unavailable.
#[derive(Debug)]
pub struct Skip(pub String);

fn run(args: &[&str]) -> io::Result<()> {
    let out = Command::new(args.first().copied().unwrap_or("true"))
        .args(args.get(1..).unwrap_or(&[]))
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl Lab {
    /// Builds the segment. `budget` bounds the whole run: `wait_*` helpers
    /// fail once it is spent, so a hung peer cannot hang the suite.
    pub fn new(tag: &str, n_hosts: usize, ipv6: bool, budget: Duration) -> Result<Lab, Skip> {
        Lab::on_segment(tag, n_hosts, ipv6, budget, Segment::LAB)
    }

    /// `new` with the hosts on `seg`.
    pub fn on_segment(
        tag: &str,
        n_hosts: usize,
        ipv6: bool,
        budget: Duration,
        seg: Segment,
    ) -> Result<Lab, Skip> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(Skip(
                "not root: network namespaces cannot be created".into(),
            ));
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("cn{}-{}-{}", tag, std::process::id(), n);
        let dir = std::env::temp_dir().join("carp-lab").join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| Skip(format!("{}: {e}", dir.display())))?;
        let br_ns = format!("{name}-br");
        if let Err(e) = run(&["ip", "netns", "add", &br_ns]) {
            return Err(Skip(format!("cannot create network namespaces ({e})")));
        }
        let mut lab = Lab {
            name: name.clone(),
            br_ns: br_ns.clone(),
            hosts: Vec::new(),
            dir,
            procs: Vec::new(),
            capture: None,
            made_ns: vec![br_ns.clone()],
            made_dirs: Vec::new(),
            deadline: Instant::now() + budget,
            keep: std::env::var_os("CARP_LAB_KEEP").is_some(),
        };
        lab.build(n_hosts, ipv6, seg)
            .map_err(|e| Skip(format!("lab setup failed: {e}")))?;
        Ok(lab)
    }

    fn build(&mut self, n_hosts: usize, ipv6: bool, seg: Segment) -> io::Result<()> {
        let br = self.br_ns.clone();
        run(&["ip", "-n", &br, "link", "set", "lo", "up"])?;
        run(&[
            "ip",
            "-n",
            &br,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ])?;
        run(&["ip", "-n", &br, "link", "set", "br0", "up"])?;
        sysctl(&br, "net.ipv6.conf.all.disable_ipv6", "1")?;
        for i in 0..n_hosts {
            let ns = format!("{}-h{i}", self.name);
            run(&["ip", "netns", "add", &ns])?;
            self.made_ns.push(ns.clone());
            let port = format!("p{i}");
            let m = seg.mac_first + i as u8;
            let mac = [2, 0, 0, 0, 0, m];
            let [a, b, c] = seg.v4_net;
            let v4 = Ipv4Addr::new(a, b, c, seg.first + i as u8);
            let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(m));
            if ipv6 {
                sysctl(&ns, "net.ipv6.conf.default.accept_dad", "0")?;
                sysctl(&ns, "net.ipv6.conf.all.accept_dad", "0")?;
            } else {
                sysctl(&ns, "net.ipv6.conf.all.disable_ipv6", "1")?;
                sysctl(&ns, "net.ipv6.conf.default.disable_ipv6", "1")?;
            }
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            run(&[
                "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port,
                "netns", &br,
            ])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "link",
                "set",
                "eth0",
                "address",
                &mac_str(mac),
            ])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                "eth0",
            ])?;
            if ipv6 {
                run(&[
                    "ip",
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{v6}/64"),
                    "dev",
                    "eth0",
                    "nodad",
                ])?;
            }
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &br, "link", "set", &port, "master", "br0"])?;
            run(&["ip", "-n", &br, "link", "set", &port, "up"])?;
            self.hosts.push(Host { ns, v4, v6, mac });
        }
        Ok(())
    }

    pub fn ns(&self, host: usize) -> &str {
        self.hosts.get(host).map(|h| h.ns.as_str()).unwrap_or("")
    }

    /// Runs a command to completion inside a host namespace.
    pub fn exec(&self, host: usize, argv: &[&str]) -> io::Result<()> {
        let mut a = vec!["ip", "netns", "exec", self.ns(host)];
        a.extend_from_slice(argv);
        run(&a)
    }

    /// Starts `argv` in `host`'s namespace, stdout+stderr to a log file.
    /// Returns the index of the process for `kill`/`events`.
    pub fn spawn(&mut self, label: &str, host: usize, argv: &[String]) -> io::Result<usize> {
        let ns = if host == usize::MAX {
            self.br_ns.clone()
        } else {
            self.ns(host).to_string()
        };
        let out = self.dir.join(format!("{label}.log"));
        let f = File::create(&out)?;
        let f2 = f.try_clone()?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2);
        // SAFETY: only async-signal-safe prctl between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let pid = child.id();
        self.procs.push(Proc {
            label: label.to_string(),
            host,
            pid,
            out,
            child,
        });
        Ok(self.procs.len() - 1)
    }

    pub fn proc(&self, i: usize) -> Option<&Proc> {
        self.procs.get(i)
    }

    /// Sends `sig` to the process and, for a hard kill, first stops it
    /// and every descendant (keepalived's VRRP child) so that no graceful
    /// path runs. Only PIDs this lab started or their children.
    pub fn kill(&mut self, i: usize, sig: i32) {
        let Some(p) = self.procs.get_mut(i) else {
            return;
        };
        if matches!(p.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let mut pids = descendants(p.pid);
        pids.insert(0, p.pid);
        // SAFETY: kill(2) on PIDs we started (or their children).
        unsafe {
            if sig == libc::SIGKILL {
                for &q in &pids {
                    libc::kill(q as i32, libc::SIGSTOP);
                }
                for &q in &pids {
                    libc::kill(q as i32, libc::SIGKILL);
                }
            } else {
                libc::kill(p.pid as i32, sig);
            }
        }
    }

    /// Waits for the process to exit, up to `t`; kills it after that.
    pub fn reap(&mut self, i: usize, t: Duration) -> Option<i32> {
        let end = Instant::now() + t;
        loop {
            let p = self.procs.get_mut(i)?;
            if let Ok(Some(st)) = p.child.try_wait() {
                return st.code();
            }
            if Instant::now() >= end {
                self.kill(i, libc::SIGKILL);
                let p = self.procs.get_mut(i)?;
                let _ = p.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, i: usize, sig: i32) {
        if let Some(p) = self.procs.get(i) {
            // SAFETY: kill(2) on a PID we started.
            unsafe { libc::kill(p.pid as i32, sig) };
        }
    }

    /// The JSON lines a carp-node wrote so far.
    pub fn events(&self, i: usize) -> Vec<serde_json::Value> {
        let Some(p) = self.procs.get(i) else {
            return Vec::new();
        };
        let Ok(f) = File::open(&p.out) else {
            return Vec::new();
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect()
    }

    pub fn log_text(&self, i: usize) -> String {
        self.procs
            .get(i)
            .and_then(|p| std::fs::read_to_string(&p.out).ok())
            .unwrap_or_default()
    }

    /// State changes of a carp-node as (monotonic ns, to-state, reason).
    pub fn states(&self, i: usize) -> Vec<(u64, String, String)> {
        self.events(i)
            .iter()
            .filter(|e| e["event"] == "state")
            .map(|e| {
                (
                    e["t_ns"].as_u64().unwrap_or(0),
                    e["to"].as_str().unwrap_or("").to_string(),
                    e["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    pub fn last_state(&self, i: usize) -> Option<String> {
        self.states(i).last().map(|s| s.1.clone())
    }

    /// Starts tcpdump on the bridge (adverts of both families and ARP)
    /// and waits until it is listening. Immediate mode: libpcap's
    /// TPACKET_V3 ring otherwise hands packets over only when a block
    /// retires (up to a second later), and the file would lag the wire.
    pub fn start_capture(&mut self) -> io::Result<()> {
        let path = self.dir.join("bridge.pcap");
        let argv: Vec<String> = [
            "tcpdump",
            "-i",
            "br0",
            "--immediate-mode",
            "-U",
            "-n",
            "-Z",
            "root",
            "-s",
            "256",
            "-w",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            path.display().to_string(),
            "ip proto 112 or ip6 proto 112 or arp".to_string(),
        ])
        .collect();
        let i = self.spawn("tcpdump", usize::MAX, &argv)?;
        let pid = self.procs.get(i).map(|p| p.pid).unwrap_or(0);
        self.capture = Some((pid, path));
        let ok = self.wait_until(Duration::from_secs(10), |l| {
            l.log_text(i).contains("listening on")
        });
        if ok {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "tcpdump did not start: {}",
                self.log_text(i)
            )))
        }
    }

    /// Stops tcpdump (SIGINT: it flushes and closes the file) and returns
    /// the capture's path; the file stays until the lab is dropped.
    pub fn stop_capture(&mut self) -> Option<PathBuf> {
        let (pid, path) = self.capture.clone()?;
        let i = self.procs.iter().position(|p| p.pid == pid)?;
        self.kill(i, libc::SIGINT);
        let _ = self.reap(i, Duration::from_secs(5));
        Some(path)
    }

    pub fn capture(&self) -> pcap::Capture {
        self.capture
            .as_ref()
            .and_then(|(_, p)| pcap::read(p).ok())
            .unwrap_or_default()
    }

    pub fn capture_path(&self) -> Option<&Path> {
        self.capture.as_ref().map(|(_, p)| p.as_path())
    }

    /// Polls `cond` every 20 ms until it holds, `t` passes or the lab's
    /// budget is spent.
    pub fn wait_until(&self, t: Duration, mut cond: impl FnMut(&Lab) -> bool) -> bool {
        let end = (Instant::now() + t).min(self.deadline);
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Like `wait_until` on the capture: the adverts seen so far.
    pub fn wait_capture(
        &self,
        t: Duration,
        mut cond: impl FnMut(&pcap::Capture) -> bool,
    ) -> Option<pcap::Capture> {
        let mut got = None;
        self.wait_until(t, |l| {
            let c = l.capture();
            if cond(&c) {
                got = Some(c);
                true
            } else {
                false
            }
        });
        got
    }

    /// Registers a directory made outside the lab dir, removed on drop.
    pub fn own_dir(&mut self, p: PathBuf) {
        self.made_dirs.push(p);
    }

    /// Keeps the log directory (for a failing test's message).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.keep = true;
        }
        for i in 0..self.procs.len() {
            if self.procs.get(i).is_some_and(|p| p.label == "tcpdump") {
                // SIGINT lets tcpdump flush the file.
                self.kill(i, libc::SIGINT);
                let _ = self.reap(i, Duration::from_secs(2));
            } else {
                self.kill(i, libc::SIGKILL);
                if let Some(p) = self.procs.get_mut(i) {
                    let _ = p.child.wait();
                }
            }
        }
        for ns in self.made_ns.iter().rev() {
            let _ = run(&["ip", "netns", "del", ns]);
        }
        for d in &self.made_dirs {
            let _ = std::fs::remove_dir_all(d);
        }
        if self.keep {
            eprintln!("lab {}: logs kept in {}", self.name, self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn sysctl(ns: &str, key: &str, val: &str) -> io::Result<()> {
    run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        &format!("{key}={val}"),
    ])
}

pub fn mac_str(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Every descendant of `pid` (children first), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let kids: Vec<u32> = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        out.extend(&kids);
        todo.extend(kids);
    }
    out
}

/// CLOCK_REALTIME in ns: the clock tcpdump stamps the capture with, so
/// "after this moment" can be compared with capture timestamps.
pub fn now_wall() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
