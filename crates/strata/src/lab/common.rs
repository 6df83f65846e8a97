//! What the experiments share: the image data cut to size, and one training run with its
//! figures.

use super::{LabOptions, Run};
use crate::data::Augment;
use crate::data::normalize::Standardizer;
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{Evaluation, FitOptions, History, Sequential};
use crate::optim::Optimizer;
use crate::plot::{Legend, LineChart, Panel, Series};
use crate::{Dataset, Result, Tensor};
use std::time::Instant;

/// Training and test images, standardized with the training part's mean and std.
pub(crate) struct Images {
    pub train: Dataset,
    pub test: Dataset,
    /// The standardization applied (pretraining on raw pixels undoes it).
    pub standardizer: Standardizer,
}

/// The first `train_size` training and `test_size` test images of `opts.data` (the
/// datasets are shuffled, so a prefix is a fair sample), standardized.
pub(crate) fn images(opts: &LabOptions, train_size: usize, test_size: usize) -> Result<Images> {
    Ok(images_and_pixels(opts, train_size, test_size)?.0)
}

/// [`images`], and the training images' raw pixels in [0, 1] (what RBMs learn from).
pub(crate) fn images_and_pixels(opts: &LabOptions, train_size: usize, test_size: usize) -> Result<(Images, Tensor)> {
    let (train, test) = crate::data::mnist::load(&opts.data)?;
    let mut train = prefix(train, train_size)?;
    let mut test = prefix(test, test_size)?;
    let pixels = train.inputs.clone();
    let standardizer = Standardizer::fit_global(&train.inputs)?;
    standardizer.apply(&mut train.inputs)?;
    standardizer.apply(&mut test.inputs)?;
    Ok((Images { train, test, standardizer }, pixels))
}

/// The first `n` samples (all when there are fewer).
pub(crate) fn prefix(data: Dataset, n: usize) -> Result<Dataset> {
    if n >= data.len() {
        return Ok(data);
    }
    data.subset(&(0..n).collect::<Vec<_>>())
}

/// How to train one run.
pub(crate) struct Training {
    pub epochs: usize,
    pub batch: usize,
    pub augment: Option<Augment>,
    /// Evaluate on the test images after every epoch (the curves); off when only the
    /// final figures matter.
    pub per_epoch_test: bool,
}

/// A finished run: its history, test evaluation and (in eval mode) training evaluation.
pub(crate) struct Trained {
    pub model: Sequential,
    pub history: History,
    pub test: Evaluation,
    pub train: Evaluation,
    pub seconds: f64,
}

impl Trained {
    /// The standard figures: test and training accuracy and loss (both measured in eval
    /// mode after training), their gaps, and seconds.
    pub fn figures(&self, run: Run) -> Run {
        let acc = |e: &Evaluation| e.accuracy.map_or(f64::NAN, f64::from);
        let mut run = run
            .figure("test_accuracy", acc(&self.test))
            .figure("test_loss", self.test.loss as f64)
            .figure("train_accuracy", acc(&self.train))
            .figure("train_loss", self.train.loss as f64)
            .figure("accuracy_gap", acc(&self.train) - acc(&self.test))
            .figure("loss_gap", self.test.loss as f64 - self.train.loss as f64)
            .figure("seconds", (self.seconds * 10.0).round() / 10.0);
        run.history = Some(self.history.epochs.clone());
        run
    }
}

/// Compiles `model` (built) with `optimizer` and softmax cross-entropy, trains it on
/// `data.train` with `data.test` as the per-epoch validation, and evaluates both.
pub(crate) fn train_classifier(
    mut model: Sequential,
    optimizer: Box<dyn Optimizer>,
    data: &Images,
    how: &Training,
) -> Result<Trained> {
    let start = Instant::now();
    model.compile_boxed(optimizer, Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let mut opts = FitOptions::epochs(how.epochs).batch_size(how.batch).silent();
    if how.per_epoch_test {
        opts = opts.validation(&data.test);
    }
    opts.augment = how.augment.clone();
    let history = model.fit(&data.train, opts)?;
    let test = model.evaluate(&data.test, 1000)?;
    let train = model.evaluate(&data.train, 1000)?;
    Ok(Trained { model, history, test, train, seconds: start.elapsed().as_secs_f64() })
}

/// Per-epoch points of a run's history: `f` of each epoch record.
pub(crate) fn curve(run: &Run, f: impl Fn(&crate::model::EpochRecord) -> Option<f32>) -> Vec<(f64, f64)> {
    run.history.iter().flatten().filter_map(|r| f(r).map(|v| (r.epoch as f64, v as f64))).collect()
}

/// A panel of per-epoch curves, one series per run (colour by position).
pub(crate) fn epoch_panel(
    title: &str,
    y_label: &str,
    runs: &[(&str, &Run)],
    legend: Legend,
    f: impl Fn(&crate::model::EpochRecord) -> Option<f32>,
) -> Panel {
    Panel {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y_label.into(),
        legend,
        series: runs.iter().enumerate().map(|(i, (label, run))| Series::new(*label, i, curve(run, &f))).collect(),
        ..Panel::default()
    }
}

/// `a` formatted with 2 decimals.
pub(crate) fn f2(a: f64) -> String {
    format!("{a:.2}")
}

/// `a` formatted with 3 decimals.
pub(crate) fn f3(a: f64) -> String {
    format!("{a:.3}")
}

/// Two runs' test (solid) and training (dashed) curves by epoch: loss and accuracy side by
/// side (the dropout and augmentation labs, whose claim is about the gap between them).
pub(crate) fn test_and_training_curves(title: String, loss_title: &str, runs: [&Run; 2]) -> LineChart {
    type Figure = fn(&crate::model::EpochRecord) -> Option<f32>;
    let curves = |training: Figure, test: Figure| {
        let mut s = Vec::new();
        for (i, run) in runs.into_iter().enumerate() {
            s.push(Series::new(format!("{}: test", run.label), i, curve(run, test)));
            s.push(Series::new(format!("{}: training", run.label), i, curve(run, training)).dashed());
        }
        s
    };
    LineChart {
        title,
        columns: 2,
        panels: vec![
            Panel {
                title: loss_title.into(),
                x_label: "epoch".into(),
                y_label: "cross-entropy".into(),
                legend: Legend::UpperRight,
                series: curves(|r| Some(r.loss), |r| r.val_loss),
                ..Panel::default()
            },
            Panel {
                title: "accuracy".into(),
                x_label: "epoch".into(),
                y_label: "accuracy".into(),
                legend: Legend::LowerRight,
                series: curves(|r| r.accuracy, |r| r.val_accuracy),
                ..Panel::default()
            },
        ],
    }
}
