//! Elementwise kernels: unary maps and broadcasting binary ops.

use super::parallel::{chunks_mut, zip_chunks};
use super::shape::{broadcast_shapes, broadcast_strides, numel, strides_of};
use super::Tensor;
use crate::Result;

/// A function applied to every element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Square,
    Recip,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    Elu(f32),
    AddScalar(f32),
    MulScalar(f32),
    Powf(f32),
}

impl UnaryOp {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Square => x * x,
            UnaryOp::Recip => 1.0 / x,
            UnaryOp::Sigmoid => sigmoid(x),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
            UnaryOp::Elu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * (x.exp() - 1.0)
                }
            }
            UnaryOp::AddScalar(c) => x + c,
            UnaryOp::MulScalar(c) => x * c,
            UnaryOp::Powf(p) => x.powf(p),
        }
    }
}

/// The logistic function, stable for large |x|.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A function of two elements, applied with broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

impl BinaryOp {
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Max => a.max(b),
            BinaryOp::Min => a.min(b),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Max => "maximum",
            BinaryOp::Min => "minimum",
        }
    }
}

impl Tensor {
    /// Applies `op` to every element.
    pub fn map(&self, op: UnaryOp) -> Tensor {
        let mut out = vec![0.0; self.numel()];
        zip_chunks(&mut out, self.data(), |o, i| {
            for (o, &x) in o.iter_mut().zip(i) {
                *o = op.apply(x);
            }
        });
        Tensor::new_unchecked(out, self.shape())
    }

    /// Applies `op` in place (copying first only if the storage is shared).
    pub fn map_inplace(&mut self, op: UnaryOp) {
        chunks_mut(self.data_mut(), |_, o| o.iter_mut().for_each(|x| *x = op.apply(*x)));
    }

    /// `op(self, other)` with NumPy broadcasting; errors name the op and both shapes.
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let shape = broadcast_shapes(op.name(), self.shape(), other.shape())?;
        let n = numel(&shape);
        let mut out = vec![0.0; n];
        let (a, b) = (self.data(), other.data());
        if self.shape() == other.shape() {
            // Same shape: a straight zip (the common case).
            chunks_mut(&mut out, |start, o| {
                let len = o.len();
                let (a, b) = (&a[start..start + len], &b[start..start + len]);
                for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
                    *o = op.apply(x, y);
                }
            });
        } else if other.numel() == 1 {
            let y = b[0];
            zip_chunks(&mut out, a, |o, a| {
                for (o, &x) in o.iter_mut().zip(a) {
                    *o = op.apply(x, y);
                }
            });
        } else if self.shape() == shape.as_slice() && shape.ends_with(other.shape()) {
            // Trailing broadcast, e.g. [N, C] op [C]: repeat `other` along the leading rows.
            let inner = other.numel();
            chunks_mut(&mut out, |start, o| {
                for (k, o) in o.iter_mut().enumerate() {
                    let i = start + k;
                    *o = op.apply(a[i], b[i % inner]);
                }
            });
        } else {
            let sa = broadcast_strides(self.shape(), &shape);
            let sb = broadcast_strides(other.shape(), &shape);
            let so = strides_of(&shape);
            for (i, o) in out.iter_mut().enumerate() {
                let (mut ia, mut ib, mut rem) = (0, 0, i);
                for d in 0..shape.len() {
                    let q = rem / so[d];
                    rem %= so[d];
                    ia += q * sa[d];
                    ib += q * sb[d];
                }
                *o = op.apply(a[ia], b[ib]);
            }
        }
        Ok(Tensor::new_unchecked(out, &shape))
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, other)
    }
    /// Every element times `c`.
    pub fn scale(&self, c: f32) -> Tensor {
        self.map(UnaryOp::MulScalar(c))
    }
    /// Every element plus `c`.
    pub fn add_scalar(&self, c: f32) -> Tensor {
        self.map(UnaryOp::AddScalar(c))
    }
    /// `self += alpha * other` in place (same shape), the accumulation used by backward.
    pub fn axpy_inplace(&mut self, alpha: f32, other: &Tensor) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(crate::Error::ShapeMismatch {
                op: "axpy",
                left: self.shape().to_vec(),
                right: other.shape().to_vec(),
            });
        }
        let src = other.data();
        chunks_mut(self.data_mut(), |start, o| {
            let len = o.len();
            for (o, &x) in o.iter_mut().zip(&src[start..start + len]) {
                *o += alpha * x;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_matches_a_naive_loop() {
        let a = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]).unwrap();
        let b = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[3, 1]).unwrap();
        let c = a.add(&b).unwrap();
        assert_eq!(c.shape(), &[2, 3, 4]);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    let idx = i * 12 + j * 4 + k;
                    assert_eq!(c.data()[idx], idx as f32 + 10.0 * (j + 1) as f32);
                }
            }
        }
        // trailing-row fast path agrees with the general path
        let row = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]).unwrap();
        let fast = a.mul(&row).unwrap();
        for (i, v) in fast.data().iter().enumerate() {
            assert_eq!(*v, i as f32 * (i % 4 + 1) as f32);
        }
        // broadcasting on the left operand
        let d = b.sub(&a).unwrap();
        assert_eq!(d.data()[5], 20.0 - 5.0);
    }

    #[test]
    fn large_inputs_take_the_parallel_path_and_agree() {
        let n = 200_000;
        let a = Tensor::from_vec((0..n).map(|v| (v % 7) as f32 - 3.0).collect(), &[n]).unwrap();
        let r = a.map(UnaryOp::Relu);
        assert!(r.data().iter().zip(a.data()).all(|(r, a)| *r == a.max(0.0)));
        let s = a.mul(&a).unwrap();
        assert!(s.data().iter().zip(a.data()).all(|(s, a)| *s == a * a));
    }

    #[test]
    fn incompatible_shapes_are_an_error() {
        let a = Tensor::zeros(&[2, 3]);
        let b = Tensor::zeros(&[2, 4]);
        assert!(a.mul(&b).is_err());
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }
}
