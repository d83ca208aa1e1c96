//! Generates `bindings.rs` from the FreeBSD kernel headers.
//!
//! * On a FreeBSD host: `$SYSDIR` (default /usr/src/sys) and /usr/include,
//!   with `__FreeBSD_version` from the headers themselves.
//! * Elsewhere: the FreeBSD headers shipped in the pinned `ziglang` wheel
//!   (0.17.0: 15.0, 0.15.2: 14.3; installed by scripts/setup.d/20-kmod.sh)
//!   plus Debian's libck-dev. zig drops the `__FreeBSD_version` define from
//!   its headers, so it is set to the oldest kernel targeted, as for the
//!   module itself.
//!
//! The option headers are the hand-written ones of the Linux module build
//! (kmod/build/include), so struct layouts match a GENERIC kernel (VIMAGE).
//!
//! The module's own C ABI header, `carp_rs_ffi.h`, is generated here from
//! `kmod/src/ffi` by tools/ffi-header (cbindgen, as the module build does)
//! into `OUT_DIR`, so bindgen reads what the C shim compiles.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let top = manifest.parent().expect("workspace root").to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let fbsd14 = env::var_os("CARGO_FEATURE_FREEBSD14").is_some();
    println!("cargo:rerun-if-changed=wrapper.h");
    let kmod = top.join("kmod");
    for f in carp_ffi_header::inputs(&kmod).expect("list the C ABI sources") {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    carp_ffi_header::write_if_changed(&kmod, &out.join("carp_rs_ffi.h"))
        .expect("generate carp_rs_ffi.h");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SYSDIR");
    println!("cargo:rerun-if-env-changed=FREEBSD_KPI_ZIG_DIR");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");

    let opt = top.join("kmod/build/include");
    let mut args: Vec<String> = vec![
        "-nostdinc".into(),
        "-D_KERNEL".into(),
        "-DKLD_MODULE".into(),
        "-ffreestanding".into(),
        "-fno-common".into(),
        "-mno-red-zone".into(),
        "-mno-mmx".into(),
        "-mno-sse".into(),
        "-msoft-float".into(),
        "-D__printf__=__freebsd_kprintf__".into(),
        "-std=gnu17".into(),
        format!("-I{}", opt.display()),
        format!("-I{}", out.display()),
        "-include".into(),
        "opt_global.h".into(),
    ];
    if cfg!(target_os = "freebsd") {
        let sysdir = env::var("SYSDIR").unwrap_or_else(|_| "/usr/src/sys".into());
        args.push(format!("-I{sysdir}"));
        args.push(format!("-I{sysdir}/contrib/ck/include"));
        args.push("-I/usr/include".into());
    } else {
        let (zig, triple, version) = if fbsd14 {
            ("0.15.2", "x86_64-unknown-freebsd14.3", "1403000")
        } else {
            ("0.17.0", "x86_64-unknown-freebsd15.0", "1500068")
        };
        let zigdir = env::var("FREEBSD_KPI_ZIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| top.join(format!(".venv/zig-{zig}/ziglang")));
        let inc = zigdir.join("lib/libc/include");
        if !inc.join("generic-freebsd/sys/param.h").exists() {
            panic!(
                "FreeBSD headers not found under {}: run scripts/setup.sh",
                inc.display()
            );
        }
        let ck = out.join("ck-include");
        copy_ck_headers(&ck);
        args.push(format!("--target={triple}"));
        args.push(format!("-D__FreeBSD_version={version}"));
        args.push(format!(
            "-isystem{}",
            inc.join("x86_64-freebsd-none").display()
        ));
        args.push(format!("-isystem{}", inc.join("generic-freebsd").display()));
        args.push(format!("-isystem{}", ck.display()));
    }
    if env::var_os("LIBCLANG_PATH").is_none() {
        // Debian 12: libclang1-16 (scripts/setup.d/20-kmod.sh). Elsewhere
        // (Debian 13: llvm-19) clang-sys finds the newest /usr/lib/llvm-*.
        let debian = Path::new("/usr/lib/llvm-16/lib");
        if debian.exists() {
            // SAFETY-free in edition 2021; the build script is single-threaded here.
            env::set_var("LIBCLANG_PATH", debian);
        }
    }

    let bindings = bindgen::Builder::default()
        .header(manifest.join("wrapper.h").display().to_string())
        .clang_args(&args)
        .use_core()
        .ctypes_prefix("core::ffi")
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .layout_tests(true)
        .derive_default(true)
        .allowlist_type(
            "carpstats|carp_header|carpreq|moduledata|mod_metadata|mod_depend|mod_version\
             |carp_rs_.*",
        )
        .allowlist_function(
            "ipproto_(un)?register|ip6proto_(un)?register|malloc|malloc_aligned|free|panic|printf\
             |m_freem|m_copydata|if_getindex|if_name|sbinuptime|binuptime|epoch_wait_preempt\
             |_callout_init_lock|_callout_stop_safe|callout_reset_sbt_on\
             |__mtx_lock_flags|__mtx_unlock_flags|_mtx_init|_mtx_destroy",
        )
        .allowlist_var(
            "IPPROTO_CARP|CARP_.*|M_NOWAIT|M_WAITOK|M_ZERO|MTX_DEF|IPPROTO_DONE\
             |C_ABSOLUTE|__FreeBSD_version|MDT_.*|MOD_.*",
        )
        .opaque_type("ifnet|mbuf|mtx|callout|malloc_type|epoch")
        .generate()
        .expect("bindgen failed on the FreeBSD headers");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}

/// Debian installs the ConcurrencyKit headers straight into /usr/include;
/// copy them apart so no Linux header can be found by accident.
fn copy_ck_headers(dst: &Path) {
    let src = Path::new("/usr/include");
    let Ok(entries) = fs::read_dir(src) else {
        return;
    };
    fs::create_dir_all(dst).expect("create ck-include");
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("ck_") && name.ends_with(".h") {
            fs::copy(e.path(), dst.join(&*name)).expect("copy ck header");
        }
    }
    for sub in ["gcc", "spinlock"] {
        copy_tree(&src.join(sub), &dst.join(sub));
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    let Ok(entries) = fs::read_dir(src) else {
        return;
    };
    fs::create_dir_all(dst).expect("create dir");
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &dst.join(e.file_name()));
        } else if p.extension().is_some_and(|x| x == "h") {
            fs::copy(&p, dst.join(e.file_name())).expect("copy header");
        }
    }
}
