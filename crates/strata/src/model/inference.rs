//! Eval-mode forward passes in batches: the one loop behind `predict`, `evaluate` (also
//! split over ranks), class probabilities and ensembles. No tape is recorded, dropout and
//! noise are off and batch norm uses its running statistics.

use super::sequential::Sequential;
use crate::autograd::Tape;
use crate::nn::ForwardCtx;
use crate::{Error, Result, Tensor};
use std::ops::Range;

/// Inputs per forward pass when nothing else is asked for: large enough for the kernels to
/// run at speed, small enough that activations of big networks fit in memory.
pub const EVAL_BATCH: usize = 1000;

impl Sequential {
    /// Runs the built network in eval mode on the rows `rows` of `x` `[N, ...]`, `batch`
    /// rows at a time, and hands `each` every batch's row range and outputs (`logits`: the
    /// last layer stops before its softmax/sigmoid, as losses want).
    pub(crate) fn eval_batches(
        &self,
        x: &Tensor,
        rows: Range<usize>,
        batch: usize,
        logits: bool,
        mut each: impl FnMut(Range<usize>, Tensor) -> Result<()>,
    ) -> Result<()> {
        if !self.is_built() {
            return Err(Error::Model(format!("{}: the model is not built (fit it or load weights first)", self.model_name())));
        }
        self.check_input(x)?;
        let n = x.shape().first().copied().unwrap_or(0);
        if rows.end > n {
            return Err(Error::bad_shape("eval batches", x.shape(), format!("rows {rows:?} past the {n} given")));
        }
        let batch = batch.max(1);
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + batch).min(rows.end);
            let xb = if start == 0 && end == n { x.clone() } else { x.slice(0, start, end)? };
            let tape = Tape::no_grad();
            let mut ctx = ForwardCtx::eval(&tape);
            let out = self.forward_to(&tape.input(xb), &mut ctx, logits)?.into_value();
            each(start..end, out)?;
            start = end;
        }
        Ok(())
    }

    /// The logits for a batch of inputs `[N, ...]` in eval mode: the outputs of
    /// [`Sequential::predict`] without the last layer's softmax/sigmoid (what an ONNX export
    /// outputs). The model must be built.
    pub fn predict_logits(&self, x: &Tensor) -> Result<Tensor> {
        self.eval_outputs(x, EVAL_BATCH, true, Ok)
    }

    /// The outputs of every batch of [`Sequential::eval_batches`] over all of `x`, joined.
    pub(crate) fn eval_outputs(
        &self,
        x: &Tensor,
        batch: usize,
        logits: bool,
        map: impl Fn(Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let n = x.shape().first().copied().unwrap_or(0);
        let mut parts = Vec::new();
        self.eval_batches(x, 0..n, batch, logits, |_, out| {
            parts.push(map(out)?);
            Ok(())
        })?;
        match parts.len() {
            0 => Ok(Tensor::zeros(&[0, self.output_shape().map_or(0, |s| s.iter().product())])),
            1 => Ok(parts.remove(0)),
            _ => Tensor::concat(&parts.iter().collect::<Vec<_>>(), 0),
        }
    }
}
