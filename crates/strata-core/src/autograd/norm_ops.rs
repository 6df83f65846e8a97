//! Forward side of the normalization ops: batch norm (training and eval mode) and local
//! response normalization. The kernels are in `tensor::batchnorm` and `tensor::lrn`; the
//! gradient rules in `backward.rs`.

use super::recorded_op::Op;
use super::tape::Var;
use crate::tensor::batchnorm;
use crate::tensor::lrn::{LrnParams, lrn_forward};
use crate::{Error, Result, Tensor};

/// The operand whose tape records the op: the first one being tracked.
fn tracked<'a>(vars: &[&'a Var]) -> &'a Var {
    vars.iter().find(|v| v.node.is_some()).unwrap_or(&vars[0])
}

/// `[1, C, 1, ...]` for an input of `shape`: per-channel values broadcast over it.
fn channel_shape(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    s[1] = shape[1];
    s
}

impl Var {
    /// Training-mode batch normalization of x `[N, C, ...]` over every axis but the channel
    /// axis 1: `gamma * (x - mean) / sqrt(var + eps) + beta`, gamma and beta `[C]`.
    ///
    /// Returns the output with the batch mean and the biased batch variance (both `[C]`),
    /// from which a layer updates its running statistics.
    ///
    /// ```
    /// use strata_core::autograd::Tape;
    /// use strata_core::Tensor;
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]).unwrap());
    /// let (gamma, beta) = (tape.input(Tensor::ones(&[2])), tape.input(Tensor::zeros(&[2])));
    /// let (y, mean, var) = x.batch_norm_train(&gamma, &beta, 0.0).unwrap();
    /// assert_eq!(mean.data(), &[2.0, 20.0]);
    /// assert_eq!(var.data(), &[1.0, 100.0]);
    /// assert_eq!(y.value().data(), &[-1.0, -1.0, 1.0, 1.0]);
    /// ```
    pub fn batch_norm_train(&self, gamma: &Var, beta: &Var, eps: f32) -> Result<(Var, Tensor, Tensor)> {
        self.batch_norm_train_then(gamma, beta, eps, false)
    }

    /// [`Var::batch_norm_train`] followed by a ReLU, fused: one pass over the output
    /// forward, none for the ReLU backward (its mask is recomputed from x). Same result as
    /// `batch_norm_train(..).0.relu()`.
    pub fn batch_norm_relu_train(&self, gamma: &Var, beta: &Var, eps: f32) -> Result<(Var, Tensor, Tensor)> {
        self.batch_norm_train_then(gamma, beta, eps, true)
    }

    fn batch_norm_train_then(&self, gamma: &Var, beta: &Var, eps: f32, relu: bool) -> Result<(Var, Tensor, Tensor)> {
        self.check_tape(gamma, "batch_norm")?;
        self.check_tape(beta, "batch_norm")?;
        let (g, b) = (gamma.value.data(), beta.value.data());
        let r = if relu {
            batchnorm::batch_norm_relu_train(&self.value, g, b, eps)?
        } else {
            batchnorm::batch_norm_train(&self.value, g, b, eps)?
        };
        let c = r.mean.len();
        let (mean, var) = (Tensor::from_vec(r.mean, &[c])?, Tensor::from_vec(r.var, &[c])?);
        let (x, g, b) = (self.node, gamma.node, beta.node);
        let needs = x.is_some() || g.is_some() || b.is_some();
        let inv_std = r.inv_std;
        let y = tracked(&[self, gamma, beta]).tape.record(r.out, needs, || Op::BatchNorm {
            x,
            gamma: g,
            beta: b,
            x_val: self.value.clone(),
            mean: mean.clone(),
            inv_std: Tensor::new_unchecked(inv_std, &[c]),
            gamma_val: gamma.value.clone(),
            relu_beta: relu.then(|| beta.value.clone()),
        });
        Ok((y, mean, var))
    }

    /// Eval-mode batch normalization with fixed statistics `mean` and `var` (`[C]`, e.g. a
    /// layer's running averages): `gamma * (x - mean) / sqrt(var + eps) + beta`.
    ///
    /// With nothing to differentiate (inference) this is one fused pass. When gradients
    /// are wanted (fine-tuning with frozen statistics) it is composed from broadcasting
    /// ops, whose existing rules give the gradients of x, gamma and beta.
    pub fn batch_norm_eval(&self, gamma: &Var, beta: &Var, mean: &Tensor, var: &Tensor, eps: f32) -> Result<Var> {
        self.check_tape(gamma, "batch_norm_eval")?;
        self.check_tape(beta, "batch_norm_eval")?;
        let t = tracked(&[self, gamma, beta]);
        if t.node.is_none() {
            let (g, b) = (gamma.value.data(), beta.value.data());
            let out = batchnorm::batch_norm_eval(&self.value, g, b, mean.data(), var.data(), eps)?;
            return Ok(t.tape.input(out));
        }
        let shape = self.shape();
        let c = shape.get(1).copied().unwrap_or(0);
        for p in [gamma.value(), beta.value(), mean, var] {
            if shape.len() < 2 || p.shape() != [c] {
                return Err(Error::ShapeMismatch { op: "batch_norm_eval", left: shape.to_vec(), right: p.shape().to_vec() });
            }
        }
        let cs = channel_shape(shape);
        let inv_std: Vec<f32> = var.data().iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let xhat = self.sub(&t.constant(mean.reshape(&cs)?))?.mul(&t.constant(Tensor::from_vec(inv_std, &cs)?))?;
        xhat.mul(&gamma.reshape(&cs)?)?.add(&beta.reshape(&cs)?)
    }

    /// Local response normalization across channels of x `[N, C, ...]` (PyTorch semantics:
    /// see [`crate::tensor::lrn`]): `x / (k + alpha/size * sum of x^2 over size channels)^beta`.
    pub fn local_response_norm(&self, size: usize, alpha: f32, beta: f32, k: f32) -> Result<Var> {
        let params = LrnParams { size, alpha, beta, k };
        let (out, scale) = lrn_forward(&self.value, params)?;
        let x = self.node;
        let keep = out.clone();
        Ok(self.tape.record(out, x.is_some(), || Op::Lrn { x, x_val: self.value.clone(), out: keep, scale, params }))
    }
}
