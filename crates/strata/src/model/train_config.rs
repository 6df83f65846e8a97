//! [`TrainConfig`]: how to train a network — every choice of `fit` besides the data and
//! where output goes — as one serde struct with documented defaults.
//!
//! Several places set it, and they are layered in one place, [`TrainConfig::resolve`], in
//! this order (a later layer wins for each field it sets):
//!
//! 1. the defaults below;
//! 2. the model's recipe: a zoo model's own settings, or a spec file's `[training]` table,
//!    adapted to small training sets (see [`SMALL_DATA`]);
//! 3. a checkpoint, when a run resumes (the settings it was started with);
//! 4. what the user asks for (command-line flags, or a library caller's layer).
//!
//! ```
//! use strata::model::{ConfigLayer, ConfigSource, TrainConfig};
//! let recipe = TrainConfig { lr: 0.1, schedule: Some("step:4:0.3".into()), ..TrainConfig::default() };
//! let flags = ConfigLayer::from_fields(ConfigSource::Flags, &serde_json::json!({ "epochs": 20 })).unwrap();
//! let r = TrainConfig::resolve(ConfigLayer::recipe("mlp", &recipe).unwrap(), &[flags], None).unwrap();
//! assert_eq!((r.config.lr, r.config.epochs), (0.1, 20));
//! // the recipe's schedule was made for 10 epochs: it is stretched to the 20 asked for
//! assert_eq!(r.config.schedule.as_deref(), Some("step:8:0.3"));
//! ```

use super::early_stopping::{EarlyStopping, Monitor};
use crate::data::Augment;
use crate::nn::Noise;
use crate::{Error, Result, optim};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Below this many training samples, a recipe's batch size is capped at 32 and its epochs
/// raised to give at least [`SMALL_DATA_STEPS`] updates (at most 500 epochs), unless the
/// user sets them: a recipe made for 60,000 images would stop after a handful of steps.
pub const SMALL_DATA: usize = 10_000;
/// Updates a network gets by default on a small dataset.
pub const SMALL_DATA_STEPS: usize = 1000;

/// The most epochs a run may ask for: more is a typo that would train for ever.
pub const MAX_EPOCHS: usize = 1_000_000;

/// How to train a network. Unset fields of a spec file's `[training]` table take these
/// defaults; see the module docs for how recipes, spec files, checkpoints and flags combine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer: `sgd`, `nesterov`, `adagrad`, `rmsprop`, `adam` or `adamw`. Default `sgd`.
    pub optimizer: String,
    /// Learning rate. Default 0.05.
    pub lr: f32,
    /// Momentum of `sgd`, `nesterov` and `rmsprop` (the others ignore it). Default 0.9.
    pub momentum: f32,
    /// Weight decay: L2 for every optimizer but `adamw`, whose decay is decoupled. Default 0.
    pub weight_decay: f32,
    /// Mini-batch size. Default 128.
    pub batch_size: usize,
    /// Passes over the training data. Default 10.
    pub epochs: usize,
    /// Learning-rate schedule: `step:EPOCHS:GAMMA`, `plateau:FACTOR:PATIENCE[:MIN_LR]` or
    /// `exp:GAMMA`. Default none (a constant rate).
    pub schedule: Option<String>,
    /// Fraction of the training data held out to validate on after each epoch. Default
    /// none; early stopping on a validation figure sets 0.1.
    pub validation_split: Option<f32>,
    /// Stop when the monitored figure has not improved for this many epochs and keep the
    /// best epoch's weights. Default none (train every epoch).
    pub early_stopping: Option<usize>,
    /// What early stopping watches: `val_loss`, `val_accuracy`, `loss` or `accuracy`.
    /// Default `val_loss`.
    pub monitor: String,
    /// Rescale the gradients to at most this global L2 norm before each update. Default none.
    pub clip_norm: Option<f32>,
    /// Clamp every gradient element to [-v, v] before each update. Default none.
    pub clip_value: Option<f32>,
    /// Weight of the auxiliary classifiers' losses in the training loss (`googlenet-aux`).
    /// Default: each head's own (0.3, GoogLeNet's).
    pub aux_weight: Option<f32>,
    /// Random transforms of training images: a comma list of `crop:PIXELS`, `flip`,
    /// `translate:PIXELS`, `rotate:DEGREES`, `brightness:F`, `contrast:F`, `saturation:F`,
    /// `jitter:F` (see [`Augment`]). Default none.
    pub augment: Option<String>,
    /// End every epoch after this many steps (quick runs, measurements). Default none.
    pub steps_per_epoch: Option<usize>,
    /// Unsupervised pretraining epochs per layer of `dbn` and `sae` (0: none). Default: the
    /// model's own (1).
    pub pretrain_epochs: Option<usize>,
    /// Input corruption of autoencoders (denoising) and of `sae` pretraining: `mask:P` or
    /// `gaussian:STD`. Default none (`sae` pretraining masks 25%).
    pub noise: Option<String>,
    /// Gibbs steps per contrastive-divergence update of a `dbn`'s RBMs (the k of CD-k).
    /// Default 1.
    pub cd_k: Option<usize>,
    /// Persistent contrastive divergence for a `dbn`'s RBMs (Tieleman 2008). Default off.
    pub pcd: Option<bool>,
    /// The data units of a `dbn`'s first RBM: `bernoulli` (pixels in [0, 1] as
    /// probabilities) or `gaussian` (real values, unit variance: the RBM sees the
    /// standardized inputs). Default `bernoulli`.
    pub visible: Option<String>,
    /// The visible states of the CD negative phase: `mean-field` (probabilities) or
    /// `sampled` (0/1 draws). Default `mean-field`; persistent chains always sample.
    pub reconstruction: Option<String>,
    /// How a `dbn` is fine-tuned after greedy pretraining: `backprop` (the unrolled sigmoid
    /// network, discriminatively) or `up-down` (the generative model with label units at the
    /// top, by the up-down wake-sleep algorithm, for `epochs` epochs). Default `backprop`.
    pub finetune: Option<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: "sgd".into(),
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 0.0,
            batch_size: 128,
            epochs: 10,
            schedule: None,
            validation_split: None,
            early_stopping: None,
            monitor: "val_loss".into(),
            clip_norm: None,
            clip_value: None,
            aux_weight: None,
            augment: None,
            steps_per_epoch: None,
            pretrain_epochs: None,
            noise: None,
            cd_k: None,
            pcd: None,
            visible: None,
            reconstruction: None,
            finetune: None,
        }
    }
}

/// Where a layer of settings came from; errors about a setting name it.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigSource {
    /// [`TrainConfig::default`].
    Default,
    /// A zoo model's recipe (the model's name).
    Recipe(String),
    /// A spec file's `[training]` table.
    SpecFile(PathBuf),
    /// The checkpoint a run resumes from.
    Checkpoint(PathBuf),
    /// Command-line flags (`--lr` for the field `lr`).
    Flags,
    /// A library caller.
    Caller,
}

impl ConfigSource {
    /// How an error names `field` as set by this source: `--batch-size`, `net.toml [training]
    /// lr`, ...
    pub fn label(&self, field: &str) -> String {
        match self {
            ConfigSource::Default | ConfigSource::Caller => field.to_string(),
            ConfigSource::Recipe(model) => format!("{field} (the {model} recipe)"),
            ConfigSource::SpecFile(p) => format!("{} [training] {field}", p.display()),
            ConfigSource::Checkpoint(p) => format!("{field} (checkpoint {})", p.display()),
            ConfigSource::Flags => format!("--{}", field.replace('_', "-")),
        }
    }
}

/// Some fields of a [`TrainConfig`] and where they came from.
#[derive(Clone, Debug)]
pub struct ConfigLayer {
    /// Who set these fields.
    pub source: ConfigSource,
    fields: Map<String, Value>,
}

impl ConfigLayer {
    /// Every field of `config` (a recipe, a checkpoint's settings). A number that is not
    /// finite is an error naming the field (it would otherwise read as unset).
    pub fn full(source: ConfigSource, config: &TrainConfig) -> Result<ConfigLayer> {
        let floats = [
            ("lr", Some(config.lr)),
            ("momentum", Some(config.momentum)),
            ("weight_decay", Some(config.weight_decay)),
            ("validation_split", config.validation_split),
            ("clip_norm", config.clip_norm),
            ("clip_value", config.clip_value),
            ("aux_weight", config.aux_weight),
        ];
        if let Some((field, v)) = floats.iter().find(|(_, v)| v.is_some_and(|v| !v.is_finite())) {
            return Err(Error::invalid(source.label(field), format!("{} is not a finite number", v.unwrap_or(f32::NAN))));
        }
        let fields = match serde_json::to_value(config) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(), // a struct of plain fields always serializes to an object
        };
        Ok(ConfigLayer { source, fields })
    }
    /// A zoo model's recipe.
    pub fn recipe(model: &str, config: &TrainConfig) -> Result<ConfigLayer> {
        ConfigLayer::full(ConfigSource::Recipe(model.to_string()), config)
    }
    /// The fields a serializable value sets: an object whose keys are field names (absent or
    /// `null` keys set nothing, so a NaN, which JSON writes as `null`, must be refused
    /// before: the CLI's number flags take finite values only). Unknown names and values of
    /// the wrong type are errors that name the source.
    pub fn from_fields(source: ConfigSource, fields: &impl Serialize) -> Result<ConfigLayer> {
        let Value::Object(map) = serde_json::to_value(fields).map_err(|e| Error::invalid("training settings", e.to_string()))?
        else {
            return Err(Error::invalid("training settings", "are not a table of named settings"));
        };
        let fields: Map<String, Value> = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
        let layer = ConfigLayer { source, fields };
        // Checked now, so the error points at this layer's source.
        layer.apply_to(TrainConfig::default())?;
        Ok(layer)
    }
    /// The value this layer gives `field`, if it sets it.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }
    /// Whether this layer sets `field`.
    pub fn sets(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }
    /// The names of the fields this layer sets.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    fn apply_to(&self, base: TrainConfig) -> Result<TrainConfig> {
        let Value::Object(mut merged) = serde_json::to_value(base).map_err(|e| Error::Model(e.to_string()))? else {
            return Err(Error::Model("training settings did not serialize to a table".into()));
        };
        for (k, v) in &self.fields {
            merged.insert(k.clone(), v.clone());
        }
        serde_json::from_value(Value::Object(merged)).map_err(|e| {
            let msg = e.to_string();
            // serde names the offending field in backquotes ("unknown field `lrr`").
            let field = msg.split('`').nth(1).unwrap_or("").to_string();
            if msg.starts_with("unknown field") {
                Error::invalid(self.source.label("settings"), format!("unknown setting '{field}' (known: {})", FIELDS.join(", ")))
            } else {
                Error::invalid(self.source.label("settings"), msg)
            }
        })
    }
}

/// The field names of [`TrainConfig`], in declaration order.
pub const FIELDS: &[&str] = &[
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "batch_size",
    "epochs",
    "schedule",
    "validation_split",
    "early_stopping",
    "monitor",
    "clip_norm",
    "clip_value",
    "aux_weight",
    "augment",
    "steps_per_epoch",
    "pretrain_epochs",
    "noise",
    "cd_k",
    "pcd",
    "visible",
    "reconstruction",
    "finetune",
];

/// A resolved configuration, with notes on what was adapted (printed by the CLI).
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The settings to train with, checked.
    pub config: TrainConfig,
    /// Adaptations made for the data or the user's choices, in words.
    pub notes: Vec<String>,
    sources: Vec<(&'static str, ConfigSource)>,
}

impl Resolved {
    /// Who set `field` last (`ConfigSource::Default` when nobody did).
    pub fn source(&self, field: &str) -> ConfigSource {
        self.sources.iter().find(|(f, _)| *f == field).map_or(ConfigSource::Default, |(_, s)| s.clone())
    }
    /// How an error names `field`: the flag, the spec file's key, ... that set it.
    pub fn label(&self, field: &str) -> String {
        self.source(field).label(field)
    }
}

impl TrainConfig {
    /// Layers `user` over `recipe` (see the module docs) and checks the result. With
    /// `n_train`, a recipe's epochs and batch size are first adapted to a small training set
    /// (where the user did not set them); a recipe's schedule made for another number of
    /// epochs is stretched to fit. A checkpoint among `user` fixes every field but `epochs`:
    /// a later layer that changes one is an error (a resumed run continues the same run).
    /// Errors name the layer that set the bad value (`invalid --lr: ...`).
    pub fn resolve(recipe: ConfigLayer, user: &[ConfigLayer], n_train: Option<usize>) -> Result<Resolved> {
        let mut notes = Vec::new();
        let base = recipe.apply_to(TrainConfig::default())?;
        let user_sets = |field: &str| user.iter().any(|l| l.sets(field));
        let mut adapted = base.clone();
        if let Some(n) = n_train.filter(|&n| n < SMALL_DATA) {
            if !user_sets("batch_size") {
                adapted.batch_size = base.batch_size.clamp(1, 32);
            }
            if !user_sets("epochs") {
                // the epochs follow from the batch size the run will use, the user's if set
                let user_batch = user.iter().rev().find_map(|l| l.get("batch_size").and_then(Value::as_u64));
                let batch = user_batch.map_or(adapted.batch_size, |b| b as usize);
                let steps = n.div_ceil(batch.max(1)).max(1);
                adapted.epochs = base.epochs.max(SMALL_DATA_STEPS.div_ceil(steps).min(500));
            }
        }
        let mut layers = vec![ConfigLayer::full(recipe.source.clone(), &adapted)?];
        layers.extend(user.iter().cloned());
        let mut config = TrainConfig::default();
        let mut source_of: Vec<(&'static str, ConfigSource)> = Vec::new();
        let mut checkpoint: Option<(TrainConfig, PathBuf)> = None;
        for layer in &layers {
            let next = layer.apply_to(config.clone())?;
            if let Some((fixed, path)) = &checkpoint {
                check_resume(fixed, &next, path, layer)?;
            }
            if let ConfigSource::Checkpoint(p) = &layer.source {
                checkpoint = Some((next.clone(), p.clone()));
            }
            for &f in FIELDS {
                if layer.get(f).is_some_and(|v| !v.is_null()) {
                    source_of.retain(|(g, _)| *g != f);
                    source_of.push((f, layer.source.clone()));
                }
            }
            config = next;
        }
        if let Some(n) = n_train.filter(|_| adapted != base) {
            notes.push(format!("small dataset ({n} samples): {} epochs of batch {}", config.epochs, config.batch_size));
        }
        let source = |field: &str| source_of.iter().find(|(f, _)| *f == field).map_or(ConfigSource::Default, |(_, s)| s.clone());
        if let Some(r) = &base.schedule
            && !user_sets("schedule")
            && checkpoint.is_none()
            && config.epochs != base.epochs
            && base.epochs > 0
        {
            let stretched = stretch_schedule(r, config.epochs as f64 / base.epochs as f64);
            notes.push(match &stretched {
                Some(new) => format!("the recipe's schedule {r} (for {} epochs) becomes {new}", base.epochs),
                None => format!("the recipe's schedule {r} is left out (it was made for {} epochs)", base.epochs),
            });
            config.schedule = stretched;
        }
        config.check(&source)?;
        Ok(Resolved { config, notes, sources: source_of })
    }

    /// Checks every field; `source` says who set a field, for the error message.
    fn check(&self, source: &dyn Fn(&str) -> ConfigSource) -> Result<()> {
        let blame = |field: &str, e: Error| {
            let reason = match e {
                Error::Invalid { reason, .. } => reason,
                other => other.to_string(),
            };
            Error::invalid(source(field).label(field), reason)
        };
        let at_least_one = |field: &str, v: usize| {
            if v >= 1 { Ok(()) } else { Err(Error::invalid(source(field).label(field), "must be at least 1")) }
        };
        let at_most = |field: &str, v: usize| {
            if v <= MAX_EPOCHS {
                Ok(())
            } else {
                Err(Error::invalid(source(field).label(field), format!("{v} is more than {MAX_EPOCHS}")))
            }
        };
        at_least_one("epochs", self.epochs)?;
        at_most("epochs", self.epochs)?;
        if let Some(n) = self.pretrain_epochs {
            at_most("pretrain_epochs", n)?;
        }
        at_least_one("batch_size", self.batch_size)?;
        if let Some(n) = self.steps_per_epoch {
            at_least_one("steps_per_epoch", n)?;
        }
        if let Some(p) = self.early_stopping {
            at_least_one("early_stopping", p)?;
        }
        // The optimizer checks its own settings; its errors say which ("learning rate", ...).
        if let Err(e) = optim::by_name(&self.optimizer, self.lr, self.momentum, self.weight_decay) {
            let field = match &e {
                Error::Invalid { name, .. } if name == "learning rate" => "lr",
                Error::Invalid { name, .. } if name == "momentum" => "momentum",
                Error::Invalid { name, .. } if name == "weight decay" => "weight_decay",
                _ => "optimizer",
            };
            return Err(blame(field, e));
        }
        if let Some(s) = &self.schedule {
            optim::schedule_from_str(s).map_err(|e| blame("schedule", e))?;
        }
        if let Some(f) = self.validation_split
            && !(f > 0.0 && f < 1.0)
        {
            return Err(Error::invalid(source("validation_split").label("validation_split"), format!("{f} is not in (0, 1)")));
        }
        self.monitor.parse::<Monitor>().map_err(|e| blame("monitor", e))?;
        for (field, v) in [("clip_norm", self.clip_norm), ("clip_value", self.clip_value)] {
            if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
                return Err(Error::invalid(source(field).label(field), "must be a positive number"));
            }
        }
        if self.aux_weight.is_some_and(|w| !(w >= 0.0 && w.is_finite())) {
            return Err(Error::invalid(source("aux_weight").label("aux_weight"), "must be a number >= 0"));
        }
        if let Some(a) = &self.augment {
            a.parse::<Augment>().map_err(|e| blame("augment", e))?;
        }
        if let Some(n) = &self.noise {
            n.parse::<Noise>().map_err(|e| blame("noise", e))?;
        }
        if let Some(k) = self.cd_k {
            at_least_one("cd_k", k)?;
            if k > 1000 {
                return Err(Error::invalid(
                    source("cd_k").label("cd_k"),
                    format!("{k} Gibbs steps per update is more than 1000"),
                ));
            }
        }
        let choice = |field: &str, v: &Option<String>, allowed: &[&str]| match v {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(Error::invalid(source(field).label(field), format!("'{v}' is not one of {}", allowed.join(", "))))
            }
            _ => Ok(()),
        };
        choice("visible", &self.visible, &["bernoulli", "gaussian"])?;
        choice("reconstruction", &self.reconstruction, &["mean-field", "sampled"])?;
        choice("finetune", &self.finetune, &["backprop", "up-down"])?;
        Ok(())
    }

    /// The optimizer these settings describe.
    pub fn optimizer(&self) -> Result<Box<dyn optim::Optimizer>> {
        optim::by_name(&self.optimizer, self.lr, self.momentum, self.weight_decay)
    }
    /// Early stopping, if asked for.
    pub fn early_stopping(&self) -> Result<Option<EarlyStopping>> {
        self.early_stopping.map(|p| Ok(EarlyStopping::new(p).monitor(self.monitor.parse()?))).transpose()
    }
    /// The augmentation, if any (and not the identity).
    pub fn augmentation(&self) -> Result<Option<Augment>> {
        Ok(self.augment.as_deref().map(str::parse::<Augment>).transpose()?.filter(|a| !a.is_identity()))
    }
    /// The input corruption, if any.
    pub fn input_noise(&self) -> Result<Option<Noise>> {
        self.noise.as_deref().map(str::parse).transpose()
    }
    /// The validation fraction: as set, or 0.1 when early stopping watches a validation
    /// figure and none is set.
    pub fn validation_fraction(&self) -> Result<Option<f32>> {
        let needs = match self.early_stopping()? {
            Some(es) => es.monitor.needs_validation(),
            None => false,
        };
        Ok(self.validation_split.or(needs.then_some(0.1)))
    }
}

/// A resumed run continues the run its checkpoint was made by: only `epochs` may change.
fn check_resume(fixed: &TrainConfig, next: &TrainConfig, checkpoint: &std::path::Path, layer: &ConfigLayer) -> Result<()> {
    let (a, b) = (ConfigLayer::full(ConfigSource::Default, fixed)?, ConfigLayer::full(ConfigSource::Default, next)?);
    for f in FIELDS.iter().copied().filter(|&f| f != "epochs" && layer.sets(f)) {
        if a.fields.get(f) != b.fields.get(f) {
            // f32 settings travel as f64 in JSON: print them at f32 precision (0.05, not 0.0500000007).
            let was = match a.fields.get(f) {
                None | Some(Value::Null) => "none".to_string(),
                Some(Value::Number(x)) if x.is_f64() => (x.as_f64().unwrap_or(f64::NAN) as f32).to_string(),
                Some(v) => v.to_string(),
            };
            return Err(Error::invalid(
                layer.source.label(f),
                format!(
                    "the checkpoint {} was trained with {f} = {was}; a resumed run continues that run (leave the setting out, or train into a new folder)",
                    checkpoint.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A schedule made for some number of epochs, stretched by `factor` to fit `factor` times
/// as many: `step:N:G` → `step:round(N·factor):G`, `exp:G` → `exp:G^(1/factor)`; a plateau
/// schedule depends on no epoch count and stays. `None` for a form it does not know.
pub(crate) fn stretch_schedule(spec: &str, factor: f64) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(v: Value) -> ConfigLayer {
        ConfigLayer::from_fields(ConfigSource::Flags, &v).unwrap()
    }

    #[test]
    fn fields_lists_every_field() {
        let layer = ConfigLayer::full(ConfigSource::Default, &TrainConfig::default()).unwrap();
        let mut fields: Vec<&str> = layer.fields().collect();
        let mut expected = FIELDS.to_vec();
        fields.sort();
        expected.sort();
        assert_eq!(fields, expected);
    }

    #[test]
    fn later_layers_win_and_defaults_fill_the_rest() {
        let recipe = TrainConfig { lr: 0.1, momentum: 0.5, ..TrainConfig::default() };
        let spec = ConfigLayer::from_fields(ConfigSource::SpecFile("n.toml".into()), &json!({ "lr": 0.2 })).unwrap();
        let r =
            TrainConfig::resolve(ConfigLayer::recipe("m", &recipe).unwrap(), &[spec, flags(json!({ "lr": 0.3 }))], None).unwrap();
        assert_eq!((r.config.lr, r.config.momentum, r.config.batch_size), (0.3, 0.5, 128));
        assert!(r.notes.is_empty());
    }

    #[test]
    fn a_spec_table_without_momentum_takes_the_documented_default() {
        let spec: TrainConfig = toml::from_str("optimizer = \"sgd\"\nlr = 0.1").unwrap();
        assert_eq!(spec.momentum, TrainConfig::default().momentum);
        assert!(toml::from_str::<TrainConfig>("lr = 0.1\nmomentun = 0.9").is_err());
    }

    #[test]
    fn small_data_adapts_only_what_the_user_left_alone() {
        let recipe = ConfigLayer::recipe("mlp", &TrainConfig::default()).unwrap();
        let r = TrainConfig::resolve(recipe.clone(), &[], Some(120)).unwrap();
        // 120 samples at batch 32: 4 steps per epoch, 250 epochs for 1000 updates
        assert_eq!((r.config.batch_size, r.config.epochs), (32, 250));
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        let r = TrainConfig::resolve(recipe.clone(), &[flags(json!({ "batch_size": 8 }))], Some(120)).unwrap();
        assert_eq!((r.config.batch_size, r.config.epochs), (8, 67));
        let r = TrainConfig::resolve(recipe, &[], Some(60_000)).unwrap();
        assert_eq!((r.config.batch_size, r.config.epochs), (128, 10));
    }

    #[test]
    fn a_recipe_schedule_stretches_with_the_epochs_but_a_users_does_not() {
        let recipe =
            ConfigLayer::recipe("m", &TrainConfig { schedule: Some("step:4:0.3".into()), ..TrainConfig::default() }).unwrap();
        let r = TrainConfig::resolve(recipe.clone(), &[flags(json!({ "epochs": 5 }))], None).unwrap();
        assert_eq!(r.config.schedule.as_deref(), Some("step:2:0.3"));
        let r = TrainConfig::resolve(recipe, &[flags(json!({ "epochs": 5, "schedule": "exp:0.9" }))], None).unwrap();
        assert_eq!(r.config.schedule.as_deref(), Some("exp:0.9"));
        assert_eq!(stretch_schedule("exp:0.25", 2.0).as_deref(), Some("exp:0.500000"));
        assert_eq!(stretch_schedule("plateau:0.5:2", 3.0).as_deref(), Some("plateau:0.5:2"));
        assert_eq!(stretch_schedule("warp:1", 2.0), None);
    }

    #[test]
    fn errors_name_the_layer_that_set_the_value() {
        let recipe = ConfigLayer::recipe("mlp", &TrainConfig::default()).unwrap();
        let err = |user: Vec<ConfigLayer>| TrainConfig::resolve(recipe.clone(), &user, None).unwrap_err().to_string();
        assert!(
            err(vec![flags(json!({ "lr": -1.0 }))]).starts_with("invalid --lr:"),
            "{}",
            err(vec![flags(json!({ "lr": -1.0 }))])
        );
        assert!(err(vec![flags(json!({ "batch_size": 0 }))]).starts_with("invalid --batch-size: must be at least 1"));
        assert!(err(vec![flags(json!({ "augment": "crop:1,blur" }))]).contains("--augment"));
        assert!(err(vec![flags(json!({ "momentum": 1.5 }))]).starts_with("invalid --momentum"));
        assert!(err(vec![flags(json!({ "optimizer": "lbfgs" }))]).starts_with("invalid --optimizer"));
        let nan = TrainConfig { clip_norm: Some(f32::NAN), ..TrainConfig::default() };
        assert!(ConfigLayer::recipe("m", &nan).unwrap_err().to_string().contains("clip_norm"));
        let spec = ConfigLayer::from_fields(ConfigSource::SpecFile("net.toml".into()), &json!({ "schedule": "step:x" })).unwrap();
        let e = err(vec![spec]);
        assert!(e.starts_with("invalid net.toml [training] schedule"), "{e}");
        let unknown = ConfigLayer::from_fields(ConfigSource::SpecFile("net.toml".into()), &json!({ "lrr": 1 })).unwrap_err();
        assert!(unknown.to_string().contains("net.toml") && unknown.to_string().contains("'lrr'"), "{unknown}");
        let wrong_type = ConfigLayer::from_fields(ConfigSource::Flags, &json!({ "epochs": "many" })).unwrap_err();
        assert!(wrong_type.to_string().contains("invalid"), "{wrong_type}");
    }

    #[test]
    fn a_checkpoint_fixes_everything_but_the_epochs() {
        let recipe = ConfigLayer::recipe("m", &TrainConfig::default()).unwrap();
        let saved = TrainConfig { lr: 0.01, epochs: 3, ..TrainConfig::default() };
        let ck = ConfigLayer::full(ConfigSource::Checkpoint("run/checkpoint.safetensors".into()), &saved).unwrap();
        let r = TrainConfig::resolve(recipe.clone(), &[ck.clone(), flags(json!({ "epochs": 6 }))], None).unwrap();
        assert_eq!((r.config.lr, r.config.epochs), (0.01, 6));
        let same = TrainConfig::resolve(recipe.clone(), &[ck.clone(), flags(json!({ "lr": 0.01 }))], None).unwrap();
        assert_eq!(same.config, saved);
        let e = TrainConfig::resolve(recipe, &[ck, flags(json!({ "lr": 0.02 }))], None).unwrap_err().to_string();
        assert!(e.starts_with("invalid --lr") && e.contains("checkpoint"), "{e}");
    }

    #[test]
    fn derived_settings() {
        let c = TrainConfig { early_stopping: Some(3), ..TrainConfig::default() };
        assert_eq!(c.validation_fraction().unwrap(), Some(0.1));
        let c = TrainConfig { early_stopping: Some(3), monitor: "loss".into(), ..TrainConfig::default() };
        assert_eq!(c.validation_fraction().unwrap(), None);
        assert!(TrainConfig { augment: Some("flip".into()), ..TrainConfig::default() }.augmentation().unwrap().is_some());
        assert_eq!(TrainConfig::default().optimizer().unwrap().name(), "sgd");
    }
}
