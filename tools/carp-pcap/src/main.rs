//! carp-pcap: print every CARP and VRRP advert of a pcap file as one JSON
//! object per line, with its HMAC judged against the configured groups.
//!
//! Usage: `carp-pcap [--group VHID:PASS:ADDR[,ADDR...]]... [--timeline
//! [--json] [--plot FILE.svg]] FILE.pcap`
//!
//! With `--timeline` it prints, per vhid/vrid, who was MASTER when, each
//! takeover gap against the protocol deadline, advert-interval jitter,
//! bad authentication and conflicts (see `timeline.rs`).
//! `carp-pcap --help` describes every option, output field and exit status.
//!
//! Exit status: 0 after reading the file (skipped malformed frames and a
//! truncated tail are reported on stderr), 1 if stdout fails, 2 for a usage
//! error or a file that cannot be read as a classic pcap.

mod decode;
mod frame;
mod group;
mod pcap;
mod plot;
mod timeline;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use frame::Skip;
use group::Group;

const USAGE: &str = "usage: carp-pcap [--group VHID:PASS:ADDR[,ADDR...]]... \
[--timeline [--json] [--plot FILE.svg]] FILE.pcap";

/// `--help`: every option, every output field, every exit status.
const HELP: &str = "\
usage: carp-pcap [--group VHID:PASS:ADDR[,ADDR...]]... FILE.pcap
       carp-pcap [--group ...]... --timeline [--json] [--plot FILE.svg] FILE.pcap

Prints every CARP (v2), VRRPv3 and VRRPv2 advertisement (IP protocol 112)
of a capture as one JSON object per line, and says whether CARP adverts
carry the HMAC-SHA1 that FreeBSD's carp(4) computes for a given password
and address list: what tcpdump and wireshark cannot tell you.

Input: a classic pcap file (both byte orders, microsecond or nanosecond
timestamps; not pcapng) of link type Ethernet (1, VLAN tags allowed),
raw IP (101), Linux cooked SLL (113) or SLL2 (276); IPv4 (options
allowed) or IPv6 (extension headers allowed). \"-\" is not stdin.

Options:
  -g, --group VHID:PASS:ADDR[,ADDR...]   (also --group=...)
        judge CARP adverts of vhid VHID (1..255) as a host configured
        with password PASS (0..20 bytes, may be empty or contain ':')
        and the virtual addresses ADDR (IPv4 and/or IPv6, comma
        separated, any order) would. Repeat it for other vhids, or for
        the same vhid to find which of several passwords a sender uses:
        the first group of a vhid decides hmac_ok, the others are only
        tried for matched_password.
  --timeline
        instead of one line per advert, a report per vhid (CARP) or vrid
        (VRRP): who was MASTER when (only the master advertises), each
        takeover's gap (last advert of the old master to the first of the
        new) against the protocol deadline (CARP 3*advbase + advskew/256
        of the new master, 0 after a bow-out; VRRP 3*interval + Skew_Time,
        Skew_Time alone after a priority-0 advert), advert-interval jitter,
        adverts failing the --group's HMAC, split brains and a vhid used
        by both CARP and VRRP.
  --json
        with --timeline: one JSON object per master period instead of text.
  --plot FILE.svg
        with --timeline: also draw it as an SVG picture (time on x, one
        lane per group, masters coloured, failovers marked).
  -h, --help
        this text.
  --    the next argument is the file, even if it starts with '-'.

Output fields (every line):
  frame        record number in the file, from 1
  time         capture time, seconds since the epoch (float, ns precision)
  src, dst     IP source and destination address
  src_mac      Ethernet source MAC (null for raw IP captures)
  ttl          IPv4 TTL or IPv6 hop limit (255 when sent by the rules)
  proto        \"carp\", \"vrrp3\" or \"vrrp2\"
  vhid         CARP vhid or VRRP virtual router id
  checksum_ok  the protocol checksum verifies (CARP and VRRPv2 over the
               header; VRRPv3 with the IPv4/IPv6 pseudo-header, RFC 5798)
CARP only:
  advbase, advskew  advertisement interval: advbase + advskew/256 seconds
  demote       the demotion byte of the header (0 from stock senders)
  counter      the 64-bit replay counter, 16 hex digits
  digest       the 20-byte HMAC-SHA1 from the packet, 40 hex digits
  hmac_ok      only with a --group for this vhid: the digest is the one
               the vhid's first group gives
  matched_password  only with a --group for this vhid: the first PASS of
               the vhid's groups whose HMAC matches, or null if none
VRRP only:
  priority     0 (master leaving) .. 255 (address owner)
  interval     VRRPv3: centiseconds (max_adver_int); VRRPv2: seconds
  count        number of addresses the packet declares
  addrs        the addresses carried, as text
  auth_type    VRRPv2 only: the authentication type byte

Timeline JSON fields (--timeline --json, one object per master period):
  proto, vhid  as above
  master       the advertising source address
  from, to     time of the period's first and last advert (epoch seconds)
  takeover_gap_s  last advert of the previous master to the first of this
               one (null for the first period and for preemptions)
  deadline_s   what the protocol allows for that gap (null likewise)
  start        \"first\", \"timeout\", \"bowout\", \"preempt\" (a better
               source took over from a live master) or \"conflict\" (a source
               that is not better advertised beside a live master)
  adverts, interval_s, jitter_max_s  adverts in the period, announced
               interval, largest deviation from it between adverts
  bowout       the period ended with a bow-out advert

Frames that are not protocol 112 are ignored; malformed protocol-112
frames and IP fragments are skipped and counted on stderr; a file cut
short inside a record is reported on stderr.

Exit status:
  0  the file was read (whatever the adverts say: check hmac_ok and
     checksum_ok), including when frames were skipped
  1  writing to stdout failed
  2  usage error (unknown option, bad --group, not exactly one file) or
     a file that cannot be read as a classic pcap of a supported link type

Example:
  carp-pcap --group 7:testpass:192.0.2.100 capture.pcap
";

struct Args {
    groups: Vec<Group>,
    file: String,
    timeline: bool,
    json: bool,
    plot: Option<String>,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut groups = Vec::new();
    let mut files = Vec::new();
    let (mut timeline, mut json, mut plot) = (false, false, None);
    let mut options_done = false;
    while let Some(arg) = args.next() {
        if options_done || !arg.starts_with('-') || arg == "-" {
            files.push(arg);
        } else if arg == "--" {
            options_done = true;
        } else if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        } else if arg == "--group" || arg == "-g" {
            let value = args.next().ok_or("--group needs a value")?;
            groups.push(group::parse(&value).map_err(|e| e.to_string())?);
        } else if let Some(value) = arg.strip_prefix("--group=") {
            groups.push(group::parse(value).map_err(|e| e.to_string())?);
        } else if arg == "--timeline" {
            timeline = true;
        } else if arg == "--json" {
            json = true;
        } else if arg == "--plot" {
            plot = Some(args.next().ok_or("--plot needs a file name")?);
        } else if let Some(value) = arg.strip_prefix("--plot=") {
            plot = Some(value.to_owned());
        } else {
            return Err(format!("unknown option {arg}"));
        }
    }
    if (json || plot.is_some()) && !timeline {
        return Err("--json and --plot go with --timeline".into());
    }
    match <[String; 1]>::try_from(files) {
        Ok([file]) => Ok(Parsed::Run(Args {
            groups,
            file,
            timeline,
            json,
            plot,
        })),
        Err(files) if files.is_empty() => Err("no pcap file given".into()),
        Err(_) => Err("exactly one pcap file, please".into()),
    }
}

#[derive(Default)]
struct Tally {
    malformed: usize,
    fragments: usize,
}

/// Decodes every advert of the capture and hands its record to `sink`.
fn run(
    args: &Args,
    bytes: &[u8],
    mut sink: impl FnMut(serde_json::Value) -> Result<(), String>,
) -> Result<Tally, String> {
    let reader = pcap::Reader::new(bytes).map_err(|e| e.to_string())?;
    let link_type = reader.link_type();
    if ![
        frame::LINKTYPE_ETHERNET,
        frame::LINKTYPE_RAW,
        frame::LINKTYPE_LINUX_SLL,
        frame::LINKTYPE_LINUX_SLL2,
    ]
    .contains(&link_type)
    {
        return Err(format!(
            "unsupported link type {link_type} (want 1, 101, 113 or 276)"
        ));
    }
    let mut tally = Tally::default();
    let mut records = reader;
    for record in records.by_ref() {
        match frame::parse(link_type, record.data) {
            Ok(ip) => match decode::decode(&record, &ip, &args.groups) {
                Some(record) => sink(record)?,
                None => tally.malformed += 1,
            },
            Err(Skip::NotOurs) => {}
            Err(Skip::Malformed) => tally.malformed += 1,
            Err(Skip::Fragment) => tally.fragments += 1,
        }
    }
    if records.truncated() {
        eprintln!(
            "carp-pcap: {}: file ends inside a record (capture cut short)",
            args.file
        );
    }
    Ok(tally)
}

/// Prints the timeline (text or JSON lines) and writes the plot.
fn report_timeline(
    args: &Args,
    adverts: &[timeline::Advert],
    out: &mut impl Write,
) -> Result<(), String> {
    let built = timeline::build(adverts);
    if args.json {
        for row in timeline::json_periods(&built) {
            writeln!(out, "{row}").map_err(|e| format!("stdout: {e}"))?;
        }
    } else {
        write!(out, "{}", timeline::text(&built, &args.file))
            .map_err(|e| format!("stdout: {e}"))?;
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::svg(&built, &args.file))
            .map_err(|e| format!("--plot {path}: {e}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("carp-pcap: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("carp-pcap: {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = if args.timeline {
        let mut adverts = Vec::new();
        run(&args, &bytes, |record| {
            adverts.extend(timeline::Advert::from_record(&record));
            Ok(())
        })
        .and_then(|tally| report_timeline(&args, &adverts, &mut out).map(|()| tally))
    } else {
        run(&args, &bytes, |record| {
            writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))
        })
    };
    let flushed = out.flush();
    match result {
        Ok(tally) => {
            if tally.malformed > 0 {
                eprintln!(
                    "carp-pcap: {}: {} malformed protocol-112 frame(s) skipped",
                    args.file, tally.malformed
                );
            }
            if tally.fragments > 0 {
                eprintln!(
                    "carp-pcap: {}: {} IP fragment(s) skipped",
                    args.file, tally.fragments
                );
            }
            if flushed.is_err() {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) if e.starts_with("stdout:") => ExitCode::from(1),
        Err(e) => {
            eprintln!("carp-pcap: {}: {e}", args.file);
            ExitCode::from(2)
        }
    }
}
