//! `strata train`: fit a model (zoo name or spec file) on a dataset, save it, report.

use super::common::{load_images, print_json, standardize};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::data::normalize::Standardizer;
use strata::io::save_model;
use strata::metrics::Metric;
use strata::model::{FitOptions, Verbosity};
use strata::optim;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model name (mlp, rnn, lstm, gru) or a TOML spec file.
    #[arg(long)]
    model: String,
    /// Dataset name (fashion-mnist, mnist) or an MNIST-format directory.
    #[arg(long)]
    data: String,
    /// Epochs (default: the model's recipe).
    #[arg(long)]
    epochs: Option<usize>,
    /// Mini-batch size (default: the model's recipe, usually 128).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Optimizer: sgd, nesterov, adagrad, rmsprop, adam, adamw.
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f32>,
    /// Momentum (SGD, RMSprop).
    #[arg(long)]
    momentum: Option<f32>,
    /// Weight decay (L2; decoupled for adamw).
    #[arg(long)]
    weight_decay: Option<f32>,
    /// Learning-rate schedule: step:EPOCHS:GAMMA, plateau:FACTOR:PATIENCE, exp:GAMMA.
    #[arg(long)]
    schedule: Option<String>,
    /// Hold out this fraction of the training set to validate on after each epoch.
    #[arg(long)]
    validation_split: Option<f32>,
    /// Clip the gradients to this global L2 norm before each update.
    #[arg(long)]
    clip_norm: Option<f32>,
    /// Clip every gradient element to [-V, V] before each update.
    #[arg(long)]
    clip_value: Option<f32>,
    /// Seed for initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory for model.safetensors, model.json and history.csv.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// No per-epoch output.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let (mut train, mut test) = load_images(&a.data)?;
    // Preprocessing is fitted on the training set only, then applied to both.
    let standardizer = Standardizer::fit_global(&train.inputs)?;
    standardize(&mut train, &standardizer)?;
    standardize(&mut test, &standardizer)?;
    let classes = train.num_classes().context("the training data has no class labels")?;

    let choice = strata::zoo::choose(&a.model, train.sample_shape(), classes, a.seed)?;
    let mut model = choice.model;
    for n in &choice.notes {
        eprintln!("note: {n}");
    }
    let r = choice.recipe;
    let optimizer_name = a.optimizer.clone().unwrap_or(r.optimizer.clone());
    let optimizer = optim::by_name(
        &optimizer_name,
        a.lr.unwrap_or(r.lr),
        a.momentum.unwrap_or(r.momentum),
        a.weight_decay.unwrap_or(r.weight_decay),
    )?;
    model.compile_boxed(optimizer, choice.loss, &[Metric::Accuracy]);
    let epochs = a.epochs.unwrap_or(r.epochs);
    let batch = a.batch_size.unwrap_or(r.batch_size);
    if epochs == 0 {
        anyhow::bail!("invalid --epochs: must be at least 1");
    }
    if batch == 0 {
        anyhow::bail!("invalid --batch-size: must be at least 1");
    }
    let mut opts = FitOptions::epochs(epochs).batch_size(batch);
    if a.quiet {
        opts = opts.verbosity(Verbosity::Silent);
    }
    for (flag, v) in [("--clip-norm", a.clip_norm), ("--clip-value", a.clip_value)] {
        if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
            anyhow::bail!("invalid {flag}: must be a positive number");
        }
    }
    opts.clip_norm = a.clip_norm;
    opts.clip_value = a.clip_value;
    if let Some(f) = a.validation_split {
        opts = opts.validation_split(f);
    }
    let schedule = a.schedule.clone().or(r.schedule.clone());
    if let Some(s) = &schedule {
        opts.schedule = Some(optim::schedule_from_str(s)?);
    }
    if !a.quiet {
        println!(
            "training {} ({} parameters) on {} ({} train / {} test), {} epochs, batch {}, {} lr {}",
            model.model_name(),
            model.num_params(),
            a.data,
            train.len(),
            test.len(),
            epochs,
            batch,
            optimizer_name,
            a.lr.unwrap_or(r.lr)
        );
    }
    let history = model.fit(&train, opts)?;
    let eval = model.evaluate(&test, 1000)?;
    let train_seconds = history.train_seconds();
    let images = history.epochs.iter().map(|e| e.images_per_sec * e.seconds).sum::<f64>();
    let ips = images / train_seconds.max(1e-9);

    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(model.model_name()));
    let weights = out.join("model.safetensors");
    save_model(&model, &weights, Some(standardizer), train.class_names.clone())?;
    strata::io::write_atomic(&out.join("history.csv"), history.to_csv().as_bytes())?;
    let acc = eval.accuracy.unwrap_or(f32::NAN);
    if !a.quiet {
        println!("test accuracy {acc:.4}, test loss {:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}", eval.loss, weights.display());
    }
    if a.json {
        print_json(&serde_json::json!({
            "model": model.model_name(),
            "params": model.num_params(),
            "epochs": epochs,
            "batch_size": batch,
            "optimizer": optimizer_name,
            "seed": a.seed,
            "test_accuracy": acc,
            "test_loss": eval.loss,
            "train_seconds": train_seconds,
            "train_images_per_sec": ips,
            "history": history.epochs,
            "model_file": weights,
        }));
    }
    Ok(())
}
