//! carp-pcap: print every CARP and VRRP advert of a pcap file as one JSON
//! object per line, with its HMAC judged against the configured groups.
//!
//! Usage: `carp-pcap [--group VHID:PASS:ADDR[,ADDR...]]... [--timeline
//! [--json] [--plot FILE.svg]] FILE.pcap`
//!
//! With `--timeline` it prints, per vhid/vrid, who was MASTER when, each
//! takeover gap against the protocol deadline, advert-interval jitter,
//! bad authentication and conflicts (see `timeline.rs`).
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
            println!("{USAGE}");
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
