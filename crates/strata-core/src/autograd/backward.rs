//! Every gradient rule, in one place: given the gradient `g` of an op's output, what each
//! of its inputs receives. Ops are visited in reverse tape order, so when an op is reached
//! every consumer of its output has already contributed to `g`.

use super::recorded_op::Op;
use super::tape::NodeId;
use crate::tensor::pool::pool2d_backward;
use crate::tensor::{BinaryOp, UnaryOp, gemm};
use crate::{Result, Tensor};

/// Adds `g` into the gradient slot of `node` (nothing for a constant input).
fn accumulate(grads: &mut [Option<Tensor>], node: Option<NodeId>, g: Tensor) -> Result<()> {
    let Some(id) = node else { return Ok(()) };
    match &mut grads[id] {
        Some(existing) => existing.axpy_inplace(1.0, &g)?,
        slot @ None => *slot = Some(g),
    }
    Ok(())
}

/// `g * f(aux)` elementwise, where `f` is a local derivative.
fn times(g: &Tensor, aux: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
    let data = g.data().iter().zip(aux.data()).map(|(&g, &a)| f(g, a)).collect();
    Tensor::from_vec(data, g.shape()).expect("gradient has its output's shape")
}

/// Softmax backward along the last axis: `dx = y * (g - sum(g * y))`.
fn softmax_backward(g: &Tensor, y: &Tensor) -> Tensor {
    let c = *y.shape().last().unwrap_or(&1);
    let mut dx = vec![0.0; y.numel()];
    for ((dx, g), y) in dx.chunks_exact_mut(c).zip(g.data().chunks_exact(c)).zip(y.data().chunks_exact(c)) {
        let dot: f32 = g.iter().zip(y).map(|(a, b)| a * b).sum();
        for ((d, &gi), &yi) in dx.iter_mut().zip(g).zip(y) {
            *d = yi * (gi - dot);
        }
    }
    Tensor::from_vec(dx, y.shape()).expect("same shape")
}

/// Walks `ops` in reverse. Leaves and the nodes in `keep` keep their gradient in `grads` for
/// the caller; every other node's gradient is consumed once it has been propagated.
///
/// `on_leaf(id, grads)` runs when the walk reaches leaf `id`: its gradient is final then,
/// because every op that consumed it was recorded after it (the tape is in topological
/// order) and has therefore been visited. Data-parallel training starts a parameter's
/// all-reduce there, while the earlier layers' backward still runs.
pub(crate) fn run_backward(
    ops: &[Op],
    grads: &mut [Option<Tensor>],
    keep: &[NodeId],
    on_leaf: &mut dyn FnMut(NodeId, &[Option<Tensor>]) -> Result<()>,
) -> Result<()> {
    for id in (0..ops.len()).rev() {
        let op = &ops[id];
        if matches!(op, Op::Leaf) {
            on_leaf(id, grads)?;
            continue; // leaves keep their gradient for the caller
        }
        let g = if keep.contains(&id) { grads[id].clone() } else { grads[id].take() };
        let Some(g) = g else { continue };
        match op {
            Op::Leaf => {}
            Op::Add { a, b, a_shape, b_shape } => {
                if a.is_some() {
                    accumulate(grads, *a, g.sum_to(a_shape)?)?;
                }
                if b.is_some() {
                    accumulate(grads, *b, g.sum_to(b_shape)?)?;
                }
            }
            Op::Sub { a, b, a_shape, b_shape } => {
                if a.is_some() {
                    accumulate(grads, *a, g.sum_to(a_shape)?)?;
                }
                if b.is_some() {
                    accumulate(grads, *b, g.sum_to(b_shape)?.scale(-1.0))?;
                }
            }
            Op::Mul { a, b, a_val, b_val } => {
                if a.is_some() {
                    accumulate(grads, *a, g.mul(b_val)?.sum_to(a_val.shape())?)?;
                }
                if b.is_some() {
                    accumulate(grads, *b, g.mul(a_val)?.sum_to(b_val.shape())?)?;
                }
            }
            Op::Div { a, b, a_val, b_val } => {
                if a.is_some() {
                    accumulate(grads, *a, g.div(b_val)?.sum_to(a_val.shape())?)?;
                }
                if b.is_some() {
                    // d(a/b)/db = -a / b^2
                    let gb = g.mul(a_val)?.div(&b_val.map(UnaryOp::Square))?.scale(-1.0);
                    accumulate(grads, *b, gb.sum_to(b_val.shape())?)?;
                }
            }
            Op::Select { a, b, a_val, b_val, op } => {
                let (ab, bb) = (a_val.broadcast_to(g.shape())?, b_val.broadcast_to(g.shape())?);
                let a_wins: Vec<bool> =
                    ab.data().iter().zip(bb.data()).map(|(x, y)| if *op == BinaryOp::Max { x >= y } else { x <= y }).collect();
                let pick = |mine: bool| {
                    let data = g.data().iter().zip(&a_wins).map(|(&g, &w)| if w == mine { g } else { 0.0 }).collect();
                    Tensor::from_vec(data, g.shape())
                };
                if a.is_some() {
                    accumulate(grads, *a, pick(true)?.sum_to(a_val.shape())?)?;
                }
                if b.is_some() {
                    accumulate(grads, *b, pick(false)?.sum_to(b_val.shape())?)?;
                }
            }
            Op::Scale { x, c } => accumulate(grads, *x, g.scale(*c))?,
            Op::MulConst { x, mask } => accumulate(grads, *x, g.mul(mask)?)?,
            Op::Identity { x } => accumulate(grads, *x, g)?,
            Op::Exp { x, out } => accumulate(grads, *x, g.mul(out)?)?,
            Op::Log { x, x_val } => accumulate(grads, *x, g.div(x_val)?)?,
            Op::Sqrt { x, out } => accumulate(grads, *x, times(&g, out, |g, y| 0.5 * g / y))?,
            Op::Abs { x, x_val } => accumulate(grads, *x, times(&g, x_val, |g, v| g * v.signum() * (v != 0.0) as u8 as f32))?,
            Op::Powf { x, x_val, p } => accumulate(grads, *x, times(&g, x_val, |g, v| g * p * v.powf(p - 1.0)))?,
            Op::Sigmoid { x, out } => accumulate(grads, *x, times(&g, out, |g, y| g * y * (1.0 - y)))?,
            Op::Tanh { x, out } => accumulate(grads, *x, times(&g, out, |g, y| g * (1.0 - y * y)))?,
            Op::Relu { x, out } => accumulate(grads, *x, times(&g, out, |g, y| if y > 0.0 { g } else { 0.0 }))?,
            Op::LeakyRelu { x, x_val, alpha } => {
                accumulate(grads, *x, times(&g, x_val, |g, v| if v > 0.0 { g } else { alpha * g }))?
            }
            Op::Elu { x, x_val, out, alpha } => {
                // d/dx alpha (e^x - 1) = alpha e^x = out + alpha
                let d = times(x_val, out, |v, y| if v > 0.0 { 1.0 } else { y + alpha });
                accumulate(grads, *x, g.mul(&d)?)?
            }
            Op::Softmax { x, out } => accumulate(grads, *x, softmax_backward(&g, out))?,
            Op::LogSoftmax { x, out } => {
                // dx = g - softmax * sum(g) per row
                let c = *out.shape().last().unwrap_or(&1);
                let mut dx = g.data().to_vec();
                for (row, y) in dx.chunks_exact_mut(c).zip(out.data().chunks_exact(c)) {
                    let s: f32 = row.iter().sum();
                    row.iter_mut().zip(y).for_each(|(d, &ly)| *d -= ly.exp() * s);
                }
                accumulate(grads, *x, Tensor::from_vec(dx, out.shape())?)?
            }
            Op::Maxout { x, in_shape, winners } => {
                let mut dx = vec![0.0; in_shape.iter().product()];
                for (&w, &gv) in winners.iter().zip(g.data()) {
                    dx[w as usize] += gv;
                }
                accumulate(grads, *x, Tensor::from_vec(dx, in_shape)?)?
            }
            Op::MatMul { a, b, a_val, b_val } => {
                if a.is_some() {
                    accumulate(grads, *a, g.matmul_t(b_val, false, true)?)?;
                }
                if b.is_some() {
                    let gb = if b_val.rank() == 2 && a_val.rank() > 2 {
                        // b was shared across the batch: sum the per-sample products in one GEMM
                        let k = a_val.shape()[a_val.rank() - 1];
                        let n = b_val.shape()[1];
                        let rows = a_val.numel() / k;
                        a_val.reshape(&[rows, k])?.matmul_t(&g.reshape(&[rows, n])?, true, false)?
                    } else {
                        a_val.matmul_t(&g, true, false)?
                    };
                    accumulate(grads, *b, gb)?;
                }
            }
            Op::Linear { x, w, b, x_val, w_val } => {
                let (n, k) = (x_val.shape()[0], x_val.shape()[1]);
                let m = w_val.shape()[1];
                if w.is_some() {
                    let mut dw = vec![0.0; k * m];
                    gemm(k, m, n, x_val.data(), true, g.data(), false, &mut dw, false);
                    accumulate(grads, *w, Tensor::from_vec(dw, &[k, m])?)?;
                }
                if b.is_some() {
                    accumulate(grads, *b, g.sum_to(&[m])?)?;
                }
                if x.is_some() {
                    let mut dx = vec![0.0; n * k];
                    gemm(n, k, m, g.data(), false, w_val.data(), true, &mut dx, false);
                    accumulate(grads, *x, Tensor::from_vec(dx, &[n, k])?)?;
                }
            }
            Op::SumAxis { x, axis, in_shape } => {
                let mut kept = in_shape.clone();
                kept[*axis] = 1;
                accumulate(grads, *x, g.reshape(&kept)?.broadcast_to(in_shape)?)?
            }
            Op::SumAll { x, in_shape } => accumulate(grads, *x, Tensor::full(in_shape, g.item()?))?,
            Op::MaxAxis { x, axis, in_shape, winners } => {
                let outer: usize = in_shape[..*axis].iter().product();
                let (len, inner) = (in_shape[*axis], in_shape[axis + 1..].iter().product::<usize>());
                let mut dx = vec![0.0; in_shape.iter().product()];
                for o in 0..outer {
                    for i in 0..inner {
                        let r = o * inner + i;
                        dx[(o * len + winners[r]) * inner + i] += g.data()[r];
                    }
                }
                accumulate(grads, *x, Tensor::from_vec(dx, in_shape)?)?
            }
            Op::Reshape { x, in_shape } => accumulate(grads, *x, g.reshape(in_shape)?)?,
            Op::Permute { x, perm } => {
                let mut inverse = vec![0; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    inverse[p] = i;
                }
                accumulate(grads, *x, g.permute(&inverse)?)?
            }
            Op::Slice { x, axis, start, in_shape } => {
                let outer: usize = in_shape[..*axis].iter().product();
                let inner: usize = in_shape[axis + 1..].iter().product();
                let (len, taken) = (in_shape[*axis], g.shape()[*axis]);
                let mut dx = vec![0.0; in_shape.iter().product()];
                for o in 0..outer {
                    let dst = (o * len + start) * inner;
                    dx[dst..dst + taken * inner].copy_from_slice(&g.data()[o * taken * inner..(o + 1) * taken * inner]);
                }
                accumulate(grads, *x, Tensor::from_vec(dx, in_shape)?)?
            }
            Op::Concat { parts, axis } => {
                let mut start = 0;
                for &(node, len) in parts {
                    if node.is_some() {
                        accumulate(grads, node, g.slice(*axis, start, start + len)?)?;
                    }
                    start += len;
                }
            }
            Op::GatherRows { x, indices, in_shape } => {
                let row: usize = in_shape[1..].iter().product();
                let mut dx = vec![0.0; in_shape.iter().product()];
                for (k, &i) in indices.iter().enumerate() {
                    let src = &g.data()[k * row..(k + 1) * row];
                    dx[i * row..(i + 1) * row].iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
                accumulate(grads, *x, Tensor::from_vec(dx, in_shape)?)?
            }
            Op::SoftmaxCrossEntropy { logits, probs, labels } => {
                let scale = g.item()? / labels.len().max(1) as f32;
                let c = probs.shape()[1];
                let mut dx = probs.data().to_vec();
                for (i, &l) in labels.iter().enumerate() {
                    dx[i * c + l as usize] -= 1.0;
                }
                dx.iter_mut().for_each(|v| *v *= scale);
                accumulate(grads, *logits, Tensor::from_vec(dx, probs.shape())?)?
            }
            Op::Mse { pred, diff } => {
                let scale = 2.0 * g.item()? / diff.numel().max(1) as f32;
                accumulate(grads, *pred, diff.scale(scale))?
            }
            Op::Bce { pred, pred_val, target } => {
                let scale = g.item()? / pred_val.numel().max(1) as f32;
                // Where the forward clamp was active the loss is flat in p: zero gradient.
                let d = times(pred_val, target, |p, t| {
                    if !(1e-7..=1.0 - 1e-7).contains(&p) {
                        return 0.0;
                    }
                    scale * (p - t) / (p * (1.0 - p))
                });
                accumulate(grads, *pred, d)?
            }
            Op::BceWithLogits { logits, probs, target } => {
                let scale = g.item()? / probs.numel().max(1) as f32;
                accumulate(grads, *logits, times(probs, target, |p, t| scale * (p - t)))?
            }
            Op::Conv2d { x, w, b, x_val, w_val, geom, algorithm } => {
                let (dx, dw, db) = algorithm.backward(geom, x_val.data(), w_val.data(), g.data(), x.is_some(), b.is_some());
                if let Some(dx) = dx {
                    accumulate(grads, *x, Tensor::from_vec(dx, x_val.shape())?)?;
                }
                accumulate(grads, *w, Tensor::from_vec(dw, w_val.shape())?)?;
                if let Some(db) = db {
                    accumulate(grads, *b, Tensor::from_vec(db, &[geom.o])?)?;
                }
            }
            Op::Pool2d { x, x_val, out, winners, geom, kind } => {
                let dx = pool2d_backward(geom, *kind, x_val.data(), out.data(), winners, g.data());
                accumulate(grads, *x, Tensor::from_vec(dx, &[geom.n, geom.c, geom.h, geom.w])?)?
            }
            Op::BatchNorm { x, gamma, beta, x_val, mean, inv_std, gamma_val, relu_beta } => {
                let (dx, dgamma, dbeta) = crate::tensor::batchnorm::batch_norm_backward(
                    &g,
                    x_val,
                    mean.data(),
                    gamma_val.data(),
                    inv_std.data(),
                    relu_beta.as_ref().map(Tensor::data),
                    x.is_some(),
                )?;
                if let Some(dx) = dx {
                    accumulate(grads, *x, dx)?;
                }
                if gamma.is_some() {
                    accumulate(grads, *gamma, Tensor::from_vec(dgamma, gamma_val.shape())?)?;
                }
                if beta.is_some() {
                    accumulate(grads, *beta, Tensor::from_vec(dbeta, gamma_val.shape())?)?;
                }
            }
            Op::Lrn { x, x_val, out, scale, params } => {
                accumulate(grads, *x, crate::tensor::lrn::lrn_backward(x_val, out, scale, &g, *params)?)?
            }
            Op::Recurrent(rec) => {
                for (node, grad) in rec.backward(&g)? {
                    accumulate(grads, node, grad)?;
                }
            }
            Op::Upsample2d { x, factor, in_shape } => {
                let dx = crate::tensor::upsample::upsample2d_backward(
                    g.data(),
                    in_shape[0] * in_shape[1],
                    in_shape[2],
                    in_shape[3],
                    *factor,
                );
                accumulate(grads, *x, Tensor::from_vec(dx, in_shape)?)?
            }
            Op::AddRelu { a, b, out } => {
                // Both operands get the same masked gradient: one tensor, shared, not copied.
                let gm = crate::tensor::fused::relu_grad(g, out)?;
                if b.is_some() {
                    accumulate(grads, *b, gm.clone())?;
                }
                accumulate(grads, *a, gm)?;
            }
        }
    }
    Ok(())
}
