//! Local response normalization across channels (AlexNet, Krizhevsky et al. 2012), with
//! PyTorch's semantics:
//!
//! `b_c = a_c / s_c^beta`, `s_c = k + alpha / n * sum_{c'} a_{c'}^2`, the sum over the
//! channels `c' in [c - n/2, c + (n-1)/2]` that exist (`n` = `size`; for odd `n` this is
//! the symmetric window `[c - n/2, c + n/2]`). Dividing alpha by `n` is PyTorch's choice
//! (the AlexNet paper does not), so `alpha = 1e-4` means the same thing in both libraries.
//!
//! Kernels view the input as `[N, C, S]` (S = H * W for images) and run in parallel over
//! samples on big inputs. The window sums are recomputed per channel rather than slid
//! (add the entering channel, subtract the leaving one): `n` is small (5), and sliding
//! accumulates rounding error when one channel dwarfs its neighbours.

use super::Tensor;
use super::parallel::{ELEMENTWISE_PARALLEL_MIN, threads};
use crate::{Error, Result};
use rayon::prelude::*;

/// Hyper-parameters of one LRN, in the formula of the module docs; the kernels
/// [check](LrnParams::check) them. strata's `LocalResponseNorm` layer defaults to
/// alpha 1e-4, beta 0.75, k 1 (PyTorch's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrnParams {
    /// Number of channels in the window, `n` (at least 1; AlexNet: 5).
    pub size: usize,
    /// Scale of the window's sum of squares, divided by `size` before use (PyTorch's
    /// convention).
    pub alpha: f32,
    /// Exponent of the denominator; 0.75 (AlexNet's) and 0.5 take a fast path without `powf`.
    pub beta: f32,
    /// Additive constant of the denominator; must be > 0 so the denominator stays positive.
    pub k: f32,
}

impl LrnParams {
    /// Errors unless `size >= 1`, `k > 0` (so the denominator stays positive) and all are finite.
    pub fn check(&self) -> Result<()> {
        if self.size == 0 {
            return Err(Error::invalid("local_response_norm size", "must be at least 1"));
        }
        if !(self.k > 0.0 && self.k.is_finite() && self.alpha.is_finite() && self.beta.is_finite()) {
            return Err(Error::invalid("local_response_norm", format!("k must be > 0 and finite, got {self:?}")));
        }
        Ok(())
    }
    /// Channels `[lo, hi)` whose squares sum into `s_c`.
    fn window(&self, c: usize, channels: usize) -> (usize, usize) {
        (c.saturating_sub(self.size / 2), (c + (self.size - 1) / 2 + 1).min(channels))
    }
    /// Channels `i` whose window contains channel `j` (the transpose of `window`).
    fn users(&self, j: usize, channels: usize) -> (usize, usize) {
        (j.saturating_sub((self.size - 1) / 2), (j + self.size / 2 + 1).min(channels))
    }
}

/// `s^-beta`, with the square roots `beta = 0.75` (AlexNet's value) and 0.5 allow instead
/// of the much slower `powf`.
#[inline]
fn pow_neg(s: f32, beta: f32) -> f32 {
    if beta == 0.75 {
        let r = s.sqrt();
        1.0 / (r * r.sqrt())
    } else if beta == 0.5 {
        1.0 / s.sqrt()
    } else {
        s.powf(-beta)
    }
}

fn dims(op: &'static str, shape: &[usize]) -> Result<(usize, usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::bad_shape(op, shape, "needs [N, C, ...] input"));
    }
    Ok((shape[0], shape[1], shape[2..].iter().product()))
}

/// Runs `f(sample, out parts...)` over `[C * S]`-long samples, in parallel when big.
fn per_sample<const K: usize, F>(mut outs: [&mut [f32]; K], sample: usize, f: F)
where
    F: Fn(usize, [&mut [f32]; K]) + Sync + Send,
{
    let n = outs[0].len().checked_div(sample).unwrap_or(0);
    let mut parts: Vec<[&mut [f32]; K]> = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(std::array::from_fn(|k| {
            let (head, tail) = std::mem::take(&mut outs[k]).split_at_mut(sample);
            outs[k] = tail;
            head
        }));
    }
    if n * sample >= ELEMENTWISE_PARALLEL_MIN && threads() > 1 {
        parts.into_par_iter().enumerate().for_each(|(i, p)| f(i, p));
    } else {
        parts.into_iter().enumerate().for_each(|(i, p)| f(i, p));
    }
}

/// Forward: returns `(out, scale)`, both shaped like x (`[N, C, ...]`), where `scale` is
/// `s` above (backward needs it). Errors if `p` fails [`LrnParams::check`] or x has fewer
/// than 2 dimensions.
pub fn lrn_forward(x: &Tensor, p: LrnParams) -> Result<(Tensor, Tensor)> {
    p.check()?;
    let (_, c, s) = dims("local_response_norm", x.shape())?;
    let xd = x.data();
    let coef = p.alpha / p.size as f32;
    let (mut out, mut scale) = (vec![0.0; x.numel()], vec![0.0; x.numel()]);
    per_sample([&mut out, &mut scale], c * s, |i, [out, scale]| {
        let a = &xd[i * c * s..(i + 1) * c * s];
        for ch in 0..c {
            let sc = &mut scale[ch * s..(ch + 1) * s];
            let (lo, hi) = p.window(ch, c);
            for src in a[lo * s..hi * s].chunks_exact(s) {
                sc.iter_mut().zip(src).for_each(|(d, &v)| *d += v * v);
            }
            let o = &mut out[ch * s..(ch + 1) * s];
            for ((o, sv), &v) in o.iter_mut().zip(sc.iter_mut()).zip(&a[ch * s..(ch + 1) * s]) {
                *sv = p.k + coef * *sv;
                *o = v * pow_neg(*sv, p.beta);
            }
        }
    });
    Ok((Tensor::new_unchecked(out, x.shape()), Tensor::new_unchecked(scale, x.shape())))
}

/// Backward: `dx_j = g_j s_j^-beta - (2 alpha beta / n) x_j sum_{i: j in window(i)} g_i b_i / s_i`,
/// from the forward's input `x`, its `out` and `scale`, and the output gradient `g`. All
/// tensors are shaped like the input (`[N, C, ...]`); errors if they differ. `p` must be
/// the forward's (already checked) parameters.
pub fn lrn_backward(x: &Tensor, out: &Tensor, scale: &Tensor, g: &Tensor, p: LrnParams) -> Result<Tensor> {
    for t in [out, scale, g] {
        if t.shape() != x.shape() {
            return Err(Error::ShapeMismatch {
                op: "local_response_norm backward",
                left: x.shape().to_vec(),
                right: t.shape().to_vec(),
            });
        }
    }
    let (_, c, s) = dims("local_response_norm backward", x.shape())?;
    let (xd, od, sd, gd) = (x.data(), out.data(), scale.data(), g.data());
    let coef = 2.0 * p.alpha * p.beta / p.size as f32;
    // Per sample: t = g * b / s into a scratch vector (one allocation per sample), then each
    // channel of dx sums t over the channels whose windows contain it and is finished in place.
    let mut dx = vec![0.0; x.numel()];
    let cs = c * s;
    per_sample([&mut dx], cs, |i, [dx]| {
        let r = i * cs..(i + 1) * cs;
        let (a, b, sc, gg) = (&xd[r.clone()], &od[r.clone()], &sd[r.clone()], &gd[r]);
        let t: Vec<f32> = gg.iter().zip(b).zip(sc).map(|((g, b), s)| g * b / s).collect();
        for ch in 0..c {
            let d = &mut dx[ch * s..(ch + 1) * s];
            let (lo, hi) = p.users(ch, c);
            for src in t[lo * s..hi * s].chunks_exact(s) {
                d.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            }
            let row = ch * s..(ch + 1) * s;
            for (((d, &av), &sv), &gv) in d.iter_mut().zip(&a[row.clone()]).zip(&sc[row.clone()]).zip(&gg[row]) {
                *d = gv * pow_neg(sv, p.beta) - coef * av * *d;
            }
        }
    });
    Ok(Tensor::new_unchecked(dx, x.shape()))
}

/// Naive reference for [`lrn_forward`]'s output: the formula, element by element, in f64.
pub fn lrn_reference(x: &Tensor, p: LrnParams) -> Result<Tensor> {
    p.check()?;
    let (n, c, s) = dims("local_response_norm", x.shape())?;
    let xd = x.data();
    let mut out = vec![0.0; x.numel()];
    for i in 0..n {
        for ch in 0..c {
            for j in 0..s {
                let lo = ch as isize - (p.size / 2) as isize;
                let hi = ch as isize + ((p.size - 1) / 2) as isize;
                let sum: f64 = (lo..=hi)
                    .filter(|&q| q >= 0 && (q as usize) < c)
                    .map(|q| (xd[(i * c + q as usize) * s + j] as f64).powi(2))
                    .sum();
                let sc = p.k as f64 + p.alpha as f64 / p.size as f64 * sum;
                out[(i * c + ch) * s + j] = (xd[(i * c + ch) * s + j] as f64 / sc.powf(p.beta as f64)) as f32;
            }
        }
    }
    Tensor::from_vec(out, x.shape())
}

/// Reference gradient: the full Jacobian-vector product `dx_j = sum_i g_i db_i/dx_j`, each
/// partial derivative written out, in f64.
pub fn lrn_backward_reference(x: &Tensor, g: &Tensor, p: LrnParams) -> Result<Tensor> {
    let (n, c, s) = dims("local_response_norm backward", x.shape())?;
    let (xd, gd) = (x.data(), g.data());
    let v = |i: usize, ch: usize, j: usize| xd[(i * c + ch) * s + j] as f64;
    let (alpha, beta, size) = (p.alpha as f64, p.beta as f64, p.size as f64);
    let mut dx = vec![0.0f64; x.numel()];
    for i in 0..n {
        for j in 0..s {
            for out_ch in 0..c {
                let (lo, hi) = p.window(out_ch, c);
                let sc = p.k as f64 + alpha / size * (lo..hi).map(|q| v(i, q, j).powi(2)).sum::<f64>();
                let g = gd[(i * c + out_ch) * s + j] as f64;
                // d b / d a_out = sc^-beta; d b / d a_q (q in window) -= beta a_out sc^(-beta-1) 2 alpha/n a_q
                dx[(i * c + out_ch) * s + j] += g * sc.powf(-beta);
                for q in lo..hi {
                    dx[(i * c + q) * s + j] -=
                        g * beta * v(i, out_ch, j) * sc.powf(-beta - 1.0) * 2.0 * alpha / size * v(i, q, j);
                }
            }
        }
    }
    Tensor::from_vec(dx.into_iter().map(|d| d as f32).collect(), x.shape())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    #[test]
    fn fast_kernels_match_the_references() {
        let mut rng = Rng::seeded(8);
        for (shape, size) in
            [(vec![2, 7, 3, 3], 5), (vec![3, 4], 2), (vec![2, 6, 4, 5], 4), (vec![4, 12, 40, 40], 5), (vec![1, 3, 2, 2], 9)]
        {
            // large alpha so the normalization matters in the comparison
            let p = LrnParams { size, alpha: 0.5, beta: 0.75, k: 1.0 };
            let x = Tensor::rand_normal(&shape, 0.0, 2.0, &mut rng);
            let (out, scale) = lrn_forward(&x, p).unwrap();
            let want = lrn_reference(&x, p).unwrap();
            assert!(out.max_abs_diff(&want).unwrap() < 1e-5, "{shape:?} n={size}");
            let g = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
            let dx = lrn_backward(&x, &out, &scale, &g, p).unwrap();
            let want = lrn_backward_reference(&x, &g, p).unwrap();
            assert!(dx.max_abs_diff(&want).unwrap() < 1e-4, "{shape:?} n={size}");
        }
        // other beta takes the powf path
        let p = LrnParams { size: 3, alpha: 0.3, beta: 0.6, k: 2.0 };
        let x = Tensor::rand_normal(&[2, 5, 3], 0.0, 2.0, &mut rng);
        assert!(lrn_forward(&x, p).unwrap().0.max_abs_diff(&lrn_reference(&x, p).unwrap()).unwrap() < 1e-5);
    }

    #[test]
    fn a_hand_computed_example() {
        // one pixel, channels [1, 2, 3], n = 3, alpha = 3 (alpha / n = 1), beta = 1, k = 1
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3, 1, 1]).unwrap();
        let (out, _) = lrn_forward(&x, LrnParams { size: 3, alpha: 3.0, beta: 1.0, k: 1.0 }).unwrap();
        let want = [1.0 / (1.0 + 1.0 + 4.0), 2.0 / (1.0 + 1.0 + 4.0 + 9.0), 3.0 / (1.0 + 4.0 + 9.0)];
        assert!(out.data().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn bad_settings_are_errors() {
        let x = Tensor::zeros(&[1, 3, 2, 2]);
        assert!(lrn_forward(&x, LrnParams { size: 0, alpha: 1e-4, beta: 0.75, k: 1.0 }).is_err());
        assert!(lrn_forward(&x, LrnParams { size: 5, alpha: 1e-4, beta: 0.75, k: 0.0 }).is_err());
        assert!(lrn_forward(&Tensor::zeros(&[3]), LrnParams { size: 5, alpha: 1e-4, beta: 0.75, k: 1.0 }).is_err());
    }
}
