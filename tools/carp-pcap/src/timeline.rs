//! `--timeline`: who was MASTER when, per vhid (CARP) or vrid (VRRP).
//!
//! In CARP and VRRP only the MASTER advertises, so a capture of the
//! segment tells who held the group at every moment: a *master period* is
//! a run of adverts from one source address. It ends when the source goes
//! silent for longer than a backup waits (three of its advert intervals),
//! or with a bow-out advert (CARP advbase 255 / advskew 255, as
//! `carp_send_ad_locked` sends on `carp_detach`; VRRP priority 0). The
//! timeline is built from the same per-advert records the tool prints
//! (`decode::decode`), so there is one decoder.
//!
//! For each new period after another one ended, the takeover gap (last
//! advert of the old master → first advert of the new one) is set against
//! the protocol deadline the new master had to wait:
//! - CARP: `3·advbase + advskew/256` of the new master (FreeBSD
//!   `carp_master_down` timer armed in `carp_setrun`); after a bow-out a
//!   BACKUP takes over at once (`carp_input_c`: "master will time out"),
//!   so the deadline is 0.
//! - VRRPv3 (RFC 5798 §6.1): `3·Master_Adver_Interval + Skew_Time`, with
//!   the interval learned from the old master and
//!   `Skew_Time = (256 − priority)·Master_Adver_Interval/256` of the new
//!   one; after a priority-0 advert only `Skew_Time`.
//! - VRRPv2 (RFC 3768 §6.1): `3·Advertisement_Interval + (256 − priority)/256`.
//!
//! Two sources advertising for the same group at once for more than three
//! advert intervals is a split brain (a normal preemption overlaps by one
//! advert or two); adverts with a vhid also used by another protocol on
//! the segment (CARP vs VRRP) are a protocol conflict. Adverts whose HMAC
//! fails for the configured `--group` are counted as bad authentication.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

/// One advert, as the timeline needs it (taken from the JSON record).
#[derive(Debug, Clone, PartialEq)]
pub struct Advert {
    pub time: f64,
    pub proto: String,
    pub vhid: u8,
    pub src: String,
    /// Seconds between adverts that this advert announces.
    pub interval: f64,
    /// CARP advskew, or VRRP priority.
    pub skew_or_prio: u8,
    pub bowout: bool,
    pub checksum_ok: bool,
    /// `None` without a matching `--group`.
    pub hmac_ok: Option<bool>,
}

impl Advert {
    /// The fields of one `decode::decode` record; `None` for a record
    /// without the fields the timeline needs.
    pub fn from_record(record: &Value) -> Option<Advert> {
        let proto = record.get("proto")?.as_str()?.to_owned();
        let vhid = u8::try_from(record.get("vhid")?.as_u64()?).ok()?;
        let time = record.get("time")?.as_f64()?;
        let src = record.get("src")?.as_str()?.to_owned();
        let checksum_ok = record.get("checksum_ok")?.as_bool()?;
        let hmac_ok = record.get("hmac_ok").and_then(Value::as_bool);
        let field = |name: &str| record.get(name).and_then(Value::as_u64);
        let (interval, skew_or_prio, bowout) = match proto.as_str() {
            "carp" => {
                let advbase = field("advbase")?;
                let advskew = field("advskew")?;
                let interval = advbase as f64 + advskew as f64 / 256.0;
                (
                    interval,
                    u8::try_from(advskew).ok()?,
                    advbase == 255 && advskew == 255,
                )
            }
            // VRRPv3 intervals are in centiseconds, VRRPv2 in seconds.
            "vrrp3" | "vrrp2" => {
                let raw = field("interval")? as f64;
                let interval = if proto == "vrrp3" { raw / 100.0 } else { raw };
                let prio = u8::try_from(field("priority")?).ok()?;
                (interval, prio, prio == 0)
            }
            _ => return None,
        };
        Some(Advert {
            time,
            proto,
            vhid,
            src,
            interval,
            skew_or_prio,
            bowout,
            checksum_ok,
            hmac_ok,
        })
    }
}

/// How a master period began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first master seen in the capture.
    First,
    /// After the previous master went silent (master-down timer).
    Timeout,
    /// After the previous master's bow-out advert.
    Bowout,
    /// A better source took over from a live master (preemption).
    Preempt,
    /// A source that is not better advertised while a master was live:
    /// it does not hear or does not accept that master.
    Conflict,
}

impl Start {
    fn as_str(self) -> &'static str {
        match self {
            Start::First => "first",
            Start::Timeout => "timeout",
            Start::Bowout => "bowout",
            Start::Preempt => "preempt",
            Start::Conflict => "conflict",
        }
    }
}

/// One run of adverts from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub master: String,
    pub from: f64,
    pub to: f64,
    pub adverts: usize,
    /// Announced interval of the first advert (seconds).
    pub interval: f64,
    /// Largest |actual − announced| spacing between adverts (seconds).
    pub jitter_max: f64,
    pub mean_jitter: f64,
    pub ended_by_bowout: bool,
    pub start: Start,
    /// Last advert of the previous master → first of this one.
    pub takeover_gap: Option<f64>,
    /// What the protocol allows for that gap.
    pub deadline: Option<f64>,
    /// CARP advskew or VRRP priority of the first advert.
    pub skew_or_prio: u8,
}

/// Two masters at once for longer than three advert intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub a: String,
    pub b: String,
    pub from: f64,
    pub to: f64,
    pub skew_a: u8,
    pub skew_b: u8,
}

/// The timeline of one group (protocol, vhid).
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub proto: String,
    pub vhid: u8,
    pub periods: Vec<Period>,
    pub conflicts: Vec<Conflict>,
    /// Adverts whose HMAC fails for the configured group, per source.
    pub bad_auth: BTreeMap<String, usize>,
    pub bad_checksum: usize,
    /// Other protocols seen with the same vhid number.
    pub other_protos: Vec<String>,
    /// Times of bad-authentication adverts (for the plot).
    pub bad_auth_times: Vec<f64>,
}

/// Everything `--timeline` reports about one capture.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub start: f64,
    pub end: f64,
    pub lanes: Vec<Lane>,
}

/// Seconds a backup waits for a master that announces `interval`: a
/// period of one source ends after a longer silence.
fn silence_limit(interval: f64) -> f64 {
    3.0 * interval.max(0.01)
}

/// Whether `b`'s adverts win over `a`'s (FreeBSD compares advbase, then
/// advskew; VRRP the priority, then the address, which we do not judge).
fn better(b: &Advert, a: &Advert) -> bool {
    if b.proto == "carp" {
        (b.interval, b.skew_or_prio) < (a.interval, a.skew_or_prio)
    } else {
        b.skew_or_prio > a.skew_or_prio
    }
}

/// A master whose last advert is at most one interval (plus a quarter
/// for jitter) before `t` was still advertising at `t`.
fn live_at(last: &Advert, t: f64) -> bool {
    !last.bowout && t - last.time <= last.interval * 1.25
}

/// The deadline a new master had to wait after the old one's last advert.
fn deadline(prev: &Advert, next: &Advert) -> f64 {
    match next.proto.as_str() {
        "carp" if prev.bowout => 0.0,
        "carp" => next.interval.floor() * 3.0 + f64::from(next.skew_or_prio) / 256.0,
        "vrrp3" => {
            let skew = f64::from(256 - u16::from(next.skew_or_prio)) * prev.interval / 256.0;
            if prev.bowout {
                skew
            } else {
                3.0 * prev.interval + skew
            }
        }
        _ => {
            let skew = f64::from(256 - u16::from(next.skew_or_prio)) / 256.0;
            if prev.bowout {
                skew
            } else {
                3.0 * prev.interval + skew
            }
        }
    }
}

struct Run<'a> {
    adverts: Vec<&'a Advert>,
}

impl Run<'_> {
    fn first(&self) -> Option<&Advert> {
        self.adverts.first().copied()
    }
    fn last(&self) -> Option<&Advert> {
        self.adverts.last().copied()
    }
}

/// Splits one source's adverts into runs at silences and bow-outs, and
/// where a better source advertised in between and was gone again (the
/// source had lost the group and won it back). `others` holds every other
/// source's adverts, sorted by time.
fn runs<'a>(adverts: &[&'a Advert], others: &[&Advert]) -> Vec<Run<'a>> {
    let mut out: Vec<Run<'a>> = Vec::new();
    for &ad in adverts {
        let extend = out.last().and_then(Run::last).is_some_and(|prev| {
            let lo = others.partition_point(|o| o.time <= prev.time);
            let hi = others.partition_point(|o| o.time < ad.time);
            let lost = others
                .get(lo..hi)
                .unwrap_or_default()
                .iter()
                .rev()
                .find(|o| o.bowout || better(o, prev))
                .is_some_and(|o| !live_at(o, ad.time));
            !prev.bowout && ad.time - prev.time <= silence_limit(prev.interval) && !lost
        });
        match out.last_mut() {
            Some(run) if extend => run.adverts.push(ad),
            _ => out.push(Run { adverts: vec![ad] }),
        }
    }
    out
}

fn jitter(run: &Run<'_>) -> (f64, f64) {
    let mut max: f64 = 0.0;
    let mut sum = 0.0;
    let mut n = 0usize;
    for pair in run.adverts.windows(2) {
        if let [a, b] = pair {
            if a.bowout || b.bowout {
                continue;
            }
            let dev = ((b.time - a.time) - a.interval).abs();
            max = max.max(dev);
            sum += dev;
            n += 1;
        }
    }
    (max, if n == 0 { 0.0 } else { sum / n as f64 })
}

/// Builds one lane from the adverts of one group, sorted by time.
fn lane(proto: &str, vhid: u8, adverts: &[&Advert]) -> Lane {
    let mut bad_auth = BTreeMap::new();
    let mut bad_auth_times = Vec::new();
    let mut bad_checksum = 0;
    let mut by_src: BTreeMap<&str, Vec<&Advert>> = BTreeMap::new();
    for &ad in adverts {
        if !ad.checksum_ok {
            bad_checksum += 1;
            continue;
        }
        if ad.hmac_ok == Some(false) {
            *bad_auth.entry(ad.src.clone()).or_insert(0) += 1;
            bad_auth_times.push(ad.time);
        }
        by_src.entry(ad.src.as_str()).or_default().push(ad);
    }
    let mut all_runs: Vec<Run<'_>> = Vec::new();
    for (src, ads) in &by_src {
        let mut others: Vec<&Advert> = by_src
            .iter()
            .filter(|(other, _)| *other != src)
            .flat_map(|(_, a)| a.iter().copied())
            .collect();
        others.sort_by(|a, b| a.time.total_cmp(&b.time));
        all_runs.extend(runs(ads, &others));
    }
    all_runs.sort_by(|a, b| {
        let ta = a.first().map_or(0.0, |x| x.time);
        let tb = b.first().map_or(0.0, |x| x.time);
        ta.total_cmp(&tb)
    });

    let mut periods: Vec<Period> = Vec::new();
    let mut conflicts = Vec::new();
    // The run that ended last before the current one started, and the
    // runs still going at that moment.
    let mut done: Vec<&Run<'_>> = Vec::new();
    for run in &all_runs {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        // The master whose adverts cover this run's start, if any.
        let live = done
            .iter()
            .filter(|r| {
                r.last().is_some_and(|l| {
                    l.src != first.src && (l.time >= first.time || live_at(l, first.time))
                })
            })
            .max_by(|a, b| {
                let la = a.last().map_or(0.0, |x| x.time);
                let lb = b.last().map_or(0.0, |x| x.time);
                la.total_cmp(&lb)
            });
        let prev = done
            .iter()
            .filter_map(|r| r.last())
            .filter(|l| l.time < first.time)
            .max_by(|a, b| a.time.total_cmp(&b.time));
        let (start, gap, limit) = match (live, prev) {
            (Some(other), _) => {
                let (Some(o_first), Some(o_last)) = (other.first(), other.last()) else {
                    continue;
                };
                let from = first.time;
                let to = last.time.min(o_last.time);
                // Adverts of the newcomer while the other was still live.
                let during = run
                    .adverts
                    .iter()
                    .filter(|a| a.time <= o_last.time + o_last.interval * 0.25)
                    .count();
                let interval = first.interval.max(o_last.interval);
                let legit = better(first, o_last);
                if to - from > silence_limit(interval) || (!legit && during >= 2) {
                    conflicts.push(Conflict {
                        a: o_first.src.clone(),
                        b: first.src.clone(),
                        from,
                        to: to.max(from),
                        skew_a: o_last.skew_or_prio,
                        skew_b: first.skew_or_prio,
                    });
                }
                let start = if legit {
                    Start::Preempt
                } else {
                    Start::Conflict
                };
                (start, None, None)
            }
            (None, Some(p)) => {
                let start = if p.bowout {
                    Start::Bowout
                } else {
                    Start::Timeout
                };
                (start, Some(first.time - p.time), Some(deadline(p, first)))
            }
            (None, None) => (Start::First, None, None),
        };
        let (jitter_max, mean_jitter) = jitter(run);
        periods.push(Period {
            master: first.src.clone(),
            from: first.time,
            to: last.time,
            adverts: run.adverts.len(),
            interval: first.interval,
            jitter_max,
            mean_jitter,
            ended_by_bowout: last.bowout,
            start,
            takeover_gap: gap,
            deadline: limit,
            skew_or_prio: first.skew_or_prio,
        });
        done.push(run);
    }
    Lane {
        proto: proto.to_owned(),
        vhid,
        periods,
        conflicts,
        bad_auth,
        bad_checksum,
        other_protos: Vec::new(),
        bad_auth_times,
    }
}

/// The timeline of every group in `adverts` (any order).
pub fn build(adverts: &[Advert]) -> Timeline {
    let mut sorted: Vec<&Advert> = adverts.iter().collect();
    sorted.sort_by(|a, b| a.time.total_cmp(&b.time));
    let start = sorted.first().map_or(0.0, |a| a.time);
    let end = sorted.last().map_or(0.0, |a| a.time);
    let mut groups: BTreeMap<(String, u8), Vec<&Advert>> = BTreeMap::new();
    for &ad in &sorted {
        groups
            .entry((ad.proto.clone(), ad.vhid))
            .or_default()
            .push(ad);
    }
    let mut lanes: Vec<Lane> = groups
        .iter()
        .map(|((proto, vhid), ads)| lane(proto, *vhid, ads))
        .collect();
    let keys: Vec<(String, u8)> = groups.keys().cloned().collect();
    for lane in &mut lanes {
        lane.other_protos = keys
            .iter()
            .filter(|(p, v)| *v == lane.vhid && *p != lane.proto)
            .map(|(p, _)| p.clone())
            .collect();
    }
    Timeline { start, end, lanes }
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

/// The text report: per lane, each master period, each takeover against
/// its deadline, and the anomalies.
pub fn text(timeline: &Timeline, file: &str) -> String {
    let mut out = String::new();
    let span = timeline.end - timeline.start;
    let _ = writeln!(
        out,
        "timeline of {file}: {} group(s), {span:.3} s from t0 = {:.6} (times below are t - t0)",
        timeline.lanes.len(),
        timeline.start
    );
    for lane in &timeline.lanes {
        let what = if lane.proto == "carp" { "vhid" } else { "vrid" };
        let _ = writeln!(out, "\n{} {what} {}", lane.proto, lane.vhid);
        for p in &lane.periods {
            let rel = |t: f64| t - timeline.start;
            match (p.start, p.takeover_gap, p.deadline) {
                (Start::Timeout | Start::Bowout, Some(gap), Some(limit)) => {
                    let how = if p.start == Start::Bowout {
                        "after a bow-out"
                    } else {
                        "after silence"
                    };
                    let late = gap - limit;
                    let verdict = if late >= 0.0 {
                        format!("{} late", ms(late))
                    } else {
                        format!("{} early", ms(-late))
                    };
                    let _ = writeln!(
                        out,
                        "  {:>9.3}  takeover by {} {how}: gap {gap:.3} s, deadline {limit:.3} s ({verdict})",
                        rel(p.from),
                        p.master
                    );
                }
                (Start::Preempt, _, _) => {
                    let _ = writeln!(
                        out,
                        "  {:>9.3}  {} preempts the live master",
                        rel(p.from),
                        p.master
                    );
                }
                (Start::Conflict, _, _) => {
                    let _ = writeln!(
                        out,
                        "  {:>9.3}  {} advertises while a better master is live",
                        rel(p.from),
                        p.master
                    );
                }
                _ => {}
            }
            let skew = if lane.proto == "carp" {
                format!("advskew {}", p.skew_or_prio)
            } else {
                format!("priority {}", p.skew_or_prio)
            };
            let end = if p.ended_by_bowout { ", bowed out" } else { "" };
            let _ = writeln!(
                out,
                "  {:>9.3} .. {:>9.3}  MASTER {} ({skew}, interval {:.3} s): {} advert(s), jitter mean {} max {}{end}",
                rel(p.from),
                rel(p.to),
                p.master,
                p.interval,
                p.adverts,
                ms(p.mean_jitter),
                ms(p.jitter_max)
            );
        }
        for c in &lane.conflicts {
            let unit = if lane.proto == "carp" {
                "advskew"
            } else {
                "priority"
            };
            let _ = writeln!(
                out,
                "  conflict: split brain {:.3} .. {:.3}: {} ({unit} {}) and {} ({unit} {}) both MASTER",
                c.from - timeline.start,
                c.to - timeline.start,
                c.a,
                c.skew_a,
                c.b,
                c.skew_b
            );
            let hint = if lane.bad_auth.contains_key(&c.b) || lane.bad_auth.contains_key(&c.a) {
                "adverts fail the HMAC: wrong password, or the same password over another address set"
            } else {
                "neither accepts the other's adverts: check the segment (filters, VLANs) and the vhid"
            };
            let _ = writeln!(out, "            {hint}");
        }
        for (src, n) in &lane.bad_auth {
            let _ = writeln!(
                out,
                "  bad auth: {n} advert(s) from {src} fail the HMAC of the configured group"
            );
        }
        if lane.bad_checksum > 0 {
            let _ = writeln!(
                out,
                "  bad checksum: {} advert(s) ignored",
                lane.bad_checksum
            );
        }
        for other in &lane.other_protos {
            let _ = writeln!(
                out,
                "  conflict: {what} {} is also used by {other} on this segment",
                lane.vhid
            );
        }
    }
    out
}

/// One JSON object per master period.
pub fn json_periods(timeline: &Timeline) -> Vec<Value> {
    let mut out = Vec::new();
    for lane in &timeline.lanes {
        for p in &lane.periods {
            out.push(json!({
                "proto": lane.proto,
                "vhid": lane.vhid,
                "master": p.master,
                "from": p.from,
                "to": p.to,
                "takeover_gap_s": p.takeover_gap,
                "deadline_s": p.deadline,
                "start": p.start.as_str(),
                "adverts": p.adverts,
                "interval_s": p.interval,
                "jitter_max_s": p.jitter_max,
                "bowout": p.ended_by_bowout,
            }));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn carp(time: f64, src: &str, advbase: u8, advskew: u8) -> Advert {
        Advert {
            time,
            proto: "carp".into(),
            vhid: 1,
            src: src.into(),
            interval: f64::from(advbase) + f64::from(advskew) / 256.0,
            skew_or_prio: advskew,
            bowout: advbase == 255 && advskew == 255,
            checksum_ok: true,
            hmac_ok: Some(true),
        }
    }

    fn series(src: &str, from: f64, to: f64, skew: u8) -> Vec<Advert> {
        let step = 1.0 + f64::from(skew) / 256.0;
        let mut out = Vec::new();
        let mut t = from;
        while t <= to + 1e-9 {
            out.push(carp(t, src, 1, skew));
            t += step;
        }
        out
    }

    #[test]
    fn failover_after_silence_is_measured_against_the_deadline() {
        let mut ads = series("192.0.2.1", 0.0, 10.0, 0);
        ads.extend(series("192.0.2.2", 13.5, 20.0, 100));
        let t = build(&ads);
        let lane = &t.lanes[0];
        assert_eq!(lane.periods.len(), 2);
        let p = &lane.periods[1];
        assert_eq!(p.master, "192.0.2.2");
        assert_eq!(p.start, Start::Timeout);
        assert!((p.takeover_gap.unwrap() - 3.5).abs() < 1e-9);
        assert!((p.deadline.unwrap() - (3.0 + 100.0 / 256.0)).abs() < 1e-9);
        assert!(lane.conflicts.is_empty());
        let text = text(&t, "x.pcap");
        assert!(text.contains("takeover by 192.0.2.2 after silence: gap 3.500 s, deadline 3.391 s"));
    }

    #[test]
    fn bowout_allows_an_immediate_takeover() {
        let mut ads = series("192.0.2.1", 0.0, 5.0, 0);
        ads.push(carp(5.5, "192.0.2.1", 255, 255));
        ads.extend(series("192.0.2.2", 5.52, 9.0, 100));
        let t = build(&ads);
        let p = &t.lanes[0].periods;
        assert!(p[0].ended_by_bowout);
        assert_eq!(p[1].start, Start::Bowout);
        assert_eq!(p[1].deadline, Some(0.0));
    }

    #[test]
    fn a_short_overlap_is_preemption_a_long_one_is_split_brain() {
        let mut ads = series("192.0.2.2", 0.0, 10.0, 100);
        ads.extend(series("192.0.2.1", 9.5, 20.0, 0));
        let t = build(&ads);
        assert!(
            t.lanes[0].conflicts.is_empty(),
            "{:?}",
            t.lanes[0].conflicts
        );
        assert_eq!(t.lanes[0].periods[1].start, Start::Preempt);

        let mut ads = series("192.0.2.2", 0.0, 20.0, 100);
        ads.extend(series("192.0.2.1", 5.0, 20.0, 0));
        let t = build(&ads);
        let c = &t.lanes[0].conflicts;
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!((c[0].skew_a, c[0].skew_b), (100, 0));
        assert!(text(&t, "x").contains("split brain"));
    }

    #[test]
    fn a_worse_source_advertising_beside_a_live_master_is_a_conflict() {
        let mut ads = series("192.0.2.1", 0.0, 5.0, 0);
        let mut wrong = series("192.0.2.3", 1.1, 4.0, 100);
        for ad in &mut wrong {
            ad.hmac_ok = Some(false);
        }
        ads.extend(wrong);
        let t = build(&ads);
        assert_eq!(t.lanes[0].periods[1].start, Start::Conflict);
        assert_eq!(t.lanes[0].conflicts.len(), 1);
        assert!(text(&t, "x").contains("wrong password"));
    }

    #[test]
    fn a_takeover_before_the_old_master_fell_silent_is_a_preemption() {
        // The old master's next advert was due after the newcomer's first.
        let mut ads = series("192.0.2.2", 0.0, 5.0, 100);
        ads.extend(series("192.0.2.1", 5.9, 9.0, 0));
        let t = build(&ads);
        let p = &t.lanes[0].periods[1];
        assert_eq!(p.start, Start::Preempt);
        assert_eq!(p.takeover_gap, None);
    }

    #[test]
    fn a_master_that_lost_and_won_back_the_group_starts_a_new_period() {
        // B is master, A preempts, A bows out, B takes over again within
        // three of its intervals: B's two runs are two periods.
        let mut ads = series("192.0.2.2", 0.0, 3.0, 100);
        ads.extend(series("192.0.2.1", 3.5, 5.5, 0));
        ads.push(carp(5.8, "192.0.2.1", 255, 255));
        ads.extend(series("192.0.2.2", 5.82, 8.0, 100));
        let t = build(&ads);
        let starts: Vec<Start> = t.lanes[0].periods.iter().map(|p| p.start).collect();
        assert_eq!(starts, [Start::First, Start::Preempt, Start::Bowout]);
    }

    #[test]
    fn bad_auth_and_checksum_are_counted_and_protocols_compared() {
        let mut ads = series("192.0.2.1", 0.0, 3.0, 0);
        let mut bad = carp(0.5, "192.0.2.3", 1, 0);
        bad.hmac_ok = Some(false);
        ads.push(bad);
        let mut broken = carp(0.7, "192.0.2.4", 1, 0);
        broken.checksum_ok = false;
        ads.push(broken);
        let mut vrrp = carp(1.0, "192.0.2.9", 1, 0);
        vrrp.proto = "vrrp3".into();
        vrrp.skew_or_prio = 100;
        ads.push(vrrp);
        let t = build(&ads);
        let carp_lane = t.lanes.iter().find(|l| l.proto == "carp").unwrap();
        assert_eq!(carp_lane.bad_auth.get("192.0.2.3"), Some(&1));
        assert_eq!(carp_lane.bad_checksum, 1);
        assert_eq!(carp_lane.other_protos, vec!["vrrp3".to_string()]);
    }

    #[test]
    fn vrrp3_deadline_uses_the_old_interval_and_the_new_priority() {
        let a = Advert {
            time: 0.0,
            proto: "vrrp3".into(),
            vhid: 7,
            src: "a".into(),
            interval: 1.0,
            skew_or_prio: 200,
            bowout: false,
            checksum_ok: true,
            hmac_ok: None,
        };
        let mut b = a.clone();
        b.skew_or_prio = 100;
        assert!((deadline(&a, &b) - (3.0 + 156.0 / 256.0)).abs() < 1e-9);
        let mut bow = a.clone();
        bow.bowout = true;
        bow.skew_or_prio = 0;
        assert!((deadline(&bow, &b) - 156.0 / 256.0).abs() < 1e-9);
    }

    #[test]
    fn json_has_one_object_per_period_with_the_documented_keys() {
        let mut ads = series("192.0.2.1", 0.0, 4.0, 0);
        ads.extend(series("192.0.2.2", 7.2, 9.0, 0));
        let rows = json_periods(&build(&ads));
        assert_eq!(rows.len(), 2);
        for key in [
            "proto",
            "vhid",
            "master",
            "from",
            "to",
            "takeover_gap_s",
            "deadline_s",
        ] {
            assert!(rows[1].get(key).is_some(), "{key}");
        }
        assert!(rows[0]["takeover_gap_s"].is_null());
        assert_eq!(rows[1]["master"], "192.0.2.2");
    }
}
