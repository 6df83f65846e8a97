//! Fat and short against thin and tall at the same number of parameters (the lectures'
//! speech-recognition table, Seide et al. 2011): ReLU MLPs with 1, 2, 3 or 5 hidden
//! layers, each layer's width chosen so the whole network has the budget's parameters.

use super::common::{Training, f3, images, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::Result;
use crate::model::Sequential;
use crate::nn::{Activation, Dense, Flatten};
use crate::optim::Adam;
use crate::plot::{Legend, LineChart, Panel, Series};
use serde_json::json;

/// The accuracy difference below which two runs count as equal (about the spread of runs
/// that differ only in their random draws; not measured over seeds).
const SEED_NOISE: f64 = 0.01;

/// Parameters of an MLP `inputs`-`width` x `layers`-`classes`.
pub(crate) fn mlp_params(inputs: usize, width: usize, layers: usize, classes: usize) -> usize {
    (inputs + 1) * width + (layers - 1) * (width + 1) * width + (width + 1) * classes
}

/// The width whose MLP of `layers` hidden layers comes closest to `budget` parameters.
pub(crate) fn width_for(budget: usize, inputs: usize, layers: usize, classes: usize) -> usize {
    let (k, p) = ((layers - 1) as f64, budget as f64);
    // (k) w² + (inputs + 1 + k + classes) w + classes - p = 0
    let b = (inputs + 1 + classes) as f64 + k;
    let c = classes as f64 - p;
    let w = if k == 0.0 { -c / b } else { (-b + (b * b - 4.0 * k * c).sqrt()) / (2.0 * k) };
    let w = w.floor().max(1.0) as usize;
    // The nearer of the two neighbouring widths.
    let diff = |w: usize| mlp_params(inputs, w, layers, classes).abs_diff(budget);
    if diff(w + 1) < diff(w) { w + 1 } else { w }
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (5000, 2000, 4) } else { (20_000, 10_000, 8) };
    let budgets: Vec<usize> = if opts.quick { vec![50_000] } else { vec![50_000, 200_000] };
    let depths: Vec<usize> = if opts.quick { vec![1, 3] } else { vec![1, 2, 3, 5] };
    let data = images(opts, train_size, test_size)?;
    let inputs: usize = data.train.sample_shape().iter().product();
    let how = Training { epochs, batch: 128, augment: None, per_epoch_test: false };
    let mut series = Vec::new();
    let mut held = Vec::new();
    let mut evidence = Vec::new();
    for (b, &budget) in budgets.iter().enumerate() {
        let mut points = Vec::new();
        for &layers in &depths {
            let width = width_for(budget, inputs, layers, 10);
            let mut m = Sequential::new().seed(opts.seed).add(Flatten);
            for _ in 0..layers {
                m = m.add(Dense::new(width).activation(Activation::Relu));
            }
            let mut model = m.add(Dense::new(10));
            model.build(data.train.sample_shape())?;
            let params = model.num_params();
            let trained = train_classifier(model, Box::new(Adam::new(1e-3)), &data, &how)?;
            let run = trained
                .figures(Run::new(
                    format!("{budget} parameters, {layers} x {width}"),
                    json!({"budget": budget, "layers": layers, "width": width}),
                ))
                .figure("params", params as f64);
            points.push((layers as f64, run.get("test_accuracy")));
            rec.push(run);
        }
        let shallow = points[0].1;
        let (best_layers, best) = points[1..].iter().fold((0.0, f64::NEG_INFINITY), |a, p| if p.1 > a.1 { *p } else { a });
        // The eight full runs all lie within 0.008 of each other: a smaller lead than
        // SEED_NOISE is not evidence of an effect.
        held.push(best > shallow + SEED_NOISE);
        evidence.push(format!("{budget} parameters: 1 layer {}, best deeper ({best_layers} layers) {}", f3(shallow), f3(best)));
        series.push(Series::new(format!("{budget} parameters"), b, points).markers());
    }
    let verdict = Verdict::parts(
        &held,
        format!("test accuracy — {} (a deeper net must lead by more than {SEED_NOISE})", evidence.join("; ")),
    );
    let chart = LineChart {
        title: format!("Fat vs thin at equal parameters ({} training images, Adam 1e-3, {epochs} epochs)", data.train.len()),
        columns: 1,
        panels: vec![Panel {
            title: "test accuracy by depth (width set by the budget)".into(),
            x_label: "hidden layers".into(),
            y_label: "test accuracy".into(),
            legend: Legend::LowerRight,
            series,
            ..Panel::default()
        }],
    };
    let settings = json!({
        "budgets": budgets, "depths": depths, "train_images": data.train.len(), "test_images": data.test.len(),
        "epochs": epochs, "batch": 128, "optimizer": "adam lr 0.001", "units": "relu",
    });
    Ok(Outcomes { settings, verdict, chart })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_meet_the_budget() {
        for budget in [50_000, 200_000] {
            for layers in [1, 2, 3, 5] {
                let w = width_for(budget, 784, layers, 10);
                let p = mlp_params(784, w, layers, 10);
                // One unit more or less moves the count by about 800 + 2w parameters.
                assert!(p.abs_diff(budget) <= (795 + 2 * w), "{layers} layers x {w}: {p} vs {budget}");
            }
        }
        // 784-10-10: 7,850 + 110 parameters.
        assert_eq!(mlp_params(784, 10, 1, 10), 7960);
        let m = {
            let mut m = Sequential::new().add(Flatten).add(Dense::new(20)).add(Dense::new(20)).add(Dense::new(10));
            m.build(&[1, 28, 28]).unwrap();
            m
        };
        assert_eq!(m.num_params(), mlp_params(784, 20, 2, 10));
    }
}
