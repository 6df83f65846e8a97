//! [`Learner`]: anything a model name can mean — a network from the zoo or a spec file,
//! logistic regression, k-NN or the perceptron — behind one interface: build it for the
//! data's input width and class count, fit it, get class probabilities.
//!
//! ```
//! use strata::experiment::{Learner, TrainSettings};
//! let s = TrainSettings::default();
//! let knn = Learner::new("knn:3", &[4], 3, 1, 120, &s).unwrap();
//! assert_eq!(knn.name(), "knn:3");
//! let mlp = Learner::new("mlp", &[4], 3, 1, 120, &s).unwrap();
//! assert!(mlp.network().is_some());
//! assert!(Learner::new("knn:0", &[4], 3, 1, 120, &s).is_err());
//! assert_eq!(strata::experiment::stretch_schedule("step:4:0.3", 20.0).as_deref(), Some("step:80:0.3"));
//! ```

use crate::baseline::{Classifier, Knn, Perceptron, logistic};
use crate::data::{Augment, Dataset};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{EarlyStopping, FitOptions, History, Sequential, Verbosity};
use crate::nn::Activation;
use crate::{Error, Result, Tensor, optim};
use std::path::PathBuf;

/// Names of the baselines (besides the zoo's networks and spec files).
pub const BASELINE_NAMES: &[&str] = &["knn", "knn:K", "perceptron", "perceptron:EPOCHS", "logreg"];

/// Below this many training samples, a network's default batch size is at most 32 and its
/// default epochs give at least [`SMALL_DATA_STEPS`] updates (capped at 500 epochs): a
/// recipe made for 60,000 images would otherwise stop after a handful of steps.
pub const SMALL_DATA: usize = 10_000;
/// Updates a network gets by default on a small dataset.
pub const SMALL_DATA_STEPS: usize = 1000;

/// Training choices; `None` means the model's recipe (adapted to small data).
#[derive(Clone, Debug)]
pub struct TrainSettings {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub optimizer: Option<String>,
    pub lr: Option<f32>,
    pub momentum: Option<f32>,
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule in `optim::schedule_from_str` form.
    pub schedule: Option<String>,
    pub early_stopping: Option<EarlyStopping>,
    /// Fraction of the training data held out to validate on each epoch.
    pub validation_split: Option<f32>,
    pub verbosity: Verbosity,
    pub checkpoint_dir: Option<PathBuf>,
    pub resume: bool,
    /// Adapt a network's default epochs and batch size to small data (see [`SMALL_DATA`]).
    pub small_data_defaults: bool,
    /// Random transforms of training images (networks on `[N, C, H, W]` data).
    pub augment: Option<Augment>,
    /// Clip gradients to this global L2 norm before each update.
    pub clip_norm: Option<f32>,
    /// Clamp every gradient element to [-v, v] before each update.
    pub clip_value: Option<f32>,
    /// End each epoch after this many steps (benchmarks, quick experiments).
    pub max_steps_per_epoch: Option<usize>,
    /// Train data-parallel with the ranks of this communicator (networks only).
    pub distributed: Option<crate::distributed::SharedComm>,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            epochs: None,
            batch_size: None,
            optimizer: None,
            lr: None,
            momentum: None,
            weight_decay: None,
            schedule: None,
            early_stopping: None,
            validation_split: None,
            verbosity: Verbosity::Silent,
            checkpoint_dir: None,
            resume: false,
            small_data_defaults: true,
            augment: None,
            clip_norm: None,
            clip_value: None,
            max_steps_per_epoch: None,
            distributed: None,
        }
    }
}

/// A compiled network with the training choices resolved.
pub struct Network {
    pub model: Sequential,
    pub optimizer: String,
    pub lr: f32,
    pub epochs: usize,
    pub batch_size: usize,
    pub schedule: Option<String>,
    /// Adaptations made for the data (printed by the CLI).
    pub notes: Vec<String>,
    settings: TrainSettings,
}

/// A model of any kind a model name can give.
pub enum Learner {
    Network(Box<Network>),
    Knn(Knn),
    Perceptron(Perceptron),
}

fn parse_count(name: &str, prefix: &str, default: usize) -> Result<Option<usize>> {
    if name == prefix {
        return Ok(Some(default));
    }
    match name.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
        Some(v) => match v.parse::<usize>() {
            Ok(k) if k >= 1 => Ok(Some(k)),
            _ => Err(Error::invalid("model", format!("'{name}': '{v}' is not a count of at least 1"))),
        },
        None => Ok(None),
    }
}

/// Epochs and batch size for `n_train` samples: the recipe's, or on small data a batch of
/// at most 32 and enough epochs for [`SMALL_DATA_STEPS`] updates. Explicit settings win.
pub fn epochs_and_batch(
    recipe_epochs: usize,
    recipe_batch: usize,
    n_train: usize,
    s: &TrainSettings,
) -> (usize, usize, Option<String>) {
    if n_train >= SMALL_DATA || !s.small_data_defaults {
        return (s.epochs.unwrap_or(recipe_epochs), s.batch_size.unwrap_or(recipe_batch), None);
    }
    let batch = s.batch_size.unwrap_or(recipe_batch.min(32)).max(1);
    let steps = n_train.div_ceil(batch).max(1);
    let epochs = s.epochs.unwrap_or(recipe_epochs.max(SMALL_DATA_STEPS.div_ceil(steps).min(500)));
    let note = (s.epochs.is_none() || s.batch_size.is_none())
        .then(|| format!("small dataset ({n_train} samples): {epochs} epochs of batch {batch}"));
    (epochs, batch, note)
}

/// A schedule made for some number of epochs, stretched by `factor` to fit `factor` times
/// as many: `step:N:G` → `step:round(N·factor):G`, `exp:G` → `exp:G^(1/factor)`; a plateau
/// schedule depends on no epoch count and stays. `None` for a form it does not know.
pub fn stretch_schedule(spec: &str, factor: f64) -> Option<String> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        ["step", n, g] => {
            let n: f64 = n.parse().ok()?;
            Some(format!("step:{}:{g}", ((n * factor).round() as usize).max(1)))
        }
        ["exp", g] => {
            let g: f64 = g.parse().ok()?;
            Some(format!("exp:{:.6}", g.powf(1.0 / factor)))
        }
        ["plateau", ..] => Some(spec.to_string()),
        _ => None,
    }
}

impl Learner {
    /// The learner `name` (a zoo name, a spec file, or one of [`BASELINE_NAMES`]) for
    /// per-sample `input` shape and `classes`, to be trained on `n_train` samples.
    pub fn new(name: &str, input: &[usize], classes: usize, seed: u64, n_train: usize, s: &TrainSettings) -> Result<Learner> {
        if let Some(k) = parse_count(name, "knn", 5)? {
            return Ok(Learner::Knn(Knn::new(k)));
        }
        if let Some(e) = parse_count(name, "perceptron", 100)? {
            return Ok(Learner::Perceptron(Perceptron::new(s.epochs.unwrap_or(e), seed)));
        }
        let (mut model, recipe, loss, mut notes) = if name == "logreg" {
            let mut m = logistic::logistic_regression(classes).seed(seed);
            m.build(input)?;
            (m, logistic::recipe(), Loss::SoftmaxCrossEntropy, Vec::new())
        } else {
            let c = crate::zoo::choose(name, input, classes, seed).map_err(|e| match e {
                Error::Invalid { name: n, reason } if n == "model" => {
                    Error::invalid("model", format!("{reason}; baselines: {}", BASELINE_NAMES.join(", ")))
                }
                other => other,
            })?;
            (c.model, c.recipe, c.loss, c.notes)
        };
        let (epochs, batch_size, note) = epochs_and_batch(recipe.epochs, recipe.batch_size, n_train, s);
        notes.extend(note);
        let optimizer = s.optimizer.clone().unwrap_or(recipe.optimizer.clone());
        let lr = s.lr.unwrap_or(recipe.lr);
        let opt =
            optim::by_name(&optimizer, lr, s.momentum.unwrap_or(recipe.momentum), s.weight_decay.unwrap_or(recipe.weight_decay))?;
        model.compile_boxed(opt, loss, &[Metric::Accuracy]);
        let schedule = match (&s.schedule, &recipe.schedule) {
            (Some(user), _) => Some(user.clone()),
            (None, Some(r)) if epochs != recipe.epochs && recipe.epochs > 0 => {
                let scaled = stretch_schedule(r, epochs as f64 / recipe.epochs as f64);
                notes.push(match &scaled {
                    Some(new) => format!("the recipe's schedule {r} (for {} epochs) becomes {new}", recipe.epochs),
                    None => format!("the recipe's schedule {r} is left out (it was made for {} epochs)", recipe.epochs),
                });
                scaled
            }
            (None, r) => r.clone(),
        };
        Ok(Learner::Network(Box::new(Network { model, optimizer, lr, epochs, batch_size, schedule, notes, settings: s.clone() })))
    }

    /// The learner's name ("mlp", "knn:5", ...).
    pub fn name(&self) -> String {
        match self {
            Learner::Network(n) => n.model.model_name().to_string(),
            Learner::Knn(k) => k.name(),
            Learner::Perceptron(p) => p.name(),
        }
    }
    /// The network, if this learner is one.
    pub fn network(&self) -> Option<&Network> {
        match self {
            Learner::Network(n) => Some(n),
            _ => None,
        }
    }
    pub fn network_mut(&mut self) -> Option<&mut Network> {
        match self {
            Learner::Network(n) => Some(n),
            _ => None,
        }
    }
    /// Notes on adaptations to the data.
    pub fn notes(&self) -> &[String] {
        self.network().map(|n| n.notes.as_slice()).unwrap_or(&[])
    }

    /// Fits on `train` (validating each epoch on `validation`, if given, for networks).
    /// Returns the per-epoch history of a network.
    pub fn fit(&mut self, train: &Dataset, validation: Option<&Dataset>) -> Result<Option<History>> {
        match self {
            Learner::Knn(k) => k.fit(train).map(|_| None),
            Learner::Perceptron(p) => p.fit(train).map(|_| None),
            Learner::Network(n) => {
                let s = &n.settings;
                let mut opts = FitOptions::epochs(n.epochs).batch_size(n.batch_size).verbosity(s.verbosity);
                opts.early_stopping = s.early_stopping.clone();
                opts.checkpoint_dir = s.checkpoint_dir.clone();
                opts.resume = s.resume;
                opts.augment = s.augment.clone();
                opts.clip_norm = s.clip_norm;
                opts.clip_value = s.clip_value;
                opts.distributed = s.distributed.clone();
                opts.max_steps_per_epoch = s.max_steps_per_epoch;
                match (validation, s.validation_split) {
                    (Some(v), _) => opts = opts.validation(v),
                    (None, Some(f)) => opts = opts.validation_split(f),
                    _ => {}
                }
                if let Some(sched) = &n.schedule {
                    opts.schedule = Some(optim::schedule_from_str(sched)?);
                }
                n.model.fit(train, opts).map(Some)
            }
        }
    }

    /// Class probabilities `[N, classes]` for inputs `x` (rows sum to 1).
    pub fn predict_proba(&mut self, x: &Tensor) -> Result<Tensor> {
        match self {
            Learner::Knn(k) => k.predict_proba(x),
            Learner::Perceptron(p) => p.predict_proba(x),
            Learner::Network(n) => network_proba(&mut n.model, x),
        }
    }
}

/// A network's outputs as class probabilities: softmax outputs as they are, logits through
/// a softmax, one sigmoid output `p` as `[1 - p, p]`.
pub fn network_proba(model: &mut Sequential, x: &Tensor) -> Result<Tensor> {
    let out = model.predict(x)?;
    let act = model.output_activation();
    if out.rank() == 2 && out.shape()[1] == 1 {
        let p: Vec<f32> = out
            .data()
            .iter()
            .map(|&v| if act == Some(Activation::Sigmoid) { v } else { 1.0 / (1.0 + (-v).exp()) })
            .flat_map(|p| [1.0 - p, p])
            .collect();
        return Tensor::from_vec(p, &[out.shape()[0], 2]);
    }
    if act == Some(Activation::Softmax) { Ok(out) } else { out.softmax_last() }
}
