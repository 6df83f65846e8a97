//! Checkpoints written after every epoch, so an interrupted `fit` resumes and ends exactly
//! where an uninterrupted one would: the weights, the optimizer state, the random generator,
//! the learning rate, the history, the early-stopping state and layer buffers (batch-norm
//! running statistics), in one safetensors file
//! (written atomically) whose metadata holds the non-tensor parts as JSON.
//!
//! A learning-rate schedule is not saved: schedules that follow from the epoch number (step,
//! exponential) continue exactly; a plateau schedule restarts its patience count.

use super::early_stopping::EarlyStoppingState;
use super::history::{EpochRecord, History};
use super::sequential::Sequential;
use super::train_config::TrainConfig;
use crate::io::save_tensors;
use crate::{Error, Result, Rng, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "strata-checkpoint";

/// The file a checkpoint directory holds.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

#[derive(Serialize, Deserialize)]
struct Meta {
    format: String,
    model: String,
    num_params: usize,
    epoch: usize,
    learning_rate: f32,
    rng: Rng,
    history: Vec<EpochRecord>,
    stopped_early: bool,
    early_stopping: Option<EarlyStoppingState>,
    optimizer: String,
    optimizer_state: Vec<String>,
    has_best: bool,
    #[serde(default)]
    buffers: Vec<(usize, String)>,
    #[serde(default)]
    training: Option<TrainConfig>,
}

/// Everything a resumed `fit` needs: what `fit` writes after every epoch into
/// [`checkpoint_path`] of its checkpoint folder. [`Checkpoint::read_training`] tells the
/// settings a checkpoint was made with.
pub struct Checkpoint {
    pub(crate) epoch: usize,
    pub(crate) learning_rate: f32,
    pub(crate) rng: Rng,
    pub(crate) history: History,
    pub(crate) early_stopping: Option<EarlyStoppingState>,
    pub(crate) weights: Vec<Tensor>,
    pub(crate) best_weights: Option<Vec<Tensor>>,
    pub(crate) optimizer_state: Vec<(String, Tensor)>,
    /// Non-trainable layer state (batch-norm running statistics), as `(layer, name, value)`.
    pub(crate) buffers: Vec<(usize, String, Tensor)>,
    /// The training settings of the run (a resumed run continues with them).
    pub(crate) training: Option<TrainConfig>,
}

impl Sequential {
    /// Copies of every parameter, layer by layer.
    pub fn weights(&self) -> Vec<Tensor> {
        self.params().iter().map(|p| p.value.clone()).collect()
    }
    /// Replaces every parameter (same order and shapes as [`Sequential::weights`]).
    pub fn set_weights(&mut self, weights: Vec<Tensor>) -> Result<()> {
        let mut params = self.params_mut();
        if params.len() != weights.len() {
            return Err(Error::Model(format!("{} weight tensors for {} parameters", weights.len(), params.len())));
        }
        for (p, w) in params.iter_mut().zip(weights) {
            if p.value.shape() != w.shape() {
                return Err(Error::ShapeMismatch {
                    op: "set_weights",
                    left: p.value.shape().to_vec(),
                    right: w.shape().to_vec(),
                });
            }
            p.value = w;
        }
        Ok(())
    }

    /// The checkpoint of this model after `epoch`.
    pub(crate) fn checkpoint(
        &self,
        epoch: usize,
        history: &History,
        early_stopping: Option<&EarlyStoppingState>,
        best_weights: Option<&Vec<Tensor>>,
        training: Option<&TrainConfig>,
    ) -> Checkpoint {
        let params: Vec<&crate::autograd::Param> = self.layers.iter().flat_map(|l| l.params()).collect();
        let optimizer_state = self.compiled.as_ref().map(|c| c.optimizer.state(&params)).unwrap_or_default();
        Checkpoint {
            epoch,
            learning_rate: self.optimizer().map_or(0.0, |o| o.learning_rate()),
            rng: self.rng.clone(),
            history: history.clone(),
            early_stopping: early_stopping.cloned(),
            weights: self.weights(),
            best_weights: best_weights.cloned(),
            optimizer_state,
            buffers: (self.layers.iter().enumerate())
                .flat_map(|(i, l)| l.buffers().into_iter().map(move |(n, t)| (i, n.to_string(), t)))
                .collect(),
            training: training.cloned(),
        }
    }

    /// Puts weights, optimizer state, learning rate and random generator back.
    pub(crate) fn restore(&mut self, ck: &Checkpoint) -> Result<()> {
        self.set_weights(ck.weights.clone())?;
        for (i, name, t) in &ck.buffers {
            let layer = self.layers.get_mut(*i).ok_or_else(|| Error::Model(format!("checkpoint buffer of layer {i}")))?;
            layer.set_buffer(name, t.clone())?;
        }
        self.rng = ck.rng.clone();
        let params: Vec<&crate::autograd::Param> = self.layers.iter().flat_map(|l| l.params()).collect();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.load_state(&params, &ck.optimizer_state)?;
            c.optimizer.set_learning_rate(ck.learning_rate);
        }
        Ok(())
    }
}

impl Checkpoint {
    /// Writes the checkpoint (atomically) for `model`.
    pub(crate) fn save(&self, path: &Path, model: &Sequential) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::io::create_dir(dir)?;
        }
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for (i, w) in self.weights.iter().enumerate() {
            tensors.push((format!("weight.{i:04}"), w.clone()));
        }
        for (i, w) in self.best_weights.iter().flatten().enumerate() {
            tensors.push((format!("best.{i:04}"), w.clone()));
        }
        for (name, t) in &self.optimizer_state {
            tensors.push((format!("optimizer.{name}"), t.clone()));
        }
        for (i, name, t) in &self.buffers {
            tensors.push((format!("buffer.{i:04}.{name}"), t.clone()));
        }
        let meta = Meta {
            format: FORMAT.into(),
            model: model.model_name().into(),
            num_params: model.num_params(),
            epoch: self.epoch,
            learning_rate: self.learning_rate,
            rng: self.rng.clone(),
            history: self.history.epochs.clone(),
            stopped_early: self.history.stopped_early,
            early_stopping: self.early_stopping.clone(),
            optimizer: model.optimizer().map_or("", |o| o.name()).into(),
            optimizer_state: self.optimizer_state.iter().map(|(n, _)| n.clone()).collect(),
            has_best: self.best_weights.is_some(),
            buffers: self.buffers.iter().map(|(i, n, _)| (*i, n.clone())).collect(),
            training: self.training.clone(),
        };
        let json = serde_json::to_string(&meta).map_err(|e| Error::data(path, e.to_string()))?;
        save_tensors(path, &tensors, Some(HashMap::from([(FORMAT.to_string(), json)])))
    }

    /// The training settings a checkpoint was written with (`None` for a checkpoint
    /// written without them), and the epoch it ends after.
    pub fn read_training(path: &Path) -> Result<(Option<TrainConfig>, usize)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let meta = read_meta(path, &bytes)?;
        Ok((meta.training, meta.epoch))
    }

    /// Reads a checkpoint and checks that it belongs to `model`.
    pub(crate) fn load(path: &Path, model: &Sequential) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |why: String| Error::data(path, format!("not a usable checkpoint ({why})"));
        let meta = read_meta(path, &bytes)?;
        // The epoch count decides what a resumed run does: it must agree with the history.
        let numbered = meta.history.iter().enumerate().all(|(i, r)| r.epoch == i + 1);
        if meta.epoch != meta.history.len() || !numbered {
            return Err(bad(format!("it ends after epoch {} but records {} epochs", meta.epoch, meta.history.len())));
        }
        if meta.model != model.model_name() || meta.num_params != model.num_params() {
            return Err(Error::data(
                path,
                format!(
                    "the checkpoint is of '{}' with {} parameters, not '{}' with {}",
                    meta.model,
                    meta.num_params,
                    model.model_name(),
                    model.num_params()
                ),
            ));
        }
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let get = |name: &str| -> Result<Tensor> {
            let v = st.tensor(name).map_err(|_| bad(format!("missing tensor '{name}'")))?;
            if v.dtype() != Dtype::F32 {
                return Err(bad(format!("tensor '{name}' is not f32")));
            }
            let data = v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            Tensor::from_vec(data, v.shape())
        };
        let n = model.params().len();
        let weights = (0..n).map(|i| get(&format!("weight.{i:04}"))).collect::<Result<Vec<_>>>()?;
        let best_weights =
            if meta.has_best { Some((0..n).map(|i| get(&format!("best.{i:04}"))).collect::<Result<Vec<_>>>()?) } else { None };
        let optimizer_state = (meta.optimizer_state.iter())
            .map(|name| Ok((name.clone(), get(&format!("optimizer.{name}"))?)))
            .collect::<Result<Vec<_>>>()?;
        let buffers = (meta.buffers.iter())
            .map(|(i, name)| Ok((*i, name.clone(), get(&format!("buffer.{i:04}.{name}"))?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Checkpoint {
            buffers,
            epoch: meta.epoch,
            learning_rate: meta.learning_rate,
            rng: meta.rng,
            history: History { epochs: meta.history, stopped_early: meta.stopped_early },
            early_stopping: meta.early_stopping,
            weights,
            best_weights,
            optimizer_state,
            training: meta.training,
        })
    }
}

/// The JSON metadata of a checkpoint file's bytes.
fn read_meta(path: &Path, bytes: &[u8]) -> Result<Meta> {
    let bad = |why: String| Error::data(path, format!("not a usable checkpoint ({why})"));
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let json = header.metadata().as_ref().and_then(|m| m.get(FORMAT)).ok_or_else(|| bad("no checkpoint metadata".into()))?;
    serde_json::from_str(json).map_err(|e| bad(e.to_string()))
}
