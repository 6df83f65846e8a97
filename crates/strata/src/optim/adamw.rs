//! AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).

use super::{Adam, Optimizer};
use crate::autograd::{Gradients, Param};
use crate::{Result, Tensor};

/// AdamW with PyTorch's semantics: each step first decays the weights, `w *= 1 - lr *
/// weight_decay`, then applies [`Adam`]'s update to the raw gradient (no L2 term in it).
/// Default weight decay 0.01.
///
/// ```
/// use strata::optim::{AdamW, Optimizer};
/// let opt = AdamW::new(1e-3).weight_decay(0.05);
/// assert_eq!(opt.name(), "adamw");
/// assert!(AdamW::new(1e-3).weight_decay(-1.0).validate().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct AdamW(Adam);

impl AdamW {
    /// AdamW with learning rate `lr` and weight decay 0.01.
    pub fn new(lr: f32) -> AdamW {
        let mut adam = Adam::new(lr).weight_decay(0.01);
        adam.decoupled = true;
        AdamW(adam)
    }
    /// See [`Adam::betas`] (default 0.9, 0.999).
    pub fn betas(self, beta1: f32, beta2: f32) -> Self {
        AdamW(self.0.betas(beta1, beta2))
    }
    /// See [`Adam::eps`] (default 1e-8).
    pub fn eps(self, eps: f32) -> Self {
        AdamW(self.0.eps(eps))
    }
    /// Decoupled weight decay, >= 0 (default 0.01).
    pub fn weight_decay(self, weight_decay: f32) -> Self {
        AdamW(self.0.weight_decay(weight_decay))
    }
    /// Checks every hyper-parameter (`step` calls this first).
    pub fn validate(&self) -> Result<()> {
        self.0.validate()
    }
    /// `self` if [`AdamW::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        self.0.step(params, grads)
    }
    fn learning_rate(&self) -> f32 {
        self.0.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.0.set_learning_rate(lr);
    }
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)> {
        self.0.state(params)
    }
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()> {
        self.0.load_state(params, state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn decay_is_decoupled_from_the_gradient() {
        // Zero gradient: Adam's part is 0 / (0 + eps) = 0, so w *= 1 - lr * wd exactly.
        let ws = trajectory(&mut AdamW::new(0.1).weight_decay(0.5), &[2.0, -4.0], &[0.0, 0.0], 2);
        assert_close(&ws, &[vec![1.9, -3.8], vec![1.805, -3.61]]);
        // Adam's L2 instead moves by ~lr per step whatever the decay.
        let l2 = trajectory(&mut Adam::new(0.1).weight_decay(0.5), &[2.0, -4.0], &[0.0, 0.0], 1);
        assert_close(&l2, &[vec![1.9, -3.9]]);
    }

    #[test]
    fn matches_the_naive_reference() {
        let w0 = [0.5, -1.0, 2.0];
        let gs: [&[f32]; 3] = [&[0.3, -0.2, 1.0], &[0.1, 0.4, -0.5], &[-0.7, 0.0, 0.2]];
        let hp = (0.01, 0.8, 0.95, 1e-6, 0.1);
        let mut opt = AdamW::new(hp.0).betas(hp.1, hp.2).eps(hp.3).weight_decay(hp.4);
        let mut p = param(&w0);
        let mut got = Vec::new();
        for g in gs {
            step_with(&mut opt, &mut [&mut p], &[g]).unwrap();
            got.push(p.value.data().to_vec());
        }
        assert_close(&got, &adam_reference(&w0, &gs, hp, true));
        assert_ne!(got, adam_reference(&w0, &gs, hp, false));
    }

    #[test]
    fn default_weight_decay_is_one_hundredth() {
        let ws = trajectory(&mut AdamW::new(0.1), &[1.0], &[0.0], 1);
        assert_close(&ws, &[vec![1.0 - 0.1 * 0.01]]);
    }
}
