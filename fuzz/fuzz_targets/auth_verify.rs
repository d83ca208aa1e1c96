//! The precomputed-pad Signer against the textbook HMAC, on arbitrary
//! keys, vhids, address sets, counters and digests.
#![no_main]

use carp_rs::auth::{digest_naive, Key, Signer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // [klen][key..][vhid][n4][n6][counter 8][addrs..][digest..]
    let Some((&klen, rest)) = data.split_first() else {
        return;
    };
    let klen = usize::from(klen % 21).min(rest.len());
    let (pass, rest) = rest.split_at(klen);
    let key = Key::new(pass).expect("at most 20 bytes");
    let [vhid, n4, n6, rest @ ..] = rest else {
        return;
    };
    let Some((ctr, rest)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let counter = u64::from_be_bytes(*ctr);
    let (n4, n6) = (usize::from(n4 % 8), usize::from(n6 % 4));
    let Some((a4, rest)) = rest.split_at_checked(4 * n4) else {
        return;
    };
    let Some((a6, digest)) = rest.split_at_checked(16 * n6) else {
        return;
    };
    let v4: Vec<[u8; 4]> = a4.chunks_exact(4).map(|c| c.try_into().unwrap()).collect();
    let v6: Vec<[u8; 16]> = a6.chunks_exact(16).map(|c| c.try_into().unwrap()).collect();

    let signer = Signer::new(&key, *vhid, &v4, &v6);
    let want = digest_naive(&key, *vhid, &v4, &v6, counter);
    assert_eq!(signer.sign(counter), want);
    assert!(signer.verify(counter, &want));
    assert_eq!(signer.verify(counter, digest), digest == want);
});
