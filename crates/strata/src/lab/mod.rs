//! The lectures' experiments, each runnable end to end (`strata lab NAME`): a claim from
//! the lectures, the runs that test it, their figures, a comparison chart, and a verdict
//! saying whether what was measured agrees with the claim.
//!
//! One module per experiment; [`LABS`] is the registry. Each experiment has a full size
//! (minutes on two cores; the figures of docs/lab.md) and a quick one (`quick`: small
//! subsets and few epochs, under a minute, for tests), and draws every random choice from
//! the seed.
//!
//! ```no_run
//! use strata::lab::{LabOptions, run_lab};
//! let opts = LabOptions { quick: true, ..LabOptions::default() };
//! let report = run_lab("xor-depth", &opts, std::path::Path::new("runs/lab"), |run| println!("{}", run.label))?;
//! println!("{}", report.verdict.line());
//! # Ok::<(), strata::Error>(())
//! ```

mod activations;
mod augmentation;
mod common;
mod dropout;
mod ensemble;
mod fat_vs_thin;
mod init;
mod optimizers;
mod pretraining;
mod xor_depth;

use crate::io::write_atomic;
use crate::model::EpochRecord;
use crate::plot::{LineChart, lines_png};
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run an experiment.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The small version (under a minute; for tests).
    pub quick: bool,
    /// The image dataset of the experiments that need one (a name or an MNIST-format
    /// directory; default `fashion-mnist`).
    pub data: String,
    /// Seed of every random choice (default 1).
    pub seed: u64,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions { quick: false, data: "fashion-mnist".into(), seed: 1 }
    }
}

/// One training run of an experiment and what it measured.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// What was run, e.g. "sigmoid, 10 hidden layers, seed 1".
    pub label: String,
    /// The settings that distinguish it (activation, depth, seed, ...).
    pub params: serde_json::Value,
    /// Its figures by name (`test_accuracy`, `train_loss`, ...).
    pub figures: BTreeMap<String, f64>,
    /// Per-epoch training and test figures, when it trained for epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EpochRecord>>,
}

impl Run {
    /// A run with `params` (a JSON object) and no figures yet.
    pub fn new(label: impl Into<String>, params: serde_json::Value) -> Run {
        Run { label: label.into(), params, figures: BTreeMap::new(), history: None }
    }
    /// Adds a figure.
    pub fn figure(mut self, name: &str, value: f64) -> Run {
        self.figures.insert(name.to_string(), value);
        self
    }
    /// The figure `name` (NaN when absent).
    pub fn get(&self, name: &str) -> f64 {
        self.figures.get(name).copied().unwrap_or(f64::NAN)
    }
    /// The figures on one line, `name value` pairs.
    pub fn summary(&self) -> String {
        let figs: Vec<String> = self.figures.iter().map(|(k, v)| format!("{k} {}", fmt_figure(*v))).collect();
        format!("{}: {}", self.label, figs.join(", "))
    }
}

/// A figure printed with 4 significant digits or so.
fn fmt_figure(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// Whether the measurement agrees with the lecture's claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// What was measured agrees with the claim.
    Reproduced,
    /// Part of the claim held, part did not.
    Partly,
    /// The measurement contradicts the claim (or shows no effect).
    NotReproduced,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Reproduced => "reproduced",
            Outcome::Partly => "partly reproduced",
            Outcome::NotReproduced => "not reproduced",
        })
    }
}

/// The verdict: the outcome and the figures it rests on.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Reproduced or not.
    pub outcome: Outcome,
    /// The figures behind it, in a sentence.
    pub evidence: String,
}

impl Verdict {
    /// `outcome` when `ok`, `NotReproduced` otherwise.
    pub fn check(ok: bool, evidence: String) -> Verdict {
        Verdict { outcome: if ok { Outcome::Reproduced } else { Outcome::NotReproduced }, evidence }
    }
    /// From the claim's parts: all hold, some, or none.
    pub fn parts(held: &[bool], evidence: String) -> Verdict {
        let n = held.iter().filter(|&&h| h).count();
        let outcome = match n {
            n if n == held.len() => Outcome::Reproduced,
            0 => Outcome::NotReproduced,
            _ => Outcome::Partly,
        };
        Verdict { outcome, evidence }
    }
    /// `verdict: reproduced — ...`, as `strata lab` prints it.
    pub fn line(&self) -> String {
        format!("verdict: {} — {}", self.outcome, self.evidence)
    }
}

/// What an experiment hands back besides its runs.
pub(crate) struct Outcomes {
    /// The settings shared by all runs (data sizes, epochs, optimizer, ...).
    pub settings: serde_json::Value,
    pub verdict: Verdict,
    pub chart: LineChart,
}

/// Collects an experiment's runs, telling the caller about each as it finishes.
pub(crate) struct Recorder<'a> {
    runs: Vec<Run>,
    on_run: &'a mut dyn FnMut(&Run),
}

impl Recorder<'_> {
    pub fn push(&mut self, run: Run) {
        (self.on_run)(&run);
        self.runs.push(run);
    }
    /// The run labelled `label`.
    pub fn find(&self, label: &str) -> Result<&Run> {
        self.runs.iter().find(|r| r.label == label).ok_or_else(|| Error::Model(format!("lab: no run '{label}'")))
    }
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }
}

/// An experiment of the registry.
pub struct Lab {
    /// Its command-line name, e.g. `xor-depth`.
    pub name: &'static str,
    /// The lecture's claim it tests, in a sentence.
    pub claim: &'static str,
    /// Whether it needs the image dataset (`LabOptions::data`).
    pub needs_data: bool,
    run: fn(&LabOptions, &mut Recorder) -> Result<Outcomes>,
}

/// Every experiment, in the lectures' order.
pub const LABS: &[Lab] = &[
    Lab {
        name: "xor-depth",
        claim: "a deep sigmoid network cannot learn XOR (vanishing gradients) where ReLU can",
        needs_data: false,
        run: xor_depth::run,
    },
    Lab {
        name: "activations",
        claim: "rectifiers (ReLU, leaky ReLU, ELU, maxout) learn faster than sigmoid and tanh",
        needs_data: true,
        run: activations::run,
    },
    Lab {
        name: "init",
        claim: "in a deep network, zero or too-small initial weights do not learn; Glorot/He scaling does",
        needs_data: true,
        run: init::run,
    },
    Lab {
        name: "dropout",
        claim: "dropout curbs overfitting: a smaller gap between training and test",
        needs_data: true,
        run: dropout::run,
    },
    Lab {
        name: "fat-vs-thin",
        claim: "at the same number of parameters, thin and tall beats fat and short",
        needs_data: true,
        run: fat_vs_thin::run,
    },
    Lab {
        name: "pretraining",
        claim: "unsupervised pretraining (DBN, stacked autoencoders) helps when labels are few",
        needs_data: true,
        run: pretraining::run,
    },
    Lab {
        name: "ensemble",
        claim: "averaging several CNNs lowers the top-1 and top-5 error",
        needs_data: true,
        run: ensemble::run,
    },
    Lab {
        name: "augmentation",
        claim: "data augmentation helps on small data: better test accuracy, less overfitting",
        needs_data: true,
        run: augmentation::run,
    },
    Lab {
        name: "optimizers",
        claim: "momentum and adaptive learning rates (Nesterov, Adagrad, RMSprop, Adam) train faster than plain SGD",
        needs_data: true,
        run: optimizers::run,
    },
];

/// The experiment called `name`.
///
/// Errors: an unknown name (the message lists the known ones).
pub fn find(name: &str) -> Result<&'static Lab> {
    LABS.iter().find(|l| l.name == name).ok_or_else(|| {
        Error::invalid("lab", format!("unknown '{name}' (known: {})", LABS.iter().map(|l| l.name).collect::<Vec<_>>().join(", ")))
    })
}

/// An experiment's complete record, written as `NAME.json`.
#[derive(Clone, Debug, Serialize)]
pub struct LabReport {
    /// The experiment's name.
    pub lab: String,
    /// The claim it tests.
    pub claim: String,
    /// Whether it was the quick version.
    pub quick: bool,
    /// The seed.
    pub seed: u64,
    /// The dataset, for experiments that use one.
    pub data: Option<String>,
    /// Settings shared by its runs.
    pub settings: serde_json::Value,
    /// Every run and its figures.
    pub runs: Vec<Run>,
    /// The claim against the measurement.
    pub verdict: Verdict,
    /// Wall time of the whole experiment.
    pub seconds: f64,
    /// The chart's file name (beside the JSON).
    pub chart: String,
    /// The JSON file's path.
    #[serde(skip)]
    pub json_path: PathBuf,
    /// The chart's path.
    #[serde(skip)]
    pub png_path: PathBuf,
}

/// Runs the experiment `name` and writes `out/NAME.json` and `out/NAME.png` (creating
/// `out`); `on_run` hears of each run as it finishes.
///
/// Errors: an unknown name, the dataset missing or unreadable, training errors, and
/// files that cannot be written (each naming its culprit).
pub fn run_lab(name: &str, opts: &LabOptions, out: &Path, mut on_run: impl FnMut(&Run)) -> Result<LabReport> {
    let lab = find(name)?;
    std::fs::create_dir_all(out).map_err(|e| Error::data(out, format!("cannot create the output folder: {e}")))?;
    let start = Instant::now();
    let mut recorder = Recorder { runs: Vec::new(), on_run: &mut on_run };
    let outcomes = (lab.run)(opts, &mut recorder)?;
    let png_path = out.join(format!("{name}.png"));
    let json_path = out.join(format!("{name}.json"));
    lines_png(&outcomes.chart, &png_path)?;
    let report = LabReport {
        lab: name.to_string(),
        claim: lab.claim.to_string(),
        quick: opts.quick,
        seed: opts.seed,
        data: lab.needs_data.then(|| opts.data.clone()),
        settings: outcomes.settings,
        runs: recorder.runs,
        verdict: outcomes.verdict,
        seconds: start.elapsed().as_secs_f64(),
        chart: format!("{name}.png"),
        json_path,
        png_path,
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Model(format!("lab {name}: {e}")))?;
    write_atomic(&report.json_path, text.as_bytes())?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for lab in LABS {
            assert_eq!(find(lab.name).unwrap().name, lab.name);
            assert_eq!(LABS.iter().filter(|l| l.name == lab.name).count(), 1);
        }
        let err = find("xor").err().expect("an unknown name").to_string();
        assert!(err.contains("unknown 'xor'") && err.contains("xor-depth"), "{err}");
    }

    #[test]
    fn verdict_parts_give_the_outcome() {
        assert_eq!(Verdict::parts(&[true, true], String::new()).outcome, Outcome::Reproduced);
        assert_eq!(Verdict::parts(&[true, false], String::new()).outcome, Outcome::Partly);
        assert_eq!(Verdict::parts(&[false, false], String::new()).outcome, Outcome::NotReproduced);
        assert_eq!(Verdict::check(false, "x".into()).line(), "verdict: not reproduced — x");
    }
}
