//! Optimizers on the same network, data, batch and initial weights: plain SGD, SGD with
//! momentum, Nesterov momentum, Adagrad, RMSprop and Adam, each at its customary learning
//! rate. Momentum and the adaptive methods should drive the training loss down faster
//! than plain SGD.

use super::common::{Training, epoch_panel, f3, images, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::Result;
use crate::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use crate::plot::{Legend, LineChart};
use serde_json::json;

/// Names, learning rates and the optimizers.
fn optimizers() -> Vec<(&'static str, f32, Box<dyn Optimizer>)> {
    vec![
        ("sgd", 0.05, Box::new(Sgd::new(0.05))),
        ("momentum", 0.05, Box::new(Sgd::new(0.05).momentum(0.9))),
        ("nesterov", 0.05, Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true))),
        ("adagrad", 0.01, Box::new(Adagrad::new(0.01))),
        ("rmsprop", 0.001, Box::new(RmsProp::new(0.001))),
        ("adam", 0.001, Box::new(Adam::new(0.001))),
    ]
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (3000, 1000, 4) } else { (20_000, 10_000, 8) };
    let data = images(opts, train_size, test_size)?;
    let how = Training { epochs, batch: 64, augment: None, per_epoch_test: true };
    let mut names = Vec::new();
    for (name, lr, optimizer) in optimizers() {
        let mut model = crate::zoo::mlp(10).seed(opts.seed);
        model.build(data.train.sample_shape())?;
        let trained = train_classifier(model, optimizer, &data, &how)?;
        let mut run = trained.figures(Run::new(name, json!({"optimizer": name, "lr": lr})));
        let first = trained.history.epochs.first().map_or(f64::NAN, |e| e.loss as f64);
        run = run.figure("first_epoch_loss", first);
        rec.push(run);
        names.push(name);
    }
    let loss = |name: &str| rec.find(name).map(|r| r.get("train_loss"));
    let sgd = loss("sgd")?;
    let others = ["momentum", "nesterov", "adagrad", "rmsprop", "adam"];
    let mut held = Vec::new();
    let mut parts = Vec::new();
    for o in others {
        let l = loss(o)?;
        held.push(l < sgd);
        parts.push(format!("{o} {}", f3(l)));
    }
    let verdict = Verdict::parts(&held, format!("training loss after {epochs} epochs: sgd {}, {}", f3(sgd), parts.join(", ")));
    let runs: Vec<Run> = names.iter().map(|n| rec.find(n).cloned()).collect::<Result<_>>()?;
    let named: Vec<(&str, &Run)> = names.iter().copied().zip(runs.iter()).collect();
    let chart = LineChart {
        title: format!("Optimizers on the 784-256-128-10 MLP ({} training images, batch 64)", data.train.len()),
        columns: 2,
        panels: vec![
            epoch_panel("training loss (mean over the epoch)", "training loss", &named, Legend::UpperRight, |r| Some(r.loss)),
            epoch_panel("test accuracy", "test accuracy", &named, Legend::LowerRight, |r| r.val_accuracy),
        ],
    };
    let settings = json!({
        "network": "mlp 784-256-128-10 relu", "train_images": data.train.len(), "test_images": data.test.len(),
        "epochs": epochs, "batch": 64,
        "learning_rates": {"sgd": 0.05, "momentum": "0.05, momentum 0.9", "nesterov": "0.05, momentum 0.9",
                            "adagrad": 0.01, "rmsprop": 0.001, "adam": 0.001},
    });
    Ok(Outcomes { settings, verdict, chart })
}
