//! Classifier evaluation by class probabilities — top-1 and top-5 error — and ensembles
//! that average the probabilities of several models (the lectures' seven-CNN ImageNet
//! ensemble: averaging independently trained networks cancels part of their errors).

use super::sequential::Sequential;
use crate::data::normalize::Standardizer;
use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::metrics::count_top_k;
use crate::{Error, Result, Tensor};
use std::path::Path;

/// Class probabilities `[N, classes]` of a softmax classifier for preprocessed inputs
/// `x` `[N, ...]`, in eval mode. The model must be built and compiled with
/// softmax cross-entropy (its outputs are logits, or already probabilities when its last
/// layer is a softmax).
pub fn class_probabilities(model: &Sequential, x: &Tensor) -> Result<Tensor> {
    if model.loss() != Some(Loss::SoftmaxCrossEntropy) {
        return Err(Error::Model(format!(
            "{}: class probabilities need a classifier trained with softmax cross-entropy",
            model.model_name()
        )));
    }
    if !model.is_built() {
        return Err(Error::Model(format!("{}: the model is not built", model.model_name())));
    }
    let logits = Loss::SoftmaxCrossEntropy.fuses(model.output_activation());
    // Softmax cross-entropy treats the outputs as logits whatever the last layer is.
    model.eval_outputs(x, super::EVAL_BATCH, logits, |out| out.softmax_last())
}

/// A classifier's quality on labelled data, from its class probabilities.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ClassEvaluation {
    /// Mean negative log-probability of the true class (cross-entropy).
    pub loss: f32,
    /// Top-1 accuracy.
    pub accuracy: f32,
    /// Fraction of samples whose class is among the 5 most probable.
    pub top5_accuracy: f32,
    /// Samples scored.
    pub samples: usize,
}

impl ClassEvaluation {
    /// Scores probabilities `[N, classes]` against `labels`.
    pub fn from_probabilities(p: &Tensor, labels: &[u32]) -> Result<ClassEvaluation> {
        let top1 = count_top_k(p, labels, 1)?;
        let top5 = count_top_k(p, labels, 5)?;
        let width = p.shape().get(1).copied().unwrap_or(1).max(1);
        let nll: f64 =
            p.data().chunks_exact(width).zip(labels).map(|(row, &l)| -(row[l as usize].max(f32::MIN_POSITIVE) as f64).ln()).sum();
        let n = labels.len().max(1) as f64;
        Ok(ClassEvaluation {
            loss: (nll / n) as f32,
            accuracy: (top1 as f64 / n) as f32,
            top5_accuracy: (top5 as f64 / n) as f32,
            samples: labels.len(),
        })
    }
    /// `1 - accuracy`.
    pub fn top1_error(&self) -> f32 {
        1.0 - self.accuracy
    }
    /// `1 - top5_accuracy`.
    pub fn top5_error(&self) -> f32 {
        1.0 - self.top5_accuracy
    }
}

/// One model of an ensemble, with the preprocessing its inputs need.
pub struct Member {
    /// Its name (the model's, when loaded).
    pub name: String,
    /// The classifier, built and compiled with softmax cross-entropy.
    pub model: Sequential,
    /// Standardization applied to raw inputs (pixels in [0, 1]) before this model.
    pub standardize: Option<Standardizer>,
}

/// Models whose class probabilities are averaged.
///
/// ```
/// use strata::prelude::*;
/// use strata::model::Ensemble;
/// let make = |seed| {
///     let mut m = Sequential::new().seed(seed).add(Dense::new(3).input_dim(2));
///     m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[]);
///     m
/// };
/// let mut e = Ensemble::default();
/// e.push("a", make(1), None);
/// e.push("b", make(2), None);
/// let p = e.predict_proba(&Tensor::zeros(&[4, 2])).unwrap();
/// assert_eq!(p.shape(), &[4, 3]);
/// ```
#[derive(Default)]
pub struct Ensemble {
    /// The models, in the order added.
    pub members: Vec<Member>,
}

impl Ensemble {
    /// Adds a built, compiled classifier.
    pub fn push(&mut self, name: impl Into<String>, model: Sequential, standardize: Option<Standardizer>) {
        self.members.push(Member { name: name.into(), model, standardize });
    }
    /// Loads saved models (see [`save_model`](super::save_model)), each with its own
    /// preprocessing (strata's files; `crate::onnx::load_model` the members to mix in ONNX
    /// files).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Ensemble> {
        let mut e = Ensemble::default();
        for p in paths {
            let saved = super::saving::load_model(p.as_ref())?;
            e.push(saved.meta.name.clone(), saved.model, saved.meta.standardize.clone());
        }
        Ok(e)
    }
    /// Number of models.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    /// Whether there are no models.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    /// Total trainable parameters of the members.
    pub fn num_params(&self) -> usize {
        self.members.iter().map(|m| m.model.num_params()).sum()
    }

    /// The mean of the members' class probabilities for raw inputs `x` (each member
    /// standardizes its own copy).
    pub fn predict_proba(&self, x: &Tensor) -> Result<Tensor> {
        self.probabilities(x, |_, _| Ok(()))
    }

    /// Each member's probabilities, handed to `each(member index, probabilities)`, and
    /// their mean.
    fn probabilities(&self, x: &Tensor, mut each: impl FnMut(usize, &Tensor) -> Result<()>) -> Result<Tensor> {
        let mut sum: Option<Tensor> = None;
        for (i, m) in self.members.iter().enumerate() {
            let p = match &m.standardize {
                Some(s) => {
                    let mut xs = x.clone();
                    s.apply(&mut xs)?;
                    class_probabilities(&m.model, &xs)?
                }
                None => class_probabilities(&m.model, x)?,
            };
            each(i, &p)?;
            sum = Some(match sum {
                None => p,
                Some(mut acc) => {
                    if acc.shape() != p.shape() {
                        return Err(Error::Model(format!(
                            "ensemble: {} gives outputs {:?}, the models before it {:?}",
                            m.name,
                            p.shape(),
                            acc.shape()
                        )));
                    }
                    acc.axpy_inplace(1.0, &p)?;
                    acc
                }
            });
        }
        let sum = sum.ok_or_else(|| Error::invalid("ensemble", "has no models"))?;
        Ok(sum.scale(1.0 / self.members.len() as f32))
    }

    /// Loss, top-1 and top-5 accuracy of the averaged probabilities on labelled raw data.
    pub fn evaluate(&self, data: &Dataset) -> Result<ClassEvaluation> {
        Ok(self.evaluate_members(data)?.0)
    }

    /// [`Ensemble::evaluate`], plus each member's own evaluation (each model runs once).
    pub fn evaluate_members(&self, data: &Dataset) -> Result<(ClassEvaluation, Vec<ClassEvaluation>)> {
        let Target::Classes { labels, .. } = &data.targets else {
            return Err(Error::invalid("evaluation data", "needs class labels"));
        };
        let mut members = Vec::with_capacity(self.members.len());
        let mean = self.probabilities(&data.inputs, |_, p| {
            members.push(ClassEvaluation::from_probabilities(p, labels)?);
            Ok(())
        })?;
        Ok((ClassEvaluation::from_probabilities(&mean, labels)?, members))
    }
}
