//! Forward side of the fused network ops: linear layers, maxout, dropout masks and the
//! losses. Fusing keeps per-op overhead low and the losses numerically stable.

use super::recorded_op::Op;
use super::tape::Var;
use crate::tensor::gemm;
use crate::{Error, Result, Tensor};

/// Probabilities are kept this far from 0 and 1 inside binary cross-entropy.
const BCE_EPS: f32 = 1e-7;

impl Var {
    /// `self @ w + b`: self `[N, in]`, w `[in, out]`, b `[out]`. The bias is written first and the
    /// product accumulated onto it, so the add costs no extra pass.
    pub fn linear(&self, w: &Var, b: Option<&Var>) -> Result<Var> {
        self.check_tape(w, "linear")?;
        if let Some(b) = b {
            self.check_tape(b, "linear")?;
            w.check_tape(b, "linear")?;
        }
        let (xs, ws) = (self.shape(), w.shape());
        if xs.len() != 2 || ws.len() != 2 || xs[1] != ws[0] {
            return Err(Error::ShapeMismatch { op: "linear", left: xs.to_vec(), right: ws.to_vec() });
        }
        let (n, k, m) = (xs[0], xs[1], ws[1]);
        let mut out = vec![0.0; n * m];
        if let Some(b) = b {
            if b.shape() != [m] {
                return Err(Error::ShapeMismatch { op: "linear bias", left: ws.to_vec(), right: b.shape().to_vec() });
            }
            out.chunks_exact_mut(m).for_each(|row| row.copy_from_slice(b.value.data()));
        }
        gemm(n, m, k, self.value.data(), false, w.value.data(), false, &mut out, b.is_some());
        let value = Tensor::from_vec(out, &[n, m])?;
        let bn = b.and_then(|b| b.node);
        let needs = self.node.is_some() || w.node.is_some() || bn.is_some();
        // record on the tape of a tracked operand (x and w may be constants, b the only one)
        let tracked = [Some(self), Some(w), b].into_iter().flatten().find(|v| v.node.is_some());
        let tape = &tracked.unwrap_or(self).tape;
        Ok(tape.record(value, needs, || Op::Linear {
            x: self.node,
            w: w.node,
            b: bn,
            x_val: self.value.clone(),
            w_val: w.value.clone(),
        }))
    }

    /// Maxout: [N, units * pieces] -> [N, units], the max over each group of `pieces`
    /// consecutive features.
    pub fn maxout(&self, pieces: usize) -> Result<Var> {
        let s = self.shape();
        if s.len() != 2 || pieces == 0 || !s[1].is_multiple_of(pieces) {
            return Err(Error::bad_shape("maxout", s, format!("features must be a multiple of {pieces} pieces")));
        }
        let (n, units) = (s[0], s[1] / pieces);
        let x = self.value.data();
        let mut out = vec![0.0; n * units];
        let mut winners = vec![0u32; n * units];
        for (o, (dst, win)) in out.iter_mut().zip(winners.iter_mut()).enumerate() {
            let base = o * pieces;
            let mut best = base;
            for i in base + 1..base + pieces {
                if x[i] > x[best] {
                    best = i;
                }
            }
            *dst = x[best];
            *win = best as u32;
        }
        let value = Tensor::from_vec(out, &[n, units])?;
        let xn = self.node;
        Ok(self.tape.record(value, xn.is_some(), || Op::Maxout { x: xn, in_shape: s.to_vec(), winners }))
    }

    /// `self * mask` for a constant mask of the same shape (dropout).
    pub fn mul_const(&self, mask: Tensor) -> Result<Var> {
        let value = self.value.mul(&mask)?;
        if mask.shape() != self.shape() {
            return Err(Error::ShapeMismatch { op: "mul_const", left: self.shape().to_vec(), right: mask.shape().to_vec() });
        }
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::MulConst { x, mask }))
    }

    /// Mean softmax cross-entropy of logits [N, C] against class labels, computed as
    /// `logsumexp(z) - z[label]` (stable for any logits).
    pub fn softmax_cross_entropy(&self, labels: &[u32]) -> Result<Var> {
        let s = self.shape();
        if s.len() != 2 || s[0] != labels.len() {
            return Err(Error::ShapeMismatch { op: "softmax_cross_entropy", left: s.to_vec(), right: vec![labels.len()] });
        }
        let c = s[1];
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= c) {
            return Err(Error::invalid("label", format!("{bad} is not below the {c} outputs of the model")));
        }
        let probs = self.value.softmax_last()?;
        let z = self.value.data();
        let mut total = 0.0f64;
        for (i, &l) in labels.iter().enumerate() {
            let row = &z[i * c..(i + 1) * c];
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            total += (lse - row[l as usize]) as f64;
        }
        let loss = Tensor::scalar((total / labels.len().max(1) as f64) as f32);
        let x = self.node;
        Ok(self.tape.record(loss, x.is_some(), || Op::SoftmaxCrossEntropy { logits: x, probs, labels: labels.to_vec() }))
    }

    /// Mean squared error against `target` (same shape).
    pub fn mse(&self, target: &Tensor) -> Result<Var> {
        if target.shape() != self.shape() {
            return Err(Error::ShapeMismatch { op: "mse", left: self.shape().to_vec(), right: target.shape().to_vec() });
        }
        let diff = self.value.sub(target)?;
        let loss = diff.data().iter().map(|d| (d * d) as f64).sum::<f64>() / diff.numel().max(1) as f64;
        let x = self.node;
        Ok(self.tape.record(Tensor::scalar(loss as f32), x.is_some(), || Op::Mse { pred: x, diff }))
    }

    /// Mean binary cross-entropy of probabilities against targets in [0, 1].
    pub fn binary_cross_entropy(&self, target: &Tensor) -> Result<Var> {
        if target.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "binary_cross_entropy",
                left: self.shape().to_vec(),
                right: target.shape().to_vec(),
            });
        }
        let loss = self
            .value
            .data()
            .iter()
            .zip(target.data())
            .map(|(&p, &t)| {
                let p = p.clamp(BCE_EPS, 1.0 - BCE_EPS);
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln()) as f64
            })
            .sum::<f64>()
            / self.value.numel().max(1) as f64;
        let x = self.node;
        Ok(self.tape.record(Tensor::scalar(loss as f32), x.is_some(), || Op::Bce {
            pred: x,
            pred_val: self.value.clone(),
            target: target.clone(),
        }))
    }

    /// Mean binary cross-entropy on logits: `max(z,0) - z t + log(1 + e^-|z|)`.
    pub fn binary_cross_entropy_with_logits(&self, target: &Tensor) -> Result<Var> {
        if target.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "bce_with_logits",
                left: self.shape().to_vec(),
                right: target.shape().to_vec(),
            });
        }
        let loss = self
            .value
            .data()
            .iter()
            .zip(target.data())
            .map(|(&z, &t)| (z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()) as f64)
            .sum::<f64>()
            / self.value.numel().max(1) as f64;
        let probs = self.value.map(crate::tensor::UnaryOp::Sigmoid);
        let x = self.node;
        Ok(self.tape.record(Tensor::scalar(loss as f32), x.is_some(), || Op::BceWithLogits {
            logits: x,
            probs,
            target: target.clone(),
        }))
    }
}
