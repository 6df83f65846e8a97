//! A saved model: `NAME.safetensors` (weights) plus `NAME.json` (what the network is, how
//! its inputs were preprocessed, what its classes are called).

use super::sequential::Sequential;
use crate::data::normalize::Standardizer;
use crate::io::{create_dir, load_tensors, save_tensors, write_atomic};
use crate::loss::Loss;
use crate::nn::LayerSpec;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a saved file holds when it is not a network's weights (`experiment::save_learner`
/// writes these); the model description says which.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BaselineSpec {
    /// k-NN: the saved tensors are the training points and their labels.
    Knn {
        /// Neighbours that vote.
        k: usize,
    },
}

const FORMAT: &str = "strata-model";
const VERSION: u32 = 1;

/// Everything about a saved model except its weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `strata-model`.
    pub format: String,
    /// Version of this description's format (readers refuse newer ones).
    pub version: u32,
    /// Model name (zoo name or spec file stem).
    pub name: String,
    /// Per-sample input shape.
    pub input_shape: Vec<usize>,
    /// The layers, as a spec file writes them.
    pub layers: Vec<LayerSpec>,
    /// The loss it was trained with.
    pub loss: Loss,
    /// Outputs of a classifier.
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// Names of the classes, in output order, when the data had them.
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
    /// Input standardization applied after scaling pixels to [0, 1].
    #[serde(default)]
    pub standardize: Option<Standardizer>,
    /// Seed the model was trained with.
    #[serde(default)]
    pub seed: u64,
    /// For a model trained on a table (CSV/ARFF): its columns and the fitted scaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tabular: Option<crate::data::tabular::TabularMeta>,
    /// The training settings the network was trained with (absent for models saved by the
    /// library without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<super::TrainConfig>,
    /// For a baseline that is not a network (k-NN): what it is; `layers` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSpec>,
    /// For a regression model: the standardization of the target fitted on the training
    /// rows (one mean and standard deviation). The model predicts standardized values;
    /// `value * std + mean` is a prediction in the target's units. Absent for classifiers
    /// (and for models saved before regression existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scaling: Option<Standardizer>,
    /// For a text classifier: how texts become its inputs (`strata::text::TextEncoding` as
    /// JSON: the columns, the vocabulary of the training texts, the length, the split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<serde_json::Value>,
}

impl ModelMeta {
    /// The description of a model that is not a network (its tensors are its own).
    pub fn for_baseline(
        name: &str,
        input_shape: Vec<usize>,
        num_classes: usize,
        class_names: Option<Vec<String>>,
        baseline: BaselineSpec,
    ) -> ModelMeta {
        ModelMeta {
            format: FORMAT.into(),
            version: VERSION,
            name: name.into(),
            input_shape,
            layers: Vec::new(),
            loss: Loss::SoftmaxCrossEntropy,
            num_classes: Some(num_classes),
            class_names,
            standardize: None,
            seed: 0,
            tabular: None,
            training: None,
            baseline: Some(baseline),
            target_scaling: None,
            text: None,
        }
    }
}

/// A model loaded from disk with its description.
pub struct SavedModel {
    /// The network, built, with its weights, compiled with plain SGD.
    pub model: Sequential,
    /// Its description.
    pub meta: ModelMeta,
}

/// The JSON description that goes with a weights file: `x/model.safetensors` -> `x/model.json`.
pub fn description_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

fn tensor_name(layer: usize, kind: &str, param: &str) -> String {
    format!("{layer:03}.{}.{param}", kind.to_ascii_lowercase())
}

/// Saves the model to `path` (safetensors): its weights and its description (layers, input
/// shape, loss, preprocessing, class names) in one file, written atomically, plus a
/// readable copy of the description beside it (`model.json`). Creates the folder. The
/// model must be built and compiled.
pub fn save_model(
    model: &Sequential,
    path: &Path,
    standardize: Option<Standardizer>,
    class_names: Option<Vec<String>>,
) -> Result<()> {
    save_model_meta(model, path, &model_meta(model, standardize, class_names)?)
}

/// The description [`save_model`] writes, to amend before saving (an ONNX import builds one
/// for the model it read).
pub fn model_meta(model: &Sequential, standardize: Option<Standardizer>, class_names: Option<Vec<String>>) -> Result<ModelMeta> {
    let input_shape = model
        .known_input_shape()
        .filter(|_| model.is_built())
        .ok_or_else(|| Error::Model("cannot save a model that is not built".into()))?
        .to_vec();
    let loss = model.loss().ok_or_else(|| Error::Model("cannot save a model that is not compiled".into()))?;
    Ok(ModelMeta {
        format: FORMAT.into(),
        version: VERSION,
        name: model.model_name().to_string(),
        input_shape,
        layers: model.specs(),
        loss,
        num_classes: model.output_shape().and_then(|s| s.last().copied()),
        class_names,
        standardize,
        seed: model.seed_value(),
        tabular: None,
        training: None,
        baseline: None,
        target_scaling: None,
        text: None,
    })
}

/// Saves the weights of `model` to `path` and `meta` beside it.
pub(crate) fn save_model_meta(model: &Sequential, path: &Path, meta: &ModelMeta) -> Result<()> {
    let mut tensors = Vec::new();
    for (i, layer) in model.layers().iter().enumerate() {
        for (name, p) in layer.named_params() {
            tensors.push((tensor_name(i, layer.kind(), &name), p.value.clone()));
        }
        for (name, value) in layer.named_buffers() {
            tensors.push((tensor_name(i, layer.kind(), &name), value));
        }
    }
    save_model_file(path, &tensors, meta)
}

/// The metadata key of the description inside a model's safetensors file.
const EMBEDDED: &str = "strata-model";
/// Largest safetensors header read for a description (a model's header is a few KiB per
/// layer; a hostile length field must not make us allocate gigabytes).
const MAX_HEADER: u64 = 64 << 20;

/// Writes `tensors` to `path` with the description `meta` inside the same file (one atomic
/// write: a reader sees the old model or the new one, never new weights with an old
/// description), then the readable copy `model.json` beside it. Creates the model's folder.
pub(crate) fn save_model_file(path: &Path, tensors: &[(String, crate::Tensor)], meta: &ModelMeta) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    let compact = serde_json::to_string(meta).map_err(|e| Error::Model(e.to_string()))?;
    save_tensors(path, tensors, Some(HashMap::from([(EMBEDDED.to_string(), compact)])))?;
    let pretty = serde_json::to_string_pretty(meta).map_err(|e| Error::Model(e.to_string()))?;
    write_atomic(&description_path(path), pretty.as_bytes())
}

/// The description embedded in the safetensors file `path`, if it has one (models saved
/// before descriptions were embedded have only `model.json`).
fn embedded_meta(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|_| Error::data(path, "not a safetensors file (too short)"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(Error::data(path, format!("not a safetensors file (a header of {n} bytes)")));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|_| Error::data(path, "not a safetensors file (truncated header)"))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| Error::data(path, format!("not a safetensors file ({e})")))?;
    Ok(header.get("__metadata__").and_then(|m| m.get(EMBEDDED)).and_then(|v| v.as_str()).map(str::to_string))
}

/// Reads and checks the description of the model file `path`: the one inside it, or for an
/// older file the `model.json` beside it.
pub(crate) fn read_meta(path: &Path) -> Result<ModelMeta> {
    let (text, origin) = match embedded_meta(path)? {
        Some(text) => (text, path.to_path_buf()),
        None => {
            let desc = description_path(path);
            (std::fs::read_to_string(&desc).map_err(|e| Error::io(&desc, e))?, desc)
        }
    };
    let meta: ModelMeta =
        serde_json::from_str(&text).map_err(|e| Error::data(&origin, format!("not a strata model description ({e})")))?;
    if meta.format != FORMAT {
        return Err(Error::data(&origin, format!("format '{}' is not '{FORMAT}'", meta.format)));
    }
    if meta.version > VERSION {
        return Err(Error::data(&origin, format!("version {} is newer than this strata understands ({VERSION})", meta.version)));
    }
    Ok(meta)
}

/// Loads a model saved by [`save_model`]; the result is built, and compiled with plain SGD
/// (replace with `compile` to train further). `crate::onnx::load_model` also takes `.onnx`
/// files.
pub fn load_model(path: &Path) -> Result<SavedModel> {
    let meta = read_meta(path)?;
    let desc = path;
    if let Some(b) = &meta.baseline {
        return Err(Error::data(desc, format!("is a {b:?} baseline, not a network (load it with experiment::load_learner)")));
    }
    let mut model = Sequential::from_specs(&meta.layers).seed(meta.seed).name(meta.name.clone());
    model.build(&meta.input_shape).map_err(|e| Error::data(desc, e.to_string()))?;
    model.compile(crate::optim::Sgd::new(0.01), meta.loss, &[crate::metrics::Metric::Accuracy]);
    let tensors = load_tensors(path)?;
    let mut by_name: std::collections::HashMap<String, crate::Tensor> = tensors.into_iter().collect();
    let kinds: Vec<&'static str> = model.layers().iter().map(|l| l.kind()).collect();
    let mut index = 0;
    for (i, layer) in model.layers.iter_mut().enumerate() {
        for (pname, p) in layer.named_params_mut() {
            let name = tensor_name(i, kinds[i], &pname);
            let t = by_name.remove(&name).ok_or_else(|| Error::data(path, format!("missing tensor '{name}'")))?;
            if t.shape() != p.value.shape() {
                return Err(Error::data(
                    path,
                    format!("tensor '{name}' has shape {:?}, the model expects {:?}", t.shape(), p.value.shape()),
                ));
            }
            p.value = t;
            index += 1;
        }
        let buffer_names: Vec<String> = layer.named_buffers().into_iter().map(|(n, _)| n).collect();
        for b in buffer_names {
            let name = tensor_name(i, kinds[i], &b);
            let t = by_name.remove(&name).ok_or_else(|| Error::data(path, format!("missing tensor '{name}'")))?;
            layer.set_buffer(&b, t).map_err(|e| Error::data(path, format!("tensor '{name}': {e}")))?;
            index += 1;
        }
    }
    if let Some(extra) = by_name.keys().next() {
        return Err(Error::data(path, format!("unexpected tensor '{extra}' (after {index} matched)")));
    }
    Ok(SavedModel { model, meta })
}
