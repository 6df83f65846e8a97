//! im2col + GEMM: 2-D convolution (cross-correlation, as in every deep-learning library)
//! over NCHW tensors, lowered to GEMM per sample: `out_n [O, P] = W [O, K] x cols_n [K, P]`
//! where `cols_n` is the im2col matrix of sample n (K = C/groups * kh * kw rows,
//! P = OH * OW). Shapes: x [N, C, H, W], w [O, C/groups, KH, KW], bias `[O]`, out
//! [N, O, OH, OW]. Works for every geometry (stride, padding, dilation, groups): the
//! fallback of the family, and the backward the faster kernels are tested against.
//!
//! Samples are split into one chunk per worker; each worker reuses one `cols` buffer and
//! runs single-threaded GEMMs, so there is no allocation per sample and no fork-join per
//! product. `im2col` copies whole output rows at a time (contiguous for stride 1).

use super::geometry::Conv2dGeom;
use super::runs::{add_partials, add_run, copy_run, zero_run};
use crate::tensor::matmul::gemm_serial as gemm;
use crate::tensor::packed_gemm::gemm_nt_acc;
use crate::tensor::parallel::chunk_len;
use rayon::prelude::*;

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

/// Forward: x [N, C, H, W], w [O, C/groups, KH, KW], bias `[O]` -> out [N, O, OH, OW], by
/// im2col and one GEMM per sample (any geometry).
pub(super) fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
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

/// Backward: from dy [N, O, OH, OW] compute dx [N, C, H, W] (if `need_dx`), dw
/// [O, C/groups, KH, KW] and db `[O]` (if `need_db`), by im2col/col2im and GEMMs per sample
/// (any geometry).
pub(super) fn backward(
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
                gemm_nt_acc(og, k, ld, dy_g, src, &mut dw[grp * og * k..(grp + 1) * og * k]);
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
    let (dw, db) = if need_dx {
        dx.par_chunks_mut(per * chw)
            .zip(x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * p)))
            .map(|(dx, (x, dy))| work(x, dy, Some(dx)))
            .reduce(|| (vec![0.0; wsize], vec![0.0; if need_db { g.o } else { 0 }]), add_partials)
    } else {
        x.par_chunks(per * chw)
            .zip(dy.par_chunks(per * g.o * p))
            .map(|(x, dy)| work(x, dy, None))
            .reduce(|| (vec![0.0; wsize], vec![0.0; if need_db { g.o } else { 0 }]), add_partials)
    };
    (need_dx.then_some(dx), dw, need_db.then_some(db))
}
