//! The `strata` command: train, evaluate, predict, summarize and benchmark networks.
//! Each subcommand is one file; they parse flags, call the library and print.

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
    // page-faults them in again and the kernel zeroes them (BENCHMARKS.md has the cost).
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
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

mod bench;
mod cv;
mod dbn_sample;
mod distributed;
mod eval;
mod export;
mod filters;
mod inspect;
mod lab;
mod normalize;
mod output;
mod predict;
mod report;
mod summary;
mod task;
mod textgen;
mod train;
mod train_flags;

use clap::{Parser, Subcommand};
use std::process::exit;

/// strata: deep neural networks, fast on a CPU.
#[derive(Parser, Debug)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    /// Worker threads for the numeric kernels (default: RAYON_NUM_THREADS if set, else all
    /// cores shared among the MPI processes on this machine).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on a dataset and save it.
    Train(Box<train::TrainArgs>),
    /// Evaluate a saved model on a dataset's test split.
    Eval(eval::EvalArgs),
    /// Predict the classes of images with a saved model.
    Predict(predict::PredictArgs),
    /// Print a model's layers, output shapes, parameters and multiply-accumulates.
    Summary(summary::SummaryArgs),
    /// Measure training and inference throughput on a benchmark workload.
    Bench(bench::BenchArgs),
    /// Cross-validate a model (network or baseline) on a CSV/ARFF table.
    Cv(cv::CvArgs),
    /// Draw a layer's learned filters (and an input's feature maps) as PNG grids.
    Filters(filters::FiltersArgs),
    /// Draw what a trained classifier does on its test data: filters and feature maps of any
    /// layer, misclassified images, saliency maps, a 2-D embedding, per-class figures.
    Inspect(inspect::InspectArgs),
    /// Write RUN_DIR/report.html for a `train --out` run: one self-contained page with the
    /// model, curves, metrics and every picture of `inspect`.
    Report(report::ReportArgs),
    /// Train a recurrent language model on text, and generate from it.
    Textgen(textgen::TextgenArgs),
    /// Write a saved model as an ONNX file (preprocessing included; logits out).
    Export(export::ExportArgs),
    /// Run one of the lectures' experiments end to end: figures (JSON), a chart (PNG), a verdict.
    Lab(lab::LabArgs),
    /// Draw class-conditional samples of a generative DBN (train --model dbn --finetune up-down) as a PNG.
    DbnSample(dbn_sample::DbnSampleArgs),
}

pub fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                exit(0);
            }
            // One line naming the flag, instead of clap's multi-line usage block.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("error: {first} (see 'strata --help')");
            exit(2);
        }
    };
    let threads = match cli.threads {
        Some(0) => anyhow::bail!("invalid --threads: must be at least 1"),
        Some(n) if n > 1024 => anyhow::bail!("invalid --threads: {n} is more than 1024"),
        Some(n) => n,
        None => default_threads(),
    };
    strata::set_threads(threads)?;
    // The command runs on a worker of the pool rather than on the main thread: each
    // parallel kernel then starts on the calling worker and the other workers steal from
    // it, instead of the main thread handing every kernel to the pool and sleeping until
    // it is done (a wake-up per kernel, thousands per second).
    rayon::scope(|_| match cli.command {
        Command::Train(a) => train::run(*a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Summary(a) => summary::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Cv(a) => cv::run(a),
        Command::Filters(a) => filters::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Report(a) => report::run(a),
        Command::Textgen(a) => textgen::run(a),
        Command::Export(a) => export::run(a),
        Command::Lab(a) => lab::run(a),
        Command::DbnSample(a) => dbn_sample::run(a),
    })
}

/// An error and its causes on one line, each cause once: a cause whose text the message
/// already holds (an I/O error that a strata error quotes) is not repeated.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
    }
    line.replace('\n', " ")
}

/// The `--model` help, from the zoo's and the baselines' registries (so it cannot drift).
fn model_help() -> String {
    format!(
        "Model: a zoo name ({}), a baseline ({}), a TOML spec file, or an .onnx file to fine-tune",
        strata::zoo::NAMES.join(", "),
        strata::experiment::BASELINE_NAMES.join(", ")
    )
}

/// The `bench --workload` help, from the zoo's list of workloads.
fn workload_help() -> String {
    format!("Workload: {}", strata::zoo::workload_names())
}

/// RAYON_NUM_THREADS when set; otherwise the cores, divided among the processes `mpirun`
/// started on this machine (so `mpirun -n 2` on 2 cores runs 1 thread per process).
fn default_threads() -> usize {
    if let Some(n) = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0) {
        return n;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores / strata::distributed::local_size().unwrap_or(1).max(1)).max(1)
}
