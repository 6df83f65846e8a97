//! The `strata` command: train, evaluate, predict, summarize and benchmark networks.
//! Each subcommand is one file in `cli/`; they parse flags, call the library and print.

mod cli;

// mimalloc keeps freed pages mapped for reuse; with the system allocator, every large
// activation buffer was faulted in (and zeroed by the kernel) again each step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
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
