//! `strata train`: fit a model (zoo name or spec file) on a dataset, save it, report.

use super::common::{load_images, print_json, standardize};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::data::normalize::Standardizer;
use strata::data::Augment;
use strata::io::save_model;
use strata::metrics::Metric;
use strata::model::{FitOptions, Verbosity};
use strata::nn::Noise;
use strata::optim;
use strata::pretrain::Plan;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model name (mlp) or a TOML spec file.
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
    /// Augment training images: a comma list of crop:PIXELS, flip, translate:PIXELS, rotate:DEGREES.
    #[arg(long, value_name = "SPEC", value_parser = parse_augment)]
    augment: Option<Augment>,
    /// Unsupervised pretraining epochs per layer for dbn and sae (default: the model's; 0: none).
    #[arg(long)]
    pretrain_epochs: Option<usize>,
    /// Input corruption for autoencoders (denoising) and sae pretraining: mask:P or gaussian:STD.
    #[arg(long, value_name = "SPEC", value_parser = parse_noise)]
    noise: Option<Noise>,
}

fn parse_noise(spec: &str) -> Result<Noise, String> {
    spec.parse().map_err(|e: strata::Error| e.to_string())
}

fn parse_augment(spec: &str) -> Result<Augment, String> {
    spec.parse().map_err(|e: strata::Error| e.to_string())
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    // dbn/sae/autoencoders: pretraining, reconstruction targets, pictures (strata::pretrain).
    let plan = Plan::parse(&a.model)?;
    let reconstruct = plan.as_ref().is_some_and(|p| p.reconstruction());
    match &plan {
        Some(p) => p.check_options(a.pretrain_epochs, a.noise)?,
        None if a.pretrain_epochs.is_some() || a.noise.is_some() => {
            anyhow::bail!("invalid --pretrain-epochs/--noise: only for the models {}", strata::pretrain::NAMES.join(", "))
        }
        None => {}
    }
    let (mut train, mut test) = load_images(&a.data)?;
    let (raw_train, raw_test) = (train.inputs.clone(), test.inputs.clone());
    let classes = train.num_classes().context("the training data has no class labels")?;
    // Preprocessing is fitted on the training set only, then applied to both. Autoencoders
    // reconstruct pixels in [0, 1] and keep them.
    let standardizer = if reconstruct { None } else { Some(Standardizer::fit_global(&train.inputs)?) };
    if let Some(s) = &standardizer {
        standardize(&mut train, s)?;
        standardize(&mut test, s)?;
    } else {
        train.targets = strata::Target::Values(train.inputs.clone());
        test.targets = strata::Target::Values(test.inputs.clone());
    }

    let choice = match &plan {
        Some(p) => p.choose(train.sample_shape(), classes, a.seed, a.noise)?,
        None => strata::zoo::choose(&a.model, train.sample_shape(), classes, a.seed)?,
    };
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
    model.compile_boxed(optimizer, choice.loss, if reconstruct { &[] } else { &[Metric::Accuracy] });
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
    if let Some(f) = a.validation_split {
        opts = opts.validation_split(f);
    }
    let schedule = a.schedule.clone().or(r.schedule.clone());
    if let Some(s) = &schedule {
        opts.schedule = Some(optim::schedule_from_str(s)?);
    }
    if let Some(aug) = &a.augment {
        opts = opts.augment(aug.clone());
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
    let pretrained = match &plan {
        Some(p) => {
            let epochs = a.pretrain_epochs.unwrap_or(p.default_pretrain_epochs());
            let settings = strata::pretrain::PretrainSettings { epochs, seed: a.seed, noise: a.noise };
            let mut say = |line: String| if !a.quiet { println!("{line}") };
            p.pretrain(&mut model, &raw_train, standardizer.as_ref(), settings, &mut say)?
        }
        None => None,
    };
    let history = model.fit(&train, opts)?;
    let eval = model.evaluate(&test, 1000)?;
    let train_seconds = history.train_seconds();
    let images = history.epochs.iter().map(|e| e.images_per_sec * e.seconds).sum::<f64>();
    let ips = images / train_seconds.max(1e-9);

    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(model.model_name()));
    let weights = out.join("model.safetensors");
    save_model(&model, &weights, standardizer, train.class_names.clone())?;
    strata::io::write_atomic(&out.join("history.csv"), history.to_csv().as_bytes())?;
    let acc = eval.accuracy.unwrap_or(f32::NAN);
    let pictures = match &plan {
        Some(p) => p.pictures(&out, &mut model, pretrained.as_ref(), &raw_test, a.seed)?,
        None => Vec::new(),
    };
    if !a.quiet && reconstruct {
        println!("test reconstruction loss {:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}", eval.loss, weights.display());
    } else if !a.quiet {
        println!("test accuracy {acc:.4}, test loss {:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}", eval.loss, weights.display());
    }
    if !a.quiet {
        pictures.iter().for_each(|p| println!("wrote {}", p.display()));
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
            "pretrain_epochs": pretrained.as_ref().map(|p| p.epochs),
            "pretrain_seconds": pretrained.as_ref().map(|p| p.seconds),
            "pictures": pictures,
        }));
    }
    Ok(())
}
