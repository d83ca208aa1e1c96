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

#[cfg(test)]
#[allow(clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn header() -> String {
        let kmod = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kmod");
        String::from_utf8(generate(&kmod).expect("generate")).expect("UTF-8")
    }

    /// The `#[no_mangle]` functions and `CARP_RS_*` constants of
    /// `kmod/src/ffi`, read from the sources.
    fn rust_items() -> (Vec<String>, Vec<String>) {
        let kmod = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kmod/src/ffi");
        let (mut fns, mut consts) = (Vec::new(), Vec::new());
        for e in fs::read_dir(kmod).expect("kmod/src/ffi") {
            let text = fs::read_to_string(e.expect("entry").path()).expect("read");
            for line in text.lines() {
                let line = line.trim_start();
                if let Some(rest) = line.strip_prefix("pub unsafe extern \"C\" fn ") {
                    fns.push(rest.split('(').next().unwrap_or_default().to_string());
                } else if let Some(rest) = line.strip_prefix("pub extern \"C\" fn ") {
                    fns.push(rest.split('(').next().unwrap_or_default().to_string());
                } else if let Some(rest) = line.strip_prefix("pub const CARP_RS_") {
                    consts.push(format!(
                        "CARP_RS_{}",
                        rest.split(':').next().unwrap_or_default()
                    ));
                }
            }
        }
        (fns, consts)
    }

    /// Kernel C: no libc include, the guard, `struct tag` style with the C
    /// names, never a Rust name, and the panic hook marked `__dead2`.
    #[test]
    fn header_is_kernel_c_with_the_c_names() {
        let h = header();
        assert!(
            !h.contains("#include"),
            "the shim includes <sys/types.h> itself"
        );
        assert!(h.contains("#ifndef _CARP_RS_FFI_H_\n#define _CARP_RS_FFI_H_\n"));
        assert!(h.trim_end().ends_with("#endif  /* _CARP_RS_FFI_H_ */"));
        assert!(!h.contains("typedef struct"));
        assert!(!h.contains("CarpRs") && !h.contains("CStrByte") && !h.contains("#define LOG_"));
        assert!(h.contains("\nstruct carp_rs_engine;\n"));
        for s in [
            "tx",
            "event",
            "cmd",
            "ifinfo",
            "setres",
            "nlreq",
            "cand",
            "legacy_out",
        ] {
            assert!(
                h.contains(&format!("\nstruct carp_rs_{s} {{\n")),
                "struct carp_rs_{s}"
            );
        }
        assert!(h.contains("carp_rs_kpanic(const uint8_t *msg, size_t len) __dead2;"));
        assert!(h.contains("char log[124];") && h.contains("char ifname[16];"));
    }

    /// Every exported function and constant of the Rust ABI is declared.
    #[test]
    fn header_declares_every_rust_item() {
        let h = header();
        let (fns, consts) = rust_items();
        assert!(fns.len() > 40 && consts.len() > 30, "{fns:?} {consts:?}");
        for f in fns {
            assert!(h.contains(&format!("{f}(")), "no prototype for {f}");
        }
        for c in consts {
            assert!(h.contains(&format!("#define {c} ")), "no #define for {c}");
        }
        for f in ["carp_rs_kmalloc", "carp_rs_kfree", "carp_rs_kpanic"] {
            assert!(h.contains(&format!("{f}(")), "no prototype for {f}");
        }
    }
}
