//! `strata train` for the models that pretrain or reconstruct (dbn, sae, autoencoder,
//! conv-autoencoder): unsupervised pretraining before `fit`, reconstruction targets, and
//! pictures of filters, samples and reconstructions.

use super::common::{load_images, print_json, standardize};
use super::train::TrainArgs;
use anyhow::Context;
use std::path::PathBuf;
use strata::data::normalize::Standardizer;
use strata::io::save_model;
use strata::metrics::Metric;
use strata::model::{FitOptions, Verbosity};
use strata::optim;
use strata::pretrain::Plan;

pub fn run(a: TrainArgs, plan: Plan) -> anyhow::Result<()> {
    // Flags that this model cannot use are refused before any data is read.
    plan.check_options(a.pretrain_epochs, a.noise)?;
    let plan = Some(plan);
    let reconstruct = plan.as_ref().is_some_and(|p| p.reconstruction());
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
            let mut say = |line: String| {
                if !a.quiet {
                    println!("{line}")
                }
            };
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
        println!(
            "test accuracy {acc:.4}, test loss {:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}",
            eval.loss,
            weights.display()
        );
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
