//! Ensembles of CNNs (the lectures' seven-CNN ImageNet entry): seven LeNet-5s trained
//! alike from different seeds (initialization and shuffling), their class probabilities
//! averaged over the first 1, 2, ..., 7. Errors that the networks make independently
//! cancel, so the ensemble's top-1 and top-5 errors fall below a single network's.

use super::common::{Training, f3, images, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::model::{ClassEvaluation, Ensemble};
use crate::optim::Sgd;
use crate::plot::{Legend, LineChart, Panel, Series};
use crate::{Error, Result};
use serde_json::json;

const MEMBERS: usize = 7;

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (2000, 1000, 2) } else { (10_000, 10_000, 3) };
    let data = images(opts, train_size, test_size)?;
    let how = Training { epochs, batch: 128, augment: None, per_epoch_test: false };
    let mut ensemble = Ensemble::default();
    let mut singles = Vec::new();
    for i in 0..MEMBERS {
        let seed = opts.seed + i as u64;
        let mut model = crate::zoo::lenet5(10).seed(seed);
        model.build(data.train.sample_shape())?;
        let trained = train_classifier(model, Box::new(Sgd::new(0.05).momentum(0.9)), &data, &how)?;
        ensemble.push(format!("lenet5 seed {seed}"), trained.model, None);
        let (mean, members) = ensemble.evaluate_members(&data.test)?;
        let own = *members.last().ok_or_else(|| Error::Model("ensemble: no member".into()))?;
        singles.push(own);
        rec.push(figures(Run::new(format!("ensemble of {}", i + 1), json!({"members": i + 1, "added_seed": seed})), &mean, &own));
    }
    // "One CNN" is the members' mean error: the error to expect of a single network
    // (the first one alone is one draw of it).
    let mean_single = |top5: bool| {
        singles.iter().map(|e| if top5 { e.top5_error() } else { e.top1_error() } as f64).sum::<f64>() / MEMBERS as f64
    };
    let (single1, single5) = (mean_single(false), mean_single(true));
    let three = rec.runs()[2].clone();
    let last = rec.runs()[MEMBERS - 1].clone();
    let held = [last.get("top1_error") < single1, last.get("top5_error") <= single5];
    let verdict = Verdict::parts(
        &held,
        format!(
            "top-1 error: one CNN {} (mean of {MEMBERS}; best {}), 3 CNNs {}, 7 CNNs {}; top-5 error: one CNN {}, 3 CNNs {}, 7 CNNs {}",
            f3(single1),
            f3(singles.iter().map(|e| e.top1_error() as f64).fold(f64::INFINITY, f64::min)),
            f3(three.get("top1_error")),
            f3(last.get("top1_error")),
            f3(single5),
            f3(three.get("top5_error")),
            f3(last.get("top5_error"))
        ),
    );
    let points = |key: &str| rec.runs().iter().map(|r| (r.params["members"].as_f64().unwrap_or(0.0), r.get(key))).collect();
    let singles_line = |top5: bool| {
        let e = |m: &ClassEvaluation| if top5 { m.top5_error() } else { m.top1_error() } as f64;
        singles.iter().enumerate().map(|(i, m)| ((i + 1) as f64, e(m))).collect()
    };
    let panel = |title: &str, key: &str, top5: bool| Panel {
        title: title.into(),
        x_label: "networks averaged".into(),
        y_label: "test error".into(),
        legend: Legend::UpperRight,
        series: vec![
            Series::new("ensemble of the first k", 0, points(key)).markers(),
            Series::new("network k alone", 7, singles_line(top5)).dashed().markers(),
            Series::new("mean of the single networks", 3, vec![(1.0, mean_single(top5)), (MEMBERS as f64, mean_single(top5))])
                .dashed(),
        ],
        ..Panel::default()
    };
    let chart = LineChart {
        title: format!("Ensembles of LeNet-5 ({} training images, {epochs} epochs each)", data.train.len()),
        columns: 2,
        panels: vec![panel("top-1 error", "top1_error", false), panel("top-5 error", "top5_error", true)],
    };
    let settings = json!({
        "network": "lenet5", "members": MEMBERS, "seeds": format!("{}..{}", opts.seed, opts.seed + MEMBERS as u64 - 1),
        "train_images": data.train.len(), "test_images": data.test.len(), "epochs": epochs, "batch": 128,
        "optimizer": "sgd lr 0.05 momentum 0.9", "combination": "mean of the members' class probabilities",
    });
    Ok(Outcomes { settings, verdict, chart })
}

fn figures(run: Run, ensemble: &ClassEvaluation, newest: &ClassEvaluation) -> Run {
    run.figure("top1_error", ensemble.top1_error() as f64)
        .figure("top5_error", ensemble.top5_error() as f64)
        .figure("test_loss", ensemble.loss as f64)
        .figure("newest_member_top1_error", newest.top1_error() as f64)
        .figure("newest_member_top5_error", newest.top5_error() as f64)
}
