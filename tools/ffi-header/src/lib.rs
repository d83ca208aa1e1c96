//! The C header of carp_rs's C ABI (`carp_rs_ffi.h`), generated from the
//! Rust that defines it (`kmod/src/ffi`, plus the two shim functions the
//! kernel glue provides, declared in `kmod/src/kernel`), so the ABI has one
//! definition. cbindgen's settings are in `cbindgen.toml` next to this
//! crate's manifest.
//!
//! Used by the `carp-ffi-header` binary (make, `build-ko.sh`, the
//! fake-kernel harness) and by `sys-bindings/build.rs`, whose bindgen reads
//! the generated header back for the layout tests.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The Rust files cbindgen reads, relative to the `kmod` directory; it
/// follows `mod` items from `src/ffi/mod.rs`.
const ROOTS: [&str; 3] = [
    "src/ffi/mod.rs",
    "src/kernel/kalloc.rs",
    "src/kernel/kpanic.rs",
];

/// cbindgen's configuration.
pub fn config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cbindgen.toml")
}

/// Every file the header depends on (for make and `rerun-if-changed`):
/// the configuration and the Rust sources under `kmod/src/ffi` and
/// `kmod/src/kernel`.
pub fn inputs(kmod: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = vec![config_path()];
    for dir in ["src/ffi", "src/kernel"] {
        let mut files: Vec<PathBuf> = fs::read_dir(kmod.join(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// The header text for the crate in `kmod` (the directory holding its
/// `Cargo.toml`).
pub fn generate(kmod: &Path) -> io::Result<Vec<u8>> {
    let config = cbindgen::Config::from_file(config_path())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut builder = cbindgen::Builder::new().with_config(config);
    for root in ROOTS {
        builder = builder.with_src(kmod.join(root));
    }
    let bindings = builder
        .generate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    Ok(text)
}

/// Writes the header to `out` unless it already holds exactly that text,
/// so an unchanged ABI does not make every C file out of date. Returns
/// whether the file was (re)written.
pub fn write_if_changed(kmod: &Path, out: &Path) -> io::Result<bool> {
    let text = generate(kmod)?;
    if fs::read(out).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir)?;
    }
    // Written apart then renamed: a reader never sees half a header.
    let tmp = out.with_extension("h.tmp");
    fs::write(&tmp, &text)?;
    fs::rename(&tmp, out)?;
    Ok(true)
}
