//! Fused elementwise kernels for residual networks: `relu(a + b)` and the ReLU gradient
//! mask, each one pass over memory (instead of an add, then a ReLU, then their two
//! gradient passes). Parallel over chunks when large.

use super::Tensor;
use super::parallel::chunks_mut;
use crate::{Error, Result};

/// `max(a + b, 0)` elementwise; `a` and `b` must have the same shape (no broadcasting).
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.shape() != b.shape() {
        return Err(Error::ShapeMismatch { op: "add_relu", left: a.shape().to_vec(), right: b.shape().to_vec() });
    }
    let (x, y) = (a.data(), b.data());
    let fill = |out: &mut [std::mem::MaybeUninit<f32>]| {
        chunks_mut(out, |start, o| {
            let len = o.len();
            for ((o, &x), &y) in o.iter_mut().zip(&x[start..start + len]).zip(&y[start..start + len]) {
                o.write((x + y).max(0.0));
            }
        })
    };
    // SAFETY: the chunks tile `out`, and every element of each is written.
    let out = unsafe { super::buffer::filled(a.numel(), fill) };
    Ok(Tensor::new_unchecked(out, a.shape()))
}

/// The gradient through a ReLU from its output: `g` where `out > 0`, else 0. Reuses `g`'s
/// storage when nothing else holds it.
pub fn relu_grad(mut g: Tensor, out: &Tensor) -> Result<Tensor> {
    if g.shape() != out.shape() {
        return Err(Error::ShapeMismatch { op: "relu backward", left: g.shape().to_vec(), right: out.shape().to_vec() });
    }
    let y = out.data();
    chunks_mut(g.data_mut(), |start, d| {
        let len = d.len();
        for (d, &y) in d.iter_mut().zip(&y[start..start + len]) {
            if y <= 0.0 {
                *d = 0.0;
            }
        }
    });
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_relu_and_its_gradient_mask() {
        let a = Tensor::from_vec(vec![1.0, -2.0, 0.5, -0.5], &[2, 2]).unwrap();
        let b = Tensor::from_vec(vec![1.0, 1.0, -1.0, 0.5], &[2, 2]).unwrap();
        let y = add_relu(&a, &b).unwrap();
        assert_eq!(y.data(), &[2.0, 0.0, 0.0, 0.0]);
        let g = relu_grad(Tensor::ones(&[2, 2]), &y).unwrap();
        assert_eq!(g.data(), &[1.0, 0.0, 0.0, 0.0]);
        assert!(add_relu(&a, &Tensor::zeros(&[4])).is_err());
    }

    #[test]
    fn large_inputs_agree_with_the_unfused_ops() {
        let n = 300_001;
        let a = Tensor::from_vec((0..n).map(|i| ((i * 37) % 11) as f32 - 5.0).collect(), &[n]).unwrap();
        let b = Tensor::from_vec((0..n).map(|i| ((i * 13) % 7) as f32 - 3.0).collect(), &[n]).unwrap();
        let fused = add_relu(&a, &b).unwrap();
        let plain = a.add(&b).unwrap().map(super::super::UnaryOp::Relu);
        assert_eq!(fused, plain);
    }
}
