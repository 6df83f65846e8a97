//! The deep architectures of the lectures by name — AlexNet, VGG, NiN, GoogLeNet, ResNet —
//! with the stem adapted when the input is too small for the ImageNet definition.

use super::classic::{alexnet, alexnet_2012, nin, vgg, vgg_a_lrn, vgg_c, vgg_config, zfnet};
use super::googlenet::{googlenet, googlenet_aux};
use super::resnet::{cifar_resnet, resnet, resnet_config, resnet20};
use crate::model::{Sequential, TrainConfig};
use crate::{Error, Result};

/// The deep architectures `zoo::choose` knows (the zoo's [`super::NAMES`] includes them).
pub const NAMES: &[&str] = &[
    "alexnet",
    "alexnet-2012",
    "zfnet",
    "vgg11",
    "vgg11-lrn",
    "vgg13",
    "vgg16",
    "vgg16-c",
    "vgg19",
    "nin",
    "googlenet",
    "googlenet-aux",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
];

/// The CIFAR ResNets (3x3 stem at any input size; He et al. 2016, section 4.2).
pub const CIFAR_RESNETS: &[&str] = &["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"];

/// Inputs with a side below this many pixels get the small-input variant: the ImageNet
/// stems divide the resolution by 4 to 32 before the body, which 28x28 images do not
/// survive.
pub const SMALL_BELOW: usize = 64;

/// A deep model for per-sample `input` `[C, H, W]`, its recipe, and notes on what was
/// changed for a small input. `None` when `name` is not one of [`NAMES`].
pub fn build(name: &str, input: &[usize], classes: usize) -> Result<Option<(Sequential, TrainConfig, Vec<String>)>> {
    if !NAMES.contains(&name) {
        return Ok(None);
    }
    let &[_, h, w] = input else {
        return Err(Error::invalid("model", format!("{name} needs image input [C, H, W], the data has {input:?}")));
    };
    let small = h.min(w) < SMALL_BELOW && !CIFAR_RESNETS.contains(&name);
    let mut notes = Vec::new();
    if small {
        let change = match name {
            "alexnet" | "alexnet-2012" => "first convolution 3x3 stride 1 padding 1 instead of 11x11 stride 4 padding 2",
            "zfnet" => {
                "first two convolutions stride 1 (3x3 padding 1, 5x5 padding 2) instead of 7x7 and 5x5 stride 2, pools unpadded"
            }
            "nin" => "first NiN block's convolution 3x3 stride 1 padding 1 instead of 11x11 stride 4",
            "googlenet" | "googlenet-aux" => {
                "stem convolution 3x3 stride 1 instead of 7x7 stride 2, no max-pool after it, last pool 3x3/2 padded"
            }
            n if n.starts_with("vgg") => "no max-pool in the last two blocks (features 512x3x3 instead of 512x7x7)",
            _ => "stem convolution 3x3 stride 1 instead of 7x7 stride 2, no max-pool after it",
        };
        notes.push(format!("{name}: the {h}x{w} input is below {SMALL_BELOW} pixels: {change}"));
    }
    if name == "googlenet-aux" {
        notes.push(
            "googlenet-aux: torchvision's GoogLeNet: the inception blocks' \"5x5\" branches are 3x3 convolutions (the \
             paper's are 5x5) and every convolution has batch norm; the two auxiliary heads' losses count 0.3 each in \
             training (--aux-weight) and inference skips them"
                .into(),
        );
    }
    // SGD with momentum and weight decay, batch 128. Only resnet20's recipe is measured
    // here (see the README); the others follow the papers' optimizers at rates that suit
    // their normalization (with batch norm 0.05-0.1, without it 0.01).
    let sgd = |lr: f32, epochs: usize, schedule: &str| TrainConfig {
        optimizer: "sgd".into(),
        lr,
        momentum: 0.9,
        weight_decay: 5e-4,
        batch_size: 128,
        epochs,
        schedule: Some(schedule.into()),
        ..TrainConfig::default()
    };
    let (model, recipe) = match name {
        "alexnet" => (alexnet(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "alexnet-2012" => (alexnet_2012(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "zfnet" => (zfnet(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "vgg11-lrn" => (vgg_a_lrn(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "vgg16-c" => (vgg_c(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "nin" => (nin(classes, small), sgd(0.01, 10, "step:4:0.3")),
        "googlenet" => (googlenet(classes, small), sgd(0.05, 10, "step:4:0.3")),
        "googlenet-aux" => (googlenet_aux(classes, small, (h, w)), sgd(0.05, 10, "step:4:0.3")),
        "resnet20" => (resnet20(classes), sgd(0.1, 5, "step:2:0.2")),
        n if CIFAR_RESNETS.contains(&n) => {
            let depth: usize = n.trim_start_matches("resnet").parse().map_err(|_| Error::invalid("model", n))?;
            let model = cifar_resnet(depth, classes).ok_or_else(|| Error::invalid("model", n))?;
            (model, sgd(0.1, 10, "step:4:0.2"))
        }
        n => {
            if let Some(cfg) = n.strip_prefix("vgg").and_then(|d| d.parse().ok()).and_then(vgg_config) {
                (vgg(cfg, classes, small), sgd(0.01, 10, "step:4:0.3"))
            } else {
                let depth: usize = n.trim_start_matches("resnet").parse().map_err(|_| Error::invalid("model", n))?;
                let (kind, stages) = resnet_config(depth).ok_or_else(|| Error::invalid("model", n))?;
                (resnet(depth, kind, stages, classes, small), sgd(0.05, 10, "step:4:0.3"))
            }
        }
    };
    Ok(Some((model, recipe, notes)))
}
