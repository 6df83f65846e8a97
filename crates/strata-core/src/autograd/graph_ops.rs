//! Forward side of the ops residual networks add: the fused `relu(a + b)` that closes a
//! residual block (kernel in `tensor::fused`, gradient rule in `backward.rs`).

use super::recorded_op::Op;
use super::tape::Var;
use crate::Result;
use crate::tensor::fused;

impl Var {
    /// `relu(self + other)` in one pass; both operands must have the same shape.
    ///
    /// ```
    /// use strata_core::autograd::Tape;
    /// use strata_core::Tensor;
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::from_vec(vec![1.0, -3.0], &[2]).unwrap());
    /// let b = tape.input(Tensor::from_vec(vec![0.5, 1.0], &[2]).unwrap());
    /// assert_eq!(a.add_relu(&b).unwrap().value().data(), &[1.5, 0.0]);
    /// ```
    pub fn add_relu(&self, other: &Var) -> Result<Var> {
        self.check_tape(other, "add_relu")?;
        let out = fused::add_relu(&self.value, &other.value)?;
        let (a, b) = (self.node, other.node);
        let tracked = if a.is_some() { self } else { other };
        let keep = out.clone();
        Ok(tracked.tape.record(out, a.is_some() || b.is_some(), || Op::AddRelu { a, b, out: keep }))
    }
}
