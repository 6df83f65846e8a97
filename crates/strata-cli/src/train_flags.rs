//! The training-settings flags `train` and `cv` share. Each flag is a field of
//! `strata::model::TrainConfig` under the same name (`--batch-size` is `batch_size`); the
//! flags that were given form the top layer of the settings (see `TrainConfig::resolve`).

use clap::Args;
use serde::Serialize;
use strata::model::{ConfigLayer, ConfigSource};

/// Training settings; unset flags keep the model's recipe.
#[derive(Args, Clone, Debug, Default, Serialize)]
pub struct TrainFlags {
    /// Epochs (default: the model's recipe).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Mini-batch size (default: the model's recipe, usually 128).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Optimizer: sgd, nesterov, adagrad, rmsprop, adam, adamw.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
    /// Learning rate.
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f32>,
    /// Momentum (sgd, nesterov, rmsprop).
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f32>,
    /// Weight decay (L2; decoupled for adamw).
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule: step:EPOCHS:GAMMA, plateau:FACTOR:PATIENCE (optionally :MIN_LR), exp:GAMMA.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// Settings only `train` has (validation, early stopping, clipping, augmentation,
/// pretraining).
#[derive(Args, Clone, Debug, Default, Serialize)]
pub struct TrainOnlyFlags {
    /// Hold out this fraction of the training set to validate on after each epoch.
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_split: Option<f32>,
    /// Stop when the monitored figure has not improved for this many epochs, and keep the
    /// best epoch's weights (validates on --validation-split, 0.1 unless given).
    #[arg(long, value_name = "PATIENCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<usize>,
    /// What early stopping watches: val_loss (default), val_accuracy, loss, accuracy.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// Clip the gradients to this global L2 norm before each update.
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f32>,
    /// Clip every gradient element to [-V, V] before each update.
    #[arg(long, value_parser = finite)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_value: Option<f32>,
    /// Weight of the auxiliary classifiers' losses in training (googlenet-aux; default 0.3).
    #[arg(long, value_parser = finite, value_name = "W")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux_weight: Option<f32>,
    /// Augment training images: a comma list of crop:PIXELS, flip, translate:PIXELS, rotate:DEGREES,
    /// and colour jitter brightness:F, contrast:F, saturation:F (F in [0, 1]; jitter:F sets all three;
    /// gray images get brightness and contrast only).
    #[arg(long, value_name = "SPEC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<String>,
    /// End every epoch after this many steps (quick runs, throughput measurements).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_per_epoch: Option<usize>,
    /// Unsupervised pretraining epochs per layer for dbn and sae (default: the model's; 0: none).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretrain_epochs: Option<usize>,
    /// Input corruption for autoencoders (denoising) and sae pretraining: mask:P or gaussian:STD.
    #[arg(long, value_name = "SPEC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<String>,
    /// dbn: Gibbs steps per contrastive-divergence update of the RBMs (CD-k; default 1).
    #[arg(long, value_name = "K")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cd_k: Option<usize>,
    /// dbn: persistent contrastive divergence (the negative chains carry over between updates).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pcd: bool,
    /// dbn: the first RBM's data units, bernoulli (pixels in [0, 1], default) or gaussian
    /// (real values: the RBM sees the standardized inputs, unit variance).
    #[arg(long, value_name = "bernoulli|gaussian")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<String>,
    /// dbn: visible states of the CD negative phase, mean-field (probabilities, default) or
    /// sampled (0/1 draws).
    #[arg(long, value_name = "mean-field|sampled")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconstruction: Option<String>,
    /// dbn: fine-tuning after greedy pretraining: backprop (the unrolled sigmoid classifier,
    /// default) or up-down (the generative DBN with label units at the top, by the up-down
    /// wake-sleep algorithm for --epochs; writes dbn.safetensors and class-samples.png to --out).
    #[arg(long, value_name = "backprop|up-down")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finetune: Option<String>,
}

/// How to read image data: folders of pictures, NumPy arrays (not training settings).
#[derive(Args, Clone, Debug, Default)]
pub struct DataFlags {
    /// Resize the pictures of an image folder to HxW, e.g. 32x32 (default: the size of the
    /// first picture; pictures of other sizes are then an error).
    #[arg(long, value_name = "HxW", value_parser = image_size)]
    pub image_size: Option<(usize, usize)>,
    /// Convert images to 1 (gray) or 3 (RGB) channels (default: 3 when any picture of an
    /// image folder has colour; the stored channels otherwise).
    #[arg(long, value_name = "1|3", value_parser = channels)]
    pub channels: Option<usize>,
    /// Skip pictures that cannot be read (with a warning and a count) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Where the channels of rank-4 NumPy images are: nhwc (N, H, W, C; default) or nchw.
    #[arg(long, default_value = "nhwc")]
    pub layout: String,
}

impl DataFlags {
    /// The options the library's loaders take; `test_split` and `seed` split an image
    /// folder without train/ and test/.
    pub fn options(&self, test_split: f32, seed: u64) -> strata::Result<strata::data::formats::LoadOptions> {
        Ok(strata::data::formats::LoadOptions {
            test_split,
            seed,
            image_size: self.image_size,
            channels: self.channels,
            skip_bad: self.skip_bad,
            layout: self.layout.parse()?,
            cache_mb: None,
        })
    }
}

/// `HxW` (or one number for a square) as `(height, width)`, each 1..=16384.
pub(crate) fn image_size(s: &str) -> Result<(usize, usize), String> {
    let parse = |v: &str| match v.trim().parse::<usize>() {
        Ok(n) if (1..=16384).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not HxW with sides 1..=16384 (e.g. 32x32)")),
    };
    match s.to_ascii_lowercase().split_once('x') {
        Some((h, w)) => Ok((parse(h)?, parse(w)?)),
        None => parse(s).map(|n| (n, n)),
    }
}

/// 1 or 3.
fn channels(s: &str) -> Result<usize, String> {
    match s.trim() {
        "1" => Ok(1),
        "3" => Ok(3),
        _ => Err(format!("'{s}' is not 1 (gray) or 3 (RGB)")),
    }
}

/// A number flag: finite values only (NaN and infinity are refused where they are typed).
pub(crate) fn finite(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err("must be a finite number".into()),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}

/// The flags given, as the top layer of the training settings.
pub fn flags_layer(flags: &impl Serialize) -> strata::Result<ConfigLayer> {
    ConfigLayer::from_fields(ConfigSource::Flags, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::model::{FIELDS, TrainConfig};

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        common: TrainFlags,
        #[command(flatten)]
        only: TrainOnlyFlags,
    }

    #[test]
    fn every_flag_is_a_training_setting_of_the_same_name() {
        use clap::Parser;
        let args = [
            "x",
            "--epochs",
            "3",
            "--batch-size",
            "4",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--momentum",
            "0.5",
            "--weight-decay",
            "0.001",
            "--schedule",
            "exp:0.9",
            "--validation-split",
            "0.2",
            "--early-stopping",
            "2",
            "--monitor",
            "loss",
            "--clip-norm",
            "1",
            "--clip-value",
            "2",
            "--aux-weight",
            "0.5",
            "--augment",
            "flip",
            "--steps-per-epoch",
            "5",
            "--pretrain-epochs",
            "1",
            "--noise",
            "mask:0.1",
            "--cd-k",
            "3",
            "--pcd",
            "--visible",
            "gaussian",
            "--reconstruction",
            "sampled",
            "--finetune",
            "up-down",
        ];
        let cli = Cli::try_parse_from(args).unwrap();
        let (a, b) = (flags_layer(&cli.common).unwrap(), flags_layer(&cli.only).unwrap());
        let mut set: Vec<&str> = a.fields().chain(b.fields()).collect();
        set.sort();
        let mut all = FIELDS.to_vec();
        all.sort();
        assert_eq!(set, all, "every TrainConfig field has a flag");
        let r = TrainConfig::resolve(
            strata::model::ConfigLayer::full(strata::model::ConfigSource::Default, &TrainConfig::default()).unwrap(),
            &[a, b],
            None,
        )
        .unwrap();
        assert_eq!((r.config.epochs, r.config.batch_size, r.config.monitor.as_str()), (3, 4, "loss"));
        assert!(Cli::try_parse_from(["x", "--lr", "nan"]).is_err());
        assert!(Cli::try_parse_from(["x", "--clip-norm", "inf"]).is_err());
    }
}
