//! [`Learner`]: anything a model name can mean — a network from the zoo or a spec file
//! (pretrained or not), logistic regression, k-NN or the perceptron — behind one interface:
//! build it for the data's input shape and class count, prepare the data as it needs, fit
//! it, get class probabilities (or, for regression, values). The one path from a model name
//! to `fit`.
//!
//! ```
//! use strata::experiment::Learner;
//! let knn = Learner::new("knn:3", &[4], 3, 1, &[], Some(120)).unwrap();
//! assert_eq!(knn.name(), "knn:3");
//! let mlp = Learner::new("mlp", &[4], 3, 1, &[], Some(120)).unwrap();
//! // the recipe's batch and epochs, adapted to 120 samples
//! assert_eq!(mlp.network().map(|n| n.config.batch_size), Some(32));
//! assert!(Learner::new("knn:0", &[4], 3, 1, &[], None).is_err());
//! // regression: one linear output unit, trained with MSE
//! let reg = Learner::regressor("mlp", &[4], 1, &[], Some(120)).unwrap();
//! assert_eq!(reg.network().unwrap().model.output_shape(), Some(&[1][..]));
//! assert!(Learner::regressor("perceptron", &[4], 1, &[], None).is_err());
//! ```

use super::data::TrainingData;
use crate::baseline::{Classifier, Knn, Perceptron, logistic};
use crate::distributed::SharedComm;
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::EpochRecord;
use crate::model::{ConfigLayer, ConfigSource, FitOptions, History, Sequential, TrainConfig, Verbosity};
use crate::nn::{Activation, Noise};
use crate::pretrain::{CdSettings, Plan, PlanKind, PretrainReport, PretrainSettings, Pretrained, UpDownOptions, Visible};
use crate::{Error, Result, Tensor};
use std::path::{Path, PathBuf};

/// Names of the baselines (besides the zoo's networks and spec files). `linreg` (linear
/// regression) is for regression only; `perceptron` and `logreg` for classification only.
pub const BASELINE_NAMES: &[&str] = &["knn", "knn:K", "perceptron", "perceptron:EPOCHS", "logreg", "linreg"];

/// What regression takes, for errors that refuse a classifier.
const REGRESSORS: &str = "a network (mlp, a spec file ending in one linear unit), knn, knn:K or linreg";

/// A compiled network with its training settings resolved.
pub struct Network {
    /// The network, built and compiled with the optimizer of `config`.
    pub model: Sequential,
    /// The settings it trains with (recipe, adapted to the data, under the user's).
    pub config: TrainConfig,
    /// Adaptations made for the data, in words (the CLI prints them).
    pub notes: Vec<String>,
    /// Unsupervised pretraining or a reconstruction objective (dbn, sae, autoencoders).
    pub plan: Option<Plan>,
    model_notes: Vec<String>,
    recipe: ConfigLayer,
    loss: Loss,
    small_data: Option<usize>,
    noise: Option<Noise>,
    regression: bool,
    /// An imported network's input preparation (see `ModelChoice::fixed_input`).
    fixed_input: Option<Option<crate::data::normalize::Standardizer>>,
}

/// A model of any kind a model name can give.
pub enum Learner {
    /// A network (zoo name, spec file, logistic regression, pretrained models).
    Network(Box<Network>),
    /// k-nearest neighbours.
    Knn(Knn),
    /// Rosenblatt's perceptron.
    Perceptron(Perceptron),
}

/// What a training run needs besides the training settings: how loud it is, where its
/// checkpoints go, and the ranks it shares the work with.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Progress output of `fit` (and of pretraining: one line per layer and epoch unless
    /// silent).
    pub verbosity: Verbosity,
    /// Write a checkpoint into this folder after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir`, if there is one.
    pub resume: bool,
    /// Train data-parallel with the ranks of this communicator (networks only).
    pub distributed: Option<SharedComm>,
    /// Bucket size of the gradient all-reduce that overlaps the backward pass
    /// ([`FitOptions::allreduce_bucket_bytes`]); `None`: the default.
    pub allreduce_bucket_bytes: Option<usize>,
    /// Told about every step and epoch of a network's training (TensorBoard logs).
    pub observer: Option<crate::model::SharedObserver>,
}

/// What fitting produced.
#[derive(Default)]
pub struct FitReport {
    /// A network's per-epoch history (`None` for k-NN and the perceptron).
    pub history: Option<History>,
    /// A pretrained network's pretraining (its pictures use it).
    pub pretrained: Option<PretrainReport>,
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

/// The value the last of `layers` that sets `field` gives it.
fn user_value<T: serde::de::DeserializeOwned>(layers: &[ConfigLayer], field: &str) -> Result<Option<(T, ConfigSource)>> {
    for l in layers.iter().rev() {
        if let Some(v) = l.get(field) {
            let t = serde_json::from_value(v.clone()).map_err(|e| Error::invalid(l.source.label(field), e.to_string()))?;
            return Ok(Some((t, l.source.clone())));
        }
    }
    Ok(None)
}

/// A baseline trained in one call takes none of a network's training settings (but those
/// in `takes`): a setting given for it is an error rather than silently ignored.
fn refuse_settings(name: &str, user: &[ConfigLayer], takes: &[&str]) -> Result<()> {
    for layer in user {
        if let Some(field) = layer.fields().find(|f| !takes.contains(f) && layer.get(f).is_some_and(|v| !v.is_null())) {
            return Err(Error::invalid(
                layer.source.label(field),
                format!("{name} is not trained by gradient descent and takes no such setting"),
            ));
        }
    }
    Ok(())
}

impl Learner {
    /// The learner `name` (a zoo name, a spec file, or one of [`BASELINE_NAMES`]) for
    /// per-sample `input` shape and `classes`, seeded by `seed`. `user` are the caller's
    /// layers of training settings (flags, a checkpoint), laid over the model's recipe; with
    /// `small_data: Some(n)`, a recipe made for big data is adapted to `n` training samples
    /// (see [`TrainConfig::resolve`]).
    pub fn new(
        name: &str,
        input: &[usize],
        classes: usize,
        seed: u64,
        user: &[ConfigLayer],
        small_data: Option<usize>,
    ) -> Result<Learner> {
        Learner::for_outputs(name, input, Some(classes), seed, user, small_data)
    }

    /// The regression learner `name` (as [`Learner::new`], without classes): a network
    /// ends in one linear unit and trains with MSE on the standardized target (a spec file
    /// whose last layer has another width, or squashes its output, is an error); `knn`
    /// predicts the mean of the neighbours' values; `linreg` is linear regression (one
    /// Dense unit, MSE, SGD). The perceptron, `logreg` and the pretrained models classify
    /// only and are refused.
    pub fn regressor(name: &str, input: &[usize], seed: u64, user: &[ConfigLayer], small_data: Option<usize>) -> Result<Learner> {
        Learner::for_outputs(name, input, None, seed, user, small_data)
    }

    /// The text classifier `name` for texts encoded by `encoding` (see
    /// [`crate::text::text_classifier`]: `textcnn`, `lstm`, `gru`), or `logreg` on bags of
    /// words (an encoding with `bag_of_words`). Recipe: Adam 1e-3, batch 50 (Kim's), 10
    /// epochs, adapted to small data as for tables.
    ///
    /// Errors: a name that reads no texts, and those of [`Learner::new`].
    pub fn text(
        name: &str,
        encoding: &crate::text::TextEncoding,
        classes: usize,
        seed: u64,
        user: &[ConfigLayer],
        small_data: Option<usize>,
    ) -> Result<Learner> {
        let text_names = || format!("{} (word ids) or logreg (bags of words)", crate::text::TEXT_MODELS.join(", "));
        if encoding.bag_of_words {
            if name != "logreg" {
                return Err(Error::invalid("model", format!("bags of words are for logreg; text models: {}", text_names())));
            }
            return Learner::new(name, &encoding.input_shape(), classes, seed, user, small_data);
        }
        let opts = crate::text::TextNetOptions::default();
        let model = crate::text::text_classifier(name, encoding.embedding_rows(), encoding.max_len, classes, opts)?
            .ok_or_else(|| Error::invalid("model", format!("'{name}' does not read texts; text models: {}", text_names())))?;
        let mut model = model.seed(seed);
        model.build(&encoding.input_shape())?;
        let recipe = TrainConfig {
            optimizer: "adam".into(),
            lr: 1e-3,
            momentum: 0.0,
            batch_size: 50,
            epochs: 10,
            ..TrainConfig::default()
        };
        let recipe = ConfigLayer::recipe(name, &recipe)?;
        let mut network = Network {
            model,
            config: TrainConfig::default(),
            notes: Vec::new(),
            plan: None,
            model_notes: vec![format!("{} words per text, a vocabulary of {} words", encoding.max_len, encoding.vocab.len())],
            recipe,
            loss: Loss::SoftmaxCrossEntropy,
            small_data,
            noise: None,
            regression: false,
            fixed_input: None,
        };
        network.configure(user)?;
        Ok(Learner::Network(Box::new(network)))
    }

    /// A classifier for `Some(classes)`, a regressor for `None`.
    fn for_outputs(
        name: &str,
        input: &[usize],
        classes: Option<usize>,
        seed: u64,
        user: &[ConfigLayer],
        small_data: Option<usize>,
    ) -> Result<Learner> {
        if let Some(k) = parse_count(name, "knn", 5)? {
            refuse_settings(name, user, &[])?;
            return Ok(Learner::Knn(Knn::new(k)));
        }
        let regression = classes.is_none();
        let classifier_only = name == "logreg" || parse_count(name, "perceptron", 100)?.is_some() || Plan::parse(name)?.is_some();
        if regression && classifier_only {
            return Err(Error::invalid("model", format!("{name} classifies; regression takes {REGRESSORS}")));
        }
        if !regression && name == "linreg" {
            return Err(Error::invalid("model", "linreg is linear regression (a numeric target); for classes use logreg"));
        }
        let classes = classes.unwrap_or(1);
        if let Some(e) = parse_count(name, "perceptron", 100)? {
            refuse_settings(name, user, &["epochs"])?;
            let epochs = match user_value::<usize>(user, "epochs")? {
                Some((0, source)) => return Err(Error::invalid(source.label("epochs"), "must be at least 1")),
                Some((v, _)) => v,
                None => e,
            };
            return Ok(Learner::Perceptron(Perceptron::new(epochs, seed)));
        }
        let plan = Plan::parse(name)?;
        let noise = match user_value::<String>(user, "noise")? {
            Some((s, source)) => Some(s.parse::<Noise>().map_err(|e| Error::invalid(source.label("noise"), e.to_string()))?),
            None => None,
        };
        let mut choice = if name == "logreg" || name == "linreg" {
            let mut m = logistic::logistic_regression(classes).name(name).seed(seed);
            m.build(input)?;
            // linear regression: the same SGD at a hundredth of the rate (MSE's gradients
            // grow with the error; cross-entropy's do not)
            let config = if regression { TrainConfig { lr: 0.001, ..logistic::recipe() } } else { logistic::recipe() };
            let recipe = ConfigLayer::recipe(name, &config)?;
            crate::model::ModelChoice { model: m, recipe, loss: Loss::SoftmaxCrossEntropy, notes: Vec::new(), fixed_input: None }
        } else if let Some(p) = &plan {
            p.choose(input, classes, seed, noise)?
        } else {
            crate::zoo::choose(name, input, classes, seed).map_err(|e| match e {
                Error::Invalid { name: n, reason } if n == "model" => {
                    Error::invalid("model", format!("{reason}; baselines: {}", BASELINE_NAMES.join(", ")))
                }
                other => other,
            })?
        };
        if regression {
            check_regression_output(name, &choice.model)?;
            if matches!(choice.recipe.source, ConfigSource::Recipe(_)) && name != "linreg" {
                let (recipe, note) = regression_recipe(&choice.recipe)?;
                choice.recipe = recipe;
                choice.notes.push(note);
            }
        }
        let mut network = Network {
            model: choice.model,
            config: TrainConfig::default(),
            notes: Vec::new(),
            plan,
            model_notes: choice.notes,
            recipe: choice.recipe,
            loss: if regression { Loss::Mse } else { choice.loss },
            small_data,
            noise,
            regression,
            fixed_input: choice.fixed_input,
        };
        network.configure(user)?;
        Ok(Learner::Network(Box::new(network)))
    }

    /// Gives an imported network the input standardization its weights were trained with
    /// (`--normalize`). Errors for any other learner, and for an imported network whose
    /// graph standardizes its input already.
    pub fn normalize_input(&mut self, s: crate::data::normalize::Standardizer) -> Result<()> {
        let name = self.name();
        match self.network_mut().map(|n| &mut n.fixed_input) {
            Some(Some(fixed @ None)) => {
                *fixed = Some(s);
                Ok(())
            }
            Some(Some(Some(_))) => {
                Err(Error::invalid("--normalize", format!("{name} standardizes its input in its graph already")))
            }
            _ => Err(Error::invalid(
                "--normalize",
                "applies to imported ONNX networks (strata fits its own models' standardization)",
            )),
        }
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
    /// The network, mutably, if this learner is one.
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
    /// Whether this learner reconstructs its input (autoencoders): trained on pixels in
    /// [0, 1] with its inputs as targets, scored by reconstruction loss.
    pub fn reconstructs(&self) -> bool {
        self.network().and_then(|n| n.plan.as_ref()).is_some_and(Plan::reconstruction)
    }

    /// Prepares `data` as this learner needs it: images are standardized with statistics of
    /// the training part only (reconstruction models keep pixels in [0, 1] and take their
    /// inputs as targets); tables come scaled already. Pretrained networks keep the raw
    /// images for pretraining and pictures.
    pub fn prepare(&self, data: &mut TrainingData) -> Result<()> {
        // Checked here, before anything is printed or trained, not only at fit.
        if let Learner::Knn(k) = self
            && k.k() > data.train.len()
        {
            let reason = format!("k-NN with k = {} needs at least {} training samples, not {}", k.k(), k.k(), data.train.len());
            return Err(Error::invalid("k", reason));
        }
        if data.tabular.is_some() || data.text.is_some() {
            return Ok(());
        }
        // Pictures streamed from disk train networks batch by batch; pretraining, the
        // reconstruction models and the baselines need them in memory.
        if data.train.is_streamed() && self.network().is_none_or(|n| n.plan.is_some()) {
            data.train.in_memory(&self.name())?;
        }
        if self.network().is_some_and(|n| n.plan.is_some()) {
            data.raw_train = Some(data.train.inputs.clone());
            data.raw_test = Some(data.test.inputs.clone());
        }
        if let Some(fixed) = self.network().and_then(|n| n.fixed_input.as_ref()) {
            // an imported network keeps the preparation its weights were trained with
            if let Some(s) = fixed {
                s.apply(&mut data.train.inputs)?;
                s.apply(&mut data.test.inputs)?;
            }
            data.standardize = fixed.clone();
            return Ok(());
        }
        if self.reconstructs() {
            data.train.targets = crate::Target::Values(data.train.inputs.clone());
            data.test.targets = crate::Target::Values(data.test.inputs.clone());
            return Ok(());
        }
        data.standardize_images()
    }

    /// Fits on `data.train`: k-NN and the perceptron in one call; a network pretrains (if
    /// its plan says so) and then runs `fit` with its settings.
    pub fn fit(&mut self, data: &TrainingData, run: &RunOptions) -> Result<FitReport> {
        let train = &data.train;
        let n = match self {
            Learner::Knn(k) => return k.fit(train).map(|_| FitReport::default()),
            Learner::Perceptron(p) => return p.fit(train).map(|_| FitReport::default()),
            Learner::Network(n) => n,
        };
        if run.distributed.is_some() && n.plan.is_some() {
            return Err(Error::invalid(
                "distributed",
                format!("{} trains in one process (pretraining is not distributed)", n.model.model_name()),
            ));
        }
        let pretrained = match &n.plan {
            Some(plan) => {
                let epochs = n.config.pretrain_epochs.unwrap_or(plan.default_pretrain_epochs());
                let c = &n.config;
                let up_down = c.finetune.as_deref() == Some("up-down");
                let settings = PretrainSettings {
                    noise: n.noise,
                    cd: CdSettings {
                        k: c.cd_k.unwrap_or(1),
                        persistent: c.pcd.unwrap_or(false),
                        sample_visible: c.reconstruction.as_deref() == Some("sampled"),
                    },
                    visible: if c.visible.as_deref() == Some("gaussian") { Visible::Gaussian } else { Visible::Bernoulli },
                    up_down_epochs: up_down.then_some(c.epochs),
                    labels: up_down
                        .then(|| crate::data::split::labels_of(train).map(|l| l.iter().map(|&v| v as usize).collect()))
                        .flatten(),
                    ..PretrainSettings::new(epochs, n.model.seed_value())
                };
                let raw = data.raw_train.as_ref().unwrap_or(&train.inputs);
                let loud = run.verbosity != Verbosity::Silent;
                let mut say = |line: String| {
                    if loud {
                        println!("{line}")
                    }
                };
                plan.pretrain(&mut n.model, raw, data.standardize.as_ref(), settings, &mut say)?
            }
            None => None,
        };
        // Up-down fine-tuning took the place of backprop: its epochs are the history.
        if let Some(PretrainReport { pretrained: Pretrained::GenerativeDbn { up_down, .. }, .. }) = &pretrained {
            let epochs = up_down
                .iter()
                .map(|r| EpochRecord {
                    epoch: r.epoch,
                    loss: r.reconstruction_error,
                    aux_loss: None,
                    accuracy: Some(r.accuracy),
                    val_loss: None,
                    val_accuracy: None,
                    learning_rate: UpDownOptions::default().lr,
                    seconds: r.seconds,
                    images_per_sec: r.samples_per_sec,
                })
                .collect();
            return Ok(FitReport { history: Some(History { epochs, stopped_early: false }), pretrained });
        }
        let mut opts = FitOptions::from_config(&n.config)?.verbosity(run.verbosity).resume(run.resume);
        opts.checkpoint_dir = run.checkpoint_dir.clone();
        opts.distributed = run.distributed.clone();
        if let Some(b) = run.allreduce_bucket_bytes {
            opts.allreduce_bucket_bytes = b;
        }
        opts.observer = run.observer.clone();
        // Colour jitter works on pixels: it undoes the images' standardization.
        if let (Some(a), Some(s)) = (opts.augment.as_mut(), &data.standardize) {
            *a = a.clone().standardized_with(&s.mean, &s.std);
        }
        let history = n.model.fit(train, opts)?;
        Ok(FitReport { history: Some(history), pretrained })
    }

    /// Whether this learner was made by [`Learner::regressor`] (k-NN: fitted on values).
    pub fn is_regressor(&self) -> bool {
        match self {
            Learner::Network(n) => n.regression,
            Learner::Knn(k) => k.values().is_some(),
            Learner::Perceptron(_) => false,
        }
    }

    /// A regressor's predictions for inputs `x`, one per sample, in the units it was
    /// trained on (standardized targets: see `experiment::to_target_units`).
    ///
    /// Errors: the learner classifies.
    pub fn predict_values(&mut self, x: &Tensor) -> Result<Vec<f32>> {
        match self {
            Learner::Knn(k) => k.predict_values(x),
            Learner::Network(n) if n.regression => network_values(&mut n.model, x),
            _ => Err(Error::Model(format!("{} classifies; it predicts no values", self.name()))),
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

    /// Writes the pictures of a pretrained or reconstruction network into `dir` (filters,
    /// samples, reconstructions of `data`'s raw test images); none for other learners.
    pub fn pictures(&mut self, dir: &Path, data: &TrainingData, report: &FitReport) -> Result<Vec<PathBuf>> {
        let Learner::Network(n) = self else { return Ok(Vec::new()) };
        let (Some(plan), Some(images)) = (&n.plan, &data.raw_test) else { return Ok(Vec::new()) };
        let seed = n.model.seed_value();
        plan.pictures(dir, &mut n.model, report.pretrained.as_ref(), images, seed)
    }
}

impl Network {
    /// Resolves the training settings again with `user` over the recipe and recompiles the
    /// optimizer (the network's weights stay): a resumed run adds its checkpoint's layer.
    pub fn configure(&mut self, user: &[ConfigLayer]) -> Result<()> {
        let resolved = TrainConfig::resolve(self.recipe.clone(), user, self.small_data)?;
        let noise = resolved.config.input_noise()?;
        if noise.is_some() && noise != self.noise {
            return Err(Error::invalid(
                resolved.label("noise"),
                "is fixed when the model is built: give the same --noise as the run being resumed",
            ));
        }
        if let Some(plan) = &self.plan {
            plan.check_options(resolved.config.pretrain_epochs, noise).map_err(|e| match e {
                Error::Invalid { name, reason } => {
                    let field = if name.contains("pretrain") { "pretrain_epochs" } else { "noise" };
                    Error::invalid(resolved.label(field), reason)
                }
                other => other,
            })?;
        }
        let c = &resolved.config;
        let dbn_only = [
            ("cd_k", c.cd_k.is_some()),
            ("pcd", c.pcd.is_some()),
            ("visible", c.visible.is_some()),
            ("reconstruction", c.reconstruction.is_some()),
            ("finetune", c.finetune.is_some()),
        ];
        if !self.plan.as_ref().is_some_and(|p| matches!(p.kind, PlanKind::Dbn { .. }))
            && let Some((field, _)) = dbn_only.iter().find(|(_, is_set)| *is_set)
        {
            return Err(Error::invalid(resolved.label(field), "only for the model dbn (RBM training and fine-tuning)"));
        }
        if self.plan.is_none() {
            let set =
                [("pretrain_epochs", resolved.config.pretrain_epochs.is_some()), ("noise", resolved.config.noise.is_some())];
            if let Some((field, _)) = set.iter().find(|(_, is_set)| *is_set) {
                return Err(Error::invalid(
                    resolved.label(field),
                    format!("only for the models {}", crate::pretrain::NAMES.join(", ")),
                ));
            }
        }
        let no_accuracy = self.regression || self.plan.as_ref().is_some_and(Plan::reconstruction);
        let metrics: &[Metric] = if no_accuracy { &[] } else { &[Metric::Accuracy] };
        self.model.compile_boxed(resolved.config.optimizer()?, self.loss, metrics);
        self.notes = self.model_notes.iter().chain(&resolved.notes).cloned().collect();
        self.config = resolved.config;
        Ok(())
    }
}

/// A zoo model's recipe (made for classes) adapted to regression: a tenth of the learning
/// rate (MSE's gradients grow with the error, cross-entropy's are bounded; at the
/// classification rate the mlp diverges on a table) and weight decay of at least 0.1 (on
/// the diabetes table an unregularized mlp fits the noise: test R² 0.1-0.3 against 0.46).
/// Spec files' `[training]` tables are taken as written.
fn regression_recipe(recipe: &ConfigLayer) -> Result<(ConfigLayer, String)> {
    let base = TrainConfig::resolve(recipe.clone(), &[], None)?.config;
    let config = TrainConfig { lr: base.lr / 10.0, weight_decay: base.weight_decay.max(0.1), ..base.clone() };
    let note = format!(
        "regression: the recipe's lr {} becomes {}, weight decay {} (flags override)",
        base.lr, config.lr, config.weight_decay
    );
    Ok((ConfigLayer::full(recipe.source.clone(), &config)?, note))
}

/// A regression network must end in one unit that does not squash its output.
fn check_regression_output(name: &str, model: &Sequential) -> Result<()> {
    let shape = model.output_shape().unwrap_or(&[]);
    let problem = match (shape, model.output_activation()) {
        ([1], None) => return Ok(()),
        ([1], Some(act)) => {
            format!("its output unit has activation {}; regression needs a linear one", format!("{act:?}").to_lowercase())
        }
        ([n], _) => format!("its last layer has {n} units; regression needs 1 (a dense layer with units = 1, linear)"),
        (other, _) => {
            format!("its output has shape {other:?} per sample; regression needs 1 value (a dense layer with units = 1)")
        }
    };
    if Path::new(name).is_file() || name.ends_with(".toml") {
        Err(Error::data(name, problem))
    } else {
        Err(Error::invalid("model", format!("{name}: {problem}")))
    }
}

/// A regression network's outputs `[N, 1]` as one value per sample.
pub(crate) fn network_values(model: &mut Sequential, x: &Tensor) -> Result<Vec<f32>> {
    let out = model.predict(x)?;
    if out.rank() != 2 || out.shape()[1] != 1 {
        return Err(Error::bad_shape("regression output", out.shape(), "needs one output per sample"));
    }
    Ok(out.data().to_vec())
}

/// A network's outputs as class probabilities: softmax outputs as they are, logits through
/// a softmax, one sigmoid output `p` as `[1 - p, p]`.
pub(crate) fn network_proba(model: &mut Sequential, x: &Tensor) -> Result<Tensor> {
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
