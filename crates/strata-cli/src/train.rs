//! `strata train`: fit a model (zoo name, spec file or baseline) on a dataset, save it,
//! report. The flags are the top layer of the training settings (`strata::model::TrainConfig`);
//! everything else goes through `strata::experiment::Learner`.

use super::output::{print_json, short_name};
use super::train_flags::{DataFlags, TrainFlags, TrainOnlyFlags, flags_layer};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::distributed::{Communicator, Fingerprint, SharedComm, agree};
use strata::experiment::{
    Learner, RunOptions, TableOptions, Task, TensorBoardLog, TextOptions, TrainingData, load_text, regression_figures,
    save_learner, target_values,
};
use strata::metrics::{accuracy, log_loss, predicted_classes};
use strata::model::{Checkpoint, ConfigLayer, ConfigSource, Verbosity, checkpoint_path};

#[derive(Args, Clone, Debug)]
pub struct TrainArgs {
    #[arg(long, help = super::model_help())]
    pub(super) model: String,
    #[command(flatten)]
    pub(super) normalize: super::normalize::NormalizeFlag,
    /// Dataset name (fashion-mnist, mnist, cifar10, cifar100), a directory (MNIST IDX files,
    /// CIFAR batches, .npy arrays, or class folders of pictures), an .npz file, or a
    /// .csv/.arff table.
    #[arg(long)]
    pub(super) data: String,
    /// Table column to predict (default: the last column; with --text-column, the last
    /// other column).
    #[arg(long)]
    pub(super) target: Option<String>,
    /// Classify texts: the CSV column holding them (sentences or documents). The
    /// vocabulary is built from the training rows' words (unknown words share one id);
    /// models: textcnn (Kim's 1-D CNN), lstm, gru, or logreg on bags of words.
    #[arg(long, value_name = "NAME")]
    pub(super) text_column: Option<String>,
    /// With --text-column: words per text, longer texts cut and shorter ones padded
    /// (default: the 95th percentile of the training texts' lengths, 5 to 400).
    #[arg(long, value_name = "N")]
    pub(super) max_len: Option<usize>,
    /// Fraction of a table's rows (or of the pictures of a folder without train/ and test/)
    /// held out as the test set (stratified, seeded by --seed).
    #[arg(long, default_value_t = 0.2)]
    pub(super) test_split: f32,
    /// Per-feature scaling of table columns, fitted on the training rows: standard, minmax, none.
    #[arg(long, default_value = "standard")]
    pub(super) scaling: String,
    /// classification or regression (default: regression when a table's target is numeric
    /// and not class-like, i.e. not whole numbers below 10^6). Regression standardizes the
    /// target on the training rows, trains one linear output with MSE and reports MSE,
    /// RMSE, MAE and R².
    #[arg(long, value_parser = super::task::parse)]
    pub(super) task: Option<Task>,
    #[command(flatten)]
    pub(super) images: Box<DataFlags>,
    /// Memory budget in MiB for the decoded pictures of an image folder (default: half the
    /// memory available when training starts). A folder whose pictures decoded would take
    /// more is streamed from disk: batches are decoded in parallel on a background thread
    /// while the previous one trains. CIFAR, NumPy and MNIST data are always loaded whole.
    #[arg(long, value_name = "MB")]
    pub(super) cache_mb: Option<u64>,
    #[command(flatten)]
    pub(super) settings: TrainFlags,
    #[command(flatten)]
    pub(super) more: TrainOnlyFlags,
    /// Continue an interrupted run from the checkpoint in --out, with the settings it was
    /// started with (--epochs may raise the epoch count; other settings must not change).
    #[arg(long)]
    pub(super) resume: bool,
    /// Seed for initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Output directory for model.safetensors, model.json, history.csv, curves.png, run.json
    /// (the command, data flags, settings and final figures; `strata report` reads it) and
    /// the per-epoch checkpoint.safetensors (default runs/MODEL).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Write TensorBoard event files into DIR (`tensorboard --logdir DIR` shows them): loss,
    /// accuracy and learning rate every --tensorboard-every steps and per epoch (validation
    /// too), a histogram of every weight tensor and the first layer's filters per epoch.
    #[arg(long, value_name = "DIR")]
    pub(super) tensorboard: Option<PathBuf>,
    /// With --tensorboard: log the step figures every N steps (1 to 1,000,000).
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(super) tensorboard_every: u64,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    pub(super) json: bool,
    /// No per-epoch output.
    #[arg(long)]
    pub(super) quiet: bool,
    /// Train data-parallel over the processes of an MPI job: `mpirun -n N strata train ...
    /// --distributed` (also on whenever mpirun starts more than one process). --batch-size is
    /// the global batch. Needs strata built with `--features strata-cli/mpi`.
    #[arg(long)]
    pub(super) distributed: bool,
    /// With --distributed: a rank that waits this many seconds for the others in one
    /// collective (a rank died or hangs, a host lost its network) stops the whole job with
    /// one line, instead of waiting forever.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = comm_timeout)]
    pub(super) comm_timeout: f64,
    /// With --distributed: the gradient all-reduce goes in buckets of about this many KiB
    /// (e.g. 256), each started during the backward pass as soon as its layers' gradients
    /// are final, so the transfer can overlap the earlier layers' backward (0, the default:
    /// one all-reduce after the backward pass).
    #[arg(long, value_name = "KIB", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub(super) bucket_kib: u64,
    /// Train N replicas of the network in this process, one per thread with its kernels on
    /// that thread, each on a slice of every batch, gradients summed after each step (data
    /// parallelism without MPI; on small networks faster than one model on N threads).
    /// --batch-size is the global batch.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(super) replicas: usize,
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if a.replicas == 0 {
        anyhow::bail!("invalid --replicas: must be at least 1");
    }
    if a.replicas > 1 {
        if a.distributed || strata::distributed::launched_size().is_some_and(|n| n > 1) {
            anyhow::bail!("invalid --replicas: not with MPI ranks (they already split each batch; use --threads per rank)");
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let most = strata::model::MAX_REPLICAS_PER_CORE * cores;
        if a.replicas > most {
            anyhow::bail!(
                "invalid --replicas: {} on {cores} cores (at most {most}: each replica is meant to have a core)",
                a.replicas
            );
        }
        // The replicas share one copy of the data, loaded and prepared once.
        let (learner, data) = load(&a)?;
        // The replicas start together, each checking its own step against the free memory
        // as it starts: their sum is checked once, here.
        if let Some(n) = learner.network() {
            let batch = n.config.batch_size.min(data.train.len()).div_ceil(a.replicas);
            let what = format!("training {} replicas of {}", a.replicas, learner.name());
            strata::memory::ensure_fits(&what, n.model.training_bytes(batch).saturating_mul(a.replicas as u64))?;
        }
        drop(learner);
        return super::distributed::run_thread_ranks(a.replicas, |c| train(a.clone(), Some(c), Some(&data)));
    }
    match super::distributed::start(a.distributed, a.comm_timeout)? {
        None => train(a, None, None),
        Some(comm) => super::distributed::run_ranks(comm, |c| train(a, Some(c), None)),
    }
}

/// `--comm-timeout`: seconds, from 1 to a week.
pub(super) fn comm_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=604_800.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds from 1 to 604800")),
    }
}

/// Before loading anything, every rank checks that it was given the same flags.
fn agree_on_flags(a: &TrainArgs, comm: &dyn Communicator) -> anyhow::Result<()> {
    let fp = Fingerprint::new()
        .text("model", &a.model)
        .text("normalize", &format!("{:?}", a.normalize.normalize))
        .number("seed", a.seed)
        .text("training settings", &serde_json::to_string(&a.settings)?)
        .text("more training settings", &serde_json::to_string(&a.more)?)
        .text("target column", &format!("{:?}", a.target))
        .text("test split", &format!("{:?} {}", a.test_split, a.scaling))
        .text("task", &format!("{:?}", a.task))
        .text("image data flags", &format!("{:?} {:?}", a.images, a.cache_mb))
        .text("text flags", &format!("{:?} {:?}", a.text_column, a.max_len))
        .number("resume", a.resume as u64);
    Ok(agree(comm, &fp)?)
}

/// The data (prepared for the model) and the learner, built from the flags.
fn load(a: &TrainArgs) -> anyhow::Result<(Learner, TrainingData)> {
    let table = TableOptions {
        target: a.target.clone(),
        test_split: a.test_split,
        seed: a.seed,
        scaling: a.scaling.clone(),
        task: a.task,
    };
    if let Some(column) = &a.text_column {
        let opts = TextOptions {
            text_column: column.clone(),
            label_column: a.target.clone(),
            test_split: a.test_split,
            seed: a.seed,
            max_len: a.max_len,
            bag_of_words: a.model == "logreg",
        };
        let data = load_text(&a.data, &opts)?;
        let learner = learner_for(a, &data)?;
        return Ok((learner, data));
    }
    if a.max_len.is_some() {
        anyhow::bail!("invalid --max-len: applies to texts (--text-column)");
    }
    let mut images = a.images.options(a.test_split, a.seed)?;
    images.cache_mb = Some(a.cache_mb.unwrap_or_else(default_cache_mb));
    let mut data = TrainingData::load_with(&a.data, &table, &images)?;
    let learner = learner_for(a, &data)?;
    learner.prepare(&mut data)?;
    Ok((learner, data))
}

/// The default `--cache-mb`: half the memory available now (no limit where that is unknown).
fn default_cache_mb() -> u64 {
    strata::memory::available_bytes().map_or(u64::MAX >> 20, |b| (b / 2) >> 20)
}

/// The learner the flags ask for, made for `data`.
fn learner_for(a: &TrainArgs, data: &TrainingData) -> anyhow::Result<Learner> {
    let flags = [flags_layer(&a.settings)?, flags_layer(&a.more)?];
    // A recipe made for 60,000 images is adapted to a small table (not to small image sets,
    // which are tests and demonstrations of the image models as they are).
    let small = (data.tabular.is_some() || data.text.is_some()).then_some(data.train.len());
    if let Some(enc) = &data.text {
        let classes = data.train.num_classes().context("the training data has no class labels")?;
        return Ok(Learner::text(&a.model, enc, classes, a.seed, &flags, small)?);
    }
    if data.task() == Task::Regression {
        return Ok(Learner::regressor(&a.model, data.train.sample_shape(), a.seed, &flags, small)?);
    }
    let classes = data.train.num_classes().context("the training data has no class labels")?;
    let mut learner = Learner::new(&a.model, data.train.sample_shape(), classes, a.seed, &flags, small)?;
    if let Some(s) = a.normalize.standardizer(data.train.sample_shape())? {
        learner.normalize_input(s)?;
    }
    Ok(learner)
}

/// Trains on this rank (`comm`; none for a plain run) with the `shared` prepared data of the
/// replicas of this process, or data loaded here.
fn train(a: TrainArgs, comm: Option<SharedComm>, shared: Option<&TrainingData>) -> anyhow::Result<()> {
    let rank = comm.as_ref().map_or(0, |c| c.rank());
    if let Some(c) = &comm {
        if strata::pretrain::Plan::parse(&a.model)?.is_some() {
            anyhow::bail!("invalid --distributed/--replicas: {} trains in one process (pretraining is not distributed)", a.model);
        }
        agree_on_flags(&a, c.as_ref())?;
    }
    // Rank 0 alone prints and writes files.
    let quiet = a.quiet || rank != 0;
    let flags = [flags_layer(&a.settings)?, flags_layer(&a.more)?];
    let (mut learner, data) = match shared {
        Some(d) => (learner_for(&a, d)?, d.clone()),
        None => load(&a)?,
    };
    if comm.is_some() && learner.network().is_none() {
        anyhow::bail!("invalid --distributed/--replicas: {} is not a network (baselines train in one process)", learner.name());
    }
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(learner.name().replace(':', "-")));
    if let (true, Some(n)) = (a.resume, learner.network_mut()) {
        let path = checkpoint_path(&out);
        if path.exists() {
            let (saved, epoch) = Checkpoint::read_training(&path)?;
            if let Some(config) = saved {
                let mut layers = vec![ConfigLayer::full(ConfigSource::Checkpoint(path.clone()), &config)?];
                layers.extend(flags.iter().cloned());
                n.configure(&layers)?;
            }
            if rank == 0 {
                eprintln!("note: resuming after epoch {epoch} from {}", path.display());
            }
        } else if rank == 0 {
            eprintln!("note: no checkpoint in {} yet; starting from the first epoch", out.display());
        }
    }
    let (train, test) = (&data.train, &data.test);
    if rank == 0 {
        data.notes.iter().for_each(|n| eprintln!("{n}"));
        if let Some(t) = &data.tabular {
            let rows = data.train.len() + data.test.len();
            let classes = t.schema.target.classes.as_ref().map(Vec::len);
            if let Some(note) = super::task::auto_note(a.task, &t.schema.target.name, classes, rows) {
                eprintln!("note: {note}");
            }
        }
        for n in learner.notes() {
            eprintln!("note: {n}");
        }
        if let Some(c) = learner.network().map(|n| &n.config)
            && c.validation_split.is_none()
            && c.validation_fraction()?.is_some()
        {
            eprintln!("note: early stopping validates on 10% of the training data (--validation-split 0.1)");
        }
    }
    let config = learner.network().map(|n| n.config.clone());
    if !quiet {
        if let (Some(c), Some(cfg)) = (&comm, &config) {
            println!(
                "distributed: {} ranks, global batch {} ({} per rank)",
                c.size(),
                cfg.batch_size,
                cfg.batch_size.div_ceil(c.size())
            );
        }
        match (&config, learner.network()) {
            (Some(cfg), Some(n)) => println!(
                "training {} ({} parameters) on {} ({} train / {} test), {} epochs, batch {}, {} lr {}",
                learner.name(),
                n.model.num_params(),
                a.data,
                train.len(),
                test.len(),
                cfg.epochs,
                cfg.batch_size,
                cfg.optimizer,
                cfg.lr
            ),
            _ => println!("fitting {} on {} ({} train / {} test)", learner.name(), a.data, train.len(), test.len()),
        }
    }
    let mut tensorboard_file = None;
    let observer: Option<strata::model::SharedObserver> = match (&a.tensorboard, rank) {
        (Some(dir), 0) => {
            anyhow::ensure!(
                learner.network().is_some(),
                "invalid --tensorboard: {} is not a network (it trains in one pass, without steps)",
                learner.name()
            );
            let log = TensorBoardLog::create(dir, a.tensorboard_every, train.sample_shape())?;
            tensorboard_file = Some(log.path().to_path_buf());
            Some(std::sync::Arc::new(std::sync::Mutex::new(log)))
        }
        _ => None,
    };
    let run = RunOptions {
        verbosity: if quiet { Verbosity::Silent } else { Verbosity::Auto },
        checkpoint_dir: Some(out.clone()),
        resume: a.resume,
        distributed: comm.clone(),
        allreduce_bucket_bytes: Some((a.bucket_kib as usize) << 10),
        observer,
    };
    let start = std::time::Instant::now();
    let report = learner.fit(&data, &run)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let mut regression = None;
    let (test_accuracy, test_loss) = match learner.network() {
        _ if data.task() == Task::Regression => {
            let pred = learner.predict_values(&test.inputs)?;
            let scaling = data.target_scaling.as_ref().context("regression without a target scaling")?;
            let (figures, loss) = regression_figures(&pred, target_values(test)?, scaling)?;
            regression = Some(figures);
            (None, loss as f32)
        }
        Some(n) => {
            let e = match &comm {
                Some(c) => n.model.evaluate_distributed(test, 1000, c.as_ref())?,
                None => n.model.evaluate(test, 1000)?,
            };
            (e.accuracy, e.loss)
        }
        None => {
            let probs = learner.predict_proba(&test.inputs)?;
            let labels = strata::data::split::labels_of(test).unwrap_or(&[]);
            (Some(accuracy(&predicted_classes(&probs)?, labels)), log_loss(&probs, labels)?)
        }
    };
    let history = report.history.as_ref();
    let train_seconds = history.map_or(fit_seconds, |h| h.train_seconds());
    let images = history.map_or(train.len() as f64, |h| h.epochs.iter().map(|e| e.images_per_sec * e.seconds).sum::<f64>());
    let ips = images / train_seconds.max(1e-9);

    if rank != 0 {
        return Ok(());
    }
    // Time inside the gradient all-reduce on this rank (including waits for slower ranks).
    let comm_stats = comm.as_ref().map(|c| {
        let st = c.stats();
        let steps = st.allreduce_steps.max(1);
        serde_json::json!({
            "ranks": c.size(),
            "allreduce_seconds": st.allreduce_seconds,
            "allreduce_calls": st.allreduce_calls,
            "allreduce_steps": st.allreduce_steps,
            "allreduce_buckets_per_step": st.allreduce_calls / steps,
            "allreduce_bytes_per_step": st.allreduce_bytes / steps,
            "allreduce_share": st.allreduce_seconds / train_seconds.max(1e-9),
        })
    });
    let weights = out.join("model.safetensors");
    save_learner(&learner, &weights, &data)?;
    if let Some(h) = history {
        strata::io::write_atomic(&out.join("history.csv"), h.to_csv().as_bytes())?;
        let title = format!("{} on {}", learner.name(), short_name(&a.data));
        strata::plot::curves_png(h, &title, &out.join("curves.png"))?;
        if h.stopped_early && !a.quiet {
            println!("stopped early after epoch {}", h.epochs.last().map_or(0, |r| r.epoch));
        }
    }
    let pictures = learner.pictures(&out, &data, &report)?;
    write_run_record(&a, &out, &config, test_accuracy, test_loss, train_seconds)?;
    if let (Some(c), false) = (&comm_stats, quiet) {
        println!(
            "all-reduce: {:.2}s over {} steps ({:.1}% of training time), {:.0} KiB per step in {} bucket(s)",
            c["allreduce_seconds"].as_f64().unwrap_or(0.0),
            c["allreduce_steps"],
            100.0 * c["allreduce_share"].as_f64().unwrap_or(0.0),
            c["allreduce_bytes_per_step"].as_f64().unwrap_or(0.0) / 1024.0,
            c["allreduce_buckets_per_step"]
        );
    }
    if !quiet {
        match (test_accuracy, &regression) {
            (_, Some(r)) => println!(
                "test {}, test loss {test_loss:.4} (standardized), {train_seconds:.1}s ({ips:.0} rows/s); saved {}",
                super::task::figures_line(r),
                weights.display()
            ),
            (Some(acc), None) => println!(
                "test accuracy {acc:.4}, test loss {test_loss:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}",
                weights.display()
            ),
            (None, None) => println!(
                "test reconstruction loss {test_loss:.4}, {train_seconds:.1}s ({ips:.0} img/s); saved {}",
                weights.display()
            ),
        }
        pictures.iter().for_each(|p| println!("wrote {}", p.display()));
        if let Some(f) = &tensorboard_file {
            println!("wrote {} (TensorBoard events)", f.display());
        }
    }
    if a.json {
        let pretrained = report.pretrained.as_ref();
        let mut summary = serde_json::json!({
            "model": learner.name(),
            "params": learner.network().map_or(0, |n| n.model.num_params()),
            "epochs": config.as_ref().map_or(0, |c| c.epochs),
            "batch_size": config.as_ref().map_or(0, |c| c.batch_size),
            "optimizer": config.as_ref().map_or(String::new(), |c| c.optimizer.clone()),
            "seed": a.seed,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
            "train_seconds": train_seconds,
            "train_images_per_sec": ips,
            "history": history.map(|h| h.epochs.clone()).unwrap_or_default(),
            "stopped_early": history.is_some_and(|h| h.stopped_early),
            "model_file": weights,
            "distributed": comm_stats,
            "training": config,
            "pretrain_epochs": pretrained.map(|p| p.epochs),
            "pretrain_seconds": pretrained.map(|p| p.seconds),
            "pictures": pictures,
            "tensorboard_events": tensorboard_file,
            "task": data.task(),
            "data_streamed": train.is_streamed(),
            "peak_rss_mib": super::output::peak_rss_mib(),
        });
        if let Some(r) = &regression {
            super::task::add_test_figures(&mut summary, r);
        }
        if let (Some(strata::pretrain::Pretrained::GenerativeDbn { dbn, up_down, .. }), Some(raw)) =
            (pretrained.map(|p| &p.pretrained), &data.raw_test)
        {
            // the DBN's own classification (free energy of the labels in the top memory),
            // beside the saved feed-forward approximation's test_accuracy
            let labels = strata::data::split::labels_of(test).unwrap_or(&[]);
            let mut x = raw.clone();
            if let (strata::pretrain::Visible::Gaussian, Some(s)) = (dbn.visible, &data.standardize) {
                s.apply(&mut x)?;
            }
            let predicted = dbn.classify(&x)?;
            let right = predicted.iter().zip(labels).filter(|(p, l)| **p == **l as usize).count();
            summary["generative_test_accuracy"] = serde_json::json!(right as f64 / labels.len().max(1) as f64);
            summary["up_down"] = serde_json::to_value(up_down)?;
        }
        print_json(&summary);
    }
    Ok(())
}

/// `run.json` in the run's folder: the command that made it, the data flags that read its
/// test data again (`strata report`), the settings used and the final figures.
fn write_run_record(
    a: &TrainArgs,
    out: &std::path::Path,
    config: &Option<strata::model::TrainConfig>,
    test_accuracy: Option<f32>,
    test_loss: f32,
    train_seconds: f64,
) -> anyhow::Result<()> {
    let record = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "strata_version": env!("CARGO_PKG_VERSION"),
        "model": a.model,
        "data": a.data,
        "target": a.target,
        "test_split": a.test_split,
        "image_size": a.images.image_size.map(|(h, w)| format!("{h}x{w}")),
        "channels": a.images.channels,
        "layout": a.images.layout,
        "seed": a.seed,
        "training": config,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "train_seconds": train_seconds,
    });
    strata::io::write_atomic(&out.join("run.json"), serde_json::to_string_pretty(&record)?.as_bytes())?;
    Ok(())
}
