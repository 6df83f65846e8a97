//! Weight initialization at depth: a ReLU MLP of 8 hidden layers of 128 units started
//! from all-zero weights, small random weights N(0, 0.01²), Glorot uniform and He uniform
//! (biases zero). Zeros leave every unit of a layer identical and, with ReLU, every
//! gradient zero: nothing learns. Small weights shrink the signal layer by layer until
//! the output is constant and the gradients vanish. Glorot keeps the variance for tanh
//! (it halves per ReLU layer); He keeps it for ReLU. The chart also shows how the
//! activations' spread changes with depth at initialization.

use super::common::{Images, Training, epoch_panel, f3, images, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::model::Sequential;
use crate::nn::{Activation, Dense, Flatten, Init};
use crate::optim::Sgd;
use crate::plot::{Legend, LineChart, Panel, Series};
use crate::{Result, Rng, Tensor};
use serde_json::json;

const DEPTH: usize = 8;
const WIDTH: usize = 128;
/// The standard deviation of "small random" weights.
const SMALL_STD: f32 = 0.01;

#[derive(Clone, Copy)]
enum Start {
    Zeros,
    Small,
    Scheme(Init),
}

const STARTS: [(&str, Start); 4] = [
    ("zeros", Start::Zeros),
    ("small random N(0, 0.01²)", Start::Small),
    ("Glorot uniform", Start::Scheme(Init::GlorotUniform)),
    ("He uniform", Start::Scheme(Init::HeUniform)),
];

fn network(start: Start, seed: u64, input: &[usize]) -> Result<Sequential> {
    let init = match start {
        Start::Zeros => Init::Zeros,
        Start::Small => Init::GlorotUniform, // replaced below
        Start::Scheme(i) => i,
    };
    let mut m = Sequential::new().seed(seed).add(Flatten);
    for _ in 0..DEPTH {
        m = m.add(Dense::new(WIDTH).activation(Activation::Relu).init(init));
    }
    let mut m = m.add(Dense::new(10).init(init));
    m.build(input)?;
    if let Start::Small = start {
        let mut rng = Rng::seeded(seed.wrapping_add(1000));
        for p in m.params_mut() {
            if p.name == "weight" {
                p.value = Tensor::rand_normal(p.value.shape(), 0.0, SMALL_STD, &mut rng);
            }
        }
    }
    Ok(m)
}

/// The standard deviation of each hidden layer's output on `x`, at initialization.
fn activation_spread(m: &Sequential, x: &Tensor) -> Result<Vec<f64>> {
    (1..=DEPTH)
        .map(|layer| {
            let a = m.activations(x, layer)?;
            let mean = a.mean_all() as f64;
            let var = a.data().iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / a.numel().max(1) as f64;
            Ok(var.sqrt())
        })
        .collect()
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (3000, 1000, 4) } else { (20_000, 10_000, 8) };
    let data: Images = images(opts, train_size, test_size)?;
    let probe = data.test.inputs_of(&(0..500.min(data.test.len())).collect::<Vec<_>>())?;
    let how = Training { epochs, batch: 64, augment: None, per_epoch_test: true };
    let mut spreads = Vec::new();
    for (name, start) in STARTS {
        let model = network(start, opts.seed, data.train.sample_shape())?;
        let spread = activation_spread(&model, &probe)?;
        let trained = train_classifier(model, Box::new(Sgd::new(0.01).momentum(0.9)), &data, &how)?;
        let mut run = trained.figures(Run::new(name, json!({"init": name})));
        run = run.figure("last_hidden_std_at_init", spread[DEPTH - 1]);
        run.params["hidden_std_at_init"] = json!(spread);
        spreads.push(spread);
        rec.push(run);
    }
    let acc = |i: usize| rec.find(STARTS[i].0).map(|r| r.get("test_accuracy"));
    let (zeros, small, glorot, he) = (acc(0)?, acc(1)?, acc(2)?, acc(3)?);
    // Chance is 0.1 on ten balanced classes; "does not learn" allows a little above it.
    let held = [zeros < 0.2, small < 0.2 || small + 0.1 < he, he > 0.6, glorot > 0.6];
    let verdict = Verdict::parts(
        &held,
        format!(
            "test accuracy after {epochs} epochs: zeros {}, small random {}, Glorot {}, He {} (chance 0.1)",
            f3(zeros),
            f3(small),
            f3(glorot),
            f3(he)
        ),
    );
    let runs: Vec<Run> = STARTS.iter().map(|(n, _)| rec.find(n).cloned()).collect::<Result<_>>()?;
    let named: Vec<(&str, &Run)> = STARTS.iter().map(|(n, _)| *n).zip(runs.iter()).collect();
    let spread_panel = Panel {
        title: "activations' spread at initialization (500 test images)".into(),
        x_label: "hidden layer".into(),
        y_label: "standard deviation (log scale)".into(),
        log_y: true,
        legend: Legend::LowerLeft,
        series: STARTS
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                let label = if spreads[i].iter().all(|&s| s == 0.0) { format!("{n} (0 everywhere)") } else { n.to_string() };
                Series::new(label, i, spreads[i].iter().enumerate().map(|(l, &s)| ((l + 1) as f64, s)).collect()).markers()
            })
            .collect(),
        ..Panel::default()
    };
    let chart = LineChart {
        title: format!(
            "Initialization of a {DEPTH}x{WIDTH} ReLU MLP ({} training images, SGD 0.01, momentum 0.9)",
            data.train.len()
        ),
        columns: 3,
        panels: vec![
            spread_panel,
            epoch_panel("training loss", "training loss", &named, Legend::UpperRight, |r| Some(r.loss)),
            Panel {
                y_range: Some((0.0, 1.0)),
                ..epoch_panel("test accuracy", "test accuracy", &named, Legend::LowerRight, |r| r.val_accuracy)
            },
        ],
    };
    let settings = json!({
        "network": format!("784-{}-10 ReLU", vec![WIDTH.to_string(); DEPTH].join("-")),
        "train_images": data.train.len(), "test_images": data.test.len(), "epochs": epochs, "batch": 64,
        "optimizer": "sgd lr 0.01 momentum 0.9", "small_random_std": SMALL_STD,
    });
    Ok(Outcomes { settings, verdict, chart })
}
