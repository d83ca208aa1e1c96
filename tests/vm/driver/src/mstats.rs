//! The `kern.malloc_stats` stream `vmstat -m` reads (sys/kern/kern_malloc.c
//! `sysctl_kern_malloc_stats`): a `malloc_type_stream_header` (version,
//! MAXCPU, record count, pad: four `uint32_t`), then per malloc type a
//! 32-byte NUL-padded name followed by MAXCPU `struct malloc_type_stats`
//! (eight `uint64_t`: bytes allocated, bytes freed, allocations, frees,
//! size mask, three reserved). The vnet and departure scenarios read the
//! `carp_rs` type from it to see leaks while the module stays loaded.

pub const HEADER_LEN: usize = 16;
pub const NAME_LEN: usize = 32;
pub const CPU_STATS_LEN: usize = 64;
pub const STREAM_VERSION: u32 = 1;

/// What one malloc type holds right now, summed over every CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InUse {
    pub bytes: i64,
    pub allocs: i64,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Finds `name` in a `kern.malloc_stats` image. `None` if the stream is
/// malformed or truncated, `Some(None)` if the type is not registered
/// (e.g. the module that defines it is not loaded).
pub fn in_use(stream: &[u8], name: &str) -> Option<Option<InUse>> {
    if u32_at(stream, 0)? != STREAM_VERSION {
        return None;
    }
    let maxcpus = usize::try_from(u32_at(stream, 4)?).ok()?;
    let count = usize::try_from(u32_at(stream, 8)?).ok()?;
    let rec = maxcpus.checked_mul(CPU_STATS_LEN)?.checked_add(NAME_LEN)?;
    for i in 0..count {
        let at = rec.checked_mul(i)?.checked_add(HEADER_LEN)?;
        let r = stream.get(at..at.checked_add(rec)?)?;
        if crate::cstr(r.get(..NAME_LEN)?) != name {
            continue;
        }
        let mut u = InUse::default();
        for cpu in 0..maxcpus {
            let c = NAME_LEN + cpu * CPU_STATS_LEN;
            let alloced = u64_at(r, c)?;
            let freed = u64_at(r, c + 8)?;
            let nalloc = u64_at(r, c + 16)?;
            let nfree = u64_at(r, c + 24)?;
            // Per-CPU counters: a CPU may free more than it allocated.
            u.bytes = u.bytes.wrapping_add(alloced.wrapping_sub(freed) as i64);
            u.allocs = u.allocs.wrapping_add(nalloc.wrapping_sub(nfree) as i64);
        }
        return Some(Some(u));
    }
    Some(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn stream(maxcpus: u32, types: &[(&str, &[[u64; 4]])]) -> Vec<u8> {
        let mut s = Vec::new();
        for w in [STREAM_VERSION, maxcpus, types.len() as u32, 0] {
            s.extend_from_slice(&w.to_ne_bytes());
        }
        for (name, cpus) in types {
            let mut n = [0u8; NAME_LEN];
            n[..name.len()].copy_from_slice(name.as_bytes());
            s.extend_from_slice(&n);
            for cpu in 0..maxcpus as usize {
                let v = cpus.get(cpu).copied().unwrap_or([0; 4]);
                for w in v.iter().chain([0x30u64, 0, 0, 0].iter()) {
                    s.extend_from_slice(&w.to_ne_bytes());
                }
            }
        }
        s
    }

    #[test]
    fn sums_over_cpus_and_finds_by_name() {
        let s = stream(
            4,
            &[
                ("devbuf", &[[1000, 0, 10, 0]]),
                (
                    "carp_rs",
                    &[[512, 128, 4, 1], [0, 256, 0, 2], [64, 0, 1, 0]],
                ),
            ],
        );
        assert_eq!(s.len(), HEADER_LEN + 2 * (NAME_LEN + 4 * CPU_STATS_LEN));
        let u = in_use(&s, "carp_rs").unwrap().unwrap();
        assert_eq!(
            u,
            InUse {
                bytes: 192,
                allocs: 2
            }
        );
        assert_eq!(
            in_use(&s, "devbuf").unwrap().unwrap(),
            InUse {
                bytes: 1000,
                allocs: 10
            }
        );
        assert_eq!(in_use(&s, "carp"), Some(None));
        assert_eq!(in_use(&s, "carp_rs_x"), Some(None));
    }

    #[test]
    fn malformed_streams_are_rejected() {
        let s = stream(2, &[("carp_rs", &[[8, 0, 1, 0]])]);
        assert_eq!(in_use(&s[..s.len() - 1], "carp_rs"), None);
        assert_eq!(in_use(&s[..8], "carp_rs"), None);
        let mut bad = s.clone();
        bad[0] = 2;
        assert_eq!(in_use(&bad, "carp_rs"), None);
        let mut huge = s.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        huge[8..12].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(in_use(&huge, "carp_rs"), None);
        assert_eq!(in_use(&[], "carp_rs"), None);
    }
}
