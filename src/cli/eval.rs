//! `strata eval`: a saved model's loss and accuracy (top-1 and top-5) on a dataset's test
//! split; several models are evaluated as an ensemble averaging their class probabilities.

use super::common::{load_images, print_json, standardize};
use clap::Args;
use std::path::PathBuf;
use strata::io::load_model;
use strata::loss::Loss;
use strata::model::Ensemble;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model.safetensors written by `strata train` (model.json must be beside it).
    /// Repeat the flag, or give a comma list, to evaluate an ensemble (mean of the models'
    /// class probabilities).
    #[arg(long, required = true, value_delimiter = ',')]
    model_file: Vec<PathBuf>,
    /// Dataset name or MNIST-format directory; its test split is used.
    #[arg(long)]
    data: String,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let mut saved: Vec<_> = a.model_file.iter().map(|p| load_model(p)).collect::<Result<_, _>>()?;
    if saved.len() == 1 && saved[0].meta.loss != Loss::SoftmaxCrossEntropy {
        return run_single_regression(saved.remove(0), &a);
    }
    let mut ensemble = Ensemble::default();
    for s in saved {
        ensemble.push(s.meta.name.clone(), s.model, s.meta.standardize.clone());
    }
    let (_, test) = load_images(&a.data)?;
    let start = std::time::Instant::now();
    let (eval, members) = ensemble.evaluate_members(&test)?;
    let ips = eval.samples as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let names: Vec<&str> = ensemble.members.iter().map(|m| m.name.as_str()).collect();
    let label = if names.len() == 1 { names[0].to_string() } else { format!("ensemble of {} ({})", names.len(), names.join(" + ")) };
    if names.len() > 1 {
        for (m, e) in names.iter().zip(&members) {
            println!("  {m}: test accuracy {:.4}, top-5 {:.4}, test loss {:.4}", e.accuracy, e.top5_accuracy, e.loss);
        }
    }
    println!("{label}: test accuracy {:.4}, test loss {:.4} on {} samples ({ips:.0} img/s)", eval.accuracy, eval.loss, eval.samples);
    println!("  top-1 error {:.4}, top-5 error {:.4}", eval.top1_error(), eval.top5_error());
    if a.json {
        let mut v = serde_json::json!({
            "model": if names.len() == 1 { names[0].to_string() } else { "ensemble".to_string() },
            "params": ensemble.num_params(),
            "epochs": serde_json::Value::Null,
            "test_accuracy": eval.accuracy,
            "test_loss": eval.loss,
            "samples": eval.samples,
            "infer_images_per_sec": ips,
            "train_seconds": serde_json::Value::Null,
            "train_images_per_sec": serde_json::Value::Null,
            "top1_error": eval.top1_error(),
            "top5_accuracy": eval.top5_accuracy,
            "top5_error": eval.top5_error(),
        });
        if names.len() > 1 {
            v["models"] = serde_json::json!(names);
            v["members"] = serde_json::json!(
                names
                    .iter()
                    .zip(&members)
                    .map(|(n, e)| serde_json::json!({"model": n, "test_accuracy": e.accuracy, "top5_accuracy": e.top5_accuracy, "test_loss": e.loss}))
                    .collect::<Vec<_>>()
            );
        }
        print_json(&v);
    }
    Ok(())
}

/// One model trained with another loss (MSE, binary cross-entropy): its own loss and
/// accuracy, as before ensembles existed.
fn run_single_regression(saved: strata::io::SavedModel, a: &EvalArgs) -> anyhow::Result<()> {
    let (_, mut test) = load_images(&a.data)?;
    if let Some(s) = &saved.meta.standardize {
        standardize(&mut test, s)?;
    }
    let start = std::time::Instant::now();
    let eval = saved.model.evaluate(&test, 1000)?;
    let secs = start.elapsed().as_secs_f64();
    let acc = eval.accuracy.unwrap_or(f32::NAN);
    println!(
        "{}: test accuracy {acc:.4}, test loss {:.4} on {} samples ({:.0} img/s)",
        saved.meta.name,
        eval.loss,
        eval.samples,
        eval.samples as f64 / secs.max(1e-9)
    );
    if a.json {
        print_json(&serde_json::json!({
            "model": saved.meta.name,
            "params": saved.model.num_params(),
            "epochs": serde_json::Value::Null,
            "test_accuracy": acc,
            "test_loss": eval.loss,
            "samples": eval.samples,
            "infer_images_per_sec": eval.samples as f64 / secs.max(1e-9),
            "train_seconds": serde_json::Value::Null,
            "train_images_per_sec": serde_json::Value::Null,
        }));
    }
    Ok(())
}
