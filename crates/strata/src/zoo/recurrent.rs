//! The recurrent classifiers `rnn`, `lstm`, `gru`: an image read row by row (28 steps of
//! 28 features for Fashion-MNIST), 128 hidden units, the last hidden state -> Dense(classes).
//! W4 of the shared benchmarks is the `lstm` one.

use super::{ModelChoice, Workload};
use crate::loss::Loss;
use crate::model::{ConfigLayer, Sequential, TrainConfig};
use crate::nn::recurrent::Cell;
use crate::nn::{Dense, Recurrent};
use crate::{Error, Result};

/// Hidden units of the zoo's recurrent classifiers (W4).
pub const UNITS: usize = 128;

fn cell_of(name: &str) -> Option<Cell> {
    match name {
        "rnn" => Some(Cell::RnnTanh),
        "lstm" | "W4" => Some(Cell::Lstm),
        "gru" => Some(Cell::Gru),
        _ => None,
    }
}

/// `Recurrent(cell, 128)` on the rows of the input, then `Dense(classes)`.
pub fn classifier(cell: Cell, name: &str, classes: usize) -> Sequential {
    Sequential::new().name(name).add(Recurrent::new(cell, UNITS)).add(Dense::new(classes))
}

/// Checks that a per-sample input can be read as a sequence ([T, F] or [C, T, W]).
fn check_input(name: &str, input: &[usize]) -> Result<()> {
    if matches!(input.len(), 2 | 3) {
        Ok(())
    } else {
        Err(Error::invalid(
            "model",
            format!(
                "'{name}' reads its input as a sequence of rows; {input:?} is neither [steps, features] nor [channels, rows, cols]"
            ),
        ))
    }
}

/// The zoo entry for `name`, if it is one of the recurrent models.
pub fn choose(name: &str, input: &[usize], classes: usize, seed: u64) -> Result<Option<ModelChoice>> {
    let Some(cell) = cell_of(name).filter(|_| name != "W4") else {
        return Ok(None);
    };
    check_input(name, input)?;
    let mut model = classifier(cell, name, classes).seed(seed);
    model.build(input)?;
    // Adam as in W4, with a higher start and a step decay, so that 5 epochs reach the
    // published accuracy (the README's table has the figures of each cell's choice).
    let (lr, schedule) = match cell {
        Cell::RnnTanh | Cell::RnnRelu => (1e-3, "step:2:0.5"),
        Cell::Lstm => (5e-3, "step:1:0.6"),
        Cell::Gru => (3e-3, "step:2:0.5"),
    };
    let recipe = TrainConfig {
        optimizer: "adam".into(),
        lr,
        momentum: 0.0,
        weight_decay: 0.0,
        batch_size: 128,
        epochs: 5,
        schedule: Some(schedule.into()),
        ..TrainConfig::default()
    };
    let recipe = ConfigLayer::recipe(name, &recipe)?;
    Ok(Some(ModelChoice { model, recipe, loss: Loss::SoftmaxCrossEntropy, notes: Vec::new(), fixed_input: None }))
}

/// The benchmark workload `name` (W4 `lstm`; also `gru`, `rnn`), timed with W4's optimizer
/// (Adam, lr 1e-3), if it is one of the recurrent ones.
pub fn workload(name: &str, input: &[usize], classes: usize) -> Option<Result<Workload>> {
    let cell = cell_of(name)?;
    Some((|| {
        check_input(name, input)?;
        let mut model = classifier(cell, if name == "W4" { "lstm" } else { name }, classes).seed(1234);
        model.build(input)?;
        Ok(Workload { model, optimizer: Box::new(crate::optim::Adam::new(1e-3)), loss: Loss::SoftmaxCrossEntropy, steps: 200 })
    })())
}
