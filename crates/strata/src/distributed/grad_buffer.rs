//! All of a step's gradients in one flat buffer, so a step costs one all-reduce.

use crate::autograd::{Gradients, Param};
use crate::{Error, Result, Tensor};

/// One flat `f32` buffer laid out as
/// `[grad of param 0 | grad of param 1 | ... | one presence flag per param | extras]`.
///
/// A rank writes its (scaled) gradients with [`GradBuffer::fill`]; after the buffer is
/// summed over ranks, [`GradBuffer::gradients`] gives back one tensor per parameter that
/// had a gradient on any rank (the flags count the ranks that had one). The extras carry
/// per-step statistics (loss sum, correct count, samples) in the same collective.
///
/// ```
/// use strata::autograd::{Param, Tape};
/// use strata::distributed::GradBuffer;
/// use strata::Tensor;
/// let w = Param::new("w", Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
/// let tape = Tape::new();
/// let loss = tape.param(&w).square().sum_all().unwrap();
/// let grads = loss.backward().unwrap();
/// let mut buf = GradBuffer::new(&[&w], 1);
/// buf.fill(&[&w], Some(&grads), 0.5, &[7.0]).unwrap();
/// assert_eq!(buf.as_mut_slice(), &[1.0, 2.0, 1.0, 7.0]); // 0.5 * 2w, flag, extra
/// let back = buf.gradients(&[&w]).unwrap();
/// assert_eq!(back.get(&w).unwrap().data(), &[1.0, 2.0]);
/// ```
#[derive(Clone, Debug)]
pub struct GradBuffer {
    data: Vec<f32>,
    lens: Vec<usize>,
    extras: usize,
}

impl GradBuffer {
    /// A buffer for the gradients of `params` (in this order) and `extras` more numbers.
    pub fn new(params: &[&Param], extras: usize) -> GradBuffer {
        let lens: Vec<usize> = params.iter().map(|p| p.value.numel()).collect();
        let total = lens.iter().sum::<usize>() + lens.len() + extras;
        GradBuffer { data: vec![0.0; total], lens, extras }
    }

    /// Number of `f32`s exchanged per step.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Whether the buffer exchanges nothing.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn check_params(&self, params: &[&Param]) -> Result<()> {
        let lens: Vec<usize> = params.iter().map(|p| p.value.numel()).collect();
        if lens != self.lens {
            return Err(Error::ShapeMismatch { op: "gradient buffer", left: self.lens.clone(), right: lens });
        }
        Ok(())
    }

    /// Writes `scale` times each parameter's gradient (zeros and flag 0 where `grads` has
    /// none, or where `grads` is `None`: a rank with no samples in this step), then `extras`.
    pub fn fill(&mut self, params: &[&Param], grads: Option<&Gradients>, scale: f32, extras: &[f32]) -> Result<()> {
        self.check_params(params)?;
        for (i, p) in params.iter().enumerate() {
            self.write(i, grads.and_then(|g| g.get(p)), scale)?;
        }
        self.set_extras(extras)
    }

    /// Writes `scale` times the gradient of parameter `i` and its flag 1, or zeros and flag 0
    /// for `None`.
    pub fn write(&mut self, i: usize, grad: Option<&Tensor>, scale: f32) -> Result<()> {
        let range = self.param_range(i);
        let flag_at = self.data.len() - self.extras - self.lens.len() + i;
        let dst = &mut self.data[range.clone()];
        match grad {
            Some(g) => {
                if g.numel() != range.len() {
                    return Err(Error::ShapeMismatch {
                        op: "gradient buffer",
                        left: vec![range.len()],
                        right: g.shape().to_vec(),
                    });
                }
                dst.iter_mut().zip(g.data()).for_each(|(d, &v)| *d = v * scale);
                self.data[flag_at] = 1.0;
            }
            None => {
                dst.fill(0.0);
                self.data[flag_at] = 0.0;
            }
        }
        Ok(())
    }

    /// Sets the numbers carried after the flags.
    pub fn set_extras(&mut self, extras: &[f32]) -> Result<()> {
        if extras.len() != self.extras {
            return Err(Error::ShapeMismatch {
                op: "gradient buffer extras",
                left: vec![self.extras],
                right: vec![extras.len()],
            });
        }
        let extras_at = self.data.len() - self.extras;
        self.data[extras_at..].copy_from_slice(extras);
        Ok(())
    }

    /// Where parameter `i`'s gradient lies in the buffer.
    pub fn param_range(&self, i: usize) -> std::ops::Range<usize> {
        let at: usize = self.lens[..i].iter().sum();
        at..at + self.lens[i]
    }

    /// Number of parameters the buffer holds.
    pub fn param_count(&self) -> usize {
        self.lens.len()
    }

    /// The whole buffer, for the all-reduce.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }
    /// The whole buffer.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The gradients in the buffer, one per parameter whose flag is non-zero.
    pub fn gradients(&self, params: &[&Param]) -> Result<Gradients> {
        self.check_params(params)?;
        let flags_at = self.data.len() - self.extras - self.lens.len();
        let mut grads = Gradients::default();
        let mut at = 0;
        for (i, (p, &n)) in params.iter().zip(&self.lens).enumerate() {
            if self.data[flags_at + i] > 0.0 {
                grads.insert(p.id(), Tensor::from_vec(self.data[at..at + n].to_vec(), p.value.shape())?);
            }
            at += n;
        }
        Ok(grads)
    }

    /// The extras after the parameters' flags.
    pub fn extras(&self) -> &[f32] {
        &self.data[self.data.len() - self.extras..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::Tape;

    fn param(name: &str, v: Vec<f32>, shape: &[usize]) -> Param {
        Param::new(name, Tensor::from_vec(v, shape).unwrap())
    }

    #[test]
    fn round_trip_keeps_shapes_values_and_missing_gradients() {
        let a = param("a", vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = param("b", vec![5.0], &[1]);
        let c = param("c", vec![6.0, 7.0], &[2]);
        let tape = Tape::new();
        // c takes no part: it must come back without a gradient.
        let loss = tape.param(&a).sum_all().unwrap().add(&tape.param(&b).scale(3.0).sum_all().unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        let params = [&a, &b, &c];
        let mut buf = GradBuffer::new(&params, 2);
        assert_eq!(buf.len(), 4 + 1 + 2 + 3 + 2);
        buf.fill(&params, Some(&grads), 2.0, &[9.0, 10.0]).unwrap();
        let back = buf.gradients(&params).unwrap();
        assert_eq!(back.get(&a).unwrap().shape(), &[2, 2]);
        assert_eq!(back.get(&a).unwrap().data(), &[2.0; 4]);
        assert_eq!(back.get(&b).unwrap().data(), &[6.0]);
        assert!(back.get(&c).is_none());
        assert_eq!(buf.extras(), &[9.0, 10.0]);
    }

    #[test]
    fn summing_two_ranks_buffers_sums_gradients() {
        let a = param("a", vec![1.0, -1.0], &[2]);
        let tape = Tape::new();
        let grads = tape.param(&a).square().sum_all().unwrap().backward().unwrap(); // 2a = [2, -2]
        let mut r0 = GradBuffer::new(&[&a], 1);
        let mut r1 = GradBuffer::new(&[&a], 1);
        r0.fill(&[&a], Some(&grads), 0.25, &[3.0]).unwrap();
        r1.fill(&[&a], None, 0.25, &[0.0]).unwrap(); // a rank with an empty slice
        let sum: Vec<f32> = r0.as_mut_slice().iter().zip(r1.as_mut_slice().iter()).map(|(x, y)| x + y).collect();
        r0.as_mut_slice().copy_from_slice(&sum);
        assert_eq!(r0.gradients(&[&a]).unwrap().get(&a).unwrap().data(), &[0.5, -0.5]);
        assert_eq!(r0.extras(), &[3.0]);
    }

    #[test]
    fn other_parameters_are_refused() {
        let a = param("a", vec![1.0, 2.0], &[2]);
        let b = param("b", vec![1.0, 2.0, 3.0], &[3]);
        let buf = GradBuffer::new(&[&a], 0);
        assert!(matches!(buf.gradients(&[&b]), Err(Error::ShapeMismatch { .. })));
    }
}
