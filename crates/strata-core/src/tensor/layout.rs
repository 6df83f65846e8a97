//! Ops that move values without arithmetic: permute/transpose, slice, concat, gather,
//! broadcast, and `sum_to` (the adjoint of broadcasting, used by gradients).

use super::Tensor;
use super::shape::{broadcast_shapes, broadcast_strides, check_axis, numel, strides_of};
use crate::{Error, Result};

impl Tensor {
    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::bad_shape("permute", self.shape(), format!("{perm:?} is not a permutation")));
        }
        let in_strides = strides_of(self.shape());
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let out_strides = strides_of(&out_shape);
        let x = self.data();
        let mut out = vec![0.0; self.numel()];
        for (i, o) in out.iter_mut().enumerate() {
            let (mut src, mut rem) = (0, i);
            for d in 0..rank {
                src += (rem / out_strides[d]) * src_strides[d];
                rem %= out_strides[d];
            }
            *o = x[src];
        }
        Ok(Tensor::new_unchecked(out, &out_shape))
    }

    /// Swaps the last two axes (a matrix transpose, batched).
    pub fn t(&self) -> Result<Tensor> {
        let r = self.rank();
        if r < 2 {
            return Err(Error::bad_shape("transpose", self.shape(), "needs at least 2 dimensions"));
        }
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(r - 2, r - 1);
        self.permute(&perm)
    }

    /// Elements `start..end` along `axis`.
    pub fn slice(&self, axis: usize, start: usize, end: usize) -> Result<Tensor> {
        check_axis("slice", self.shape(), axis)?;
        let len = self.shape()[axis];
        if start > end || end > len {
            return Err(Error::bad_shape("slice", self.shape(), format!("range {start}..{end} on axis {axis}")));
        }
        let outer: usize = self.shape()[..axis].iter().product();
        let inner: usize = self.shape()[axis + 1..].iter().product();
        let mut out = Vec::with_capacity(outer * (end - start) * inner);
        for o in 0..outer {
            let base = (o * len + start) * inner;
            out.extend_from_slice(&self.data()[base..base + (end - start) * inner]);
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = end - start;
        Ok(Tensor::new_unchecked(out, &shape))
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    pub fn concat(parts: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = parts.first().ok_or_else(|| Error::invalid("concat", "no tensors given"))?;
        check_axis("concat", first.shape(), axis)?;
        for p in parts {
            let same_rank = p.rank() == first.rank();
            if !same_rank || (0..first.rank()).any(|d| d != axis && p.shape()[d] != first.shape()[d]) {
                return Err(Error::ShapeMismatch { op: "concat", left: first.shape().to_vec(), right: p.shape().to_vec() });
            }
        }
        let outer: usize = first.shape()[..axis].iter().product();
        let inner: usize = first.shape()[axis + 1..].iter().product();
        let total: usize = parts.iter().map(|p| p.shape()[axis]).sum();
        let mut out = Vec::with_capacity(outer * total * inner);
        for o in 0..outer {
            for p in parts {
                let chunk = p.shape()[axis] * inner;
                out.extend_from_slice(&p.data()[o * chunk..(o + 1) * chunk]);
            }
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = total;
        Ok(Tensor::new_unchecked(out, &shape))
    }

    /// Rows `indices` of axis 0 (e.g. a mini-batch of samples, or embedding lookup).
    pub fn gather_rows(&self, indices: &[usize]) -> Result<Tensor> {
        if self.rank() == 0 {
            return Err(Error::bad_shape("gather", self.shape(), "needs at least 1 dimension"));
        }
        let rows = self.shape()[0];
        let row = self.numel() / rows.max(1);
        let mut out = Vec::with_capacity(indices.len() * row);
        for &i in indices {
            if i >= rows {
                return Err(Error::bad_shape("gather", self.shape(), format!("index {i} out of range")));
            }
            out.extend_from_slice(&self.data()[i * row..(i + 1) * row]);
        }
        let mut shape = self.shape().to_vec();
        shape[0] = indices.len();
        Ok(Tensor::new_unchecked(out, &shape))
    }

    /// Repeats values so the tensor has `shape` (NumPy broadcasting rules).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let target = broadcast_shapes("broadcast_to", self.shape(), shape)?;
        if target != shape {
            return Err(Error::ShapeMismatch { op: "broadcast_to", left: self.shape().to_vec(), right: shape.to_vec() });
        }
        let src = broadcast_strides(self.shape(), shape);
        let so = strides_of(shape);
        let x = self.data();
        let out = (0..numel(shape))
            .map(|i| {
                let (mut s, mut rem) = (0, i);
                for d in 0..shape.len() {
                    s += (rem / so[d]) * src[d];
                    rem %= so[d];
                }
                x[s]
            })
            .collect();
        Ok(Tensor::new_unchecked(out, shape))
    }

    /// Sums away broadcast dimensions so the result has `shape`: the adjoint of
    /// [`Tensor::broadcast_to`], which is how a broadcast operand receives its gradient.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let target = broadcast_shapes("sum_to", shape, self.shape())?;
        if target != self.shape() {
            return Err(Error::ShapeMismatch { op: "sum_to", left: self.shape().to_vec(), right: shape.to_vec() });
        }
        // Fast path: [rows, inner] summed to [inner] (bias gradients).
        if self.shape().ends_with(shape) {
            let inner = numel(shape);
            let mut out = vec![0.0; inner];
            for row in self.data().chunks_exact(inner.max(1)) {
                out.iter_mut().zip(row).for_each(|(o, r)| *o += r);
            }
            return Ok(Tensor::new_unchecked(out, shape));
        }
        let dst = broadcast_strides(shape, self.shape());
        let so = strides_of(self.shape());
        let mut out = vec![0.0; numel(shape)];
        for (i, &v) in self.data().iter().enumerate() {
            let (mut d, mut rem) = (0, i);
            for k in 0..so.len() {
                d += (rem / so[k]) * dst[k];
                rem %= so[k];
            }
            out[d] += v;
        }
        Ok(Tensor::new_unchecked(out, shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f32>, s: &[usize]) -> Tensor {
        Tensor::from_vec(v, s).unwrap()
    }

    #[test]
    fn permute_transposes() {
        let a = t((0..6).map(|v| v as f32).collect(), &[2, 3]);
        let b = a.t().unwrap();
        assert_eq!(b.shape(), &[3, 2]);
        assert_eq!(b.data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let c = t((0..24).map(|v| v as f32).collect(), &[2, 3, 4]).permute(&[2, 0, 1]).unwrap();
        assert_eq!(c.shape(), &[4, 2, 3]);
        // c[k, i, j] = a[i, j, k] = 12 i + 4 j + k
        assert_eq!(c.data()[6 + 3 + 2], 12.0 + 8.0 + 1.0);
        assert!(a.permute(&[0, 0]).is_err());
    }

    #[test]
    fn slice_concat_roundtrip() {
        let a = t((0..24).map(|v| v as f32).collect(), &[2, 3, 4]);
        let l = a.slice(1, 0, 1).unwrap();
        let r = a.slice(1, 1, 3).unwrap();
        assert_eq!(r.shape(), &[2, 2, 4]);
        assert_eq!(Tensor::concat(&[&l, &r], 1).unwrap(), a);
        assert!(a.slice(1, 2, 4).is_err());
        assert!(Tensor::concat(&[&l, &a.slice(2, 0, 1).unwrap()], 1).is_err());
    }

    #[test]
    fn gather_and_broadcast() {
        let a = t((0..6).map(|v| v as f32).collect(), &[3, 2]);
        assert_eq!(a.gather_rows(&[2, 0]).unwrap().data(), &[4.0, 5.0, 0.0, 1.0]);
        assert!(a.gather_rows(&[3]).is_err());
        let b = t(vec![1.0, 2.0], &[2, 1]).broadcast_to(&[2, 3]).unwrap();
        assert_eq!(b.data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        assert_eq!(b.sum_to(&[2, 1]).unwrap().data(), &[3.0, 6.0]);
        assert_eq!(b.sum_to(&[3]).unwrap().data(), &[3.0, 3.0, 3.0]);
        assert_eq!(b.sum_to(&[1, 3]).unwrap().data(), &[3.0, 3.0, 3.0]);
    }
}
