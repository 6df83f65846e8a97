//! `strata cv`: k-fold cross-validation of a model (network or baseline) on a CSV/ARFF table:
//! stratified folds and classification figures, or plain folds and regression figures for
//! a numeric target.

use super::output::print_json;
use super::train_flags::{TrainFlags, flags_layer};
use clap::Args;
use std::path::PathBuf;
use strata::data::Dataset;
use strata::data::tabular::TabularSchema;
use strata::data::tabular::read_table;
use strata::distributed::{Communicator, Local, SharedComm};
use strata::experiment::{Learner, Task, cross_validate_regression_with, cross_validate_with};
use strata::model::ConfigLayer;

#[derive(Args, Debug)]
pub struct CvArgs {
    #[arg(long, help = super::model_help())]
    model: String,
    /// A .csv or .arff file.
    #[arg(long)]
    data: PathBuf,
    /// The column to predict (default: the last column, as WEKA's class attribute).
    #[arg(long)]
    target: Option<String>,
    /// Number of folds (stratified by class; plain folds for regression).
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// classification or regression (default: regression when the target is numeric and
    /// not class-like, i.e. not whole numbers below 10^6).
    #[arg(long, value_parser = super::task::parse)]
    task: Option<Task>,
    /// Seed for the folds, initialization and shuffling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Feature scaling fitted on each fold's training rows: standard, minmax, none.
    #[arg(long, default_value = "standard")]
    scaling: String,
    /// Training settings of networks (default: the recipe, adapted to small data).
    #[command(flatten)]
    settings: TrainFlags,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Share the folds out over the processes of an MPI job (`mpirun -n N strata cv ...
    /// --distributed`; fold i on rank i mod N, each computed as in one process, so the
    /// figures are those of a plain run). Needs strata built with `--features strata-cli/mpi`.
    #[arg(long)]
    distributed: bool,
    /// With --distributed: seconds a rank waits for the others before it stops the job (a
    /// rank that finishes its folds early waits for the slowest one's, hence a day).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400.0, value_parser = super::train::comm_timeout)]
    comm_timeout: f64,
}

pub fn run(a: CvArgs) -> anyhow::Result<()> {
    match super::distributed::start(a.distributed, a.comm_timeout)? {
        None => run_on(&a, Local::shared()),
        Some(comm) => super::distributed::run_ranks(comm, |c| run_on(&a, c)),
    }
}

/// The cross-validation on this rank; rank 0 alone prints.
fn run_on(a: &CvArgs, comm: SharedComm) -> anyhow::Result<()> {
    let table = read_table(&a.data)?;
    let schema = table.schema_for(a.target.as_deref(), Task::regression_flag(a.task))?;
    let data = schema.dataset(&table)?;
    let classes_count = schema.target.classes.as_ref().map(Vec::len);
    let auto_note = super::task::auto_note(a.task, &schema.target.name, classes_count, data.len());
    let flags = [flags_layer(&a.settings)?];
    let Some(classes) = schema.target.classes.clone() else {
        return run_regression(a, &data, &schema, &flags, auto_note, comm.as_ref());
    };
    let input = data.sample_shape().to_vec();
    let mut notes = Vec::new();
    let report = cross_validate_with(&data, a.folds, a.seed, &a.scaling, comm.as_ref(), |fold, train| {
        let l = Learner::new(&a.model, &input, classes.len(), a.seed.wrapping_add(fold as u64), &flags, Some(train.len()))?;
        notes = l.notes().to_vec();
        Ok(l)
    })?;
    if comm.rank() != 0 {
        return Ok(());
    }
    for n in auto_note.iter().chain(&notes) {
        eprintln!("note: {n}");
    }
    println!(
        "{}-fold cross-validation of {} on {} ({} samples, {} features, target '{}' with {} classes)",
        a.folds,
        report.model,
        a.data.display(),
        data.len(),
        schema.width(),
        schema.target.name,
        classes.len()
    );
    for f in &report.folds {
        let auc = f.auc.map(|v| format!(", auc {v:.4}")).unwrap_or_default();
        println!(
            "fold {:>2}: accuracy {:.4}{auc}, log-loss {:.4} ({} train / {} test)",
            f.fold, f.accuracy, f.log_loss, f.train_samples, f.test_samples
        );
    }
    let auc = match (report.mean_auc, report.std_auc) {
        (Some(m), Some(s)) => format!(", auc {m:.4} ± {s:.4}"),
        _ => String::new(),
    };
    println!(
        "mean: accuracy {:.4} ± {:.4}{auc}, log-loss {:.4}",
        report.mean_accuracy, report.std_accuracy, report.mean_log_loss
    );
    println!("\nconfusion matrix over all folds (rows: true class, columns: predicted)");
    print!("{}", report.confusion.to_table(Some(&classes)));
    println!();
    print!("{}", report.confusion.report(Some(&classes)).to_table());
    if a.json {
        print_json(&serde_json::json!({
            "model": report.model,
            "data": a.data,
            "target": schema.target.name,
            "classes": classes,
            "task": Task::Classification,
            "folds": a.folds,
            "seed": a.seed,
            "samples": data.len(),
            "mean_accuracy": report.mean_accuracy,
            "std_accuracy": report.std_accuracy,
            "mean_auc": report.mean_auc,
            "std_auc": report.std_auc,
            "auc_kind": if classes.len() == 2 { "binary" } else { "one_vs_rest_macro" },
            "mean_log_loss": report.mean_log_loss,
            "fold_results": report.folds,
            "confusion": report.confusion.counts,
        }));
    }
    Ok(())
}

/// Cross-validation of a numeric target: MSE, RMSE, MAE and R² per fold and their mean ±
/// standard deviation (JSON: `mean_mse`, `std_mse`, ... `mean_r2`, `std_r2`, per-fold rows
/// in `fold_results`).
fn run_regression(
    a: &CvArgs,
    data: &Dataset,
    schema: &TabularSchema,
    flags: &[ConfigLayer],
    auto_note: Option<String>,
    comm: &dyn Communicator,
) -> anyhow::Result<()> {
    let input = data.sample_shape().to_vec();
    let mut notes = Vec::new();
    let report = cross_validate_regression_with(data, a.folds, a.seed, &a.scaling, comm, |fold, train| {
        let l = Learner::regressor(&a.model, &input, a.seed.wrapping_add(fold as u64), flags, Some(train.len()))?;
        notes = l.notes().to_vec();
        Ok(l)
    })?;
    if comm.rank() != 0 {
        return Ok(());
    }
    for n in auto_note.iter().chain(&notes) {
        eprintln!("note: {n}");
    }
    println!(
        "{}-fold cross-validation of {} on {} ({} samples, {} features, numeric target '{}': regression)",
        a.folds,
        report.model,
        a.data.display(),
        data.len(),
        schema.width(),
        schema.target.name
    );
    for f in &report.folds {
        println!(
            "fold {:>2}: {} ({} train / {} test)",
            f.fold,
            super::task::figures_line(&f.figures),
            f.train_samples,
            f.test_samples
        );
    }
    let (m, s) = (&report.mean, &report.std);
    println!(
        "mean: R² {:.4} ± {:.4}, RMSE {:.4} ± {:.4}, MAE {:.4} ± {:.4}, MSE {:.4} ± {:.4}",
        m.r2, s.r2, m.rmse, s.rmse, m.mae, s.mae, m.mse, s.mse
    );
    if a.json {
        print_json(&serde_json::json!({
            "model": report.model,
            "data": a.data,
            "target": schema.target.name,
            "task": Task::Regression,
            "folds": a.folds,
            "seed": a.seed,
            "samples": data.len(),
            "mean_mse": m.mse,
            "std_mse": s.mse,
            "mean_rmse": m.rmse,
            "std_rmse": s.rmse,
            "mean_mae": m.mae,
            "std_mae": s.mae,
            "mean_r2": m.r2,
            "std_r2": s.r2,
            "fold_results": report.folds,
        }));
    }
    Ok(())
}
