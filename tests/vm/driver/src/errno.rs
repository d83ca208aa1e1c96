//! FreeBSD errno names, so console lines say `EEXIST` rather than `17`.

pub fn name(e: i32) -> &'static str {
    match e {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        5 => "EIO",
        6 => "ENXIO",
        8 => "ENOEXEC",
        9 => "EBADF",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        22 => "EINVAL",
        25 => "ENOTTY",
        28 => "ENOSPC",
        35 => "EAGAIN",
        40 => "EMSGSIZE",
        43 => "EPROTONOSUPPORT",
        45 => "EOPNOTSUPP",
        47 => "EAFNOSUPPORT",
        48 => "EADDRINUSE",
        49 => "EADDRNOTAVAIL",
        50 => "ENETDOWN",
        60 => "ETIMEDOUT",
        78 => "ENOSYS",
        79 => "EFTYPE",
        _ => "E?",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::name(17), "EEXIST");
        assert_eq!(super::name(16), "EBUSY");
        assert_eq!(super::name(9999), "E?");
    }
}
