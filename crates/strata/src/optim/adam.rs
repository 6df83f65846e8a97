//! Adam: momentum on the gradient and on its square, with bias correction. The same update
//! serves [`AdamW`](super::AdamW), which decays weights directly instead of through the
//! gradient.

use super::parallel_update::zip3;
use super::state::{Layout, StateMap};
use super::{Optimizer, check_eps, check_grad, check_lr, check_unit, check_weight_decay};
use crate::autograd::{Gradients, Param};
use crate::{Result, Tensor};

/// Adam with PyTorch's semantics (weight decay as an L2 term in the gradient; no amsgrad):
/// per element, at step t = 1, 2, ... of each parameter,
/// ```text
/// g = grad + weight_decay * w
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g * g
/// w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// ```
/// use strata::optim::Adam;
/// assert!(Adam::new(1e-3).betas(0.9, 0.999).eps(1e-8).validate().is_ok());
/// assert!(Adam::new(1e-3).betas(0.9, 1.0).validate().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    /// AdamW: decay `w *= 1 - lr * weight_decay` instead of adding it to the gradient.
    pub(super) decoupled: bool,
    state: StateMap,
}

impl Adam {
    /// Adam with learning rate `lr` (the usual default is 1e-3).
    pub fn new(lr: f32) -> Adam {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false, state: StateMap::default() }
    }
    /// Decay rates of the first and second moment averages, each in [0, 1) (default 0.9, 0.999).
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    /// Term added to the denominator, > 0 (default 1e-8).
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
        check_unit("beta1", self.beta1)?;
        check_unit("beta2", self.beta2)?;
        check_eps(self.eps)?;
        check_weight_decay(self.weight_decay)
    }
    /// `self` if [`Adam::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }

    fn layout(&self) -> Layout {
        Layout { optimizer: self.name(), buffers: &["exp_avg", "exp_avg_sq"], step: true }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        self.validate()?;
        let (lr, b1, b2, eps) = (self.lr, self.beta1, self.beta2, self.eps);
        // Adam: g += wd * w.  AdamW: w *= 1 - lr * wd.  (Multiplying by 1 or adding 0 * w
        // is exact, so one loop serves both.)
        let (l2, decay) = if self.decoupled { (0.0, 1.0 - lr * self.weight_decay) } else { (self.weight_decay, 1.0) };
        for p in params.iter_mut() {
            let Some(g) = grads.get(p) else { continue };
            check_grad(p, g)?;
            let (step, [m, v]) = self.state.slot::<2>(p)?;
            *step += 1;
            let t = *step as f64;
            let step_size = (lr as f64 / (1.0 - (b1 as f64).powf(t))) as f32;
            let bc2_sqrt = (1.0 - (b2 as f64).powf(t)).sqrt() as f32;
            zip3(p.value.data_mut(), g.data(), m, v, |w, g, m, v| {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                    let g = g + l2 * *w;
                    *w *= decay;
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * (g * g);
                    *w -= step_size * (*m / (v.sqrt() / bc2_sqrt + eps));
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
        if self.decoupled { "adamw" } else { "adam" }
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
    fn first_step_moves_each_weight_by_lr_times_the_sign_of_its_gradient() {
        let ws = trajectory(&mut Adam::new(0.01), &[1.0, 1.0, 1.0, 1.0], &[1e-3, -5.0, 100.0, 0.5], 1);
        assert_close(&ws, &[vec![0.99, 1.01, 0.99, 0.99]]);
    }

    #[test]
    fn matches_the_naive_reference() {
        let w0 = [0.5, -1.0, 2.0];
        let gs: [&[f32]; 3] = [&[0.3, -0.2, 1.0], &[0.1, 0.4, -0.5], &[-0.7, 0.0, 0.2]];
        let hp = (0.01, 0.8, 0.95, 1e-6, 0.1);
        let mut opt = Adam::new(hp.0).betas(hp.1, hp.2).eps(hp.3).weight_decay(hp.4);
        let mut p = param(&w0);
        let mut got = Vec::new();
        for g in gs {
            step_with(&mut opt, &mut [&mut p], &[g]).unwrap();
            got.push(p.value.data().to_vec());
        }
        assert_close(&got, &adam_reference(&w0, &gs, hp, false));
    }

    #[test]
    fn l2_weight_decay_moves_weights_with_zero_gradient_toward_zero() {
        // Through the gradient: the first step is lr * sign(wd * w), whatever wd.
        let ws = trajectory(&mut Adam::new(0.01).weight_decay(1e-4), &[2.0, -4.0], &[0.0, 0.0], 1);
        assert_close(&ws, &[vec![1.99, -3.99]]);
    }

    #[test]
    fn step_count_is_per_parameter_and_saved() {
        let mut opt = Adam::new(0.01);
        let mut a = param(&[1.0]);
        let mut b = param(&[1.0]);
        step_with(&mut opt, &mut [&mut a, &mut b], &[&[1.0]]).unwrap();
        step_with(&mut opt, &mut [&mut a, &mut b], &[&[1.0], &[1.0]]).unwrap();
        // b's first step is bias-corrected as a first step: exactly lr * sign.
        assert_close(&[b.value.data().to_vec()], &[vec![0.99]]);
        let s = opt.state(&[&a, &b]);
        let steps: Vec<(&str, f32)> =
            s.iter().filter(|(k, _)| k.ends_with(".step")).map(|(k, t)| (k.as_str(), t.item().unwrap())).collect();
        assert_eq!(steps, [("0.step", 2.0), ("1.step", 1.0)]);
    }

    #[test]
    fn bad_hyper_parameters_are_errors() {
        for opt in [
            Adam::new(-1e-3),
            Adam::new(1e-3).betas(-0.1, 0.999),
            Adam::new(1e-3).betas(0.9, 1.0),
            Adam::new(1e-3).eps(f32::NAN),
            Adam::new(1e-3).weight_decay(-0.1),
        ] {
            let mut opt = opt;
            let mut p = param(&[1.0]);
            let e = step_with(&mut opt, &mut [&mut p], &[&[1.0]]).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e}");
            assert_eq!(p.value.data(), &[1.0]);
        }
    }
}
