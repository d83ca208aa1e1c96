//! carp_rs's diagnostic texts as an administrator reads them with
//! `sysctl`: `net.inet.carp.demotion_sources` (one `source value` line per
//! contribution to the demotion) and `net.inet.carp.vhids` (one line per
//! vhid@interface), plus counting kernel log lines in `kern.msgbuf` and
//! the replay counter of a captured advert.

/// The sum of the last field of every line of `demotion_sources`; `None`
/// if a line does not end in an integer (then the text is not what the
/// man page promises).
pub fn demotion_sum(text: &str) -> Option<i64> {
    let mut sum: i64 = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: i64 = line.rsplit(' ').next()?.parse().ok()?;
        sum = sum.checked_add(v)?;
    }
    Some(sum)
}

/// Whether `text` has exactly `line` as one of its lines.
pub fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// One line of `net.inet.carp.vhids`:
/// `1@em0 MASTER since 12.345s (master timed out) sent 13 received 0
/// badauth 0 badreplay 0 preemptions 0 masters 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VhidLine<'a> {
    pub state: &'a str,
    pub reason: &'a str,
    pub sent: u64,
    pub received: u64,
    pub badauth: u64,
    pub badreplay: u64,
    pub masters: u64,
}

/// The line of `vhid@ifname` in `net.inet.carp.vhids`, if present and
/// well formed.
pub fn vhid_line<'a>(text: &'a str, vhid: u32, ifname: &str) -> Option<VhidLine<'a>> {
    text.lines().find_map(|l| {
        let (who, rest) = l.split_once(' ')?;
        let (v, i) = who.split_once('@')?;
        if v.parse::<u32>().ok()? != vhid || i != ifname {
            return None;
        }
        parse_vhid_rest(rest)
    })
}

fn parse_vhid_rest(rest: &str) -> Option<VhidLine<'_>> {
    let (state, rest) = rest.split_once(" since ")?;
    let open = rest.find(" (")?;
    let close = rest.rfind(") ")?;
    let reason = rest.get(open + 2..close)?;
    let mut kv = rest.get(close + 2..)?.split(' ');
    let mut out = VhidLine {
        state,
        reason,
        sent: 0,
        received: 0,
        badauth: 0,
        badreplay: 0,
        masters: 0,
    };
    let mut seen = 0;
    while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
        let v: u64 = v.parse().ok()?;
        let slot = match k {
            "sent" => &mut out.sent,
            "received" => &mut out.received,
            "badauth" => &mut out.badauth,
            "badreplay" => &mut out.badreplay,
            "masters" => &mut out.masters,
            _ => continue,
        };
        *slot = v;
        seen += 1;
    }
    (seen == 5).then_some(out)
}

/// Lines of a `kern.msgbuf` image containing `needle` (log(9) lines may
/// carry a `<6>` priority prefix, so this matches anywhere in the line).
pub fn count_lines(msgbuf: &[u8], needle: &str) -> usize {
    msgbuf
        .split(|b| *b == b'\n')
        .filter_map(|l| core::str::from_utf8(l).ok())
        .filter(|l| l.contains(needle))
        .count()
}

/// The 64-bit counter of the CARP advert in an Ethernet/IPv4 frame
/// (`carp_counter[2]`, bytes 8..16 of the CARP header).
pub fn advert_counter(frame: &[u8]) -> Option<u64> {
    crate::carp::parse_frame(frame)?;
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let c = frame.get(14 + ihl + 8..14 + ihl + 16)?;
    Some(u64::from_be_bytes(c.try_into().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ledger_sum_and_lines() {
        let t = "ifdown vtnet0 240\npfsync \"bulk start\" 240\nadmin -1\n";
        assert_eq!(demotion_sum(t), Some(479));
        assert!(has_line(t, "admin -1"));
        assert!(has_line(t, "ifdown vtnet0 240"));
        assert!(!has_line(t, "ifdown vtnet0"));
        assert_eq!(demotion_sum(""), Some(0));
        assert_eq!(demotion_sum("admin x\n"), None);
        assert_eq!(demotion_sum("admin\n"), None);
    }

    #[test]
    fn vhid_line_fields() {
        let t = "2@em0 BACKUP since 1.000s (created) sent 0 received 4 badauth 0 badreplay 0 preemptions 0 masters 0\n\
                 1@vtnet0 INIT since 0.120s (hardware interface down) sent 13 received 2 badauth 1 badreplay 3 preemptions 0 masters 1\n";
        let l = vhid_line(t, 1, "vtnet0").unwrap();
        assert_eq!(l.state, "INIT");
        assert_eq!(l.reason, "hardware interface down");
        assert_eq!(
            (l.sent, l.received, l.badauth, l.badreplay, l.masters),
            (13, 2, 1, 3, 1)
        );
        assert_eq!(vhid_line(t, 2, "em0").unwrap().state, "BACKUP");
        assert_eq!(vhid_line(t, 1, "em0"), None);
        assert_eq!(vhid_line(t, 12, "vtnet0"), None);
        assert_eq!(
            vhid_line("1@vtnet0 MASTER since 1s (x) sent 1\n", 1, "vtnet0"),
            None
        );
    }

    #[test]
    fn msgbuf_lines() {
        let m = b"<6>carp: 1@vtnet0: split brain: 192.0.2.12 also MASTER (skew 100, ours 0), does not hear us\n\
                  carp: 1@vtnet0: INIT -> BACKUP (initialization complete)\n\xff\n";
        assert_eq!(count_lines(m, "1@vtnet0: split brain: 192.0.2.12"), 1);
        assert_eq!(count_lines(m, "carp: 1@vtnet0"), 2);
        assert_eq!(count_lines(m, "bad auth"), 0);
    }

    #[test]
    fn counter_of_advert() {
        let p = crate::carp::advert(1, 0, 1, 0x0102_0304_0506_0708, [0; 20]);
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[8, 0]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[8] = 255;
        ip[9] = 112;
        f.extend_from_slice(&ip);
        f.extend_from_slice(&p);
        assert_eq!(advert_counter(&f), Some(0x0102_0304_0506_0708));
        assert_eq!(advert_counter(&f[..40]), None);
    }
}
