//! carpvm: PID 1 of a vmtest FreeBSD VM. Reads `carpvm.scenario` from the
//! loader environment, runs it, prints `CARPVM ...` lines on the console
//! and powers the VM off.
#![cfg_attr(target_os = "none", no_std, no_main)]
// Test driver, not kernel code: a failed bounds check lands in the panic
// handler, which reports a FAIL line and powers off; fixed-layout structs
// read clearer with plain indexing.
#![allow(clippy::indexing_slicing)]

#[cfg(target_os = "none")]
mod bench;
#[cfg(target_os = "none")]
mod diag;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod report;
#[cfg(target_os = "none")]
mod scenarios;
#[cfg(target_os = "none")]
mod stress;
#[cfg(target_os = "none")]
mod sys;
#[cfg(target_os = "none")]
mod vnet;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "carpvm runs as PID 1 inside a FreeBSD VM: build it with --target x86_64-unknown-none"
    );
}

// The FreeBSD ABI note (`.note.tag`, type NT_FREEBSD_ABI_TAG, desc
// `__FreeBSD_version`) is how the kernel's ELF image activator picks the
// FreeBSD brand for a static binary; OSABI 9 is patched in after linking.
#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".pushsection .note.tag,\"a\",@note",
    ".p2align 2",
    ".long 8",
    ".long 4",
    ".long 1",
    ".asciz \"FreeBSD\"",
    ".long 1500068",
    ".popsection",
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

#[cfg(target_os = "none")]
extern "C" fn entry(_sp: *const usize) -> ! {
    use scenarios::Env;
    report::open_console();
    let scen = Env::get("scenario");
    let vm = Env::get("vm");
    report::emit(format_args!(
        "BEGIN scenario={} vm={}",
        scen.str(),
        vm.str()
    ));
    match scen.str() {
        "smoke" => scenarios::smoke(),
        "loadunload" => scenarios::loadunload(false),
        "loadunload_vhids" => scenarios::loadunload(true),
        "refused_load" => scenarios::refused_load(),
        "elect_v4" => scenarios::elect("peraddr", 4),
        "elect_v6" => scenarios::elect("peraddr", 6),
        "legacy_carp0" => scenarios::elect("carp0", 4),
        "negative_demotion" => scenarios::elect("peraddr", 4),
        "badauth" => scenarios::badauth(),
        "vnet_isolation" => vnet::vnet_isolation(),
        "vnet_cycles" => vnet::vnet_cycles(),
        "departure" => vnet::departure(),
        "stress_unload" => stress::stress_unload(),
        "failover_bench" => bench::failover_bench(),
        "diag_ledger" => diag::diag_ledger(),
        "diag_splitbrain" => diag::diag_splitbrain(),
        "diag_replay" => diag::diag_replay(),
        "diag_garp" => diag::diag_garp(),
        other => {
            report::check(
                "scenario.known",
                false,
                format_args!("unknown scenario {other:?}"),
            );
        }
    }
    finish()
}

#[cfg(target_os = "none")]
fn finish() -> ! {
    let (n, failed) = report::totals();
    report::emit(format_args!("END checks={} failed={}", n, failed));
    const RB_NOSYNC: usize = 0x4;
    const RB_HALT: usize = 0x8;
    const RB_POWEROFF: usize = 0x4000;
    let _ = sys::reboot(RB_POWEROFF | RB_HALT | RB_NOSYNC);
    sys::exit(0)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    report::emit(format_args!("CHECK driver.panic FAIL {}", info.message()));
    // A forked helper (a jail's worker, a stress thread) must not power
    // the VM off: it reports and exits; PID 1 sees the status.
    if sys::getpid() != 1 {
        sys::exit(101)
    }
    finish()
}
