//! The named models of this module (`dbn`, `sae`, `autoencoder`, `conv-autoencoder`):
//! [`Plan`].

use super::autoencoder::{AutoencoderOptions, Encoder, conv_autoencoder, dense_autoencoder, stacked_autoencoders};
use super::cd::{CdOptions, RbmEpoch};
use super::dbn::{Dbn, load_stack, sigmoid_stack};
use super::pictures::{image_shape, save_autoencoder_pictures, save_dbn_pictures, save_filters, save_generative_dbn_pictures};
use super::rbm::Visible;
use super::updown::{GenerativeDbn, UpDownEpoch, UpDownOptions};
use crate::data::normalize::Standardizer;
use crate::loss::Loss;
use crate::model::{ConfigLayer, History, ModelChoice, Sequential, TrainConfig};
use crate::nn::Noise;
use crate::{Error, Result, Tensor};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The model names a [`Plan`] parses. Sizes may follow a colon: `dbn:500-500-2000`
/// (hidden layers; a leading input width such as `dbn:784-500-500-2000` is accepted),
/// `sae:500-500`, `autoencoder:256` or `autoencoder:500-100` (encoder sizes; the decoder
/// mirrors them).
pub const NAMES: &[&str] = &["dbn", "sae", "autoencoder", "conv-autoencoder"];

/// Hinton, Osindero & Teh (2006): 784-500-500-2000, then the classifier.
const DBN_DEFAULT: &[usize] = &[500, 500, 2000];

/// What kind of model a name asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanKind {
    /// Deep sigmoid classifier pretrained as a stack of RBMs (`dbn`).
    Dbn {
        /// Hidden layer sizes, bottom up (default 500-500-2000).
        hidden: Vec<usize>,
    },
    /// The same classifier pretrained as a stack of (denoising) autoencoders (`sae`).
    Sae {
        /// Hidden layer sizes, bottom up (default 500-500-2000).
        hidden: Vec<usize>,
    },
    /// Dense autoencoder, reconstruction objective (`autoencoder`).
    Autoencoder {
        /// Encoder layer sizes; the decoder mirrors them (default 256).
        hidden: Vec<usize>,
    },
    /// Convolutional autoencoder, reconstruction objective (`conv-autoencoder`).
    ConvAutoencoder,
}

/// A model name of this module ([`NAMES`]), parsed: what training it needs beyond the
/// ordinary fit loop. [`Plan::choose`] builds the model and its training recipe,
/// [`Plan::pretrain`] runs unsupervised pretraining before `fit` (on raw pixels in
/// `[0, 1]`), and [`Plan::pictures`] draws what was learned. `strata train` and
/// `zoo::choose` both go through it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model asked for.
    pub kind: PlanKind,
}

/// What pretraining produced (kept for the pictures).
pub enum Pretrained {
    /// The RBM stack of a `dbn`.
    Dbn {
        /// The pretrained DBN.
        dbn: Dbn,
        /// Each RBM's epoch records, bottom up.
        epochs: Vec<Vec<RbmEpoch>>,
    },
    /// A `dbn` with label units at the top, fine-tuned by the up-down algorithm
    /// (`finetune: up-down`).
    GenerativeDbn {
        /// The generative DBN after fine-tuning.
        dbn: GenerativeDbn,
        /// Greedy pretraining's epoch records, bottom up.
        epochs: Vec<Vec<RbmEpoch>>,
        /// The up-down epochs' figures.
        up_down: Vec<UpDownEpoch>,
    },
    /// The autoencoders of a `sae`.
    Sae {
        /// Each layer's encoder, bottom up.
        layers: Vec<Encoder>,
        /// Each autoencoder's training history.
        histories: Vec<History>,
    },
}

/// How to pretrain: [`Plan::pretrain`]'s settings.
#[derive(Clone, Debug)]
pub struct PretrainSettings {
    /// Epochs per layer (0: no pretraining).
    pub epochs: usize,
    /// Seed of the pretraining (layer l trains with `seed + l`).
    pub seed: u64,
    /// Input corruption for the `sae` autoencoders (`None`: masking 25%, the
    /// [`AutoencoderOptions`] default).
    pub noise: Option<Noise>,
    /// The RBMs' contrastive divergence: k, persistent chains, sampled reconstructions
    /// (`dbn`; the other fields of [`CdOptions`] are set by the plan).
    pub cd: CdSettings,
    /// The first RBM's data units (`dbn`; Gaussian units see the standardized inputs).
    pub visible: Visible,
    /// Up-down fine-tuning of a `dbn` for this many epochs instead of backprop (needs
    /// `labels`); `None`: backprop.
    pub up_down_epochs: Option<usize>,
    /// The training labels (for the label units of an up-down DBN).
    pub labels: Option<Vec<usize>>,
}

/// The contrastive-divergence settings a `dbn` takes from the command line.
#[derive(Clone, Copy, Debug)]
pub struct CdSettings {
    /// Gibbs steps per update (CD-k).
    pub k: usize,
    /// Persistent CD.
    pub persistent: bool,
    /// Sampled (0/1) rather than mean-field reconstructions in the negative phase.
    pub sample_visible: bool,
}

impl Default for CdSettings {
    fn default() -> Self {
        CdSettings { k: 1, persistent: false, sample_visible: false }
    }
}

impl PretrainSettings {
    /// `epochs` per layer with `seed`, everything else as by default.
    pub fn new(epochs: usize, seed: u64) -> PretrainSettings {
        PretrainSettings {
            epochs,
            seed,
            noise: None,
            cd: CdSettings::default(),
            visible: Visible::Bernoulli,
            up_down_epochs: None,
            labels: None,
        }
    }
}

/// The outcome of [`Plan::pretrain`].
pub struct PretrainReport {
    /// The pretrained layers.
    pub pretrained: Pretrained,
    /// Wall-clock time of the whole pretraining.
    pub seconds: f64,
    /// Epochs per layer.
    pub epochs: usize,
}

fn parse_sizes(name: &str, text: &str) -> Result<Vec<usize>> {
    let sizes: std::result::Result<Vec<usize>, _> = text.split(['-', ',', 'x']).map(|s| s.trim().parse::<usize>()).collect();
    match sizes {
        Ok(s) if !s.is_empty() && !s.contains(&0) => Ok(s),
        _ => Err(Error::invalid("model", format!("'{name}': sizes must be positive numbers like 500-500-2000"))),
    }
}

impl Plan {
    /// The plan for `name`, or `None` when the name is not one of [`NAMES`].
    ///
    /// Errors: sizes that are not positive numbers, or sizes given to `conv-autoencoder`.
    pub fn parse(name: &str) -> Result<Option<Plan>> {
        let (base, given) = match name.split_once(':') {
            Some((b, s)) => (b, Some(s)),
            None => (name, None),
        };
        let sizes = |default: &[usize]| given.map_or(Ok(default.to_vec()), |s| parse_sizes(name, s));
        let kind = match base {
            "dbn" => PlanKind::Dbn { hidden: sizes(DBN_DEFAULT)? },
            "sae" => PlanKind::Sae { hidden: sizes(DBN_DEFAULT)? },
            "autoencoder" => PlanKind::Autoencoder { hidden: sizes(&[256])? },
            "conv-autoencoder" if given.is_none() => PlanKind::ConvAutoencoder,
            "conv-autoencoder" => {
                return Err(Error::invalid("model", "conv-autoencoder takes no sizes"));
            }
            _ => return Ok(None),
        };
        Ok(Some(Plan { kind }))
    }

    /// Checks that the pretraining epochs and the input noise asked for mean something for
    /// this model (`--pretrain-epochs`: dbn and sae; `--noise`: sae and the autoencoders).
    ///
    /// Errors: pretraining epochs for a model that is not pretrained, or noise for `dbn`.
    pub fn check_options(&self, pretrain_epochs: Option<usize>, noise: Option<Noise>) -> Result<()> {
        let pretrains = matches!(self.kind, PlanKind::Dbn { .. } | PlanKind::Sae { .. });
        if pretrain_epochs.is_some() && !pretrains {
            return Err(Error::invalid("--pretrain-epochs", "only dbn and sae are pretrained"));
        }
        if noise.is_some() && matches!(self.kind, PlanKind::Dbn { .. }) {
            return Err(Error::invalid("--noise", "RBMs take no input corruption (denoising pretraining: --model sae)"));
        }
        Ok(())
    }

    /// True for autoencoders: trained to reproduce their (unstandardized) input, evaluated
    /// by reconstruction loss, no accuracy.
    pub fn reconstruction(&self) -> bool {
        matches!(self.kind, PlanKind::Autoencoder { .. } | PlanKind::ConvAutoencoder)
    }

    /// Pretraining epochs per layer when none are asked for (0: no pretraining). One
    /// epoch per RBM is enough for the accuracy target and keeps `strata train --model dbn`
    /// within minutes on two cores (measured figures in docs/dbn.md).
    pub fn default_pretrain_epochs(&self) -> usize {
        match self.kind {
            PlanKind::Dbn { .. } | PlanKind::Sae { .. } => 1,
            _ => 0,
        }
    }

    /// Hidden sizes with a leading input width dropped (`dbn:784-500-...` on 784 inputs).
    fn hidden(sizes: &[usize], input: &[usize]) -> Vec<usize> {
        let width: usize = input.iter().product();
        if sizes.len() > 1 && sizes[0] == width { sizes[1..].to_vec() } else { sizes.to_vec() }
    }

    /// The (randomly initialized, built) model and its recipe. `noise` corrupts the input of
    /// autoencoders (denoising) and, for `sae`, each pretraining autoencoder; classifiers
    /// ignore it.
    ///
    /// Errors: `conv-autoencoder` with an input that is not `[C, H, W]` with H and W
    /// divisible by 4, or a model that cannot be built for `input`.
    pub fn choose(&self, input: &[usize], classes: usize, seed: u64, noise: Option<Noise>) -> Result<ModelChoice> {
        // Fine-tuning: Adam halved every epoch beat slower decay and SGD with momentum after
        // one CD-1 epoch per RBM (figures in docs/dbn.md).
        let fine_tune = TrainConfig {
            optimizer: "adam".into(),
            lr: 2e-3,
            momentum: 0.0,
            batch_size: 128,
            epochs: 5,
            schedule: Some("step:1:0.5".into()),
            ..TrainConfig::default()
        };
        let reconstruct = TrainConfig {
            optimizer: "adam".into(),
            lr: 1e-3,
            momentum: 0.0,
            batch_size: 128,
            epochs: 5,
            ..TrainConfig::default()
        };
        let (model, recipe, loss) = match &self.kind {
            PlanKind::Dbn { hidden } => {
                (sigmoid_stack("dbn", &Self::hidden(hidden, input), classes), fine_tune, Loss::SoftmaxCrossEntropy)
            }
            PlanKind::Sae { hidden } => {
                (sigmoid_stack("sae", &Self::hidden(hidden, input), classes), fine_tune, Loss::SoftmaxCrossEntropy)
            }
            PlanKind::Autoencoder { hidden } => {
                (dense_autoencoder(input, &Self::hidden(hidden, input), noise), reconstruct, Loss::BinaryCrossEntropy)
            }
            PlanKind::ConvAutoencoder => (conv_autoencoder(input, noise)?, reconstruct, Loss::BinaryCrossEntropy),
        };
        let mut model = model.seed(seed);
        model.build(input)?;
        let mut notes = Vec::new();
        if self.reconstruction() {
            notes.push("reconstruction objective: inputs kept in [0, 1] (not standardized), targets = inputs".into());
        }
        let recipe = ConfigLayer::recipe(model.model_name(), &recipe)?;
        Ok(ModelChoice { model, recipe, loss, notes, fixed_input: None })
    }

    /// Greedy unsupervised pretraining of `model` (built by [`Plan::choose`]) on `raw`
    /// inputs `[N, ...]` with values in `[0, 1]`; `None` for models that have nothing to
    /// pretrain, or with `settings.epochs == 0`. `standardized` is the input
    /// standardization the model will see (folded into the first layer, see
    /// [`load_stack`]). `progress` receives one line per layer and epoch.
    ///
    /// Errors: those of [`Dbn::pretrain`] or [`stacked_autoencoders`], and of loading the
    /// layers into `model`.
    pub fn pretrain(
        &self,
        model: &mut Sequential,
        raw: &Tensor,
        standardized: Option<&Standardizer>,
        settings: PretrainSettings,
        progress: &mut dyn FnMut(String),
    ) -> Result<Option<PretrainReport>> {
        let PretrainSettings { epochs, seed, noise, cd, visible, up_down_epochs, labels } = settings;
        if epochs == 0 && up_down_epochs.is_none() {
            return Ok(None);
        }
        let input = &raw.shape()[1..];
        let start = Instant::now();
        let pretrained = match &self.kind {
            PlanKind::Dbn { hidden } => {
                let hidden = Self::hidden(hidden, input);
                // Gaussian units want real values of unit variance and a much smaller rate
                // (Hinton's practical guide): they see the standardized inputs, which the
                // model sees too, so nothing is folded into the first layer.
                let gaussian = visible == Visible::Gaussian;
                let data = match (gaussian, standardized) {
                    (true, Some(s)) => {
                        let mut x = raw.clone();
                        s.apply(&mut x)?;
                        x
                    }
                    _ => raw.clone(),
                };
                let fold = if gaussian { None } else { standardized };
                let opts = CdOptions {
                    epochs,
                    seed,
                    k: cd.k,
                    persistent: cd.persistent,
                    sample_visible: cd.sample_visible,
                    // persistent chains need a smaller rate than CD (docs/dbn.md)
                    lr: if gaussian {
                        0.005
                    } else if cd.persistent {
                        0.01
                    } else {
                        CdOptions::default().lr
                    },
                    ..CdOptions::default()
                };
                let sizes = |l: usize| format!("{}-{}", if l == 0 { input.iter().product() } else { hidden[l - 1] }, hidden[l]);
                let mut report = |l: usize, r: &RbmEpoch| {
                    progress(format!(
                        "pretrain RBM {}/{} ({}{}) epoch {}: reconstruction error {:.2}, pseudo-log-likelihood {:.2}, {:.1}s ({:.0} samples/s)",
                        l + 1,
                        hidden.len(),
                        sizes(l),
                        if up_down_epochs.is_some() && l + 1 == hidden.len() { " + labels" } else { "" },
                        r.epoch,
                        r.reconstruction_error.unwrap_or(f32::NAN),
                        r.pseudo_log_likelihood.unwrap_or(f32::NAN),
                        r.seconds,
                        r.samples_per_sec
                    ))
                };
                match (up_down_epochs, labels) {
                    (Some(ud_epochs), Some(labels)) => {
                        let classes = labels.iter().max().map_or(0, |m| m + 1).max(model_classes(model));
                        let mut greedy = vec![Vec::new(); hidden.len()];
                        let mut dbn = GenerativeDbn::pretrain(&data, &labels, classes, &hidden, visible, &opts, |l, r| {
                            report(l, r);
                            greedy[l].push(r.clone());
                        })?;
                        let ud = UpDownOptions { epochs: ud_epochs, seed, k: cd.k.max(3), ..UpDownOptions::default() };
                        let up_down = dbn.up_down(&data, &labels, &ud, |r| {
                            progress(format!(
                                "up-down epoch {}: generative reconstruction error {:.2}, DBN accuracy {:.4} (first {} training images), {:.1}s ({:.0} samples/s)",
                                r.epoch,
                                r.reconstruction_error,
                                r.accuracy,
                                ud.monitor_samples.min(labels.len()),
                                r.seconds,
                                r.samples_per_sec
                            ))
                        })?;
                        dbn.load_into(model, fold)?;
                        Pretrained::GenerativeDbn { dbn, epochs: greedy, up_down }
                    }
                    (Some(_), None) => return Err(Error::invalid("finetune", "up-down fine-tuning needs class labels")),
                    (None, _) => {
                        let (dbn, epochs) = Dbn::pretrain(&data, &hidden, visible, &opts, report)?;
                        dbn.load_into(model, fold)?;
                        Pretrained::Dbn { dbn, epochs }
                    }
                }
            }
            PlanKind::Sae { hidden } => {
                let hidden = Self::hidden(hidden, input);
                let opts = AutoencoderOptions {
                    epochs,
                    seed,
                    noise: noise.or(AutoencoderOptions::default().noise),
                    ..AutoencoderOptions::default()
                };
                let (layers, histories) = stacked_autoencoders(raw, &hidden, &opts)?;
                for (l, h) in histories.iter().enumerate() {
                    let last = h.last().map(|e| e.loss).unwrap_or(f32::NAN);
                    progress(format!(
                        "pretrain autoencoder {}/{}: reconstruction loss {last:.4}, {:.1}s",
                        l + 1,
                        hidden.len(),
                        h.train_seconds()
                    ));
                }
                let refs: Vec<(&Tensor, &Tensor)> = layers.iter().map(|(w, b)| (w, b)).collect();
                load_stack(model, &refs, standardized)?;
                Pretrained::Sae { layers, histories }
            }
            _ => return Ok(None),
        };
        Ok(Some(PretrainReport { pretrained, seconds: start.elapsed().as_secs_f64(), epochs }))
    }

    /// Writes the pictures of this model into `dir` (created if missing); `images` are raw
    /// test inputs in `[0, 1]`. A `dbn` gets [`save_dbn_pictures`]'s three pictures, a `sae`
    /// its first layer's filters (`filters.png`), an autoencoder
    /// [`save_autoencoder_pictures`]'s. Returns the files written.
    ///
    /// Errors: `dir` cannot be created, the inputs are not images, or a file cannot be
    /// written.
    pub fn pictures(
        &self,
        dir: &Path,
        model: &mut Sequential,
        report: Option<&PretrainReport>,
        images: &Tensor,
        seed: u64,
    ) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        match (report.map(|r| &r.pretrained), self.reconstruction()) {
            (Some(Pretrained::Dbn { dbn, .. }), _) => save_dbn_pictures(dir, dbn, images, 1000, seed),
            (Some(Pretrained::GenerativeDbn { dbn, .. }), _) => {
                let p = dir.join("dbn.safetensors");
                dbn.save(&p)?;
                let mut written = vec![p];
                written.extend(save_generative_dbn_pictures(dir, dbn, images, 10, 1000, seed)?);
                Ok(written)
            }
            (Some(Pretrained::Sae { layers, .. }), _) => {
                let p = dir.join("filters.png");
                save_filters(&p, &layers[0].0, image_shape(&images.shape()[1..])?, 100)?;
                Ok(vec![p])
            }
            (None, true) => save_autoencoder_pictures(dir, model, images),
            (None, false) => Ok(Vec::new()),
        }
    }
}

/// The class count of a built classifier: the width of its output.
fn model_classes(model: &Sequential) -> usize {
    model.output_shape().and_then(|s| s.last().copied()).unwrap_or(0)
}
