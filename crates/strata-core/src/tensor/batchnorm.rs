//! Batch normalization kernels (Ioffe & Szegedy 2015): per-channel statistics over every
//! axis except the channel axis 1.
//!
//! Every kernel views its input as `[N, C, S]`, where `S` is the product of the axes after
//! the channel axis: `S = H * W` for images `[N, C, H, W]` (2-D batch norm), `S = 1` for
//! features `[N, C]` (1-D batch norm). A channel's `M = N * S` values are `N` contiguous
//! rows of `S` elements.
//!
//! The fast kernels make one read pass for the statistics and one read/write pass for the
//! output, run in parallel (channels for the statistics, rows for the output) on big
//! inputs, and allocate only their outputs. The `*_reference` functions beside them are the
//! textbook formulas in f64, kept as the yardstick the tests hold the fast ones to.

use super::Tensor;
use super::buffer::filled;
use super::parallel::{ELEMENTWISE_PARALLEL_MIN, threads};
use crate::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Elements summed in f32 before the partial sum is folded into an f64 total.
const BLOCK: usize = 1024;
/// Elements per parallel task in the row-wise passes.
const TASK_ELEMS: usize = 1 << 14;

/// What a training-mode forward pass produces, and what its backward pass needs.
#[derive(Clone, Debug)]
pub struct BatchNormTrain {
    /// `gamma * xhat + beta` with `xhat = (x - mean) * inv_std`, shaped like the input.
    /// (xhat itself is not kept: the backward pass recomputes it from x, which the caller
    /// holds anyway, so the forward writes one tensor instead of two.)
    pub out: Tensor,
    /// Per-channel batch mean, `[C]`.
    pub mean: Vec<f32>,
    /// Per-channel biased batch variance (divided by `M`), `[C]`.
    pub var: Vec<f32>,
    /// Per-channel `1 / sqrt(var + eps)`, `[C]`.
    pub inv_std: Vec<f32>,
}

/// `(N, C, S)` for a batch-norm input; errors unless rank >= 2 and the per-channel
/// parameters have `C` values.
fn dims(op: &'static str, shape: &[usize], params: &[&[f32]]) -> Result<(usize, usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::bad_shape(op, shape, "needs [N, C] or [N, C, ...] input"));
    }
    let (n, c, s) = (shape[0], shape[1], shape[2..].iter().product());
    if let Some(p) = params.iter().find(|p| p.len() != c) {
        return Err(Error::ShapeMismatch { op, left: shape.to_vec(), right: vec![p.len()] });
    }
    Ok((n, c, s))
}

fn parallel(numel: usize) -> bool {
    numel >= ELEMENTWISE_PARALLEL_MIN && threads() > 1
}

/// Per-channel pair of sums over a `[N, C, S]` layout. `add(ch, range, sums)` adds one
/// piece of a channel's row (at most BLOCK values) to the channel's lane sums, which fold
/// into f64 every BLOCK values, so long channels (`M` in the millions) keep their precision
/// while rows shorter than BLOCK (7x7 maps: 49 values) share one set of lanes.
fn per_channel<F>(n: usize, c: usize, s: usize, add: F) -> Vec<[f64; 2]>
where
    F: Fn(usize, std::ops::Range<usize>, &mut LaneSums) + Sync,
{
    if s == 1 {
        // [N, C]: channels are adjacent; walk rows to stay contiguous.
        let mut acc: Vec<LaneSums> = (0..c).map(|_| LaneSums::default()).collect();
        for i in 0..n {
            for (ch, a) in acc.iter_mut().enumerate() {
                add(ch, i * c + ch..i * c + ch + 1, a);
            }
        }
        return acc.into_iter().map(LaneSums::finish).collect();
    }
    let one = |ch: usize| {
        let mut a = LaneSums::default();
        for i in 0..n {
            let row = (i * c + ch) * s;
            for b in (0..s).step_by(BLOCK) {
                add(ch, row + b..row + (b + BLOCK).min(s), &mut a);
            }
        }
        a.finish()
    };
    if parallel(n * c * s) && c > 1 { (0..c).into_par_iter().map(one).collect() } else { (0..c).map(one).collect() }
}

/// Lanes of the partial sums: one 512-bit vector, so the compiler keeps them in a register
/// and the sums vectorize.
const LANES: usize = 16;

/// Two running sums of one channel: LANES f32 partial sums each (independent, so they
/// vectorize), folded into f64 totals every BLOCK values.
#[derive(Default)]
struct LaneSums {
    first: [f32; LANES],
    second: [f32; LANES],
    pending: usize,
    total: [f64; 2],
}

#[allow(clippy::needless_range_loop)] // l indexes the input chunk and both lane arrays together
impl LaneSums {
    /// Adds `(x - k)` and `(x - k)^2` for every x: shifting by a sample of the channel, `k`,
    /// avoids the cancellation that makes `E[x^2] - E[x]^2` useless when `|mean| >> std`.
    #[inline]
    fn add_shifted(&mut self, x: &[f32], k: f32) {
        let full = x.len() / LANES * LANES;
        for i in (0..full).step_by(LANES) {
            let ch: &[f32; LANES] = x[i..i + LANES].try_into().expect("a full chunk");
            for l in 0..LANES {
                let d = ch[l] - k;
                self.first[l] += d;
                self.second[l] += d * d;
            }
        }
        for (l, &v) in x[full..].iter().enumerate() {
            self.first[l] += v - k;
            self.second[l] += (v - k) * (v - k);
        }
        self.count(x.len());
    }

    /// Adds `a` and `a * (b - k)` element by element (k: the channel's mean, so that the
    /// products are of centred values).
    #[inline]
    fn add_dot(&mut self, a: &[f32], b: &[f32], k: f32) {
        self.add_dot_masked(a, b, k, |a, _| a);
    }

    /// [`LaneSums::add_dot`] of `f(a, b)` instead of `a` (a gradient masked by a ReLU).
    #[inline]
    fn add_dot_masked(&mut self, a: &[f32], b: &[f32], k: f32, f: impl Fn(f32, f32) -> f32) {
        assert_eq!(a.len(), b.len());
        let full = a.len() / LANES * LANES;
        for i in (0..full).step_by(LANES) {
            let x: &[f32; LANES] = a[i..i + LANES].try_into().expect("a full chunk");
            let y: &[f32; LANES] = b[i..i + LANES].try_into().expect("a full chunk");
            for l in 0..LANES {
                let g = f(x[l], y[l]);
                self.first[l] += g;
                self.second[l] += g * (y[l] - k);
            }
        }
        for (l, (x, y)) in a[full..].iter().zip(&b[full..]).enumerate() {
            let g = f(*x, *y);
            self.first[l] += g;
            self.second[l] += g * (y - k);
        }
        self.count(a.len());
    }

    #[inline]
    fn count(&mut self, values: usize) {
        self.pending += values;
        if self.pending >= BLOCK {
            self.fold();
        }
    }

    fn fold(&mut self) {
        self.total[0] += self.first.iter().sum::<f32>() as f64;
        self.total[1] += self.second.iter().sum::<f32>() as f64;
        (self.first, self.second, self.pending) = ([0.0; LANES], [0.0; LANES], 0);
    }

    fn finish(mut self) -> [f64; 2] {
        self.fold();
        self.total
    }
}

/// Calls `f(channel, input_offset, out_row)` for every `S`-long row of `out` (shaped like
/// the input), in parallel over groups of rows when big.
fn rows_mut<T: Send, F>(out: &mut [T], c: usize, s: usize, f: F)
where
    F: Fn(usize, usize, &mut [T]) + Sync + Send,
{
    let run = |start: usize, part: &mut [T]| {
        let mut ch = (start / s.max(1)) % c.max(1);
        for (r, row) in part.chunks_mut(s.max(1)).enumerate() {
            f(ch, start + r * s, row);
            ch = if ch + 1 == c { 0 } else { ch + 1 };
        }
    };
    if !parallel(out.len()) || s == 0 {
        run(0, out);
        return;
    }
    let chunk = TASK_ELEMS.div_ceil(s).max(1) * s;
    out.par_chunks_mut(chunk).enumerate().for_each(|(t, part)| run(t * chunk, part));
}

/// Training-mode forward: normalizes each channel with its batch statistics, then scales
/// by `gamma` and shifts by `beta`. x is `[N, C, ...]`, gamma and beta `[C]`.
pub fn batch_norm_train(x: &Tensor, gamma: &[f32], beta: &[f32], eps: f32) -> Result<BatchNormTrain> {
    train(x, gamma, beta, eps, false)
}

/// [`batch_norm_train`] followed by a ReLU, in the same pass over the output (the
/// conv -> batch norm -> ReLU of every ResNet block): one tensor written instead of two.
/// Its gradients come from [`batch_norm_backward`] with `relu_beta = Some(beta)`.
pub fn batch_norm_relu_train(x: &Tensor, gamma: &[f32], beta: &[f32], eps: f32) -> Result<BatchNormTrain> {
    train(x, gamma, beta, eps, true)
}

/// The normalized, scaled and shifted value `(v - mu) * k + b` (`k = gamma * inv_std`),
/// written once so that the forward pass and the backward pass's ReLU mask, which
/// recomputes it, agree to the bit. Centred first: folding the mean into the shift would
/// cancel when |mean| >> std.
#[inline(always)]
fn affine(v: f32, mu: f32, k: f32, b: f32) -> f32 {
    (v - mu) * k + b
}

fn train(x: &Tensor, gamma: &[f32], beta: &[f32], eps: f32, relu: bool) -> Result<BatchNormTrain> {
    let (n, c, s) = dims("batch_norm", x.shape(), &[gamma, beta])?;
    let m = n * s;
    if m < 2 {
        return Err(Error::bad_shape("batch_norm", x.shape(), "training needs more than one value per channel"));
    }
    let xd = x.data();
    // Pivot for the shifted sums: the channel's first value.
    let pivot: Vec<f32> = (0..c).map(|ch| xd[ch * s]).collect();
    let sums = per_channel(n, c, s, |ch, r, acc| acc.add_shifted(&xd[r], pivot[ch]));
    let (mut mean, mut var, mut inv_std) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let (d, q) = (sums[ch][0] / m as f64, sums[ch][1] / m as f64);
        mean[ch] = (pivot[ch] as f64 + d) as f32;
        let v = (q - d * d).max(0.0);
        var[ch] = v as f32;
        inv_std[ch] = (1.0 / (v + eps as f64).sqrt()) as f32;
    }
    let fill = |out: &mut [MaybeUninit<f32>]| {
        rows_mut(out, c, s, |ch, off, o| {
            let (mu, k, b) = (mean[ch], gamma[ch] * inv_std[ch], beta[ch]);
            let xs = &xd[off..off + s];
            if relu {
                o.iter_mut().zip(xs).for_each(|(o, &v)| _ = o.write(affine(v, mu, k, b).max(0.0)));
            } else {
                o.iter_mut().zip(xs).for_each(|(o, &v)| _ = o.write(affine(v, mu, k, b)));
            }
        })
    };
    // SAFETY: the rows of `out` tile it, and every row is written.
    let out = unsafe { filled(x.numel(), fill) };
    Ok(BatchNormTrain { out: Tensor::new_unchecked(out, x.shape()), mean, var, inv_std })
}

/// Eval-mode forward with fixed (running) statistics: `(x - mean) / sqrt(var + eps) *
/// gamma + beta`, folded into one scale and shift per channel. x is `[N, C, ...]`.
pub fn batch_norm_eval(x: &Tensor, gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], eps: f32) -> Result<Tensor> {
    let (_, c, s) = dims("batch_norm_eval", x.shape(), &[gamma, beta, mean, var])?;
    let scale: Vec<f32> = (0..c).map(|ch| gamma[ch] / (var[ch] + eps).sqrt()).collect();
    let shift: Vec<f32> = (0..c).map(|ch| beta[ch] - mean[ch] * scale[ch]).collect();
    let xd = x.data();
    let fill = |out: &mut [MaybeUninit<f32>]| {
        rows_mut(out, c, s, |ch, off, o| {
            let (a, b) = (scale[ch], shift[ch]);
            o.iter_mut().zip(&xd[off..off + s]).for_each(|(o, &v)| _ = o.write(v * a + b));
        })
    };
    // SAFETY: the rows of `out` tile it, and every row is written.
    let out = unsafe { filled(x.numel(), fill) };
    Ok(Tensor::new_unchecked(out, x.shape()))
}

/// Gradients of a training-mode forward, by the fused formula
/// `dx = (gamma * inv_std / M) * (M * dy - sum(dy) - xhat * sum(dy * xhat))`,
/// `dgamma = sum(dy * xhat)`, `dbeta = sum(dy)` (sums per channel), with
/// `xhat = (x - mean) * inv_std` recomputed from the forward's input x and its batch
/// `mean` and `inv_std`. dy and x are `[N, C, ...]`; returns `(dx, dgamma, dbeta)`, `dx`
/// only when `need_dx`.
///
/// `relu_beta`: `Some(beta)` when the forward was [`batch_norm_relu_train`]; dy is then
/// the ReLU output's gradient, and is zeroed where the forward clipped (the pre-activation,
/// recomputed from x, was not positive) before the batch-norm rule sees it.
pub fn batch_norm_backward(
    dy: &Tensor,
    x: &Tensor,
    mean: &[f32],
    gamma: &[f32],
    inv_std: &[f32],
    relu_beta: Option<&[f32]>,
    need_dx: bool,
) -> Result<(Option<Tensor>, Vec<f32>, Vec<f32>)> {
    if dy.shape() != x.shape() {
        return Err(Error::ShapeMismatch { op: "batch_norm backward", left: dy.shape().to_vec(), right: x.shape().to_vec() });
    }
    let (n, c, s) = dims("batch_norm backward", dy.shape(), &[mean, gamma, inv_std, relu_beta.unwrap_or(gamma)])?;
    let (g, xd) = (dy.data(), x.data());
    // the gradient reaching the batch norm's output: dy, or dy where the ReLU passed it
    let k = |ch: usize| gamma[ch] * inv_std[ch];
    let passed = |ch: usize| {
        let (mu, k, b) = (mean[ch], k(ch), relu_beta.map_or(0.0, |b| b[ch]));
        move |gv: f32, xv: f32| if affine(xv, mu, k, b) > 0.0 { gv } else { 0.0 }
    };
    let sums = per_channel(n, c, s, |ch, r, acc| match relu_beta {
        None => acc.add_dot(&g[r.clone()], &xd[r], mean[ch]),
        Some(_) => acc.add_dot_masked(&g[r.clone()], &xd[r], mean[ch], passed(ch)),
    });
    let dbeta: Vec<f32> = sums.iter().map(|p| p[0] as f32).collect();
    let dgamma: Vec<f32> = sums.iter().zip(inv_std).map(|(p, &is)| (p[1] * is as f64) as f32).collect();
    if !need_dx {
        return Ok((None, dgamma, dbeta));
    }
    let m = (n * s) as f32;
    let fill = |dx: &mut [MaybeUninit<f32>]| {
        rows_mut(dx, c, s, |ch, off, d| {
            // k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mu) * inv_std
            let (k, mdy, slope, mu) = (k(ch), dbeta[ch] / m, dgamma[ch] / m * inv_std[ch], mean[ch]);
            let rows = d.iter_mut().zip(&g[off..off + s]).zip(&xd[off..off + s]);
            match relu_beta {
                None => rows.for_each(|((d, &gv), &xv)| _ = d.write(k * (gv - mdy - (xv - mu) * slope))),
                Some(_) => {
                    let passed = passed(ch);
                    rows.for_each(|((d, &gv), &xv)| _ = d.write(k * (passed(gv, xv) - mdy - (xv - mu) * slope)));
                }
            }
        })
    };
    // SAFETY: the rows of `dx` tile it, and every row is written.
    let dx = unsafe { filled(dy.numel(), fill) };
    Ok((Some(Tensor::new_unchecked(dx, dy.shape())), dgamma, dbeta))
}

/// Index of element `j` of channel `ch`, sample `i`, in a `[N, C, S]` layout.
fn at(i: usize, ch: usize, j: usize, c: usize, s: usize) -> usize {
    (i * c + ch) * s + j
}

/// Naive two-pass reference for [`batch_norm_train`] (f64 throughout).
pub fn batch_norm_train_reference(x: &Tensor, gamma: &[f32], beta: &[f32], eps: f32) -> Result<BatchNormTrain> {
    let (n, c, s) = dims("batch_norm", x.shape(), &[gamma, beta])?;
    let (xd, m) = (x.data(), (n * s) as f64);
    let mut out = vec![0.0; x.numel()];
    let (mut mean, mut var, mut inv_std) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let idx = || (0..n).flat_map(move |i| (0..s).map(move |j| at(i, ch, j, c, s)));
        let mu = idx().map(|k| xd[k] as f64).sum::<f64>() / m;
        let v = idx().map(|k| (xd[k] as f64 - mu).powi(2)).sum::<f64>() / m;
        let is = 1.0 / (v + eps as f64).sqrt();
        for k in idx() {
            let h = (xd[k] as f64 - mu) * is;
            out[k] = (h * gamma[ch] as f64 + beta[ch] as f64) as f32;
        }
        (mean[ch], var[ch], inv_std[ch]) = (mu as f32, v as f32, is as f32);
    }
    Ok(BatchNormTrain { out: Tensor::from_vec(out, x.shape())?, mean, var, inv_std })
}

/// Reference gradients by the unfused chain rule through mean and variance (the
/// derivation the fused formula comes from): returns `(dx, dgamma, dbeta)`.
pub fn batch_norm_backward_reference(x: &Tensor, dy: &Tensor, gamma: &[f32], eps: f32) -> Result<(Tensor, Vec<f32>, Vec<f32>)> {
    let (n, c, s) = dims("batch_norm backward", x.shape(), &[gamma])?;
    let (xd, g, m) = (x.data(), dy.data(), (n * s) as f64);
    let mut dx = vec![0.0; x.numel()];
    let (mut dgamma, mut dbeta) = (vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let idx = || (0..n).flat_map(move |i| (0..s).map(move |j| at(i, ch, j, c, s)));
        let mu = idx().map(|k| xd[k] as f64).sum::<f64>() / m;
        let v = idx().map(|k| (xd[k] as f64 - mu).powi(2)).sum::<f64>() / m;
        let is = 1.0 / (v + eps as f64).sqrt();
        let gm = gamma[ch] as f64;
        // dL/dxhat = dy * gamma; then through var and mean.
        let dvar: f64 = idx().map(|k| g[k] as f64 * gm * (xd[k] as f64 - mu) * -0.5 * is.powi(3)).sum();
        let dmean: f64 = idx().map(|k| -(g[k] as f64) * gm * is).sum::<f64>()
            + dvar * idx().map(|k| -2.0 * (xd[k] as f64 - mu)).sum::<f64>() / m;
        for k in idx() {
            let xc = xd[k] as f64 - mu;
            dx[k] = (g[k] as f64 * gm * is + dvar * 2.0 * xc / m + dmean / m) as f32;
        }
        dgamma[ch] = idx().map(|k| g[k] as f64 * (xd[k] as f64 - mu) * is).sum::<f64>() as f32;
        dbeta[ch] = idx().map(|k| g[k] as f64).sum::<f64>() as f32;
    }
    Ok((Tensor::from_vec(dx, x.shape())?, dgamma, dbeta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    #[test]
    fn fast_kernels_match_the_references() {
        let mut rng = Rng::seeded(4);
        // 1-D, small 2-D, and one big enough to take the parallel path
        for shape in [vec![7, 5], vec![3, 4, 5, 6], vec![2, 3, 7, 1], vec![8, 16, 32, 32]] {
            let c = shape[1];
            // an offset mean checks the shifted sums against cancellation
            let x = Tensor::rand_normal(&shape, 30.0, 2.0, &mut rng);
            let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.1).collect();
            let beta: Vec<f32> = (0..c).map(|i| i as f32 * -0.2).collect();
            let fast = batch_norm_train(&x, &gamma, &beta, 1e-5).unwrap();
            let slow = batch_norm_train_reference(&x, &gamma, &beta, 1e-5).unwrap();
            assert!(close(fast.out.data(), slow.out.data(), 1e-4), "{shape:?}");
            assert!(close(&fast.mean, &slow.mean, 1e-5) && close(&fast.var, &slow.var, 1e-4), "{shape:?}");

            let dy = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
            let (dx, dg, db) = batch_norm_backward(&dy, &x, &fast.mean, &gamma, &fast.inv_std, None, true).unwrap();
            let (rdx, rdg, rdb) = batch_norm_backward_reference(&x, &dy, &gamma, 1e-5).unwrap();
            assert!(close(dx.unwrap().data(), rdx.data(), 2e-3), "{shape:?}");
            assert!(close(&dg, &rdg, 1e-3) && close(&db, &rdb, 1e-3), "{shape:?}");
        }
    }

    #[test]
    fn eval_uses_the_given_statistics() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        let y = batch_norm_eval(&x, &[2.0, 1.0], &[0.0, 1.0], &[1.0, 0.0], &[4.0, 1.0], 0.0).unwrap();
        // channel 0: (x - 1) / 2 * 2; channel 1: x / 1 + 1
        assert_eq!(y.data(), &[0.0, 3.0, 2.0, 5.0]);
    }

    #[test]
    fn bad_shapes_name_the_op() {
        let x = Tensor::zeros(&[4, 3]);
        let err = batch_norm_train(&x, &[1.0; 2], &[0.0; 2], 1e-5).unwrap_err().to_string();
        assert!(err.contains("batch_norm") && err.contains("[4, 3]") && err.contains("[2]"), "{err}");
        assert!(batch_norm_train(&Tensor::zeros(&[1, 3]), &[1.0; 3], &[0.0; 3], 1e-5).is_err());
        assert!(batch_norm_train(&Tensor::zeros(&[3]), &[1.0; 3], &[0.0; 3], 1e-5).is_err());
    }
}
