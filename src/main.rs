//! The `strata` command: train, evaluate, predict, summarize and benchmark networks.
//! Each subcommand is one file in `cli/`; they parse flags, call the library and print.

mod cli;

// mimalloc keeps freed pages mapped for reuse; with the system allocator, every large
// activation buffer was faulted in (and zeroed by the kernel) again each step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

/// mimalloc's option id for the purge delay (`mi_option_purge_delay` in mimalloc.h, v2).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Training frees and reallocates the same large activation buffers every step. Never
    // returning freed memory to the OS keeps those pages mapped: otherwise each step
    // page-faults them in again and the kernel zeroes them (measured: ~8,000 faults and
    // up to 8% of LeNet-5 training time; 361 faults with this setting).
    // SAFETY: a plain option setter, called before any threads exist.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Like other command-line tools, end quietly when the reader of stdout goes away
    // (`strata ... | head`) instead of failing on the write.
    // SAFETY: restores the default disposition of one signal before any threads start.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // A panic is a bug; still, the user gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error: {msg}{at} (this is a bug in strata; please report it)");
        // Worker threads may panic together; one line is enough.
        std::process::exit(101);
    }));
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
