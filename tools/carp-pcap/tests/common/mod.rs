//! What the integration tests share: where the captured vectors are.
#![allow(dead_code, clippy::panic)]

use std::path::PathBuf;

/// The repository's `tests/vectors`, or `$CARP_VECTORS_DIR`.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("CARP_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors"),
    }
}

/// A file of the vectors, which must exist: a missing vector is a failure,
/// never a smaller test.
pub fn vector(name: &str) -> PathBuf {
    let path = vectors_dir().join(name);
    assert!(
        path.is_file(),
        "test vector missing: {}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
        path.display()
    );
    path
}
