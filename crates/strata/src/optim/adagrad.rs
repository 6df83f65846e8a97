//! Adagrad: a per-weight learning rate that shrinks with the sum of squared gradients.

use super::parallel_update::zip2;
use super::state::{Layout, StateMap};
use super::{Optimizer, check_eps, check_grad, check_lr, check_weight_decay};
use crate::autograd::{Gradients, Param};
use crate::{Result, Tensor};

/// Adagrad with PyTorch's semantics (no lr decay, accumulator starting at 0): per element
/// ```text
/// g = grad + weight_decay * w
/// sum += g * g
/// w -= lr * g / (sqrt(sum) + eps)
/// ```
///
/// ```
/// use strata::optim::Adagrad;
/// assert!(Adagrad::new(0.01).eps(1e-10).validate().is_ok());
/// assert!(Adagrad::new(0.01).eps(0.0).validate().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad {
    lr: f32,
    eps: f32,
    weight_decay: f32,
    state: StateMap,
}

impl Adagrad {
    /// Adagrad with learning rate `lr` (PyTorch's default is 0.01).
    pub fn new(lr: f32) -> Adagrad {
        Adagrad { lr, eps: 1e-10, weight_decay: 0.0, state: StateMap::default() }
    }
    /// Term added to the denominator, > 0 (default 1e-10).
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
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
        check_eps(self.eps)?;
        check_weight_decay(self.weight_decay)
    }
    /// `self` if [`Adagrad::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }

    const LAYOUT: Layout = Layout { optimizer: "adagrad", buffers: &["sum"], step: false };
}

impl Optimizer for Adagrad {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        self.validate()?;
        let (lr, eps, wd) = (self.lr, self.eps, self.weight_decay);
        for p in params.iter_mut() {
            let Some(g) = grads.get(p) else { continue };
            check_grad(p, g)?;
            let (_, [sum]) = self.state.slot::<1>(p)?;
            zip2(p.value.data_mut(), g.data(), sum, |w, g, sum| {
                for ((w, &g), s) in w.iter_mut().zip(g).zip(sum) {
                    let g = g + wd * *w;
                    *s += g * g;
                    *w -= lr * (g / (s.sqrt() + eps));
                }
            });
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
        Self::LAYOUT.optimizer
    }
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)> {
        self.state.export(params, Self::LAYOUT)
    }
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()> {
        self.state = StateMap::import(params, state, Self::LAYOUT)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::Error;

    #[test]
    fn first_steps_match_the_reference() {
        // g = 2 each step: sum 4, 8, 12; w -= 0.1 * 2 / sqrt(sum)
        let ws = trajectory(&mut Adagrad::new(0.1), &[1.0], &[2.0], 3);
        let w1 = 1.0 - 0.1;
        let w2 = w1 - 0.2 / 8f32.sqrt();
        let w3 = w2 - 0.2 / 12f32.sqrt();
        assert_close(&ws, &[vec![w1], vec![w2], vec![w3]]);
    }

    #[test]
    fn matches_the_naive_reference_with_weight_decay() {
        let (lr, eps, wd) = (0.05f32, 1e-10f32, 0.1f32);
        let mut opt = Adagrad::new(lr).weight_decay(wd);
        let mut p = param(&[0.5, -1.0, 0.0]);
        let (mut w, mut sum) = (vec![0.5f32, -1.0, 0.0], vec![0.0f32; 3]);
        for g in [[0.3, -0.2, 0.0], [0.1, 0.4, 0.0], [-0.7, 0.0, 0.2]] {
            step_with(&mut opt, &mut [&mut p], &[&g]).unwrap();
            for i in 0..3 {
                let d = g[i] + wd * w[i];
                sum[i] += d * d;
                w[i] -= lr * d / (sum[i].sqrt() + eps);
            }
            assert_close(&[p.value.data().to_vec()], &[w.clone()]);
        }
        // A weight that has seen only zero gradients stays put (0/eps, not NaN).
        assert!(p.value.all_finite());
    }

    #[test]
    fn weight_decay_shrinks_weights_with_zero_gradient() {
        let ws = trajectory(&mut Adagrad::new(0.1).weight_decay(0.5), &[2.0, -4.0], &[0.0, 0.0], 2);
        assert!(ws[0][0] < 2.0 && ws[1][0] < ws[0][0] && ws[1][0] > 0.0, "{ws:?}");
        assert!(ws[0][1] > -4.0 && ws[1][1] > ws[0][1] && ws[1][1] < 0.0, "{ws:?}");
    }

    #[test]
    fn bad_hyper_parameters_are_errors() {
        for opt in [Adagrad::new(-1.0), Adagrad::new(0.1).eps(-1e-8), Adagrad::new(0.1).weight_decay(f32::INFINITY)] {
            let mut opt = opt;
            let mut p = param(&[1.0]);
            let e = step_with(&mut opt, &mut [&mut p], &[&[1.0]]).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e}");
        }
    }
}
