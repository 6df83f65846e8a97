//! Named models (`--model mlp`, ...) and spec files, each with a default training recipe.
//! Models take their input shape and class count from the data, so one name works on
//! any dataset.

use crate::io::{ModelSpec, Recipe};
use crate::loss::Loss;
use crate::model::Sequential;
use crate::nn::{Activation, Dense, Flatten};
use crate::{Error, Result};
use std::path::Path;

pub mod recurrent;

/// A model ready to compile, with the recipe it trains best with.
pub struct ModelChoice {
    pub model: Sequential,
    pub recipe: Recipe,
    pub loss: Loss,
    /// Notes on adaptations made for the given input (printed by the CLI).
    pub notes: Vec<String>,
}

/// Every model name the zoo knows.
pub const NAMES: &[&str] = &["mlp", "rnn", "lstm", "gru"];

/// The multilayer perceptron of the benchmarks: Flatten -> 256 ReLU -> 128 ReLU -> classes.
pub fn mlp(classes: usize) -> Sequential {
    Sequential::new()
        .name("mlp")
        .add(Flatten)
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(classes))
}

/// Resolves a model name or a spec-file path for per-sample `input` shape and `classes`.
pub fn choose(name_or_path: &str, input: &[usize], classes: usize, seed: u64) -> Result<ModelChoice> {
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.is_file() {
        let spec = ModelSpec::read(path)?;
        if let Some(declared) = &spec.input {
            if declared.as_slice() != input {
                return Err(Error::data(path, format!("declares input {declared:?} but the data has {input:?}")));
            }
        }
        let name = spec.name.clone().unwrap_or_else(|| path.file_stem().and_then(|s| s.to_str()).unwrap_or("spec").to_string());
        let mut model = Sequential::from_specs(&spec.layers).name(name).seed(seed);
        model.build(input)?;
        return Ok(ModelChoice {
            model,
            recipe: spec.training.unwrap_or_default(),
            loss: spec.loss.unwrap_or(Loss::SoftmaxCrossEntropy),
            notes: Vec::new(),
        });
    }
    if let Some(choice) = recurrent::choose(name_or_path, input, classes, seed)? {
        return Ok(choice);
    }
    let mut model = match name_or_path {
        "mlp" => mlp(classes),
        other => {
            return Err(Error::invalid(
                "model",
                format!("unknown '{other}' (known: {}; or give a .toml spec file)", NAMES.join(", ")),
            ))
        }
    }
    .seed(seed);
    model.build(input)?;
    // Step decay: 0.05 for 4 epochs, then x0.3 every 4 (measured: 0.892-0.894 test accuracy after 10 epochs).
    let recipe = Recipe { schedule: Some("step:4:0.3".into()), ..Recipe::default() };
    Ok(ModelChoice { model, recipe, loss: Loss::SoftmaxCrossEntropy, notes: Vec::new() })
}

/// A benchmark workload of `../shared/bench`: the model and the optimizer it is timed with.
pub struct Workload {
    pub model: Sequential,
    pub optimizer: Box<dyn crate::optim::Optimizer>,
    pub loss: Loss,
    /// Steps per timed window in the protocol.
    pub steps: usize,
}

/// Workload names accepted by `strata bench`.
pub const WORKLOADS: &[&str] = &["mlp", "lstm", "gru", "rnn"];

/// The workload `name` (W1 `mlp`, ...), for per-sample `input` and `classes`.
pub fn workload(name: &str, input: &[usize], classes: usize) -> Result<Workload> {
    if let Some(w) = recurrent::workload(name, input, classes) {
        return w;
    }
    let (mut model, optimizer, steps): (Sequential, Box<dyn crate::optim::Optimizer>, usize) = match name {
        "mlp" | "W1" => (mlp(classes), Box::new(crate::optim::Sgd::new(0.05).momentum(0.9)), 200),
        other => {
            return Err(Error::invalid("workload", format!("unknown '{other}' (known: {})", WORKLOADS.join(", "))))
        }
    };
    model = model.seed(1234);
    model.build(input)?;
    Ok(Workload { model, optimizer, loss: Loss::SoftmaxCrossEntropy, steps })
}
