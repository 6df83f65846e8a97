//! `strata eval`: a saved model's loss and accuracy on a dataset's test split.

use super::common::{load_images, print_json, standardize};
use clap::Args;
use std::path::PathBuf;
use strata::io::load_model;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model.safetensors written by `strata train` (model.json must be beside it).
    #[arg(long)]
    model_file: PathBuf,
    /// Dataset name or MNIST-format directory; its test split is used.
    #[arg(long)]
    data: String,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let saved = load_model(&a.model_file)?;
    let (_, mut test) = load_images(&a.data)?;
    if let Some(s) = &saved.meta.standardize {
        standardize(&mut test, s)?;
    }
    // Autoencoders are scored on reconstructing their input (no accuracy).
    if strata::pretrain::reconstructs_input(&saved.model) {
        test.targets = strata::Target::Values(test.inputs.clone());
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
