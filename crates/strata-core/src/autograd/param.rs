//! Trainable parameters and the gradients backward produces for them.

use crate::Tensor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_PARAM_ID: AtomicU64 = AtomicU64::new(1);

/// Identity of a parameter, stable for its lifetime; gradients are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(u64);

/// A trainable tensor owned by a layer.
#[derive(Debug)]
pub struct Param {
    id: ParamId,
    /// Name within its layer, e.g. "weight" or "bias".
    pub name: String,
    pub value: Tensor,
}

impl Param {
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param { id: ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed)), name: name.into(), value }
    }
    pub fn id(&self) -> ParamId {
        self.id
    }
}

impl Clone for Param {
    /// A copy is a distinct parameter (its own id), so two models never share gradients.
    fn clone(&self) -> Param {
        Param::new(self.name.clone(), self.value.clone())
    }
}

/// Gradients of one backward pass, by parameter.
#[derive(Debug, Default)]
pub struct Gradients {
    by_param: HashMap<ParamId, Tensor>,
}

impl Gradients {
    /// Sets the gradient of the parameter `id` (gradients that arrive from elsewhere, such
    /// as another process's all-reduce).
    pub fn insert(&mut self, id: ParamId, grad: Tensor) {
        self.by_param.insert(id, grad);
    }
    /// The gradient of `param`, if it took part in the computation.
    pub fn get(&self, param: &Param) -> Option<&Tensor> {
        self.by_param.get(&param.id)
    }
    pub fn get_by_id(&self, id: ParamId) -> Option<&Tensor> {
        self.by_param.get(&id)
    }
    /// Mutable access (gradient clipping, all-reduce).
    pub fn get_mut(&mut self, param: &Param) -> Option<&mut Tensor> {
        self.by_param.get_mut(&param.id)
    }
    pub fn len(&self) -> usize {
        self.by_param.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_param.is_empty()
    }
    /// Global L2 norm over all gradients.
    pub fn global_norm(&self) -> f32 {
        self.by_param.values().map(|g| g.data().iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>()).sum::<f64>().sqrt() as f32
    }
    /// Scales every gradient so the global norm is at most `max_norm`; returns the norm before.
    pub fn clip_global_norm(&mut self, max_norm: f32) -> f32 {
        let norm = self.global_norm();
        if norm > max_norm && norm > 0.0 {
            let s = max_norm / norm;
            self.by_param.values_mut().for_each(|g| g.data_mut().iter_mut().for_each(|v| *v *= s));
        }
        norm
    }
    /// Clamps every gradient element to [-limit, limit].
    pub fn clip_value(&mut self, limit: f32) {
        self.by_param.values_mut().for_each(|g| g.data_mut().iter_mut().for_each(|v| *v = v.clamp(-limit, limit)));
    }
}
