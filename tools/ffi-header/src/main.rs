//! `carp-ffi-header OUT.h [KMOD_DIR]`: writes `carp_rs_ffi.h`, the C
//! header of carp_rs's C ABI, generated from `KMOD_DIR/src/ffi` (default:
//! the workspace's `kmod`). The file is left untouched when its text is
//! already current.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: carp-ffi-header OUT.h [KMOD_DIR]");
        return ExitCode::from(2);
    };
    let kmod = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kmod"));
    match carp_ffi_header::write_if_changed(&kmod, &out) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carp-ffi-header: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
