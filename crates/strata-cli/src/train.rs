//! `strata train`: fit a model (zoo name or spec file) on a dataset, save it, report.

use super::common::print_json;
use super::data::load_for_training;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::data::Augment;
use strata::distributed::{Communicator, Fingerprint, SharedComm, agree};
use strata::experiment::{Learner, SaveExtras, TrainSettings, save_learner};
use strata::metrics::{accuracy, log_loss, predicted_classes};
use strata::model::{EarlyStopping, Monitor, Verbosity};

#[derive(Args, Clone, Debug)]
pub struct TrainArgs {
    /// Model name (mlp; baselines knn, knn:K, perceptron, logreg) or a TOML spec file.
    /// Model name (mlp, rnn, lstm, gru) or a TOML spec file.
    #[arg(long)]
    pub(super) model: String,
    /// Dataset name (fashion-mnist, mnist), an MNIST-format directory, or a .csv/.arff table.
    #[arg(long)]
    pub(super) data: String,
    /// Table column to predict (default: the last column).
    #[arg(long)]
    pub(super) target: Option<String>,
    /// Fraction of a table's rows held out as the test set (stratified, seeded by --seed).
    #[arg(long, default_value_t = 0.2)]
    pub(super) test_split: f32,
    /// Per-feature scaling of table columns, fitted on the training rows: standard, minmax, none.
    #[arg(long, default_value = "standard")]
    pub(super) scaling: String,
    /// Epochs (default: the model's recipe).
    #[arg(long)]
    pub(super) epochs: Option<usize>,
    /// Mini-batch size (default: the model's recipe, usually 128).
    #[arg(long)]
    pub(super) batch_size: Option<usize>,
    /// Optimizer: sgd, nesterov, adagrad, rmsprop, adam, adamw.
    #[arg(long)]
    pub(super) optimizer: Option<String>,
    /// Learning rate.
    #[arg(long)]
    pub(super) lr: Option<f32>,
    /// Momentum (SGD, RMSprop).
    #[arg(long)]
    pub(super) momentum: Option<f32>,
    /// Weight decay (L2; decoupled for adamw).
    #[arg(long)]
    pub(super) weight_decay: Option<f32>,
    /// Learning-rate schedule: step:EPOCHS:GAMMA, plateau:FACTOR:PATIENCE, exp:GAMMA.
    #[arg(long)]
    pub(super) schedule: Option<String>,
    /// Hold out this fraction of the training set to validate on after each epoch.
    #[arg(long)]
    pub(super) validation_split: Option<f32>,
    /// Stop when the monitored figure has not improved for this many epochs, and keep the
    /// best epoch's weights (validates on --validation-split, 0.1 unless given).
    #[arg(long, value_name = "PATIENCE")]
    pub(super) early_stopping: Option<usize>,
    /// What early stopping watches: val_loss, val_accuracy, loss, accuracy.
    #[arg(long, default_value = "val_loss")]
    pub(super) monitor: String,
    /// Continue an interrupted run from the checkpoint in --out (same flags and seed).
    #[arg(long)]
    pub(super) resume: bool,
    /// Clip the gradients to this global L2 norm before each update.
    #[arg(long)]
    pub(super) clip_norm: Option<f32>,
    /// Clip every gradient element to [-V, V] before each update.
    #[arg(long)]
    pub(super) clip_value: Option<f32>,
    /// Seed for initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Output directory for model.safetensors, model.json, history.csv, curves.png and the
    /// per-epoch checkpoint.safetensors.
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    pub(super) json: bool,
    /// No per-epoch output.
    #[arg(long)]
    pub(super) quiet: bool,
    /// Augment training images: a comma list of crop:PIXELS, flip, translate:PIXELS, rotate:DEGREES.
    #[arg(long, value_name = "SPEC", value_parser = parse_augment)]
    pub(super) augment: Option<Augment>,
    /// Unsupervised pretraining epochs per layer for dbn and sae (default: the model's; 0: none).
    #[arg(long)]
    pub(super) pretrain_epochs: Option<usize>,
    /// End every epoch after this many steps (quick runs, throughput measurements).
    #[arg(long, value_name = "N")]
    pub(super) steps_per_epoch: Option<usize>,
    /// Train data-parallel over the processes of an MPI job: `mpirun -n N strata train ...
    /// --distributed` (also on whenever mpirun starts more than one process). --batch-size is
    /// the global batch. Needs strata built with `--features mpi`.
    #[arg(long)]
    pub(super) distributed: bool,
    /// Train N replicas of the network in this process, one per thread with its kernels on
    /// that thread, each on a slice of every batch, gradients summed after each step (data
    /// parallelism without MPI; on small networks faster than one model on N threads).
    /// --batch-size is the global batch.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(super) replicas: usize,
    /// Input corruption for autoencoders (denoising) and sae pretraining: mask:P or gaussian:STD.
    #[arg(long, value_name = "SPEC", value_parser = parse_noise)]
    pub(super) noise: Option<strata::nn::Noise>,
}

fn parse_noise(spec: &str) -> Result<strata::nn::Noise, String> {
    spec.parse().map_err(|e: strata::Error| e.to_string())
}

fn parse_augment(spec: &str) -> Result<Augment, String> {
    spec.parse().map_err(|e: strata::Error| e.to_string())
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if a.replicas == 0 {
        anyhow::bail!("invalid --replicas: must be at least 1");
    }
    if a.replicas > 1 {
        if a.distributed || strata::distributed::launched_size().is_some_and(|n| n > 1) {
            anyhow::bail!("invalid --replicas: not with MPI ranks (they already split each batch; use --threads per rank)");
        }
        return super::distributed::run_thread_ranks(a.replicas, |c| train(a.clone(), Some(c)));
    }
    match super::distributed::start(a.distributed)? {
        None => train(a, None),
        Some(comm) => super::distributed::run_ranks(comm, |c| train(a, Some(c))),
    }
}

/// Before loading anything, every rank checks that it was given the same training flags.
fn agree_on_flags(a: &TrainArgs, comm: &dyn Communicator) -> anyhow::Result<()> {
    let fp = Fingerprint::new()
        .text("model", &a.model)
        .number("seed", a.seed)
        .number("epochs", a.epochs.map_or(0, |n| n as u64))
        .number("batch size", a.batch_size.map_or(0, |n| n as u64))
        .text("optimizer", &format!("{:?}", a.optimizer))
        .text("learning rate", &format!("{:?}", a.lr))
        .text("momentum", &format!("{:?}", a.momentum))
        .text("weight decay", &format!("{:?}", a.weight_decay))
        .text("schedule", &format!("{:?}", a.schedule))
        .text("validation split", &format!("{:?}", a.validation_split))
        .text("early stopping", &format!("{:?} {}", a.early_stopping, a.monitor))
        .text("target column", &format!("{:?}", a.target))
        .text("test split", &format!("{:?} {}", a.test_split, a.scaling))
        .text("augmentation", &format!("{:?}", a.augment))
        .text("gradient clipping", &format!("{:?} {:?}", a.clip_norm, a.clip_value))
        .number("resume", a.resume as u64)
        .number("steps per epoch", a.steps_per_epoch.map_or(0, |n| n as u64));
    Ok(agree(comm, &fp)?)
}

fn train(a: TrainArgs, comm: Option<SharedComm>) -> anyhow::Result<()> {
    let rank = comm.as_ref().map_or(0, |c| c.rank());
    if let Some(c) = &comm {
        if strata::pretrain::Plan::parse(&a.model)?.is_some() {
            anyhow::bail!("invalid --distributed/--replicas: {} trains in one process (pretraining is not distributed)", a.model);
        }
        agree_on_flags(&a, c.as_ref())?;
    }
    // Rank 0 alone prints and writes files.
    let quiet = a.quiet || rank != 0;
    // dbn/sae/autoencoders: pretraining, reconstruction targets, pictures (strata::pretrain).
    if let Some(plan) = strata::pretrain::Plan::parse(&a.model)? {
        if a.steps_per_epoch.is_some() {
            anyhow::bail!("invalid --steps-per-epoch: not for {} (pretraining plans run whole epochs)", a.model);
        }
        return super::train_plan::run(a, plan);
    }
    if a.pretrain_epochs.is_some() || a.noise.is_some() {
        anyhow::bail!("invalid --pretrain-epochs/--noise: only for the models {}", strata::pretrain::NAMES.join(", "));
    }
    if a.steps_per_epoch == Some(0) {
        anyhow::bail!("invalid --steps-per-epoch: must be at least 1");
    }
    for (flag, v) in [("--clip-norm", a.clip_norm), ("--clip-value", a.clip_value)] {
        if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
            anyhow::bail!("invalid {flag}: must be a positive number");
        }
    }
    let tabular = strata::data::tabular::is_tabular_path(&a.data);
    let data = load_for_training(&a.data, a.target.as_deref(), a.test_split, a.seed, &a.scaling)?;
    let (train, test) = (&data.train, &data.test);
    let classes = train.num_classes().context("the training data has no class labels")?;

    let mut validation_split = a.validation_split;
    let early_stopping = match a.early_stopping {
        Some(p) => {
            let monitor: Monitor = a.monitor.parse()?;
            if monitor.needs_validation() && validation_split.is_none() {
                validation_split = Some(0.1);
                if rank == 0 {
                    eprintln!("note: early stopping validates on 10% of the training data (--validation-split 0.1)");
                }
            }
            Some(EarlyStopping::new(p).monitor(monitor))
        }
        None => None,
    };
    let mut settings = TrainSettings {
        epochs: a.epochs,
        batch_size: a.batch_size,
        optimizer: a.optimizer.clone(),
        lr: a.lr,
        momentum: a.momentum,
        weight_decay: a.weight_decay,
        schedule: a.schedule.clone(),
        early_stopping,
        validation_split,
        verbosity: if quiet { Verbosity::Silent } else { Verbosity::Auto },
        checkpoint_dir: None,
        resume: a.resume,
        small_data_defaults: tabular,
        augment: a.augment.clone(),
        clip_norm: a.clip_norm,
        clip_value: a.clip_value,
        max_steps_per_epoch: a.steps_per_epoch,
        distributed: comm.clone(),
    };
    let name_for_dir = {
        let l = Learner::new(&a.model, train.sample_shape(), classes, a.seed, train.len(), &settings)?;
        l.name()
    };
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(name_for_dir.replace(':', "-")));
    settings.checkpoint_dir = Some(out.clone());
    let mut learner = Learner::new(&a.model, train.sample_shape(), classes, a.seed, train.len(), &settings)?;
    if comm.is_some() && learner.network().is_none() {
        anyhow::bail!("invalid --distributed/--replicas: {} is not a network (baselines train in one process)", learner.name());
    }
    for n in learner.notes().iter().filter(|_| rank == 0) {
        eprintln!("note: {n}");
    }
    if let (true, Some(n), 0) = (a.resume, learner.network(), rank) {
        let path = strata::model::checkpoint_path(&out);
        if path.exists() {
            let ck = strata::model::Checkpoint::load(&path, &n.model)?;
            eprintln!("note: resuming after epoch {} from {}", ck.epoch, path.display());
        } else {
            eprintln!("note: no checkpoint in {} yet; starting from the first epoch", out.display());
        }
    }
    let (epochs, batch, optimizer_name, lr, params) = match learner.network() {
        Some(n) => (n.epochs, n.batch_size, n.optimizer.clone(), n.lr, n.model.num_params()),
        None => (0, 0, String::new(), 0.0, 0),
    };
    if learner.network().is_some() {
        if epochs == 0 {
            anyhow::bail!("invalid --epochs: must be at least 1");
        }
        if batch == 0 {
            anyhow::bail!("invalid --batch-size: must be at least 1");
        }
    }
    if !quiet {
        if let Some(c) = &comm {
            println!("distributed: {} ranks, global batch {batch} ({} per rank)", c.size(), batch.div_ceil(c.size()));
        }
        if learner.network().is_some() {
            println!(
                "training {} ({} parameters) on {} ({} train / {} test), {} epochs, batch {}, {} lr {}",
                learner.name(),
                params,
                a.data,
                train.len(),
                test.len(),
                epochs,
                batch,
                optimizer_name,
                lr
            );
        } else {
            println!("fitting {} on {} ({} train / {} test)", learner.name(), a.data, train.len(), test.len());
        }
    }
    let start = std::time::Instant::now();
    let history = learner.fit(train, None)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let (test_accuracy, test_loss) = match learner.network() {
        Some(n) => {
            let e = match &comm {
                Some(c) => n.model.evaluate_distributed(test, 1000, c.as_ref())?,
                None => n.model.evaluate(test, 1000)?,
            };
            (e.accuracy.unwrap_or(f32::NAN), e.loss)
        }
        None => {
            let probs = learner.predict_proba(&test.inputs)?;
            let labels = strata::data::split::labels_of(test).unwrap_or(&[]);
            (accuracy(&predicted_classes(&probs)?, labels), log_loss(&probs, labels)?)
        }
    };
    let train_seconds = history.as_ref().map_or(fit_seconds, |h| h.train_seconds());
    let images =
        history.as_ref().map_or(train.len() as f64, |h| h.epochs.iter().map(|e| e.images_per_sec * e.seconds).sum::<f64>());
    let ips = images / train_seconds.max(1e-9);

    if rank != 0 {
        return Ok(());
    }
    // Time inside the gradient all-reduce on this rank (including waits for slower ranks).
    let comm_stats = comm.as_ref().map(|c| {
        let st = c.stats();
        let steps = st.allreduce_calls.max(1);
        serde_json::json!({
            "ranks": c.size(),
            "allreduce_seconds": st.allreduce_seconds,
            "allreduce_calls": st.allreduce_calls,
            "allreduce_bytes_per_step": st.allreduce_bytes / steps,
            "allreduce_share": st.allreduce_seconds / train_seconds.max(1e-9),
        })
    });
    let weights = out.join("model.safetensors");
    let extras = SaveExtras {
        standardize: data.standardize.clone(),
        class_names: train.class_names.clone(),
        tabular: data.tabular.clone(),
    };
    save_learner(&learner, &weights, train.sample_shape(), extras)?;
    if let Some(h) = &history {
        strata::io::write_atomic(&out.join("history.csv"), h.to_csv().as_bytes())?;
        let title = format!("{} on {}", learner.name(), super::data::short_name(&a.data));
        strata::plot::curves_png(h, &title, &out.join("curves.png"))?;
        if h.stopped_early && !a.quiet {
            println!("stopped early after epoch {}", h.epochs.last().map_or(0, |r| r.epoch));
        }
    }
    if let (Some(c), false) = (&comm_stats, quiet) {
        println!(
            "all-reduce: {:.2}s over {} steps ({:.1}% of training time), {:.0} KiB per step",
            c["allreduce_seconds"].as_f64().unwrap_or(0.0),
            c["allreduce_calls"],
            100.0 * c["allreduce_share"].as_f64().unwrap_or(0.0),
            c["allreduce_bytes_per_step"].as_f64().unwrap_or(0.0) / 1024.0
        );
    }
    if !quiet {
        println!(
            "test accuracy {test_accuracy:.4}, test loss {test_loss:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}",
            weights.display()
        );
    }
    if a.json {
        print_json(&serde_json::json!({
            "model": learner.name(),
            "params": params,
            "epochs": epochs,
            "batch_size": batch,
            "optimizer": optimizer_name,
            "seed": a.seed,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
            "train_seconds": train_seconds,
            "train_images_per_sec": ips,
            "history": history.as_ref().map(|h| h.epochs.clone()).unwrap_or_default(),
            "stopped_early": history.as_ref().is_some_and(|h| h.stopped_early),
            "model_file": weights,
            "distributed": comm_stats,
        }));
    }
    Ok(())
}
