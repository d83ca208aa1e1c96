//! Ethernet ARP frames written and read through bpf(4), and the records a
//! bpf(4) `read` returns, so a VM can ask "who has the VIP" on the wire and
//! see which MAC answers (the virtual MAC `00:00:5e:00:01:<vhid>` from the
//! MASTER, nothing from a BACKUP).

pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const FRAME_LEN: usize = 42;

/// An ARP request for `target` from `(sha, spa)`, broadcast.
pub fn request(sha: [u8; 6], spa: [u8; 4], target: [u8; 4]) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&sha);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet/IPv4, request
    f[22..28].copy_from_slice(&sha);
    f[28..32].copy_from_slice(&spa);
    f[32..38].copy_from_slice(&[0; 6]);
    f[38..42].copy_from_slice(&target);
    f
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
}

/// Parses an Ethernet/IPv4 ARP frame; `None` for anything else.
pub fn parse(frame: &[u8]) -> Option<Arp> {
    let eth_dst: [u8; 6] = frame.get(0..6)?.try_into().ok()?;
    let eth_src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    if frame.get(12..14)? != ETHERTYPE_ARP.to_be_bytes() || frame.get(14..20)? != [0, 1, 8, 0, 6, 4]
    {
        return None;
    }
    let op = u16::from_be_bytes(frame.get(20..22)?.try_into().ok()?);
    Some(Arp {
        eth_dst,
        eth_src,
        op,
        sha: frame.get(22..28)?.try_into().ok()?,
        spa: frame.get(28..32)?.try_into().ok()?,
        tha: frame.get(32..38)?.try_into().ok()?,
        tpa: frame.get(38..42)?.try_into().ok()?,
    })
}

/// Iterates the packets in one bpf(4) read buffer. amd64 `struct bpf_hdr`:
/// `timeval` (16), `bh_caplen` u32, `bh_datalen` u32, `bh_hdrlen` u16;
/// records are padded to `sizeof(long)`.
pub struct BpfRecords<'a> {
    buf: &'a [u8],
}

impl<'a> BpfRecords<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BpfRecords { buf }
    }
}

impl<'a> BpfRecords<'a> {
    /// The next packet with its capture time in µs (`bh_tstamp`, a
    /// `struct timeval` under the default BPF_T_MICROTIME).
    pub fn next_timed(&mut self) -> Option<(i64, &'a [u8])> {
        let sec = i64::from_ne_bytes(self.buf.get(0..8)?.try_into().ok()?);
        let usec = i64::from_ne_bytes(self.buf.get(8..16)?.try_into().ok()?);
        let pkt = self.next()?;
        Some((sec.saturating_mul(1_000_000).saturating_add(usec), pkt))
    }
}

impl<'a> Iterator for BpfRecords<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let caplen = u32::from_ne_bytes(self.buf.get(16..20)?.try_into().ok()?) as usize;
        let hdrlen = usize::from(u16::from_ne_bytes(self.buf.get(24..26)?.try_into().ok()?));
        let pkt = self.buf.get(hdrlen..hdrlen.checked_add(caplen)?)?;
        let next = (hdrlen + caplen + 7) & !7;
        self.buf = self.buf.get(next..).unwrap_or(&[]);
        Some(pkt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x58, 0x9c, 0xfc, 0, 0, 1];

    #[test]
    fn request_roundtrip() {
        let f = request(MAC, [192, 0, 2, 12], [192, 0, 2, 1]);
        let a = parse(&f).unwrap();
        assert_eq!(a.op, 1);
        assert_eq!(a.eth_src, MAC);
        assert_eq!(a.sha, MAC);
        assert_eq!(a.spa, [192, 0, 2, 12]);
        assert_eq!(a.tpa, [192, 0, 2, 1]);
        assert_eq!(a.eth_dst, [0xff; 6]);
        assert_eq!(a.tha, [0; 6]);
    }

    #[test]
    fn parse_reply_and_reject() {
        let mut f = request(MAC, [192, 0, 2, 1], [192, 0, 2, 12]);
        f[21] = 2;
        f[6..12].copy_from_slice(&[0, 0, 0x5e, 0, 1, 1]);
        f[22..28].copy_from_slice(&[0, 0, 0x5e, 0, 1, 1]);
        f[0..6].copy_from_slice(&MAC);
        f[32..38].copy_from_slice(&MAC);
        let a = parse(&f).unwrap();
        assert_eq!((a.op, a.sha[5], a.eth_src[2]), (2, 1, 0x5e));
        assert_eq!((a.eth_dst, a.tha), (MAC, MAC));
        let mut ip = f;
        ip[12..14].copy_from_slice(&[8, 0]);
        assert_eq!(parse(&ip), None);
        assert_eq!(parse(&f[..30]), None);
    }

    fn record(pkt: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 26];
        r[16..20].copy_from_slice(&(pkt.len() as u32).to_ne_bytes());
        r[20..24].copy_from_slice(&(pkt.len() as u32).to_ne_bytes());
        r[24..26].copy_from_slice(&26u16.to_ne_bytes());
        r.extend_from_slice(pkt);
        while !r.len().is_multiple_of(8) {
            r.push(0);
        }
        r
    }

    #[test]
    fn bpf_records() {
        let mut buf = record(&[1, 2, 3]);
        buf.extend(record(&[9; 42]));
        let pkts: Vec<&[u8]> = BpfRecords::new(&buf).collect();
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0], &[1, 2, 3]);
        assert_eq!(pkts[1].len(), 42);
        // A record claiming more bytes than were read ends the iteration.
        let mut bad = record(&[1, 2, 3]);
        bad[16] = 200;
        assert_eq!(BpfRecords::new(&bad).count(), 0);
    }

    #[test]
    fn bpf_timestamps() {
        let mut buf = record(&[1, 2, 3]);
        buf[0..8].copy_from_slice(&7i64.to_ne_bytes());
        buf[8..16].copy_from_slice(&250_001i64.to_ne_bytes());
        let mut second = record(&[4; 9]);
        second[0..8].copy_from_slice(&8i64.to_ne_bytes());
        buf.extend(second);
        let mut it = BpfRecords::new(&buf);
        assert_eq!(it.next_timed(), Some((7_250_001, &[1u8, 2, 3][..])));
        let (t, p) = it.next_timed().unwrap();
        assert_eq!((t, p.len()), (8_000_000, 9));
        assert_eq!(it.next_timed(), None);
    }
}
