//! RMSprop: divide the gradient by a running root-mean-square of recent gradients.

use super::parallel_update::{zip2, zip3};
use super::state::{Layout, StateMap};
use super::{Optimizer, check_eps, check_grad, check_lr, check_unit, check_weight_decay};
use crate::autograd::{Gradients, Param};
use crate::{Result, Tensor};

/// RMSprop with PyTorch's semantics (not centered): per element
/// ```text
/// g = grad + weight_decay * w
/// square_avg = alpha * square_avg + (1 - alpha) * g * g
/// d = g / (sqrt(square_avg) + eps)
/// momentum > 0:  buf = momentum * buf + d;  w -= lr * buf
/// otherwise:     w -= lr * d
/// ```
///
/// ```
/// use strata::optim::RmsProp;
/// assert!(RmsProp::new(0.01).alpha(0.9).momentum(0.9).validate().is_ok());
/// assert!(RmsProp::new(0.01).alpha(1.0).validate().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    lr: f32,
    alpha: f32,
    eps: f32,
    momentum: f32,
    weight_decay: f32,
    state: StateMap,
}

impl RmsProp {
    /// RMSprop with learning rate `lr` (PyTorch's default is 0.01, Keras's 0.001).
    pub fn new(lr: f32) -> RmsProp {
        RmsProp { lr, alpha: 0.99, eps: 1e-8, momentum: 0.0, weight_decay: 0.0, state: StateMap::default() }
    }
    /// Smoothing constant of the squared-gradient average, in [0, 1) (default 0.99).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }
    /// Term added to the denominator, > 0 (default 1e-8).
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }
    /// Momentum factor in [0, 1) (default 0).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
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
        check_unit("alpha", self.alpha)?;
        check_eps(self.eps)?;
        check_unit("momentum", self.momentum)?;
        check_weight_decay(self.weight_decay)
    }
    /// `self` if [`RmsProp::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }

    fn layout(&self) -> Layout {
        let buffers: &'static [&'static str] = if self.momentum > 0.0 { &["square_avg", "momentum"] } else { &["square_avg"] };
        Layout { optimizer: self.name(), buffers, step: false }
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        self.validate()?;
        let (lr, alpha, eps, mu, wd) = (self.lr, self.alpha, self.eps, self.momentum, self.weight_decay);
        for p in params.iter_mut() {
            let Some(g) = grads.get(p) else { continue };
            check_grad(p, g)?;
            if mu == 0.0 {
                let (_, [sq]) = self.state.slot::<1>(p)?;
                zip2(p.value.data_mut(), g.data(), sq, |w, g, sq| {
                    for ((w, &g), sq) in w.iter_mut().zip(g).zip(sq) {
                        let g = g + wd * *w;
                        *sq = alpha * *sq + (1.0 - alpha) * (g * g);
                        *w -= lr * (g / (sq.sqrt() + eps));
                    }
                });
            } else {
                let (_, [sq, buf]) = self.state.slot::<2>(p)?;
                zip3(p.value.data_mut(), g.data(), sq, buf, |w, g, sq, buf| {
                    for (((w, &g), sq), b) in w.iter_mut().zip(g).zip(sq).zip(buf) {
                        let g = g + wd * *w;
                        *sq = alpha * *sq + (1.0 - alpha) * (g * g);
                        *b = mu * *b + g / (sq.sqrt() + eps);
                        *w -= lr * *b;
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
        "rmsprop"
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
    use crate::Error;

    #[test]
    fn first_steps_match_the_reference() {
        // g = 1, alpha 0.9: square_avg 0.1, 0.19; w -= 0.01 / sqrt(square_avg)
        let ws = trajectory(&mut RmsProp::new(0.01).alpha(0.9), &[1.0], &[1.0], 2);
        let w1 = 1.0 - 0.01 / (0.1f32.sqrt() + 1e-8);
        let w2 = w1 - 0.01 / (0.19f32.sqrt() + 1e-8);
        assert_close(&ws, &[vec![w1], vec![w2]]);
    }

    #[test]
    fn matches_the_naive_reference_with_momentum_and_weight_decay() {
        let (lr, alpha, eps, mu, wd) = (0.01f32, 0.95f32, 1e-6f32, 0.5f32, 0.02f32);
        for momentum in [0.0, mu] {
            let mut opt = RmsProp::new(lr).alpha(alpha).eps(eps).momentum(momentum).weight_decay(wd);
            let mut p = param(&[0.5, -1.0, 2.0]);
            let (mut w, mut sq, mut buf) = (vec![0.5f32, -1.0, 2.0], vec![0.0f32; 3], vec![0.0f32; 3]);
            for g in [[0.3, -0.2, 1.0], [0.1, 0.4, -0.5], [-0.7, 0.0, 0.2]] {
                step_with(&mut opt, &mut [&mut p], &[&g]).unwrap();
                for i in 0..3 {
                    let d = g[i] + wd * w[i];
                    sq[i] = alpha * sq[i] + (1.0 - alpha) * d * d;
                    let step = d / (sq[i].sqrt() + eps);
                    if momentum > 0.0 {
                        buf[i] = momentum * buf[i] + step;
                        w[i] -= lr * buf[i];
                    } else {
                        w[i] -= lr * step;
                    }
                }
                assert_close(&[p.value.data().to_vec()], &[w.clone()]);
            }
        }
    }

    #[test]
    fn state_has_a_momentum_buffer_only_with_momentum() {
        let mut p = param(&[1.0]);
        let mut plain = RmsProp::new(0.01);
        step_with(&mut plain, &mut [&mut p], &[&[1.0]]).unwrap();
        let names: Vec<String> = plain.state(&[&p]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["0.square_avg"]);
        let mut heavy = RmsProp::new(0.01).momentum(0.9);
        step_with(&mut heavy, &mut [&mut p], &[&[1.0]]).unwrap();
        let names: Vec<String> = heavy.state(&[&p]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["0.square_avg", "0.momentum"]);
    }

    #[test]
    fn weight_decay_shrinks_weights_with_zero_gradient() {
        let ws = trajectory(&mut RmsProp::new(0.01).weight_decay(0.5), &[2.0, -4.0], &[0.0, 0.0], 2);
        assert!(ws[0][0] < 2.0 && ws[1][0] < ws[0][0], "{ws:?}");
        assert!(ws[0][1] > -4.0 && ws[1][1] > ws[0][1], "{ws:?}");
    }

    #[test]
    fn bad_hyper_parameters_are_errors() {
        for opt in [
            RmsProp::new(-0.01),
            RmsProp::new(0.01).alpha(-0.1),
            RmsProp::new(0.01).alpha(1.0),
            RmsProp::new(0.01).eps(0.0),
            RmsProp::new(0.01).momentum(1.0),
            RmsProp::new(0.01).weight_decay(-0.1),
        ] {
            let mut opt = opt;
            let mut p = param(&[1.0]);
            let e = step_with(&mut opt, &mut [&mut p], &[&[1.0]]).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e}");
        }
    }
}
