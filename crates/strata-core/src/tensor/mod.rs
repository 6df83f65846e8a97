//! `Tensor`: an n-dimensional array of `f32` in contiguous row-major storage, and the
//! numeric kernels over it. Knows nothing of gradients (that is `autograd`).
//!
//! Storage is shared (`Arc`) so cloning a tensor, reshaping it, or recording it on the
//! autograd tape costs no copy; writing (`data_mut`) copies only when the storage is shared.
//!
//! ```
//! use strata_core::Tensor;
//! let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
//! let b = a.matmul(&a).unwrap();
//! assert_eq!(b.data(), &[7.0, 10.0, 15.0, 22.0]);
//! ```

pub mod batchnorm;
mod buffer;
pub mod conv;
mod elementwise;
pub(crate) mod fused;
pub mod isa;
mod layout;
pub mod lrn;
mod matmul;
pub(crate) mod packed_gemm;
pub mod parallel;
pub mod pool;
pub mod recurrent;
mod reduce;
mod shape;
mod softmax;
pub(crate) mod upsample;

pub use elementwise::{BinaryOp, UnaryOp};
pub use matmul::{gemm, matmul_reference};
use shape::numel;

use crate::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// An n-dimensional `f32` array, contiguous and row-major.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Arc<Vec<f32>>,
}

impl Tensor {
    /// Wraps `data` with `shape`; errors if the element count does not match.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != data.len() {
            return Err(Error::bad_shape("from_vec", shape, format!("{} values do not fill this shape", data.len())));
        }
        Ok(Tensor { shape: shape.to_vec(), data: Arc::new(data) })
    }

    /// Same as [`Tensor::from_vec`] for callers that have already checked the length.
    pub(crate) fn new_unchecked(data: Vec<f32>, shape: &[usize]) -> Tensor {
        debug_assert_eq!(numel(shape), data.len());
        Tensor { shape: shape.to_vec(), data: Arc::new(data) }
    }

    /// All zeros, of `shape` (`&[]` for a scalar).
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }
    /// All ones, of `shape`.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }
    /// Every element `value`, of `shape`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::new_unchecked(vec![value; numel(shape)], shape)
    }
    /// A 0-dimensional tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::new_unchecked(vec![value], &[])
    }
    /// `0, 1, ..., n-1` as a 1-D tensor.
    pub fn arange(n: usize) -> Tensor {
        Tensor::new_unchecked((0..n).map(|i| i as f32).collect(), &[n])
    }
    /// Uniform random values in [lo, hi).
    pub fn rand_uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut crate::Rng) -> Tensor {
        let data = (0..numel(shape)).map(|_| rng.uniform_range(lo, hi)).collect();
        Tensor::new_unchecked(data, shape)
    }
    /// Random values drawn from N(`mean`, `std`) (see [`Rng::normal`](crate::Rng::normal)).
    pub fn rand_normal(shape: &[usize], mean: f32, std: f32, rng: &mut crate::Rng) -> Tensor {
        let mut data = vec![0.0; numel(shape)];
        rng.fill_normal(&mut data, mean, std);
        Tensor::new_unchecked(data, shape)
    }

    /// The size of each dimension, outermost first (`[]` for a scalar).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// Size of dimension `axis`; errors if out of range.
    pub fn dim(&self, axis: usize) -> Result<usize> {
        self.shape.get(axis).copied().ok_or_else(|| Error::bad_shape("dim", &self.shape, format!("axis {axis} out of range")))
    }
    /// The values in row-major order (the last axis varies fastest).
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// Mutable access; copies the storage first if another tensor shares it.
    pub fn data_mut(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }
    /// The values, without a copy when this tensor owns its storage alone.
    pub fn into_vec(self) -> Vec<f32> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }
    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::bad_shape("item", &self.shape, "needs exactly one element"));
        }
        Ok(self.data[0])
    }
    /// Same values, new shape (no copy). Errors if the element count differs.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            return Err(Error::ShapeMismatch { op: "reshape", left: self.shape.clone(), right: shape.to_vec() });
        }
        Ok(Tensor { shape: shape.to_vec(), data: self.data.clone() })
    }
    /// True when every value is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
    /// Largest absolute difference to `other` (shapes must match).
    pub fn max_abs_diff(&self, other: &Tensor) -> Result<f32> {
        if self.shape != other.shape {
            return Err(Error::ShapeMismatch { op: "max_abs_diff", left: self.shape.clone(), right: other.shape.clone() });
        }
        Ok(self.data.iter().zip(other.data.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max))
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor{:?} [", self.shape)?;
        for (i, v) in self.data.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v}")?;
        }
        if self.numel() > SHOWN {
            write!(f, ", ... ({} values)", self.numel())?;
        }
        write!(f, "]")
    }
}
