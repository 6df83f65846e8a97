//! Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

use super::parallel_update::{zip1, zip2};
use super::state::{Layout, StateMap};
use super::{Optimizer, check_grad, check_lr, check_unit, check_weight_decay};
use crate::autograd::{Gradients, Param};
use crate::{Error, Result, Tensor};

/// SGD with PyTorch's semantics (dampening 0): per element
/// ```text
/// g = grad + weight_decay * w
/// v = momentum * v + g                       (v starts at 0; no buffer when momentum = 0)
/// w -= lr * (nesterov ? g + momentum * v : v)
/// ```
///
/// ```
/// use strata::optim::Sgd;
/// let opt = Sgd::new(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4);
/// assert!(opt.validate().is_ok());
/// assert!(Sgd::new(0.05).momentum(1.5).validate().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f32,
    momentum: f32,
    nesterov: bool,
    weight_decay: f32,
    state: StateMap,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Sgd {
        Sgd { lr, momentum: 0.0, nesterov: false, weight_decay: 0.0, state: StateMap::default() }
    }
    /// Momentum factor in [0, 1) (default 0).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }
    /// Nesterov's look-ahead momentum (default off; needs momentum > 0).
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
    /// L2 penalty added to the gradient (default 0).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    /// Checks every hyper-parameter (`step` calls this first).
    pub fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_unit("momentum", self.momentum)?;
        check_weight_decay(self.weight_decay)?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(Error::invalid("momentum", "Nesterov momentum needs momentum > 0"));
        }
        Ok(())
    }
    /// `self` if [`Sgd::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }

    fn layout(&self) -> Layout {
        let buffers: &'static [&'static str] = if self.momentum > 0.0 { &["momentum"] } else { &[] };
        Layout { optimizer: self.name(), buffers, step: false }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        self.validate()?;
        let (lr, mu, wd, nesterov) = (self.lr, self.momentum, self.weight_decay, self.nesterov);
        for p in params.iter_mut() {
            let Some(g) = grads.get(p) else { continue };
            check_grad(p, g)?;
            if mu == 0.0 {
                zip1(p.value.data_mut(), g.data(), |w, g| {
                    for (w, &g) in w.iter_mut().zip(g) {
                        *w -= lr * (g + wd * *w);
                    }
                });
                continue;
            }
            let (_, [v]) = self.state.slot::<1>(p)?;
            let w = p.value.data_mut();
            if nesterov {
                zip2(w, g.data(), v, |w, g, v| {
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
                        let g = g + wd * *w;
                        *v = mu * *v + g;
                        *w -= lr * (g + mu * *v);
                    }
                });
            } else {
                zip2(w, g.data(), v, |w, g, v| {
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
                        *v = mu * *v + (g + wd * *w);
                        *w -= lr * *v;
                    }
                });
            }
        }
        Ok(())
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
    fn name(&self) -> &'static str {
        if self.nesterov { "nesterov" } else { "sgd" }
    }
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)> {
        self.state.export(params, self.layout())
    }
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()> {
        self.state = StateMap::import(params, state, self.layout())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn plain_sgd_steps_against_the_gradient() {
        // w = 1, grad 2, lr 0.1: 1 - 0.2 = 0.8 - 0.2 = 0.6
        let ws = trajectory(&mut Sgd::new(0.1), &[1.0], &[2.0], 2);
        assert_close(&ws, &[vec![0.8], vec![0.6]]);
    }

    #[test]
    fn momentum_matches_the_hand_computed_trajectory() {
        // v: 1, 1.9, 2.71; w: 1 - 0.1 v cumulative = 0.9, 0.71, 0.439
        let ws = trajectory(&mut Sgd::new(0.1).momentum(0.9), &[1.0], &[1.0], 3);
        assert_close(&ws, &[vec![0.9], vec![0.71], vec![0.439]]);
    }

    #[test]
    fn nesterov_matches_the_reference_and_differs_from_plain_momentum() {
        // update = g + mu v: v 1 -> 1.9 -> 2.71; update 1.9, 2.71, 3.439
        let ws = trajectory(&mut Sgd::new(0.1).momentum(0.9).nesterov(true), &[1.0], &[1.0], 3);
        assert_close(&ws, &[vec![0.81], vec![0.539], vec![0.1951]]);
        let plain = trajectory(&mut Sgd::new(0.1).momentum(0.9), &[1.0], &[1.0], 3);
        assert_ne!(ws, plain);
    }

    #[test]
    fn matches_the_naive_reference_on_a_vector() {
        let (lr, mu, wd) = (0.05f32, 0.8f32, 0.01f32);
        let w0 = [0.5, -1.0, 2.0];
        let grads = [[0.3, -0.2, 1.0], [0.1, 0.4, -0.5], [-0.7, 0.0, 0.2]];
        for nesterov in [false, true] {
            let mut opt = Sgd::new(lr).momentum(mu).nesterov(nesterov).weight_decay(wd);
            let mut p = param(&w0);
            let (mut w, mut v) = (w0.to_vec(), vec![0.0f32; 3]);
            for g in &grads {
                step_with(&mut opt, &mut [&mut p], &[g]).unwrap();
                for i in 0..3 {
                    let d = g[i] + wd * w[i];
                    v[i] = mu * v[i] + d;
                    w[i] -= lr * if nesterov { d + mu * v[i] } else { v[i] };
                }
                assert_close(&[p.value.data().to_vec()], &[w.clone()]);
            }
        }
    }

    #[test]
    fn weight_decay_shrinks_weights_with_zero_gradient() {
        // w *= 1 - lr * wd each step
        let ws = trajectory(&mut Sgd::new(0.1).weight_decay(0.5), &[2.0, -4.0], &[0.0, 0.0], 2);
        assert_close(&ws, &[vec![1.9, -3.8], vec![1.805, -3.61]]);
    }

    #[test]
    fn state_is_the_momentum_buffer_and_only_with_momentum() {
        let mut opt = Sgd::new(0.1).momentum(0.9);
        let mut p = param(&[1.0, 2.0]);
        assert!(opt.state(&[&p]).is_empty(), "no state before the first step");
        step_with(&mut opt, &mut [&mut p], &[&[1.0, -1.0]]).unwrap();
        let s = opt.state(&[&p]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, "0.momentum");
        assert_eq!(s[0].1.data(), &[1.0, -1.0]);

        let mut plain = Sgd::new(0.1);
        step_with(&mut plain, &mut [&mut p], &[&[1.0, -1.0]]).unwrap();
        assert!(plain.state(&[&p]).is_empty());
    }

    #[test]
    fn large_tensors_update_in_parallel_like_small_ones() {
        let n = super::super::PARALLEL_MIN + 12_345;
        let w0: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.01 - 0.5).collect();
        let g: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1 - 0.6).collect();
        let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3);
        let mut p = param(&w0);
        for _ in 0..2 {
            step_with(&mut opt, &mut [&mut p], &[&g]).unwrap();
        }
        // Same update element by element, on tiny tensors (serial path).
        for i in [0, 1, n / 2, n - 1] {
            let mut small_opt = Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3);
            let mut q = param(&[w0[i]]);
            for _ in 0..2 {
                step_with(&mut small_opt, &mut [&mut q], &[&[g[i]]]).unwrap();
            }
            assert_eq!(p.value.data()[i], q.value.data()[0], "element {i}");
        }
    }

    #[test]
    fn bad_hyper_parameters_are_errors_before_any_update() {
        for opt in [
            Sgd::new(-0.1),
            Sgd::new(f32::NAN),
            Sgd::new(0.1).momentum(1.0),
            Sgd::new(0.1).momentum(-0.1),
            Sgd::new(0.1).weight_decay(-1.0),
            Sgd::new(0.1).nesterov(true),
        ] {
            let mut opt = opt;
            let mut p = param(&[1.0]);
            let e = step_with(&mut opt, &mut [&mut p], &[&[1.0]]).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e}");
            assert_eq!(p.value.data(), &[1.0]);
        }
    }
}
