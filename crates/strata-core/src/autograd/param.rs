//! Trainable parameters and the gradients backward produces for them.

use crate::Tensor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_PARAM_ID: AtomicU64 = AtomicU64::new(1);

/// Identity of a parameter, stable for its lifetime; gradients are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(u64);

/// A trainable tensor owned by a layer. Put it on a tape with [`Tape::param`](super::Tape::param);
/// backward then reports its gradient under its [`ParamId`].
#[derive(Debug)]
pub struct Param {
    id: ParamId,
    /// Name within its layer, e.g. "weight" or "bias".
    pub name: String,
    /// The current value; optimizers update it in place between steps.
    pub value: Tensor,
}

impl Param {
    /// A parameter with a fresh id, unique within the process.
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param { id: ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed)), name: name.into(), value }
    }
    /// This parameter's identity, the key of its gradient in [`Gradients`].
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
    /// The gradient of the parameter with id `id`, if it took part in the computation.
    pub fn get_by_id(&self, id: ParamId) -> Option<&Tensor> {
        self.by_param.get(&id)
    }
    /// Mutable access (gradient clipping, all-reduce).
    pub fn get_mut(&mut self, param: &Param) -> Option<&mut Tensor> {
        self.by_param.get_mut(&param.id)
    }
    /// Number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.by_param.len()
    }
    /// True when no parameter received a gradient.
    pub fn is_empty(&self) -> bool {
        self.by_param.is_empty()
    }
    /// Global L2 norm over all gradients: the square root of the sum of every element's
    /// square (accumulated in f64).
    pub fn global_norm(&self) -> f32 {
        self.by_param.values().map(|g| g.data().iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>()).sum::<f64>().sqrt() as f32
    }
    /// Scales every gradient by `max_norm / norm` when the global norm exceeds `max_norm`,
    /// so it becomes `max_norm`; returns the norm before clipping.
    pub fn clip_global_norm(&mut self, max_norm: f32) -> f32 {
        let norm = self.global_norm();
        if norm > max_norm && norm > 0.0 {
            let s = max_norm / norm;
            self.by_param.values_mut().for_each(|g| g.data_mut().iter_mut().for_each(|v| *v *= s));
        }
        norm
    }
    /// Clamps every gradient element to `[-limit, limit]`.
    pub fn clip_value(&mut self, limit: f32) {
        self.by_param.values_mut().for_each(|g| g.data_mut().iter_mut().for_each(|v| *v = v.clamp(-limit, limit)));
    }
}
