//! Elementwise kernels: unary maps and broadcasting binary ops.

use super::Tensor;
use super::parallel::{chunks_mut, zip_chunks};
use super::shape::{broadcast_shapes, broadcast_strides, numel, strides_of};
use crate::Result;

/// A function applied to every element ([`Tensor::map`]). IEEE semantics throughout: a
/// value outside an op's domain gives NaN or an infinity, not an error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// Natural logarithm `ln x` (NaN for x < 0, -inf at 0).
    Log,
    /// Square root (NaN for x < 0).
    Sqrt,
    /// `|x|`.
    Abs,
    /// `x * x`.
    Square,
    /// `1 / x` (±inf at ±0).
    Recip,
    /// Logistic function `1 / (1 + e^-x)`, computed without overflow for large `|x|`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `x` for x > 0, `alpha * x` otherwise; the payload is `alpha` (commonly 0.01).
    LeakyRelu(f32),
    /// `x` for x > 0, `alpha * (e^x - 1)` otherwise; the payload is `alpha` (commonly 1).
    Elu(f32),
    /// `x + c`; the payload is `c`.
    AddScalar(f32),
    /// `x * c`; the payload is `c`.
    MulScalar(f32),
    /// `x^p` by `f32::powf`; the payload is `p` (NaN for x < 0 and non-integer `p`).
    Powf(f32),
}

impl UnaryOp {
    /// The op on one value: the definition every kernel over slices follows.
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

impl UnaryOp {
    /// `out[i] = op(input[i])`. The `match` is outside the loops, one loop per op, so each
    /// vectorizes; a `match` per element compiles to an indirect jump per element.
    pub(crate) fn apply_slice(self, out: &mut [f32], input: &[f32]) {
        #[inline(always)]
        fn each(out: &mut [f32], input: &[f32], f: impl Fn(f32) -> f32) {
            out.iter_mut().zip(input).for_each(|(o, &x)| *o = f(x));
        }
        match self {
            UnaryOp::Neg => each(out, input, |x| UnaryOp::Neg.apply(x)),
            UnaryOp::Exp => each(out, input, |x| UnaryOp::Exp.apply(x)),
            UnaryOp::Log => each(out, input, |x| UnaryOp::Log.apply(x)),
            UnaryOp::Sqrt => each(out, input, |x| UnaryOp::Sqrt.apply(x)),
            UnaryOp::Abs => each(out, input, |x| UnaryOp::Abs.apply(x)),
            UnaryOp::Square => each(out, input, |x| UnaryOp::Square.apply(x)),
            UnaryOp::Recip => each(out, input, |x| UnaryOp::Recip.apply(x)),
            UnaryOp::Sigmoid => each(out, input, |x| UnaryOp::Sigmoid.apply(x)),
            UnaryOp::Tanh => each(out, input, |x| UnaryOp::Tanh.apply(x)),
            UnaryOp::Relu => each(out, input, |x| UnaryOp::Relu.apply(x)),
            UnaryOp::LeakyRelu(a) => each(out, input, |x| UnaryOp::LeakyRelu(a).apply(x)),
            UnaryOp::Elu(a) => each(out, input, |x| UnaryOp::Elu(a).apply(x)),
            UnaryOp::AddScalar(c) => each(out, input, |x| UnaryOp::AddScalar(c).apply(x)),
            UnaryOp::MulScalar(c) => each(out, input, |x| UnaryOp::MulScalar(c).apply(x)),
            UnaryOp::Powf(p) => each(out, input, |x| UnaryOp::Powf(p).apply(x)),
        }
    }

    /// `xs[i] = op(xs[i])`, one loop per op (see [`UnaryOp::apply_slice`]).
    pub(crate) fn apply_inplace(self, xs: &mut [f32]) {
        #[inline(always)]
        fn each(xs: &mut [f32], f: impl Fn(f32) -> f32) {
            xs.iter_mut().for_each(|x| *x = f(*x));
        }
        match self {
            UnaryOp::Neg => each(xs, |x| UnaryOp::Neg.apply(x)),
            UnaryOp::Exp => each(xs, |x| UnaryOp::Exp.apply(x)),
            UnaryOp::Log => each(xs, |x| UnaryOp::Log.apply(x)),
            UnaryOp::Sqrt => each(xs, |x| UnaryOp::Sqrt.apply(x)),
            UnaryOp::Abs => each(xs, |x| UnaryOp::Abs.apply(x)),
            UnaryOp::Square => each(xs, |x| UnaryOp::Square.apply(x)),
            UnaryOp::Recip => each(xs, |x| UnaryOp::Recip.apply(x)),
            UnaryOp::Sigmoid => each(xs, |x| UnaryOp::Sigmoid.apply(x)),
            UnaryOp::Tanh => each(xs, |x| UnaryOp::Tanh.apply(x)),
            UnaryOp::Relu => each(xs, |x| UnaryOp::Relu.apply(x)),
            UnaryOp::LeakyRelu(a) => each(xs, |x| UnaryOp::LeakyRelu(a).apply(x)),
            UnaryOp::Elu(a) => each(xs, |x| UnaryOp::Elu(a).apply(x)),
            UnaryOp::AddScalar(c) => each(xs, |x| UnaryOp::AddScalar(c).apply(x)),
            UnaryOp::MulScalar(c) => each(xs, |x| UnaryOp::MulScalar(c).apply(x)),
            UnaryOp::Powf(p) => each(xs, |x| UnaryOp::Powf(p).apply(x)),
        }
    }
}

/// The logistic function, stable for large |x|.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A function of two elements, applied with broadcasting ([`Tensor::binary`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (IEEE: ±inf or NaN for b = 0).
    Div,
    /// The larger of `a` and `b` (`f32::max`: a NaN operand yields the other one).
    Max,
    /// The smaller of `a` and `b` (`f32::min`: a NaN operand yields the other one).
    Min,
}

impl BinaryOp {
    /// The op on one pair of values (`a` from the left operand).
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
    /// `out[i] = op(a[i], b[i])`, one loop per op so that each vectorizes.
    pub(crate) fn apply_slices(self, out: &mut [f32], a: &[f32], b: &[f32]) {
        #[inline(always)]
        fn each(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
            out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y));
        }
        match self {
            BinaryOp::Add => each(out, a, b, |x, y| x + y),
            BinaryOp::Sub => each(out, a, b, |x, y| x - y),
            BinaryOp::Mul => each(out, a, b, |x, y| x * y),
            BinaryOp::Div => each(out, a, b, |x, y| x / y),
            BinaryOp::Max => each(out, a, b, f32::max),
            BinaryOp::Min => each(out, a, b, f32::min),
        }
    }

    /// `out[i] = op(a[i], y)` for one scalar `y`.
    pub(crate) fn apply_scalar(self, out: &mut [f32], a: &[f32], y: f32) {
        #[inline(always)]
        fn each(out: &mut [f32], a: &[f32], f: impl Fn(f32) -> f32) {
            out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x));
        }
        match self {
            BinaryOp::Add => each(out, a, |x| x + y),
            BinaryOp::Sub => each(out, a, |x| x - y),
            BinaryOp::Mul => each(out, a, |x| x * y),
            BinaryOp::Div => each(out, a, |x| x / y),
            BinaryOp::Max => each(out, a, |x| x.max(y)),
            BinaryOp::Min => each(out, a, |x| x.min(y)),
        }
    }

    /// The op's name in error messages: "add", "sub", "mul", "div", "maximum", "minimum".
    pub(crate) fn name(self) -> &'static str {
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
        zip_chunks(&mut out, self.data(), |o, i| op.apply_slice(o, i));
        Tensor::new_unchecked(out, self.shape())
    }

    /// Applies `op` in place (copying first only if the storage is shared).
    pub fn map_inplace(&mut self, op: UnaryOp) {
        chunks_mut(self.data_mut(), |_, o| op.apply_inplace(o));
    }

    /// `op(self, other)` with NumPy broadcasting (shapes aligned on the right; each pair of
    /// sizes equal or one of them 1). Errors with [`Error::ShapeMismatch`](crate::Error::ShapeMismatch),
    /// naming the op and both shapes, when the shapes do not broadcast.
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let shape = broadcast_shapes(op.name(), self.shape(), other.shape())?;
        let n = numel(&shape);
        let mut out = vec![0.0; n];
        let (a, b) = (self.data(), other.data());
        if self.shape() == other.shape() {
            // Same shape: a straight zip (the common case).
            chunks_mut(&mut out, |start, o| {
                let len = o.len();
                op.apply_slices(o, &a[start..start + len], &b[start..start + len]);
            });
        } else if other.numel() == 1 {
            let y = b[0];
            zip_chunks(&mut out, a, |o, a| op.apply_scalar(o, a, y));
        } else if self.shape() == shape.as_slice() && shape.ends_with(other.shape()) {
            // Trailing broadcast, e.g. [N, C] op [C]: repeat `other` along the leading rows.
            let inner = other.numel();
            if inner > 0 {
                for (o, a) in out.chunks_mut(inner).zip(a.chunks(inner)) {
                    op.apply_slices(o, a, b);
                }
            }
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

    /// `self + other` elementwise, with broadcasting ([`Tensor::binary`]).
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }
    /// `self - other` elementwise, with broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }
    /// `self * other` elementwise (not a matrix product: see [`Tensor::matmul`]), with
    /// broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }
    /// `self / other` elementwise, with broadcasting (division by zero gives ±inf or NaN).
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
    /// `self += alpha * other` in place, the accumulation used by backward. Errors unless
    /// the shapes are equal (no broadcasting).
    pub fn axpy_inplace(&mut self, alpha: f32, other: &Tensor) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(crate::Error::ShapeMismatch { op: "axpy", left: self.shape().to_vec(), right: other.shape().to_vec() });
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
