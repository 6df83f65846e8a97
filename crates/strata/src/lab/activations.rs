//! Activation functions compared on two networks with the same optimizer and budget: an
//! MLP (784-256-128-10) and LeNet-5 (two 5x5 convolutions with max pooling, 120-84 dense
//! layers), each with sigmoid, tanh, ReLU, leaky ReLU (0.01), ELU (1.0) or maxout units.
//!
//! Maxout: the dense hidden layers become maxout layers of 2 pieces; in LeNet-5 the
//! convolutions are linear and the 2x2 max pooling after each is their maxout (over four
//! positions), since a channel-wise maxout convolution is not a strata layer.

use super::common::{Images, Training, epoch_panel, f3, images, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::Result;
use crate::model::Sequential;
use crate::nn::{Activation, Conv2d, Dense, Flatten, MaxPool2d, Maxout};
use crate::optim::Sgd;
use crate::plot::{Legend, LineChart};
use serde_json::json;

/// A hidden unit kind: a fixed function, or maxout.
#[derive(Clone, Copy)]
enum Unit {
    Fixed(Activation),
    Maxout,
}

/// One learning rate for all: 0.05 made the maxout MLP diverge in its first epoch.
const LR: f32 = 0.02;

const UNITS: [(&str, Unit); 6] = [
    ("sigmoid", Unit::Fixed(Activation::Sigmoid)),
    ("tanh", Unit::Fixed(Activation::Tanh)),
    ("relu", Unit::Fixed(Activation::Relu)),
    ("leaky relu", Unit::Fixed(Activation::LeakyRelu(0.01))),
    ("elu", Unit::Fixed(Activation::Elu(1.0))),
    ("maxout", Unit::Maxout),
];

fn dense(m: Sequential, units: usize, unit: Unit) -> Sequential {
    match unit {
        Unit::Fixed(a) => m.add(Dense::new(units).activation(a)),
        Unit::Maxout => m.add(Maxout::new(units, 2)),
    }
}

fn mlp(unit: Unit, seed: u64) -> Sequential {
    let m = Sequential::new().seed(seed).add(Flatten);
    let m = dense(dense(m, 256, unit), 128, unit);
    m.add(Dense::new(10))
}

fn lenet5(unit: Unit, seed: u64) -> Sequential {
    let conv_act = match unit {
        Unit::Fixed(a) => a,
        Unit::Maxout => Activation::Linear,
    };
    let m = Sequential::new()
        .seed(seed)
        .add(Conv2d::new(6, 5).padding(2).activation(conv_act))
        .add(MaxPool2d::new(2))
        .add(Conv2d::new(16, 5).activation(conv_act))
        .add(MaxPool2d::new(2))
        .add(Flatten);
    let m = dense(dense(m, 120, unit), 84, unit);
    m.add(Dense::new(10))
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (2000, 1000, 3) } else { (10_000, 10_000, 5) };
    let data: Images = images(opts, train_size, test_size)?;
    let how = Training { epochs, batch: 64, augment: None, per_epoch_test: true };
    let nets: [(&str, fn(Unit, u64) -> Sequential); 2] = [("mlp", mlp), ("lenet5", lenet5)];
    for (net, make) in nets {
        for (name, unit) in UNITS {
            let mut model = make(unit, opts.seed);
            model.build(data.train.sample_shape())?;
            let trained = train_classifier(model, Box::new(Sgd::new(LR).momentum(0.9)), &data, &how)?;
            rec.push(trained.figures(Run::new(format!("{net}, {name}"), json!({"network": net, "activation": name}))));
        }
    }
    // The claim, in two parts per network: every rectifier (ReLU, leaky ReLU, ELU, maxout)
    // ahead of sigmoid, and ReLU ahead of tanh, after the same budget.
    let mut held = Vec::new();
    let mut evidence = Vec::new();
    for (net, _) in nets {
        let acc = |name: &str| rec.find(&format!("{net}, {name}")).map(|r| r.get("test_accuracy"));
        let (sig, tanh, relu) = (acc("sigmoid")?, acc("tanh")?, acc("relu")?);
        let mut worst = ("", f64::INFINITY);
        for name in ["relu", "leaky relu", "elu", "maxout"] {
            let a = acc(name)?;
            if a < worst.1 {
                worst = (name, a);
            }
        }
        held.push(worst.1 > sig);
        held.push(relu > tanh);
        evidence.push(format!(
            "{net}: sigmoid {}, tanh {}, ReLU {} (weakest rectifier: {} {})",
            f3(sig),
            f3(tanh),
            f3(relu),
            worst.0,
            f3(worst.1)
        ));
    }
    let verdict = Verdict::parts(&held, format!("test accuracy after {epochs} epochs — {}", evidence.join("; ")));
    let mut panels = Vec::new();
    for (net, _) in nets {
        let runs: Vec<Run> = UNITS.iter().map(|(n, _)| rec.find(&format!("{net}, {n}")).cloned()).collect::<Result<_>>()?;
        let named: Vec<(&str, &Run)> = UNITS.iter().map(|(n, _)| *n).zip(runs.iter()).collect();
        panels.push(epoch_panel(&format!("{net}: training loss"), "training loss", &named, Legend::UpperRight, |r| Some(r.loss)));
        panels
            .push(epoch_panel(&format!("{net}: test accuracy"), "test accuracy", &named, Legend::LowerRight, |r| r.val_accuracy));
    }
    let chart = LineChart {
        title: format!("Activation functions on {} training images (SGD {LR}, momentum 0.9, batch 64)", data.train.len()),
        columns: 2,
        panels,
    };
    let settings = json!({
        "train_images": data.train.len(), "test_images": data.test.len(), "epochs": epochs, "batch": 64,
        "optimizer": format!("sgd lr {LR} momentum 0.9"), "mlp": "784-256-128-10", "lenet5": "conv6x5x5-pool-conv16x5x5-pool-120-84-10",
        "maxout": "2 pieces per dense unit; linear convolutions whose max pooling is their maxout",
    });
    Ok(Outcomes { settings, verdict, chart })
}
