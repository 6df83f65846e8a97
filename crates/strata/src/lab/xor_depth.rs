//! The vanishing-gradient experiment: deep, narrow networks (hidden layers of 5 units) on
//! the four XOR points, mean squared error, a sigmoid output. With sigmoid hidden units the
//! gradient shrinks by up to 1/4 per layer on the way back, so at depth the early layers
//! barely move and the network sits at the constant prediction 0.5 (accuracy 0.5 or 0.75,
//! MSE ~0.25); tanh (derivative up to 1) fares better, and ReLU (derivative 1 where
//! active) learns XOR at any of these depths — unless its narrow layers die, which some
//! seeds show.

use super::common::f2;
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{FitOptions, Sequential};
use crate::nn::{Activation, Dense};
use crate::optim::Sgd;
use crate::plot::{Legend, LineChart, Panel, Series};
use crate::{Dataset, Result, Target, Tensor};
use serde_json::json;

/// Units per hidden layer (the lectures' narrow net).
const WIDTH: usize = 5;
/// The full passes (one step each: the batch is all four points).
const EPOCHS: usize = 2000;
const ACTIVATIONS: [(&str, Activation); 3] =
    [("sigmoid", Activation::Sigmoid), ("tanh", Activation::Tanh), ("relu", Activation::Relu)];

fn xor() -> Result<Dataset> {
    let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
    let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4, 1])?;
    Dataset::new(x, Target::Values(y))
}

/// Trains one network; returns (accuracy, MSE, MSE after the first epoch).
fn train(hidden: Activation, depth: usize, seed: u64, epochs: usize) -> Result<(f32, f32, f32)> {
    let data = xor()?;
    let mut model = Sequential::new().seed(seed);
    for i in 0..depth {
        let layer = Dense::new(WIDTH).activation(hidden);
        model = model.add(if i == 0 { layer.input_dim(2) } else { layer });
    }
    model = model.add(Dense::new(1).activation(Activation::Sigmoid));
    model.compile(Sgd::new(0.1).momentum(0.9), Loss::Mse, &[Metric::Accuracy]);
    let history = model.fit(&data, FitOptions::epochs(epochs).batch_size(4).silent())?;
    let eval = model.evaluate(&data, 4)?;
    let first = history.epochs.first().map_or(f32::NAN, |e| e.loss);
    Ok((eval.accuracy.unwrap_or(0.0), eval.loss, first))
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let depths: Vec<usize> = if opts.quick { vec![2, 6, 10] } else { vec![2, 4, 6, 8, 10] };
    let seeds: Vec<u64> = if opts.quick { vec![opts.seed] } else { (0..10).map(|i| opts.seed + i).collect() };
    let epochs = EPOCHS;
    // Mean accuracy and loss per (activation, depth), over the seeds.
    let mut means: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); ACTIVATIONS.len()];
    for (a, (name, act)) in ACTIVATIONS.iter().enumerate() {
        for &depth in &depths {
            let (mut acc_sum, mut loss_sum) = (0.0, 0.0);
            for &seed in &seeds {
                let (acc, loss, first) = train(*act, depth, seed, epochs)?;
                acc_sum += acc as f64;
                loss_sum += loss as f64;
                rec.push(
                    Run::new(
                        format!("{name}, {depth} hidden layers, seed {seed}"),
                        json!({"activation": name, "depth": depth, "seed": seed}),
                    )
                    .figure("accuracy", acc as f64)
                    .figure("mse", loss as f64)
                    .figure("first_epoch_mse", first as f64),
                );
            }
            let n = seeds.len() as f64;
            means[a].push((depth as f64, acc_sum / n, loss_sum / n));
        }
    }
    let deepest = |a: usize| means[a].last().map_or((f64::NAN, f64::NAN), |m| (m.1, m.2));
    let solved_at = |a: usize, depth: usize| {
        rec.runs()
            .iter()
            .filter(|r| r.params["activation"] == ACTIVATIONS[a].0 && r.params["depth"] == depth)
            .filter(|r| r.get("accuracy") >= 1.0)
            .count()
    };
    let last = *depths.last().unwrap_or(&10);
    let (sig_acc, _) = deepest(0);
    let (tanh_acc, _) = deepest(1);
    let (relu_acc, _) = deepest(2);
    let solved = |a: usize| format!("{}/{}", solved_at(a, last), seeds.len());
    // The claim's two halves: sigmoid never learns XOR at depth; ReLU does (in at least half
    // the seeds: 5 units per layer leave a ReLU net exposed to dead layers).
    let verdict = Verdict::parts(
        &[sig_acc <= 0.75 && solved_at(0, last) == 0, solved_at(2, last) * 2 >= seeds.len()],
        format!(
            "depth-{last} sigmoid reached {} accuracy, tanh {}, ReLU {}; solved (accuracy 1) by sigmoid {}, tanh {}, ReLU {}",
            f2(sig_acc),
            f2(tanh_acc),
            f2(relu_acc),
            solved(0),
            solved(1),
            solved(2)
        ),
    );
    let panel = |title: &str, y: &str, pick: fn(&(f64, f64, f64)) -> f64, legend| Panel {
        title: title.into(),
        x_label: "hidden layers (5 units each)".into(),
        y_label: y.into(),
        legend,
        series: ACTIVATIONS
            .iter()
            .enumerate()
            .map(|(a, (name, _))| Series::new(*name, a, means[a].iter().map(|m| (m.0, pick(m))).collect()).markers())
            .collect(),
        ..Panel::default()
    };
    let seeds_text = if seeds.len() > 1 { format!("mean of {} seeds", seeds.len()) } else { format!("seed {}", opts.seed) };
    let chart = LineChart {
        title: format!("XOR with deep narrow networks: {epochs} epochs of SGD ({seeds_text})"),
        columns: 2,
        panels: vec![
            Panel { y_range: Some((0.4, 1.05)), ..panel("accuracy after training", "accuracy", |m| m.1, Legend::LowerLeft) },
            Panel { y_range: Some((0.0, 0.3)), ..panel("MSE after training", "mean squared error", |m| m.2, Legend::UpperLeft) },
        ],
    };
    let settings = json!({
        "width": WIDTH, "depths": depths, "seeds": seeds, "epochs": epochs, "batch": 4,
        "optimizer": "sgd lr 0.1 momentum 0.9", "loss": "mse", "output": "1 sigmoid unit",
    });
    Ok(Outcomes { settings, verdict, chart })
}
