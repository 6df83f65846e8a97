//! Saving and loading any [`Learner`]: networks (and the perceptron, as its one-layer
//! network) through `io::save_model`; k-NN as its stored training points and labels.
//! The description can carry the tabular schema and scaling, so new rows are encoded and
//! scaled exactly as the training rows were.

use super::learner::{Learner, network_proba};
use crate::baseline::{BaselineSpec, Knn};
use crate::data::normalize::Standardizer;
use crate::data::tabular::TabularMeta;
use crate::io::{
    ModelMeta, description_path, load_model, load_tensors, model_meta, read_meta, save_model_meta, save_tensors, write_atomic,
};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::Sequential;
use crate::{Error, Result, Tensor};
use std::path::Path;

/// What to save with a learner besides itself.
#[derive(Clone, Debug, Default)]
pub struct SaveExtras {
    pub standardize: Option<Standardizer>,
    pub class_names: Option<Vec<String>>,
    pub tabular: Option<TabularMeta>,
}

/// A loaded learner ready to predict, with its description.
pub enum LoadedModel {
    Network(Sequential),
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
    /// The network, if it is one.
    pub fn network(&self) -> Option<&Sequential> {
        match self {
            LoadedModel::Network(m) => Some(m),
            LoadedModel::Knn(_) => None,
        }
    }
}

/// Saves a fitted learner to `path` (safetensors) and its description beside it.
/// `input_shape` is the per-sample shape it was fitted on.
pub fn save_learner(learner: &Learner, path: &Path, input_shape: &[usize], extras: SaveExtras) -> Result<()> {
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
        let mut meta = model_meta(model, extras.standardize, extras.class_names)?;
        meta.tabular = extras.tabular;
        return save_model_meta(model, path, &meta);
    }
    let Learner::Knn(knn) = learner else { return Err(Error::Model("unsupported learner".into())) };
    let (x, labels, classes) = knn.parts()?;
    let y = Tensor::from_vec(labels.iter().map(|&l| l as f32).collect(), &[labels.len()])?;
    let mut meta = ModelMeta::for_baseline(
        &knn_name(knn),
        input_shape.to_vec(),
        classes,
        extras.class_names,
        BaselineSpec::Knn { k: knn.k() },
    );
    meta.standardize = extras.standardize;
    meta.tabular = extras.tabular;
    save_tensors(path, &[("knn.inputs".into(), x), ("knn.labels".into(), y)], None)?;
    let json = serde_json::to_string_pretty(&meta).map_err(|e| Error::Model(e.to_string()))?;
    write_atomic(&description_path(path), json.as_bytes())
}

fn knn_name(k: &Knn) -> String {
    crate::baseline::Classifier::name(k)
}

/// Loads what [`save_learner`] (or `io::save_model`) wrote.
pub fn load_learner(path: &Path) -> Result<(LoadedModel, ModelMeta)> {
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
            let (x, y) = (get("knn.inputs")?, get("knn.labels")?);
            let classes = meta.num_classes.unwrap_or(0);
            let labels: Vec<u32> = y.data().iter().map(|&v| v as u32).collect();
            let mut shape = vec![labels.len()];
            shape.extend(&meta.input_shape);
            let knn = Knn::from_parts(*k, &x.reshape(&shape)?, labels, classes).map_err(|e| Error::data(path, e.to_string()))?;
            Ok((LoadedModel::Knn(knn), meta))
        }
    }
}
