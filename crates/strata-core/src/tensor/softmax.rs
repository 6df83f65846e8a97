//! Softmax and log-softmax over the last axis, stable (the row maximum is subtracted).

use super::Tensor;
use crate::{Error, Result};

fn rows(t: &Tensor, op: &'static str) -> Result<usize> {
    match t.shape().last() {
        Some(&c) if c > 0 => Ok(c),
        _ => Err(Error::bad_shape(op, t.shape(), "needs a non-empty last axis")),
    }
}

impl Tensor {
    /// `exp(x - max) / sum(exp(x - max))` along the last axis.
    pub fn softmax_last(&self) -> Result<Tensor> {
        let c = rows(self, "softmax")?;
        let mut out = self.data().to_vec();
        for row in out.chunks_exact_mut(c) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut s = 0.0;
            for v in row.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            let inv = 1.0 / s;
            row.iter_mut().for_each(|v| *v *= inv);
        }
        Ok(Tensor::new_unchecked(out, self.shape()))
    }

    /// `x - max - log(sum(exp(x - max)))` along the last axis.
    pub fn log_softmax_last(&self) -> Result<Tensor> {
        let c = rows(self, "log_softmax")?;
        let mut out = self.data().to_vec();
        for row in out.chunks_exact_mut(c) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            row.iter_mut().for_each(|v| *v -= lse);
        }
        Ok(Tensor::new_unchecked(out, self.shape()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_survive_huge_logits() {
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 1000.0, 1000.0, -1000.0], &[2, 3]).unwrap();
        let s = t.softmax_last().unwrap();
        let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let z: f32 = e.iter().sum();
        for (got, e) in s.data()[..3].iter().zip(&e) {
            assert!((got - e / z).abs() < 1e-6);
        }
        assert!((s.data()[3] - 0.5).abs() < 1e-6 && s.data()[5] == 0.0);
        let l = t.log_softmax_last().unwrap();
        assert!((l.data()[0] - (e[0] / z).ln()).abs() < 1e-5);
        assert!(l.all_finite());
    }
}
