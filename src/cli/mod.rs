//! Command-line parsing and dispatch. Subcommands live one per file.

mod bench;
mod common;
mod cv;
mod data;
mod distributed;
mod eval;
mod filters;
mod predict;
mod summary;
mod textgen;
mod train;
mod train_plan;

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
    Train(train::TrainArgs),
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
    /// Draw the first layer's learned filters (and an input's feature maps) as PNG grids.
    Filters(filters::FiltersArgs),
    /// Train a recurrent language model on text, and generate from it.
    Textgen(textgen::TextgenArgs),
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
        Some(n) => n,
        None => default_threads(),
    };
    strata::set_threads(threads)?;
    // The command runs on a worker of the pool rather than on the main thread: each
    // parallel kernel then starts on the calling worker and the other workers steal from
    // it, instead of the main thread handing every kernel to the pool and sleeping until
    // it is done (a wake-up per kernel, thousands per second).
    rayon::scope(|_| match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Summary(a) => summary::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Cv(a) => cv::run(a),
        Command::Filters(a) => filters::run(a),
        Command::Textgen(a) => textgen::run(a),
    })
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
