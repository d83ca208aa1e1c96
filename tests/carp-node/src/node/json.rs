//! One JSON object per line on stdout: the machine-readable log that the
//! tests and `make demo` read. Hand-written because the values are only
//! numbers and short strings.

use std::fmt::Write as _;
use std::io::Write as _;

pub enum Val<'a> {
    Str(&'a str),
    Num(u64),
    Raw(String),
}

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub fn object(fields: &[(&str, Val<'_>)]) -> String {
    let mut o = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(&escape(k));
        o.push(':');
        match v {
            Val::Str(s) => o.push_str(&escape(s)),
            Val::Num(n) => {
                let _ = write!(o, "{n}");
            }
            Val::Raw(r) => o.push_str(r),
        }
    }
    o.push('}');
    o
}

/// Prints the line and flushes: the reader is usually a pipe, and a state
/// change must be visible when it happens, not at exit.
pub fn emit(fields: &[(&str, Val<'_>)]) {
    let line = object(fields);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let s = object(&[
            ("a", Val::Str("x\"y\n")),
            ("n", Val::Num(5)),
            ("r", Val::Raw("[1,2]".into())),
        ]);
        assert_eq!(s, r#"{"a":"x\"y\u000a","n":5,"r":[1,2]}"#);
    }
}
