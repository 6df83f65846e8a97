//! Named models (`--model mlp`, ...) and spec files, each with a default training recipe.
//! Models take their input shape and class count from the data, so one name works on
//! any dataset.

use crate::loss::Loss;
use crate::model::{ConfigLayer, Sequential, TrainConfig};
use crate::nn::{
    Activation, AvgPool2d, Conv2d, Dense, Dropout, Flatten, LENET5_C3_TABLE, MaxPool2d, Rbf, SparseConv2d, Subsampling2d,
};
use crate::{Error, Result};
use Activation::{Relu, Tanh};
use std::path::Path;

pub mod blocks;
pub mod classic;
pub mod deep;
pub mod googlenet;
pub mod recurrent;
pub mod resnet;
mod spec_file;

pub use crate::model::ModelChoice;
pub use spec_file::ModelSpec;

/// The small image and table models, named before the deep ones in `NAMES`.
const SHALLOW_NAMES: &[&str] = &["mlp", "lenet5", "lenet5-classic", "lenet5-1998", "cnn"];

/// The recurrent and pretrained models, named after the deep ones in `NAMES`.
const OTHER_NAMES: &[&str] = &["rnn", "lstm", "gru", "dbn", "sae", "autoencoder", "conv-autoencoder"];

/// Every model name the zoo knows: the shallow ones, [`deep::NAMES`] (the deep
/// architectures' one list), then the recurrent and pretrained ones.
pub const NAMES: &[&str] =
    &join_names::<{ SHALLOW_NAMES.len() + deep::NAMES.len() + OTHER_NAMES.len() }>([SHALLOW_NAMES, deep::NAMES, OTHER_NAMES]);

/// The lists one after the other, at compile time (so no list of names is written twice).
const fn join_names<const N: usize>(lists: [&[&'static str]; 3]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut l) = (0, 0);
    while l < lists.len() {
        let mut j = 0;
        while j < lists[l].len() {
            out[i] = lists[l][j];
            i += 1;
            j += 1;
        }
        l += 1;
    }
    assert!(i == N, "join_names: N must be the lists' total length");
    out
}

/// The multilayer perceptron of the benchmarks: Flatten -> 256 ReLU -> 128 ReLU -> classes.
pub fn mlp(classes: usize) -> Sequential {
    Sequential::new()
        .name("mlp")
        .add(Flatten)
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(classes))
}

/// LeNet-5 as trained today (ReLU, max pooling): 61,706 parameters at 1x28x28.
pub fn lenet5(classes: usize) -> Sequential {
    Sequential::new()
        .name("lenet5")
        .add(Conv2d::new(6, 5).padding(2).activation(Relu))
        .add(MaxPool2d::new(2))
        .add(Conv2d::new(16, 5).activation(Relu))
        .add(MaxPool2d::new(2))
        .add(Flatten)
        .add(Dense::new(120).activation(Relu))
        .add(Dense::new(84).activation(Relu))
        .add(Dense::new(classes))
}

/// LeNet-5 as in LeCun et al. 1998: tanh units, average-pooling subsampling, C5 as a 5x5
/// convolution with 120 maps, F6 with 84 units. The 28x28 digits are padded to 32x32 (the
/// first convolution's padding of 2). Differences from the paper: C3 connects to all S2
/// maps (the paper's sparse connection table was an engineering economy), subsampling has
/// no trainable coefficient, and the RBF output layer is a softmax layer.
pub fn lenet5_classic(classes: usize) -> Sequential {
    Sequential::new()
        .name("lenet5-classic")
        .add(Conv2d::new(6, 5).padding(2).activation(Tanh))
        .add(AvgPool2d::new(2))
        .add(Conv2d::new(16, 5).activation(Tanh))
        .add(AvgPool2d::new(2))
        .add(Conv2d::new(120, 5).activation(Tanh))
        .add(Flatten)
        .add(Dense::new(84).activation(Tanh))
        .add(Dense::new(classes))
}

/// LeNet-5 as LeCun et al. 1998 define it (section II-B): C1 six 5x5 maps; S2 trainable
/// subsampling (a coefficient and a bias per map, then the squashing); C3 sixteen 5x5 maps
/// on the paper's connection table (table I); S4 trainable subsampling; C5 120 5x5 maps;
/// F6 84 units; every layer squashed by the scaled tanh `1.7159 tanh(2x/3)`; Euclidean RBF
/// output units. 60,000 trainable parameters up to F6, as published (C1 156, S2 12, C3
/// 1,516, S4 32, C5 48,120, F6 10,164), plus 840 for the RBF centres: 60,840 at 1x28x28
/// and 10 classes. Differences from the paper, in [`lenet5_1998_notes`].
pub fn lenet5_1998(classes: usize) -> Sequential {
    let squash = Activation::ScaledTanh;
    Sequential::new()
        .name("lenet5-1998")
        .add(Conv2d::new(6, 5).padding(2).activation(squash))
        .add(Subsampling2d::new(2).activation(squash))
        .add(SparseConv2d::new(&LENET5_C3_TABLE, 5).activation(squash))
        .add(Subsampling2d::new(2).activation(squash))
        .add(Conv2d::new(120, 5).activation(squash))
        .add(Flatten)
        .add(Dense::new(84).activation(squash))
        .add(Rbf::new(classes))
}

/// What `lenet5-1998` changes from the paper, for `strata summary`'s notes.
pub fn lenet5_1998_notes() -> Vec<String> {
    vec![
        "lenet5-1998: the RBF centres are learned, starting from random +1/-1 codes: the paper's fixed 7x12 ASCII \
         bitmaps (its figure 3) are not published as data (840 parameters more than the paper's 60,000)"
            .into(),
        "lenet5-1998: trained with softmax cross-entropy on the negated RBF distances (the paper's criterion, \
         equation 9, without its constant rubbish-class term) by SGD with momentum, not stochastic diagonal \
         Levenberg-Marquardt; the 28x28 input is zero-padded to 32x32 (the paper pads with its background value)"
            .into(),
    ]
}

/// The Keras MNIST example CNN (workload W3).
pub fn cnn(classes: usize) -> Sequential {
    Sequential::new()
        .name("cnn")
        .add(Conv2d::new(32, 3).activation(Relu))
        .add(Conv2d::new(64, 3).activation(Relu))
        .add(MaxPool2d::new(2))
        .add(Dropout::new(0.25))
        .add(Flatten)
        .add(Dense::new(128).activation(Relu))
        .add(Dropout::new(0.5))
        .add(Dense::new(classes))
}

fn needs_image(name: &str, input: &[usize]) -> Result<()> {
    if input.len() != 3 {
        return Err(Error::invalid("model", format!("{name} needs image input [C, H, W], the data has {input:?}")));
    }
    Ok(())
}

/// Resolves a model name or a spec-file path for per-sample `input` shape and `classes`:
/// the built model, its loss and its recipe (a spec file's `[training]` table).
pub fn choose(name_or_path: &str, input: &[usize], classes: usize, seed: u64) -> Result<ModelChoice> {
    let path = Path::new(name_or_path);
    if crate::onnx::is_onnx_path(path) {
        return imported(path, input, classes, seed);
    }
    if name_or_path.ends_with(".toml") || path.is_file() {
        let spec = ModelSpec::read(path)?;
        if let Some(declared) = &spec.input
            && declared.as_slice() != input
        {
            return Err(Error::data(path, format!("declares input {declared:?} but the data has {input:?}")));
        }
        let name = spec.name.clone().unwrap_or_else(|| path.file_stem().and_then(|s| s.to_str()).unwrap_or("spec").to_string());
        let mut model = Sequential::from_specs(&spec.layers).name(name).seed(seed);
        model.build(input).map_err(|e| Error::data(path, e.to_string()))?;
        return Ok(ModelChoice {
            model,
            recipe: spec.recipe(path)?,
            loss: spec.loss.unwrap_or(Loss::SoftmaxCrossEntropy),
            notes: Vec::new(),
            fixed_input: None,
        });
    }
    if let Some(choice) = recurrent::choose(name_or_path, input, classes, seed)? {
        return Ok(choice);
    }
    if let Some(plan) = crate::pretrain::Plan::parse(name_or_path)? {
        return plan.choose(input, classes, seed, None);
    }
    let sgd = |lr: f32, schedule: &str| TrainConfig { lr, schedule: Some(schedule.into()), ..TrainConfig::default() };
    let (model, recipe, notes) = match name_or_path {
        // Step decay: 0.05 for 4 epochs, then x0.3 every 4 (the README's accuracy table).
        "mlp" => (mlp(classes), sgd(0.05, "step:4:0.3"), Vec::new()),
        "lenet5" => {
            needs_image(name_or_path, input)?;
            (lenet5(classes), sgd(0.05, "step:4:0.3"), Vec::new())
        }
        "lenet5-classic" => {
            needs_image(name_or_path, input)?;
            (lenet5_classic(classes), sgd(0.05, "step:4:0.3"), Vec::new())
        }
        "lenet5-1998" => {
            needs_image(name_or_path, input)?;
            // small steps: the RBF scores are squared distances over 84 units, and SGD at
            // lenet5's 0.05 (or 0.01 at batch 128) saturates the squashing and never learns
            let recipe = TrainConfig { batch_size: 32, ..sgd(0.001, "step:4:0.3") };
            (lenet5_1998(classes), recipe, lenet5_1998_notes())
        }
        "cnn" => {
            needs_image(name_or_path, input)?;
            (cnn(classes), TrainConfig { epochs: 5, ..sgd(0.05, "step:2:0.5") }, Vec::new())
        }
        name if deep::NAMES.contains(&name) => deep::build(name, input, classes)?.ok_or_else(|| Error::invalid("model", name))?,
        other => {
            return Err(Error::invalid(
                "model",
                format!("unknown '{other}' (known: {}; or give a .toml spec file)", NAMES.join(", ")),
            ));
        }
    };
    let mut model = model.seed(seed);
    model.build(input)?;
    let recipe = ConfigLayer::recipe(name_or_path, &recipe)?;
    Ok(ModelChoice { model, recipe, loss: Loss::SoftmaxCrossEntropy, notes, fixed_input: None })
}

/// A benchmark workload of `../shared/bench`: the model and the optimizer it is timed with.
pub struct Workload {
    /// The network, built and seeded.
    pub model: Sequential,
    /// The optimizer it is timed with.
    pub optimizer: Box<dyn crate::optim::Optimizer>,
    /// The loss it is timed with.
    pub loss: Loss,
    /// Steps per timed window in the protocol.
    pub steps: usize,
}

/// Workload names accepted by `strata bench`, each with its id in ../shared/bench (also
/// accepted as a name) where it has one.
pub const WORKLOADS: &[(&str, Option<&str>)] = &[
    ("mlp", Some("W1")),
    ("lenet5", Some("W2")),
    ("cnn", Some("W3")),
    ("lstm", Some("W4")),
    ("resnet20", Some("W5")),
    ("resnet20-rgb32", Some("W6")),
    ("gru", None),
    ("rnn", None),
];

/// [`WORKLOADS`] in words: `mlp (W1), lenet5 (W2), ..., gru, rnn`.
pub fn workload_names() -> String {
    let name = |&(n, id): &(&str, Option<&str>)| id.map_or(n.to_string(), |id| format!("{n} ({id})"));
    WORKLOADS.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// The workload `name` (W1 `mlp`, ...), for per-sample `input` and `classes`.
pub fn workload(name: &str, input: &[usize], classes: usize) -> Result<Workload> {
    if let Some(w) = recurrent::workload(name, input, classes) {
        return w;
    }
    let (mut model, optimizer, steps): (Sequential, Box<dyn crate::optim::Optimizer>, usize) = match name {
        "mlp" | "W1" => (mlp(classes), Box::new(crate::optim::Sgd::new(0.05).momentum(0.9)), 200),
        "lenet5" | "W2" => (lenet5(classes), Box::new(crate::optim::Sgd::new(0.05).momentum(0.9)), 200),
        "cnn" | "W3" => (cnn(classes), Box::new(crate::optim::Sgd::new(0.05).momentum(0.9)), 200),
        // W6 is W5's network on 3x32x32 input (see crate::bench::colour32); the stem
        // takes its channels from the input.
        "resnet20" | "W5" | "resnet20-rgb32" | "W6" => {
            (resnet::resnet20(classes), Box::new(crate::optim::Sgd::new(0.1).momentum(0.9).weight_decay(5e-4)), 50)
        }
        other => return Err(Error::invalid("workload", format!("unknown '{other}' (known: {})", workload_names()))),
    };
    model = model.seed(1234);
    model.build(input)?;
    Ok(Workload { model, optimizer, loss: Loss::SoftmaxCrossEntropy, steps })
}

/// An imported ONNX network to fine-tune: its weights, checked against the data's input
/// shape and classes, with a gentle recipe (Adam at 1e-4, 3 epochs) so training starts
/// from what it learned instead of undoing it (SGD at 0.005 with momentum cost a small
/// batch-norm ResNet 16 points of accuracy in its first epoch).
fn imported(path: &Path, input: &[usize], classes: usize, seed: u64) -> Result<ModelChoice> {
    let saved = crate::onnx::import_file(path)?;
    let (mut model, meta) = (saved.model, saved.meta);
    if meta.input_shape != input {
        return Err(Error::data(path, format!("takes input {:?} but the data has {input:?}", meta.input_shape)));
    }
    if meta.num_classes.is_some_and(|k| k != classes) {
        return Err(Error::data(
            path,
            format!("has {} outputs but the data has {classes} classes", meta.num_classes.unwrap_or(0)),
        ));
    }
    model = model.seed(seed);
    let config = TrainConfig { optimizer: "adam".into(), lr: 1e-4, epochs: 3, ..TrainConfig::default() };
    Ok(ModelChoice {
        model,
        recipe: crate::model::ConfigLayer::recipe(&meta.name, &config)?,
        loss: meta.loss,
        notes: vec![format!("fine-tuning the network imported from {}", path.display())],
        fixed_input: Some(meta.standardize),
    })
}
