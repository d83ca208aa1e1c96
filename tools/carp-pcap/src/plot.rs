//! `--plot FILE.svg`: the timeline as a picture an administrator can open
//! in a browser: time on x, one lane per group, each master period a bar
//! coloured by its master (with a legend), each takeover marked with its
//! gap against the deadline, a period that began beside a live master
//! (preemption, conflict) in the lower half of the lane, split brains hatched red, bad-auth adverts
//! as red ticks under the lane. Plain SVG 1.1 written by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::timeline::{Start, Timeline};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 130.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const LANE: f64 = 60.0;
const BAR: f64 = 24.0;
const PALETTE: [&str; 8] = [
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Escapes text for an SVG text node or attribute.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for the time axis: about ten ticks over `span` seconds.
fn tick_step(span: f64) -> f64 {
    let raw = (span / 10.0).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// The SVG document for `timeline`.
pub fn svg(timeline: &Timeline, title: &str) -> String {
    let span = (timeline.end - timeline.start).max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: f64| LEFT + (t - timeline.start) / span * plot_w;

    let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
    for lane in &timeline.lanes {
        for p in &lane.periods {
            let n = colours.len();
            colours
                .entry(p.master.as_str())
                .or_insert(PALETTE.get(n % PALETTE.len()).copied().unwrap_or("#000"));
        }
    }
    let lanes_h = LANE * timeline.lanes.len().max(1) as f64;
    let legend_y = TOP + lanes_h + 40.0;
    let height = legend_y + 22.0 * (colours.len() as f64 / 4.0).ceil().max(1.0) + 20.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r##"<defs><pattern id="split" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#d62728" fill-opacity="0.6"/></pattern></defs>"##
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        esc(title)
    );

    // Time axis with a grid.
    let axis_y = TOP + lanes_h + 5.0;
    let step = tick_step(span);
    let mut t = 0.0;
    while t <= span + 1e-9 {
        let xt = x(timeline.start + t);
        let _ = writeln!(
            s,
            r##"<line x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{axis_y:.1}" stroke="#ddd"/><text x="{xt:.1}" y="{:.1}" text-anchor="middle">{t:.1} s</text>"##,
            axis_y + 15.0
        );
        t += step;
    }

    for (i, lane) in timeline.lanes.iter().enumerate() {
        let y0 = TOP + LANE * i as f64;
        let bar_y = y0 + (LANE - BAR) / 2.0;
        let what = if lane.proto == "carp" { "vhid" } else { "vrid" };
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}">{} {what} {}</text>"#,
            bar_y + BAR / 2.0 + 4.0,
            esc(&lane.proto),
            lane.vhid
        );
        for p in &lane.periods {
            let colour = colours.get(p.master.as_str()).copied().unwrap_or("#000");
            let (x0, x1) = (x(p.from), x(p.to).max(x(p.from) + 2.0));
            // A period that began beside a live master takes the lower
            // half of the lane, so both stay visible where they overlap.
            let (y, h) = match p.start {
                Start::Preempt | Start::Conflict => (bar_y + BAR / 2.0, BAR / 2.0),
                _ => (bar_y, BAR),
            };
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h}" fill="{colour}" fill-opacity="0.8"><title>MASTER {} {:.3}..{:.3} s, {} adverts</title></rect>"#,
                x1 - x0,
                esc(&p.master),
                p.from - timeline.start,
                p.to - timeline.start,
                p.adverts
            );
            if let (Start::Timeout | Start::Bowout, Some(gap), Some(limit)) =
                (p.start, p.takeover_gap, p.deadline)
            {
                let late = gap - limit;
                let colour = if late > 0.05 { "#d62728" } else { "#333" };
                let _ = writeln!(
                    s,
                    r#"<line x1="{x0:.1}" y1="{:.1}" x2="{x0:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="{colour}">failover {gap:.3} s (deadline {limit:.3} s)</text>"#,
                    y0 + 2.0,
                    y0 + LANE - 2.0,
                    x0 + 3.0,
                    y0 + 10.0
                );
            }
        }
        for c in &lane.conflicts {
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{bar_y:.1}" width="{:.1}" height="{BAR}" fill="url(#split)"><title>split brain: {} and {}</title></rect>"#,
                x(c.from),
                (x(c.to) - x(c.from)).max(2.0),
                esc(&c.a),
                esc(&c.b)
            );
        }
        for t in &lane.bad_auth_times {
            let xt = x(*t);
            let _ = writeln!(
                s,
                r##"<line x1="{xt:.1}" y1="{:.1}" x2="{xt:.1}" y2="{:.1}" stroke="#d62728"><title>bad auth</title></line>"##,
                bar_y + BAR + 2.0,
                bar_y + BAR + 8.0
            );
        }
    }

    for (i, (master, colour)) in colours.iter().enumerate() {
        let lx = LEFT + 210.0 * (i % 4) as f64;
        let ly = legend_y + 22.0 * (i / 4) as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="14" fill="{colour}"/><text x="{:.1}" y="{ly:.1}">{}</text>"#,
            ly - 11.0,
            lx + 20.0,
            esc(master)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::timeline::{build, Advert};

    fn ad(time: f64, src: &str) -> Advert {
        Advert {
            time,
            proto: "carp".into(),
            vhid: 3,
            src: src.into(),
            interval: 1.0,
            skew_or_prio: 0,
            bowout: false,
            checksum_ok: true,
            hmac_ok: None,
        }
    }

    #[test]
    fn plot_has_a_bar_per_period_a_failover_mark_and_a_legend() {
        let mut ads: Vec<Advert> = (0..5).map(|i| ad(f64::from(i), "192.0.2.1")).collect();
        ads.extend((0..5).map(|i| ad(8.0 + f64::from(i), "192.0.2.2")));
        let doc = svg(&build(&ads), "t <1>");
        assert!(doc.starts_with("<svg"));
        assert!(doc.trim_end().ends_with("</svg>"));
        assert_eq!(doc.matches("<title>MASTER").count(), 2);
        assert!(doc.contains("failover 4.000 s (deadline 3.000 s)"));
        assert!(doc.contains(">192.0.2.2</text>"));
        assert!(doc.contains("t &lt;1&gt;"));
        assert!(doc.contains("carp vhid 3"));
    }

    #[test]
    fn tick_steps_are_round() {
        for (span, want) in [(10.0, 1.0), (35.0, 5.0), (0.5, 0.05), (140.0, 20.0)] {
            assert!((tick_step(span) - want).abs() < 1e-12, "{span}");
        }
    }
}
