//! 2-D convolution (cross-correlation, as in every deep-learning library) over NCHW
//! tensors, lowered to GEMM per sample: `out_n [O, P] = W [O, K] x cols_n [K, P]` where
//! `cols_n` is the im2col matrix of sample n (K = C/groups * kh * kw rows, P = OH * OW).
//!
//! Samples are split into one chunk per worker; each worker reuses one `cols` buffer and
//! runs single-threaded GEMMs, so there is no allocation per sample and no fork-join per
//! product. `im2col` copies whole output rows at a time (contiguous for stride 1).

use super::matmul::gemm_serial as gemm;
use super::parallel::chunk_len;
use crate::{Error, Result};
use rayon::prelude::*;

/// Everything about one convolution's shapes. Input [N, C, H, W], weight
/// [O, C/groups, KH, KW], output [N, O, OH, OW].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    /// (top, bottom, left, right) zero padding.
    pub pad: (usize, usize, usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Conv2dGeom {
    /// Checks the shapes and computes the output size
    /// `(n + pad_before + pad_after - d (k - 1) - 1) / s + 1` per axis.
    pub fn new(
        input: &[usize],
        weight: &[usize],
        stride: (usize, usize),
        pad: (usize, usize, usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Conv2dGeom> {
        let mismatch = |why: &str| {
            Error::bad_shape(
                "conv2d",
                input,
                format!("{why} (weight {weight:?}, stride {stride:?}, padding {pad:?}, dilation {dilation:?}, groups {groups})"),
            )
        };
        let (&[n, c, h, w], &[o, cg, kh, kw]) = (input, weight) else {
            return Err(mismatch("input must be [N, C, H, W] and weight [O, C/groups, KH, KW]"));
        };
        if groups == 0 || c % groups != 0 || o % groups != 0 || cg * groups != c {
            return Err(mismatch("channels do not divide into the groups"));
        }
        if stride.0 == 0 || stride.1 == 0 || dilation.0 == 0 || dilation.1 == 0 || kh == 0 || kw == 0 {
            return Err(mismatch("kernel, stride and dilation must be at least 1"));
        }
        let span_h = dilation.0 * (kh - 1) + 1;
        let span_w = dilation.1 * (kw - 1) + 1;
        let (ph, pw) = (h + pad.0 + pad.1, w + pad.2 + pad.3);
        if ph < span_h || pw < span_w {
            return Err(mismatch("the kernel is larger than the padded input"));
        }
        Ok(Conv2dGeom {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            stride,
            pad,
            dilation,
            groups,
            oh: (ph - span_h) / stride.0 + 1,
            ow: (pw - span_w) / stride.1 + 1,
        })
    }
    /// Rows of the im2col matrix per group: C/groups * KH * KW.
    pub fn k(&self) -> usize {
        self.c / self.groups * self.kh * self.kw
    }
    /// Output pixels per channel: OH * OW.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.oh, self.ow]
    }
    /// Multiply-accumulates of one sample's forward pass.
    pub fn macs_per_sample(&self) -> u64 {
        (self.o * self.k() * self.p()) as u64
    }
    /// A 1x1, stride-1, unpadded convolution: the input already is its im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.pad == (0, 0, 0, 0)
    }
}

/// Copies a short run without a `memcpy` call (runs here are one output row: 5-60 values).
#[inline(always)]
#[allow(clippy::manual_memcpy)] // deliberately not `copy_from_slice` (a memcpy call)
pub(super) fn copy_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    let mut i = 0;
    while i + 8 <= n {
        dst[i..i + 8].copy_from_slice(&src[i..i + 8]);
        i += 8;
    }
    for j in i..n {
        dst[j] = src[j];
    }
}

/// Adds a short run: `dst += src`.
#[inline(always)]
fn add_run(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Zeroes a short run without a `memset` call.
#[inline(always)]
fn zero_run(dst: &mut [f32]) {
    for d in dst.iter_mut() {
        *d = 0.0;
    }
}

/// Output columns `lo..hi` of kernel column `kx` whose input column
/// `ix = ox*sw - left + kx*dw` falls inside [0, W); `off` is `kx*dw - left`.
#[inline]
fn valid_columns(g: &Conv2dGeom, kx: usize) -> (isize, usize, usize) {
    let sw = g.stride.1;
    let off = (kx * g.dilation.1) as isize - g.pad.2 as isize;
    let lo = if off >= 0 { 0 } else { ((-off) as usize).div_ceil(sw) }.min(g.ow);
    let hi = if (g.w as isize) <= off { 0 } else { ((g.w as isize - off) as usize).div_ceil(sw).min(g.ow) }.max(lo);
    (off, lo, hi)
}

/// Fills columns `col0..col0+P` of `cols` (rows of length `ld`, K rows) with the im2col
/// matrix of channels `c0..c0+C/groups` of one sample `x` [C, H, W].
fn im2col(g: &Conv2dGeom, x: &[f32], c0: usize, cols: &mut [f32], ld: usize, col0: usize) {
    let (p, ow) = (g.p(), g.ow);
    let (sh, sw) = g.stride;
    let mut row = 0;
    for c in c0..c0 + g.c / g.groups {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let dst = &mut cols[row * ld + col0..row * ld + col0 + p];
                let (off, lo, hi) = valid_columns(g, kx);
                for oy in 0..g.oh {
                    let iy = (oy * sh + ky * g.dilation.0) as isize - g.pad.0 as isize;
                    let out = &mut dst[oy * ow..(oy + 1) * ow];
                    if iy < 0 || iy >= g.h as isize {
                        zero_run(out);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    zero_run(&mut out[..lo]);
                    zero_run(&mut out[hi..]);
                    if sw == 1 {
                        let start = (lo as isize + off) as usize;
                        copy_run(&mut out[lo..hi], &src[start..start + (hi - lo)]);
                    } else {
                        for (ox, o) in out[lo..hi].iter_mut().enumerate() {
                            *o = src[((ox + lo) as isize * sw as isize + off) as usize];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Adds columns `col0..col0+P` of `cols` (rows of length `ld`) back into one sample's input
/// gradient `dx` [C, H, W] (the adjoint of `im2col`).
fn col2im(g: &Conv2dGeom, cols: &[f32], ld: usize, col0: usize, c0: usize, dx: &mut [f32]) {
    let (p, ow) = (g.p(), g.ow);
    let (sh, sw) = g.stride;
    let mut row = 0;
    for c in c0..c0 + g.c / g.groups {
        let plane = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let src = &cols[row * ld + col0..row * ld + col0 + p];
                let (off, lo, hi) = valid_columns(g, kx);
                for oy in 0..g.oh {
                    let iy = (oy * sh + ky * g.dilation.0) as isize - g.pad.0 as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let dst = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let s = &src[oy * ow + lo..oy * ow + hi];
                    if sw == 1 {
                        let start = (lo as isize + off) as usize;
                        add_run(&mut dst[start..start + (hi - lo)], s);
                    } else {
                        for (i, v) in s.iter().enumerate() {
                            dst[((i + lo) as isize * sw as isize + off) as usize] += v;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Samples whose im2col matrices sit side by side in one GEMM: small images (LeNet's
/// 10x10 maps) would otherwise give products too small for the GEMM kernel to run fast.
fn samples_per_gemm(g: &Conv2dGeom, chunk: usize) -> usize {
    if g.is_pointwise() { 1 } else { (1024 / g.p().max(1)).clamp(1, 16).min(chunk) }
}

/// Forward: x [N, C, H, W], w [O, C/groups, KH, KW], bias [O] -> out [N, O, OH, OW].
/// 3x3 stride-1 convolutions with enough channels take Winograd's F(2x2, 3x3); other
/// stride-1 ones the strip kernels (no im2col matrix), or with fewer than 8 input channels
/// the direct kernels.
pub fn conv2d_forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    if super::conv_winograd4::applies(g) {
        return super::conv_winograd4::forward(g, x, w, bias);
    }
    if super::conv_winograd::applies(g) {
        return super::conv_winograd::forward(g, x, w, bias);
    }
    if super::conv_strip::applies(g) {
        return super::conv_strip::forward(g, x, w, bias);
    }
    if super::conv_direct::applies(g) {
        return super::conv_direct::forward(g, x, w, bias);
    }
    conv2d_forward_im2col(g, x, w, bias)
}

/// [`conv2d_forward`] by im2col and one GEMM per sample (any geometry).
pub fn conv2d_forward_im2col(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (k, p, chw) = (g.k(), g.p(), g.c * g.h * g.w);
    let (og, cg) = (g.o / g.groups, g.c / g.groups);
    let mut out = vec![0.0; g.n * g.o * p];
    let per = chunk_len(g.n);
    let spg = samples_per_gemm(g, per);
    out.par_chunks_mut(per * g.o * p).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
        let mut cols = if g.is_pointwise() { Vec::new() } else { vec![0.0; k * p * spg] };
        let mut tmp = if spg > 1 { vec![0.0; og * p * spg] } else { Vec::new() };
        for (out, x) in out.chunks_mut(spg * g.o * p).zip(x.chunks(spg * chw)) {
            let s = x.len() / chw; // samples in this group
            for grp in 0..g.groups {
                let c0 = grp * cg;
                let wg = &w[grp * og * k..(grp + 1) * og * k];
                if s == 1 {
                    let out_g = &mut out[grp * og * p..(grp + 1) * og * p];
                    if let Some(b) = bias {
                        for (row, &bv) in out_g.chunks_mut(p).zip(&b[grp * og..]) {
                            row.fill(bv);
                        }
                    }
                    let src: &[f32] = if g.is_pointwise() {
                        &x[c0 * p..(c0 + cg) * p]
                    } else {
                        im2col(g, x, c0, &mut cols, p, 0);
                        &cols[..k * p]
                    };
                    gemm(og, p, k, wg, false, src, false, out_g, bias.is_some());
                    continue;
                }
                // s samples side by side: cols [K, s*P], tmp [Og, s*P]
                let ld = s * p;
                for (j, x_n) in x.chunks(chw).enumerate() {
                    im2col(g, x_n, c0, &mut cols, ld, j * p);
                }
                gemm(og, ld, k, wg, false, &cols[..k * ld], false, &mut tmp[..og * ld], false);
                for (j, out_n) in out.chunks_mut(g.o * p).enumerate() {
                    for o in 0..og {
                        let dst = &mut out_n[(grp * og + o) * p..(grp * og + o + 1) * p];
                        let src = &tmp[o * ld + j * p..o * ld + (j + 1) * p];
                        match bias {
                            Some(b) => dst.iter_mut().zip(src).for_each(|(d, v)| *d = v + b[grp * og + o]),
                            None => dst.copy_from_slice(src),
                        }
                    }
                }
            }
        }
    });
    out
}

/// Backward: from dy [N, O, OH, OW] compute dx (if `need_dx`), dw and db (if `need_db`).
pub fn conv2d_backward(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    if super::conv_winograd4::applies(g) {
        return super::conv_winograd4::backward(g, x, w, dy, need_dx, need_db);
    }
    if super::conv_winograd::applies(g) {
        return super::conv_winograd::backward(g, x, w, dy, need_dx, need_db);
    }
    if super::conv_strip::applies(g) {
        return super::conv_strip::backward(g, x, w, dy, need_dx, need_db);
    }
    if super::conv_direct::applies(g) {
        return super::conv_direct::backward(g, x, w, dy, need_dx, need_db);
    }
    conv2d_backward_im2col(g, x, w, dy, need_dx, need_db)
}

/// [`conv2d_backward`] by im2col/col2im and GEMMs per sample (any geometry).
pub fn conv2d_backward_im2col(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    let (k, p, chw) = (g.k(), g.p(), g.c * g.h * g.w);
    let (og, cg) = (g.o / g.groups, g.c / g.groups);
    let per = chunk_len(g.n);
    let spg = samples_per_gemm(g, per);
    let wsize = g.o * k;
    let mut dx = if need_dx { vec![0.0; g.n * chw] } else { Vec::new() };
    // Each chunk: its samples' dx, plus partial dw and db that are summed afterwards.
    let work = |x: &[f32], dy: &[f32], mut dx: Option<&mut [f32]>| -> (Vec<f32>, Vec<f32>) {
        let mut dw = vec![0.0; wsize];
        let mut db = vec![0.0; if need_db { g.o } else { 0 }];
        let mut cols = vec![0.0; k * p * spg];
        let mut dcols = if need_dx { vec![0.0; k * p * spg] } else { Vec::new() };
        let mut dyt = if spg > 1 { vec![0.0; og * p * spg] } else { Vec::new() };
        let group_len = spg * chw;
        for (gi, (x, dy)) in x.chunks(group_len).zip(dy.chunks(spg * g.o * p)).enumerate() {
            let s = x.len() / chw;
            let ld = s * p;
            if need_db {
                for dy_n in dy.chunks(g.o * p) {
                    for (d, row) in db.iter_mut().zip(dy_n.chunks(p)) {
                        *d += row.iter().sum::<f32>();
                    }
                }
            }
            for grp in 0..g.groups {
                let c0 = grp * cg;
                // dy of this group's samples as one [Og, s*P] matrix
                let dy_g: &[f32] = if s == 1 {
                    &dy[grp * og * p..(grp + 1) * og * p]
                } else {
                    for (j, dy_n) in dy.chunks(g.o * p).enumerate() {
                        for o in 0..og {
                            let src = &dy_n[(grp * og + o) * p..(grp * og + o + 1) * p];
                            dyt[o * ld + j * p..o * ld + (j + 1) * p].copy_from_slice(src);
                        }
                    }
                    &dyt[..og * ld]
                };
                let src: &[f32] = if g.is_pointwise() {
                    &x[c0 * p..(c0 + cg) * p]
                } else {
                    for (j, x_n) in x.chunks(chw).enumerate() {
                        im2col(g, x_n, c0, &mut cols, ld, j * p);
                    }
                    &cols[..k * ld]
                };
                // dw_g [Og, K] += dy_g [Og, s*P] x cols^T [s*P, K]
                super::packed_gemm::gemm_nt_acc(og, k, ld, dy_g, src, &mut dw[grp * og * k..(grp + 1) * og * k]);
                if let Some(dx) = dx.as_deref_mut() {
                    let wg = &w[grp * og * k..(grp + 1) * og * k];
                    let dx = &mut dx[gi * group_len..gi * group_len + s * chw];
                    if g.is_pointwise() {
                        // dx_g [Cg, P] += W_g^T [Cg, Og] x dy_g [Og, P]
                        gemm(k, p, og, wg, true, dy_g, false, &mut dx[c0 * p..(c0 + cg) * p], true);
                    } else {
                        // dcols [K, s*P] = W_g^T [K, Og] x dy_g [Og, s*P], then scatter back
                        gemm(k, ld, og, wg, true, dy_g, false, &mut dcols[..k * ld], false);
                        for (j, dx_n) in dx.chunks_mut(chw).enumerate() {
                            col2im(g, &dcols, ld, j * p, c0, dx_n);
                        }
                    }
                }
            }
        }
        (dw, db)
    };
    let sum = |mut a: (Vec<f32>, Vec<f32>), b: (Vec<f32>, Vec<f32>)| {
        a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x += y);
        a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
        a
    };
    let (dw, db) = if need_dx {
        dx.par_chunks_mut(per * chw)
            .zip(x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * p)))
            .map(|(dx, (x, dy))| work(x, dy, Some(dx)))
            .reduce(|| (vec![0.0; wsize], vec![0.0; if need_db { g.o } else { 0 }]), sum)
    } else {
        x.par_chunks(per * chw)
            .zip(dy.par_chunks(per * g.o * p))
            .map(|(x, dy)| work(x, dy, None))
            .reduce(|| (vec![0.0; wsize], vec![0.0; if need_db { g.o } else { 0 }]), sum)
    };
    (need_dx.then_some(dx), dw, need_db.then_some(db))
}

/// The definition, loop by loop: the reference the fast kernels are tested against.
pub fn conv2d_reference(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (cg, og) = (g.c / g.groups, g.o / g.groups);
    let mut out = vec![0.0; g.n * g.o * g.p()];
    for n in 0..g.n {
        for o in 0..g.o {
            let grp = o / og;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut s = bias.map_or(0.0, |b| b[o]) as f64;
                    for ci in 0..cg {
                        let c = grp * cg + ci;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let iy = (oy * g.stride.0 + ky * g.dilation.0) as isize - g.pad.0 as isize;
                                let ix = (ox * g.stride.1 + kx * g.dilation.1) as isize - g.pad.2 as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                    let xv = x[((n * g.c + c) * g.h + iy as usize) * g.w + ix as usize];
                                    let wv = w[((o * cg + ci) * g.kh + ky) * g.kw + kx];
                                    s += (xv * wv) as f64;
                                }
                            }
                        }
                    }
                    out[((n * g.o + o) * g.oh + oy) * g.ow + ox] = s as f32;
                }
            }
        }
    }
    out
}

/// Shared check of the fast kernels (strip, Winograd) against the definition.
#[cfg(test)]
pub(super) mod kernel_check {
    use super::*;
    use crate::Rng;

    type Forward = fn(&Conv2dGeom, &[f32], &[f32], Option<&[f32]>) -> Vec<f32>;
    type Backward = fn(&Conv2dGeom, &[f32], &[f32], &[f32], bool, bool) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>);
    /// (input NCHW, weight, padding top/bottom/left/right)
    pub type Case = ([usize; 4], [usize; 4], (usize, usize, usize, usize));

    /// For every case: the kernel applies; its forward matches [`conv2d_reference`] within
    /// `forward_tolerance(reference value)`; its dx, dW and db (and dW alone) match the
    /// im2col backward, which tests/gradients.rs checks against finite differences.
    pub fn assert_matches_reference(
        seed: u64,
        cases: &[Case],
        applies: fn(&Conv2dGeom) -> bool,
        forward: Forward,
        backward: Backward,
        forward_tolerance: fn(f32) -> f32,
    ) {
        let mut rng = Rng::seeded(seed);
        let mut rand = |n: usize| (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect::<Vec<f32>>();
        for &(xs, ws, pad) in cases {
            let g = Conv2dGeom::new(&xs, &ws, (1, 1), pad, (1, 1), 1).unwrap();
            assert!(applies(&g), "{xs:?} {ws:?} {pad:?}");
            let (x, w, b) = (rand(xs.iter().product()), rand(ws.iter().product()), rand(ws[0]));
            let fast = forward(&g, &x, &w, Some(&b));
            let slow = conv2d_reference(&g, &x, &w, Some(&b));
            assert_eq!(fast.len(), slow.len());
            for (i, (a, r)) in fast.iter().zip(&slow).enumerate() {
                assert!((a - r).abs() < forward_tolerance(*r), "{xs:?} {ws:?} {pad:?} forward[{i}]: {a} vs {r}");
            }
            let dy = rand(fast.len());
            let (dx, dw, db) = backward(&g, &x, &w, &dy, true, true);
            let (dx0, dw0, db0) = conv2d_backward_im2col(&g, &x, &w, &dy, true, true);
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len());
                for (i, (u, v)) in a.iter().zip(b).enumerate() {
                    assert!((u - v).abs() < 1e-3 * (1.0 + v.abs()), "{xs:?} {ws:?} {pad:?} {what}[{i}]: {u} vs {v}");
                }
            };
            close(&dx.unwrap(), &dx0.unwrap(), "dx");
            close(&dw, &dw0, "dw");
            close(&db.unwrap(), &db0.unwrap(), "db");
            let (no_dx, dw2, _) = backward(&g, &x, &w, &dy, false, false);
            assert!(no_dx.is_none());
            close(&dw2, &dw0, "dw without dx");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    #[test]
    fn lecture_example_cross_correlation() {
        // 3x3 input 0..8, 2x2 kernel 0..3 -> [[19, 25], [37, 43]]
        let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let w: Vec<f32> = (0..4).map(|v| v as f32).collect();
        let g = Conv2dGeom::new(&[1, 1, 3, 3], &[1, 1, 2, 2], (1, 1), (0, 0, 0, 0), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (2, 2));
        assert_eq!(conv2d_forward(&g, &x, &w, None), vec![19.0, 25.0, 37.0, 43.0]);
    }

    #[test]
    fn output_size_formula() {
        // (n + 2p - d(k-1) - 1)/s + 1
        let g = Conv2dGeom::new(&[1, 1, 28, 28], &[6, 1, 5, 5], (1, 1), (2, 2, 2, 2), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (28, 28));
        let g = Conv2dGeom::new(&[1, 3, 224, 224], &[64, 3, 11, 11], (4, 4), (2, 2, 2, 2), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (55, 55));
        let g = Conv2dGeom::new(&[1, 1, 7, 9], &[1, 1, 3, 3], (2, 3), (1, 1, 0, 0), (2, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), ((7 + 2 - 4 - 1) / 2 + 1, (9 - 2 - 1) / 3 + 1));
        assert!(Conv2dGeom::new(&[1, 1, 2, 2], &[1, 1, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 1).is_err());
        assert!(Conv2dGeom::new(&[1, 3, 8, 8], &[4, 3, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 2).is_err());
    }

    #[test]
    fn fast_kernel_matches_reference_on_awkward_shapes() {
        let mut rng = Rng::seeded(3);
        let cases = [
            // (input NCHW, weight, stride, pad, dilation, groups)
            ([3, 1, 28, 28], [6, 1, 5, 5], (1, 1), (2, 2, 2, 2), (1, 1), 1),
            ([2, 4, 9, 7], [6, 2, 3, 2], (2, 1), (1, 0, 2, 1), (1, 2), 2),
            ([5, 3, 6, 6], [4, 3, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1),
            ([2, 2, 8, 8], [3, 2, 3, 3], (3, 2), (1, 1, 1, 1), (2, 2), 1),
            ([1, 6, 5, 5], [6, 1, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 6),
            // several samples per GEMM (small maps, batch large enough to group)
            ([9, 3, 5, 5], [4, 3, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1),
            ([7, 4, 6, 5], [6, 2, 3, 3], (1, 2), (0, 1, 1, 0), (1, 1), 2),
        ];
        for (xs, ws, s, p, d, groups) in cases {
            let g = Conv2dGeom::new(&xs, &ws, s, p, d, groups).unwrap();
            let x: Vec<f32> = (0..xs.iter().product()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let w: Vec<f32> = (0..ws.iter().product()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..ws[0]).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let fast = conv2d_forward(&g, &x, &w, Some(&b));
            let slow = conv2d_reference(&g, &x, &w, Some(&b));
            for (a, r) in fast.iter().zip(&slow) {
                assert!((a - r).abs() < 1e-4, "{xs:?} {ws:?}: {a} vs {r}");
            }
            // backward against the reference via the adjoint identity:
            // <dy, conv(x)> differentiated = <dx, .> ; check dw, dx by finite sums
            let dy: Vec<f32> = (0..fast.len()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let (dx, dw, db) = conv2d_backward(&g, &x, &w, &dy, true, true);
            let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
                conv2d_reference(&g, x, w, Some(b)).iter().zip(&dy).map(|(y, d)| (*y * *d) as f64).sum()
            };
            let eps = 1e-2;
            for &i in &[0, x.len() / 2, x.len() - 1] {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += eps;
                xm[i] -= eps;
                let num = (loss(&xp, &w, &b) - loss(&xm, &w, &b)) / (2.0 * eps as f64);
                assert!((dx.as_ref().unwrap()[i] as f64 - num).abs() < 1e-2, "dx[{i}]");
            }
            for &i in &[0, w.len() / 3, w.len() - 1] {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[i] += eps;
                wm[i] -= eps;
                let num = (loss(&x, &wp, &b) - loss(&x, &wm, &b)) / (2.0 * eps as f64);
                assert!((dw[i] as f64 - num).abs() < 1e-2, "dw[{i}]: {} vs {num}", dw[i]);
            }
            let total: f32 = dy.chunks(g.p()).enumerate().filter(|(j, _)| j % g.o == 0).map(|(_, r)| r.iter().sum::<f32>()).sum();
            assert!((db.unwrap()[0] - total).abs() < 1e-3);
        }
    }
}
