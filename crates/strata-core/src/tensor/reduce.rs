//! Reductions over one axis (sum, mean, max, argmax) and over everything.
//! An axis reduction views the tensor as [outer, axis, inner].

use super::Tensor;
use super::shape::check_axis;
use crate::Result;

fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

impl Tensor {
    /// Sum over `axis`; the axis is kept with size 1 when `keepdim`.
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Result<Tensor> {
        check_axis("sum", self.shape(), axis)?;
        let (outer, len, inner) = split_at_axis(self.shape(), axis);
        let mut out = vec![0.0; outer * inner];
        let x = self.data();
        for o in 0..outer {
            let dst = &mut out[o * inner..(o + 1) * inner];
            for a in 0..len {
                let src = &x[(o * len + a) * inner..(o * len + a + 1) * inner];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            }
        }
        Ok(Tensor::new_unchecked(out, &reduced_shape(self.shape(), axis, keepdim)))
    }

    /// Mean over `axis`.
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Result<Tensor> {
        let n = self.dim(axis)?;
        Ok(self.sum_axis(axis, keepdim)?.scale(1.0 / n.max(1) as f32))
    }

    /// Maximum over `axis`.
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Result<Tensor> {
        check_axis("max", self.shape(), axis)?;
        let (outer, len, inner) = split_at_axis(self.shape(), axis);
        let mut out = vec![f32::NEG_INFINITY; outer * inner];
        let x = self.data();
        for o in 0..outer {
            let dst = &mut out[o * inner..(o + 1) * inner];
            for a in 0..len {
                let src = &x[(o * len + a) * inner..(o * len + a + 1) * inner];
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d = d.max(s));
            }
        }
        Ok(Tensor::new_unchecked(out, &reduced_shape(self.shape(), axis, keepdim)))
    }

    /// Index of the maximum over `axis` (first one on ties), as `usize`s in row-major order
    /// of the reduced shape.
    pub fn argmax_axis(&self, axis: usize) -> Result<Vec<usize>> {
        check_axis("argmax", self.shape(), axis)?;
        let (outer, len, inner) = split_at_axis(self.shape(), axis);
        let x = self.data();
        let mut out = vec![0usize; outer * inner];
        for o in 0..outer {
            for i in 0..inner {
                let mut best = f32::NEG_INFINITY;
                for a in 0..len {
                    let v = x[(o * len + a) * inner + i];
                    if v > best || a == 0 {
                        best = v;
                        out[o * inner + i] = a;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sum of all elements (accumulated in f64 for accuracy).
    pub fn sum_all(&self) -> f32 {
        self.data().iter().map(|&v| v as f64).sum::<f64>() as f32
    }

    /// Mean of all elements.
    pub fn mean_all(&self) -> f32 {
        self.sum_all() / self.numel().max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_over_each_axis() {
        let t = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]).unwrap();
        let s1 = t.sum_axis(1, false).unwrap();
        assert_eq!(s1.shape(), &[2, 4]);
        assert_eq!(s1.data()[0], 0.0 + 4.0 + 8.0);
        assert_eq!(s1.data()[5], 13.0 + 17.0 + 21.0);
        let s0 = t.sum_axis(0, true).unwrap();
        assert_eq!(s0.shape(), &[1, 3, 4]);
        assert_eq!(s0.data()[3], 3.0 + 15.0);
        let m = t.mean_axis(2, false).unwrap();
        assert_eq!(m.data()[0], 1.5);
        let mx = t.max_axis(1, false).unwrap();
        assert_eq!(mx.data()[0], 8.0);
        assert_eq!(t.argmax_axis(2).unwrap(), vec![3; 6]);
        assert_eq!(t.sum_all(), 276.0);
        assert!(t.sum_axis(3, false).is_err());
    }

    #[test]
    fn argmax_takes_the_first_of_ties_and_handles_negatives() {
        let t = Tensor::from_vec(vec![-3.0, -1.0, -1.0, -2.0], &[1, 4]).unwrap();
        assert_eq!(t.argmax_axis(1).unwrap(), vec![1]);
    }
}
