//! Saving and loading any [`Learner`]: networks (and the perceptron, as its one-layer
//! network) through `io::save_model`; k-NN as its stored training points and labels (or
//! values, for regression). A regression model's description carries the target's
//! standardization, so its predictions come back in the target's units.
//! The description can carry the tabular schema and scaling, so new rows are encoded and
//! scaled exactly as the training rows were.

use super::data::TrainingData;
use super::learner::{Learner, network_proba, network_values};
use crate::baseline::Knn;
use crate::io::load_tensors;
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{BaselineSpec, ModelMeta, Sequential, load_model, model_meta, read_meta, save_model_file, save_model_meta};
use crate::{Error, Result, Tensor};
use std::path::Path;

/// A loaded learner ready to predict, with its description.
pub enum LoadedModel {
    /// A network (also the perceptron and logistic regression, saved as networks).
    Network(Sequential),
    /// k-nearest neighbours with its stored training points.
    Knn(Knn),
}

impl LoadedModel {
    /// Class probabilities `[N, classes]`.
    pub fn predict_proba(&mut self, x: &Tensor) -> Result<Tensor> {
        match self {
            LoadedModel::Network(m) => network_proba(m, x),
            LoadedModel::Knn(k) => crate::baseline::Classifier::predict_proba(k, x),
        }
    }
    /// A regression model's predictions, one per sample, standardized as its targets were
    /// in training: `experiment::to_target_units` with the description's `target_scaling`
    /// gives them in the target's units.
    ///
    /// Errors: the model classifies.
    pub fn predict_values(&mut self, x: &Tensor) -> Result<Vec<f32>> {
        match self {
            LoadedModel::Network(m) => network_values(m, x),
            LoadedModel::Knn(k) => k.predict_values(x),
        }
    }
    /// The network, if it is one.
    pub fn network(&self) -> Option<&Sequential> {
        match self {
            LoadedModel::Network(m) => Some(m),
            LoadedModel::Knn(_) => None,
        }
    }
}

/// Saves a learner fitted on `data` to `path` (safetensors) and its description beside it:
/// the network and its training settings, and what was fitted on the training data
/// (standardization, a table's schema and scaling) with the class names, so new inputs are
/// prepared alike.
pub fn save_learner(learner: &Learner, path: &Path, data: &TrainingData) -> Result<()> {
    let (input_shape, class_names) = (data.train.sample_shape(), data.train.class_names.clone());
    let perceptron_net;
    let network: Option<&Sequential> = match learner {
        Learner::Network(n) => Some(&n.model),
        Learner::Perceptron(p) => {
            let mut m = p.to_sequential()?;
            m.compile(crate::optim::Sgd::new(0.0), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
            perceptron_net = m;
            Some(&perceptron_net)
        }
        Learner::Knn(_) => None,
    };
    if let Some(model) = network {
        let mut meta = model_meta(model, data.standardize.clone(), class_names)?;
        meta.tabular = data.tabular.clone();
        meta.text = data.text.as_ref().map(serde_json::to_value).transpose().map_err(|e| Error::Model(e.to_string()))?;
        meta.training = learner.network().map(|n| n.config.clone());
        if learner.is_regressor() {
            meta.num_classes = None;
            meta.target_scaling = data.target_scaling.clone();
        }
        return save_model_meta(model, path, &meta);
    }
    let Learner::Knn(knn) = learner else { return Err(Error::Model("unsupported learner".into())) };
    let (x, labels, classes) = knn.parts()?;
    if let Some(values) = knn.values() {
        let y = Tensor::from_vec(values.to_vec(), &[values.len()])?;
        let mut meta = ModelMeta::for_baseline(&knn_name(knn), input_shape.to_vec(), 0, None, BaselineSpec::Knn { k: knn.k() });
        meta.num_classes = None;
        meta.loss = Loss::Mse;
        meta.standardize = data.standardize.clone();
        meta.tabular = data.tabular.clone();
        meta.target_scaling = data.target_scaling.clone();
        return save_model_file(path, &[("knn.inputs".into(), x), ("knn.values".into(), y)], &meta);
    }
    let y = Tensor::from_vec(labels.iter().map(|&l| l as f32).collect(), &[labels.len()])?;
    let mut meta =
        ModelMeta::for_baseline(&knn_name(knn), input_shape.to_vec(), classes, class_names, BaselineSpec::Knn { k: knn.k() });
    meta.standardize = data.standardize.clone();
    meta.tabular = data.tabular.clone();
    save_model_file(path, &[("knn.inputs".into(), x), ("knn.labels".into(), y)], &meta)
}

fn knn_name(k: &Knn) -> String {
    crate::baseline::Classifier::name(k)
}

/// Loads what [`save_learner`] (or `io::save_model`) wrote.
pub fn load_learner(path: &Path) -> Result<(LoadedModel, ModelMeta)> {
    if crate::onnx::is_onnx_path(path) {
        let saved = crate::onnx::import_file(path)?;
        return Ok((LoadedModel::Network(saved.model), saved.meta));
    }
    let meta = read_meta(path)?;
    match &meta.baseline {
        None => {
            let saved = load_model(path)?;
            Ok((LoadedModel::Network(saved.model), saved.meta))
        }
        Some(BaselineSpec::Knn { k }) => {
            let tensors = load_tensors(path)?;
            let get = |name: &str| {
                tensors
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| t.clone())
                    .ok_or_else(|| Error::data(path, format!("missing tensor '{name}'")))
            };
            let x = get("knn.inputs")?;
            if meta.target_scaling.is_some() {
                let values = get("knn.values")?.data().to_vec();
                let mut shape = vec![values.len()];
                shape.extend(&meta.input_shape);
                let knn = Knn::from_values(*k, &x.reshape(&shape)?, values).map_err(|e| Error::data(path, e.to_string()))?;
                return Ok((LoadedModel::Knn(knn), meta));
            }
            let y = get("knn.labels")?;
            let classes = meta.num_classes.unwrap_or(0);
            let labels: Vec<u32> = y.data().iter().map(|&v| v as u32).collect();
            let mut shape = vec![labels.len()];
            shape.extend(&meta.input_shape);
            let knn = Knn::from_parts(*k, &x.reshape(&shape)?, labels, classes).map_err(|e| Error::data(path, e.to_string()))?;
            Ok((LoadedModel::Knn(knn), meta))
        }
    }
}
