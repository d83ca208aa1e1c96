//! `--group VHID:PASS:ADDR[,ADDR...]`: what a receiver of that vhid is
//! configured with, so the tool can judge each advert's HMAC as it would.

use std::fmt;
use std::net::IpAddr;

use carp_rs::auth::{Key, Signer};

#[derive(Debug, Clone)]
pub struct Group {
    pub vhid: u8,
    pub password: String,
    pub signer: Signer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Syntax(String),
    Vhid(String),
    PasswordTooLong(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(s) => write!(f, "--group {s:?}: expected VHID:PASS:ADDR[,ADDR...]"),
            Error::Vhid(s) => write!(f, "--group {s:?}: VHID must be 1..255"),
            Error::PasswordTooLong(s) => write!(f, "--group {s:?}: password longer than 20 bytes"),
        }
    }
}

/// IPv4 and IPv6 addresses, as `Signer::new` takes them.
type AddressLists = (Vec<[u8; 4]>, Vec<[u8; 16]>);

fn addresses(list: &str) -> Option<AddressLists> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for item in list.split(',') {
        match item.trim().parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => v4.push(a.octets()),
            IpAddr::V6(a) => v6.push(a.octets()),
        }
    }
    Some((v4, v6))
}

/// Parses one `--group` argument.
///
/// IPv6 addresses contain colons and a password may too, so the password
/// ends at the first colon after which everything parses as an address
/// list: `7:p:q:2001:db8::1` is password `p:q` with address `2001:db8::1`
/// (but in `7:a:b:2001:db8::1`, `b:2001:db8::1` is an IPv6 address itself).
pub fn parse(arg: &str) -> Result<Group, Error> {
    let syntax = || Error::Syntax(arg.to_owned());
    let (vhid, rest) = arg.split_once(':').ok_or_else(syntax)?;
    let vhid = match vhid.trim().parse::<u8>() {
        Ok(v) if v > 0 => v,
        _ => return Err(Error::Vhid(arg.to_owned())),
    };
    let (password, (v4, v6)) = rest
        .match_indices(':')
        .find_map(|(at, _)| {
            let (password, list) = (rest.get(..at)?, rest.get(at + 1..)?);
            Some((password, addresses(list)?))
        })
        .ok_or_else(syntax)?;
    let key = Key::new(password.as_bytes()).map_err(|_| Error::PasswordTooLong(arg.to_owned()))?;
    Ok(Group {
        vhid,
        password: password.to_owned(),
        signer: Signer::new(&key, vhid, &v4, &v6),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use carp_rs::auth::digest_naive;

    fn check(arg: &str, vhid: u8, password: &str, v4: &[[u8; 4]], v6: &[[u8; 16]]) {
        let g = parse(arg).unwrap();
        assert_eq!((g.vhid, g.password.as_str()), (vhid, password), "{arg}");
        let key = Key::new(password.as_bytes()).unwrap();
        assert_eq!(
            g.signer.sign(77),
            digest_naive(&key, vhid, v4, v6, 77),
            "{arg}"
        );
    }

    #[test]
    fn forms() {
        let a = [192, 0, 2, 100];
        let b = [198, 51, 100, 1];
        let six: [u8; 16] = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        check("7:testpass:192.0.2.100", 7, "testpass", &[a], &[]);
        check("255:p:192.0.2.100,198.51.100.1", 255, "p", &[a, b], &[]);
        check("1::192.0.2.100", 1, "", &[a], &[]);
        check("1:pw:2001:db8::1", 1, "pw", &[], &[six]);
        check("1:p:q:2001:db8::1,192.0.2.100", 1, "p:q", &[a], &[six]);
        // Ambiguous: "b:2001:db8::1" is itself an IPv6 address; leftmost wins.
        check(
            "1:a:b:2001:db8::1",
            1,
            "a",
            &[],
            &["b:2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()],
        );
        check("9:with space!@:192.0.2.100", 9, "with space!@", &[a], &[]);
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "7",
            "7:pass",
            "7:pass:",
            "7:pass:not-an-ip",
            "x:p:192.0.2.1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse("0:p:192.0.2.1"), Err(Error::Vhid(_))));
        assert!(matches!(parse("256:p:192.0.2.1"), Err(Error::Vhid(_))));
        assert!(matches!(
            parse("1:123456789012345678901:192.0.2.1"),
            Err(Error::PasswordTooLong(_))
        ));
        assert!(parse("1:12345678901234567890:192.0.2.1").is_ok());
    }
}
