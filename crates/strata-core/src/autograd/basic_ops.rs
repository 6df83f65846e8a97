//! Forward side of the general-purpose ops: elementwise, matmul, reductions, layout.
//! Each records an [`Op`] whose gradient rule is in `backward.rs`.

use super::recorded_op::Op;
use super::tape::Var;
use crate::tensor::{BinaryOp, UnaryOp};
use crate::{Error, Result, Tensor};

impl Var {
    /// The tape to record on: the one of an operand that is being tracked.
    fn pick<'a>(&'a self, other: &'a Var) -> &'a Var {
        if self.node.is_some() { self } else { other }
    }

    fn binary_rec(&self, other: &Var, op: BinaryOp) -> Result<Var> {
        self.check_tape(other, op.name())?;
        let value = self.value.binary(op, &other.value)?;
        let (a, b) = (self.node, other.node);
        let needs = a.is_some() || b.is_some();
        Ok(self.pick(other).tape.record(value, needs, || match op {
            BinaryOp::Add => Op::Add { a, b, a_shape: self.shape().to_vec(), b_shape: other.shape().to_vec() },
            BinaryOp::Sub => Op::Sub { a, b, a_shape: self.shape().to_vec(), b_shape: other.shape().to_vec() },
            BinaryOp::Mul => Op::Mul { a, b, a_val: self.value.clone(), b_val: other.value.clone() },
            BinaryOp::Div => Op::Div { a, b, a_val: self.value.clone(), b_val: other.value.clone() },
            BinaryOp::Max | BinaryOp::Min => Op::Select { a, b, a_val: self.value.clone(), b_val: other.value.clone(), op },
        }))
    }

    /// Elementwise sum with broadcasting.
    pub fn add(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Add)
    }
    /// Elementwise difference with broadcasting.
    pub fn sub(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Sub)
    }
    /// Elementwise product with broadcasting.
    pub fn mul(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Mul)
    }
    /// Elementwise quotient with broadcasting.
    pub fn div(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Div)
    }
    /// Elementwise maximum with broadcasting (gradient to the larger; ties to `self`).
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Max)
    }
    /// Elementwise minimum with broadcasting (gradient to the smaller; ties to `self`).
    pub fn minimum(&self, other: &Var) -> Result<Var> {
        self.binary_rec(other, BinaryOp::Min)
    }

    fn unary_rec(&self, op: UnaryOp, make: impl FnOnce(&Tensor, Tensor) -> (Tensor, Op)) -> Var {
        let value = self.value.map(op);
        if self.node.is_none() || !self.tape.grad_enabled() {
            return self.tape.input(value);
        }
        let (value, rec) = make(&self.value, value);
        self.tape.record(value, true, || rec)
    }

    /// `-self` elementwise.
    pub fn neg(&self) -> Var {
        self.scale(-1.0)
    }
    /// `self * c` for a scalar `c`.
    pub fn scale(&self, c: f32) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::MulScalar(c), |_, out| (out, Op::Scale { x, c }))
    }
    /// `self + c` for a scalar `c`.
    pub fn add_scalar(&self, c: f32) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::AddScalar(c), |_, out| (out, Op::Identity { x }))
    }
    /// `e^x` elementwise.
    pub fn exp(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Exp, |_, out| (out.clone(), Op::Exp { x, out }))
    }
    /// Natural logarithm elementwise (NaN for x < 0, -inf at 0: clamp first if needed).
    pub fn log(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Log, |xv, out| (out, Op::Log { x, x_val: xv.clone() }))
    }
    /// Square root elementwise (NaN for x < 0; the gradient is infinite at 0).
    pub fn sqrt(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Sqrt, |_, out| (out.clone(), Op::Sqrt { x, out }))
    }
    /// `|x|` elementwise (gradient `sign(x)`, 0 at 0).
    pub fn abs(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Abs, |xv, out| (out, Op::Abs { x, x_val: xv.clone() }))
    }
    /// `self^p` elementwise.
    pub fn powf(&self, p: f32) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Powf(p), |xv, out| (out, Op::Powf { x, x_val: xv.clone(), p }))
    }
    /// `x^2` elementwise.
    pub fn square(&self) -> Var {
        self.powf(2.0)
    }
    /// Logistic sigmoid `1 / (1 + e^-x)`.
    pub fn sigmoid(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Sigmoid, |_, out| (out.clone(), Op::Sigmoid { x, out }))
    }
    /// Hyperbolic tangent elementwise.
    pub fn tanh(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Tanh, |_, out| (out.clone(), Op::Tanh { x, out }))
    }
    /// `max(x, 0)`.
    pub fn relu(&self) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Relu, |_, out| (out.clone(), Op::Relu { x, out }))
    }
    /// `x` for x > 0, `alpha x` otherwise.
    pub fn leaky_relu(&self, alpha: f32) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::LeakyRelu(alpha), |xv, out| (out, Op::LeakyRelu { x, x_val: xv.clone(), alpha }))
    }
    /// `x` for x > 0, `alpha (e^x - 1)` otherwise.
    pub fn elu(&self, alpha: f32) -> Var {
        let x = self.node;
        self.unary_rec(UnaryOp::Elu(alpha), |xv, out| (out.clone(), Op::Elu { x, x_val: xv.clone(), out, alpha }))
    }

    /// Softmax over the last axis.
    pub fn softmax(&self) -> Result<Var> {
        let out = self.value.softmax_last()?;
        let x = self.node;
        Ok(self.tape.record(out.clone(), x.is_some(), || Op::Softmax { x, out }))
    }
    /// Log-softmax over the last axis.
    pub fn log_softmax(&self) -> Result<Var> {
        let out = self.value.log_softmax_last()?;
        let x = self.node;
        Ok(self.tape.record(out.clone(), x.is_some(), || Op::LogSoftmax { x, out }))
    }

    /// Matrix product (batched over leading dimensions; see [`Tensor::matmul`]).
    pub fn matmul(&self, other: &Var) -> Result<Var> {
        self.check_tape(other, "matmul")?;
        let value = self.value.matmul(&other.value)?;
        let (a, b) = (self.node, other.node);
        Ok(self.pick(other).tape.record(value, a.is_some() || b.is_some(), || Op::MatMul {
            a,
            b,
            a_val: self.value.clone(),
            b_val: other.value.clone(),
        }))
    }

    /// Sum over `axis`.
    pub fn sum(&self, axis: usize, keepdim: bool) -> Result<Var> {
        let value = self.value.sum_axis(axis, keepdim)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::SumAxis { x, axis, in_shape: self.shape().to_vec() }))
    }
    /// Mean over `axis`.
    pub fn mean(&self, axis: usize, keepdim: bool) -> Result<Var> {
        let n = self.value.dim(axis)?;
        Ok(self.sum(axis, keepdim)?.scale(1.0 / n.max(1) as f32))
    }
    /// Sum of every element (a scalar of shape `[]`).
    pub fn sum_all(&self) -> Result<Var> {
        let value = Tensor::scalar(self.value.sum_all());
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::SumAll { x, in_shape: self.shape().to_vec() }))
    }
    /// Mean of every element.
    pub fn mean_all(&self) -> Result<Var> {
        Ok(self.sum_all()?.scale(1.0 / self.value.numel().max(1) as f32))
    }
    /// Maximum over `axis` (gradient to the first maximal element).
    pub fn max(&self, axis: usize, keepdim: bool) -> Result<Var> {
        let value = self.value.max_axis(axis, keepdim)?;
        let x = self.node;
        if x.is_none() {
            return Ok(self.tape.input(value));
        }
        let winners = self.value.argmax_axis(axis)?;
        Ok(self.tape.record(value, true, || Op::MaxAxis { x, axis, in_shape: self.shape().to_vec(), winners }))
    }

    /// Same values, new shape.
    pub fn reshape(&self, shape: &[usize]) -> Result<Var> {
        let value = self.value.reshape(shape)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::Reshape { x, in_shape: self.shape().to_vec() }))
    }
    /// Keeps axis 0 (the batch) and flattens the rest: `[N, ...] -> [N, prod(...)]`.
    pub fn flatten(&self) -> Result<Var> {
        let n = *self.shape().first().ok_or_else(|| Error::bad_shape("flatten", self.shape(), "needs a batch axis"))?;
        let rest = self.value.numel() / n.max(1);
        self.reshape(&[n, rest])
    }
    /// Reorders axes (see [`Tensor::permute`]).
    pub fn permute(&self, perm: &[usize]) -> Result<Var> {
        let value = self.value.permute(perm)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::Permute { x, perm: perm.to_vec() }))
    }
    /// Swaps the last two axes.
    pub fn t(&self) -> Result<Var> {
        let r = self.value.rank();
        if r < 2 {
            return Err(Error::bad_shape("transpose", self.shape(), "needs at least 2 dimensions"));
        }
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(r - 2, r - 1);
        self.permute(&perm)
    }
    /// Elements `start..end` along `axis`.
    pub fn slice(&self, axis: usize, start: usize, end: usize) -> Result<Var> {
        let value = self.value.slice(axis, start, end)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::Slice { x, axis, start, in_shape: self.shape().to_vec() }))
    }
    /// Joins variables along `axis`.
    pub fn concat(parts: &[&Var], axis: usize) -> Result<Var> {
        let first = parts.first().ok_or_else(|| Error::invalid("concat", "no inputs given"))?;
        for p in parts {
            first.check_tape(p, "concat")?;
        }
        let values: Vec<&Tensor> = parts.iter().map(|p| &p.value).collect();
        let value = Tensor::concat(&values, axis)?;
        let tracked = parts.iter().find(|p| p.node.is_some()).unwrap_or(first);
        let needs = parts.iter().any(|p| p.node.is_some());
        Ok(tracked
            .tape
            .record(value, needs, || Op::Concat { parts: parts.iter().map(|p| (p.node, p.shape()[axis])).collect(), axis }))
    }
    /// Rows `indices` of axis 0 (embedding lookup); repeated indices accumulate gradient.
    pub fn gather_rows(&self, indices: &[usize]) -> Result<Var> {
        let value = self.value.gather_rows(indices)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::GatherRows {
            x,
            indices: indices.to_vec(),
            in_shape: self.shape().to_vec(),
        }))
    }
}
