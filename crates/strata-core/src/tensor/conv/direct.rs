//! Direct convolution for few input channels (LeNet's 1 and 6, the first layer of most
//! image networks), with AVX2 + FMA register-blocked kernels. Shapes: x [N, C, H, W],
//! w [O, C, KH, KW], bias `[O]`, out [N, O, OH, OW]; stride 1, no dilation, one group.
//!
//! With C < 8 input channels the GEMM behind im2col is thin (K = C * KH * KW = 25 for
//! LeNet's first layer) and the im2col copy, 25 floats written per input pixel, costs
//! more than the product. Here nothing is copied but one zero-padded plane per channel.
//! As in the strip kernels (strip.rs), a channel's padded plane `[Hp][Wp]` is read
//! as one flat array: output position `i = y * Wp + x` of a "wide" output row needs input
//! `i + ky * Wp + kx` for tap (ky, kx), so every tap is a contiguous run of the plane and
//! the loops vectorize over 8 positions at a time. Columns `x >= OW` of the wide output are
//! garbage and dropped; at most `(Wp - OW) / Wp` of the work is wasted.
//!
//! - forward: a block of 4 output channels x 3 vectors of positions (or 6 x 2) lives in
//!   12 registers; each tap loads the input vectors and broadcasts one weight per channel.
//! - dW: per output-channel pair, input channel and kernel row, KW x 2 accumulators sum
//!   dy (zero at garbage positions) times the shifted input over every position.
//! - dx: the same gathering kernel run over dy laid out on the wide grid (zero at garbage
//!   positions, with a zero margin in front), reading tap (ky, kx) at `-(ky * Wp + kx)`.
//!
//! Samples are split into one chunk per worker; buffers are per worker and reused.

use super::geometry::Conv2dGeom;
use crate::tensor::parallel::chunk_len;
use rayon::prelude::*;

/// Whether the direct kernels handle this convolution: stride 1, no dilation, one group,
/// fewer than 8 input channels (the strip and Winograd kernels take the rest), kernels at
/// most 7 wide (the dW kernels are unrolled per width), and a CPU with AVX2 and FMA
/// enabled at compile time.
pub(super) fn applies(g: &Conv2dGeom) -> bool {
    SIMD && g.stride == (1, 1) && g.dilation == (1, 1) && g.groups == 1 && g.c < 8 && g.kw <= 7
}

/// Whether this build has the kernels' instructions (AVX2 and FMA); without them the direct
/// kernels are the portable fallbacks and are never chosen.
pub(super) const SIMD: bool = cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"));

/// Positions per register.
const LANES: usize = 8;

/// Register blocking of the forward kernel for `outputs` output channels: (channels,
/// vectors of positions) per block. 4 x 3 and 6 x 2 both keep 12 accumulators; six
/// channels (LeNet) take 6 x 2 rather than a 4 x 3 block and a half-empty 2 x 3 one.
fn blocking(outputs: usize) -> (usize, usize) {
    if outputs.is_multiple_of(6) && !outputs.is_multiple_of(4) { (6, 2) } else { (4, 3) }
}

/// Padded planes of one sample and the wide output grid.
#[derive(Clone, Copy, Debug)]
struct Planes {
    wp: usize,
    /// Wide output positions, rounded up to whole forward blocks.
    wide: usize,
    /// Floats per padded input plane, including the slack the last block reads into.
    stride: usize,
}

impl Planes {
    fn new(g: &Conv2dGeom) -> Planes {
        let hp = g.h + g.pad.0 + g.pad.1;
        let wp = g.w + g.pad.2 + g.pad.3;
        let block = blocking(g.o).1 * LANES;
        let wide = (g.oh * wp).div_ceil(block) * block;
        // Largest index read: wide - 1 + (kh - 1) * wp + kw - 1.
        let need = wide + (g.kh - 1) * wp + g.kw - 1;
        let stride = need.max(hp * wp).div_ceil(LANES) * LANES;
        Planes { wp, wide, stride }
    }
}

/// Copies one sample `x` [C, H, W] into the interior of its padded planes (the border and
/// slack are never written, so they stay zero).
fn fill_planes(g: &Conv2dGeom, p: &Planes, x: &[f32], planes: &mut [f32]) {
    for (c, src) in x.chunks_exact(g.h * g.w).enumerate() {
        let base = c * p.stride + g.pad.0 * p.wp + g.pad.2;
        for (y, row) in src.chunks_exact(g.w).enumerate() {
            planes[base + y * p.wp..base + y * p.wp + g.w].copy_from_slice(row);
        }
    }
}

/// Forward: x [N, C, H, W], w [O, C, KH, KW], bias `[O]` -> out [N, O, OH, OW].
pub(super) fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let p = Planes::new(g);
    let (chw, ohw) = (g.c * g.h * g.w, g.oh * g.ow);
    // Input offsets of every (channel, tap), in the weights' order.
    let mut offsets = Vec::with_capacity(g.k());
    for c in 0..g.c {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                offsets.push(c * p.stride + ky * p.wp + kx);
            }
        }
    }
    let mut out = vec![0.0; g.n * g.o * ohw];
    let per = chunk_len(g.n);
    out.par_chunks_mut(per * g.o * ohw).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
        let mut planes = vec![0.0f32; g.c * p.stride];
        let mut wide = vec![0.0f32; g.o * p.wide];
        for (out, x) in out.chunks_exact_mut(g.o * ohw).zip(x.chunks_exact(chw)) {
            fill_planes(g, &p, x, &mut planes);
            gather(&planes, &offsets, w, g.o, p.wide, &mut wide);
            for (o, (dst, src)) in out.chunks_exact_mut(ohw).zip(wide.chunks_exact(p.wide)).enumerate() {
                let b = bias.map_or(0.0, |b| b[o]);
                for (d, s) in dst.chunks_exact_mut(g.ow).zip(src.chunks(p.wp)) {
                    d.iter_mut().zip(s).for_each(|(d, s)| *d = s + b);
                }
            }
        }
    });
    out
}

/// `dst[r][i] = sum_t w[r][t] * src[offsets[t] + i]` for `outputs` rows of weights
/// `w [outputs, offsets.len()]` and every position `i < wide` (a whole number of blocks
/// for [`blocking`]`(outputs)`): the forward convolution, and the input gradient.
fn gather(src: &[f32], offsets: &[usize], w: &[f32], outputs: usize, wide: usize, dst: &mut [f32]) {
    let k = offsets.len();
    let (rows, vectors) = blocking(outputs);
    let mut o = 0;
    while o < outputs {
        let r = (outputs - o).min(rows);
        let (w, dst) = (&w[o * k..(o + r) * k], &mut dst[o * wide..(o + r) * wide]);
        match (r, vectors) {
            (6, _) => block::<6, 2>(src, offsets, w, wide, dst),
            (4, _) => block::<4, 3>(src, offsets, w, wide, dst),
            (3, _) => block::<3, 3>(src, offsets, w, wide, dst),
            (2, _) => block::<2, 3>(src, offsets, w, wide, dst),
            _ => block::<1, 3>(src, offsets, w, wide, dst),
        }
        o += r;
    }
}

/// [`gather`] for one block of RB output rows, VB vectors of positions at a time.
#[allow(clippy::needless_range_loop)] // indices pair register arrays (acc[r][v] with w[r], x[v])
fn block<const RB: usize, const VB: usize>(src: &[f32], offsets: &[usize], w: &[f32], wide: usize, dst: &mut [f32]) {
    let k = offsets.len();
    assert!(w.len() >= RB * k && dst.len() >= RB * wide && wide.is_multiple_of(VB * LANES));
    assert!(offsets.iter().all(|&off| off + wide <= src.len()));
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    // SAFETY: the asserts bound every read (offset + i + 8 <= offset + wide) and write.
    unsafe {
        use std::arch::x86_64::*;
        let (sp, wp, dp) = (src.as_ptr(), w.as_ptr(), dst.as_mut_ptr());
        for i in (0..wide).step_by(VB * LANES) {
            let mut acc = [[_mm256_setzero_ps(); VB]; RB];
            for (t, &off) in offsets.iter().enumerate() {
                let at = sp.add(off + i);
                let xv: [__m256; VB] = std::array::from_fn(|v| _mm256_loadu_ps(at.add(v * LANES)));
                for r in 0..RB {
                    let wv = _mm256_broadcast_ss(&*wp.add(r * k + t));
                    for v in 0..VB {
                        acc[r][v] = _mm256_fmadd_ps(wv, xv[v], acc[r][v]);
                    }
                }
            }
            for r in 0..RB {
                for v in 0..VB {
                    _mm256_storeu_ps(dp.add(r * wide + i + v * LANES), acc[r][v]);
                }
            }
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")))]
    for r in 0..RB {
        for i in 0..wide {
            dst[r * wide + i] = offsets.iter().enumerate().map(|(t, &off)| w[r * k + t] * src[off + i]).sum();
        }
    }
}

/// Backward: from dy [N, O, OH, OW] compute dx (if `need_dx`), dw and db (if `need_db`).
pub(super) fn backward(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    let dx = need_dx.then(|| input_gradient(g, w, dy));
    let ohw = g.oh * g.ow;
    let db = need_db.then(|| {
        let mut db = vec![0.0f32; g.o];
        for dy_n in dy.chunks_exact(g.o * ohw) {
            for (d, plane) in db.iter_mut().zip(dy_n.chunks_exact(ohw)) {
                *d += plane.iter().sum::<f32>();
            }
        }
        db
    });
    (dx, weight_gradient(g, x, dy), db)
}

/// dx [N, C, H, W]: `dx_pad[c][j] = sum_{o,ky,kx} w[o][c][ky][kx] * dy_wide[o][j - ky*Wp - kx]`
/// on the padded input grid (j = y * Wp + x), i.e. the forward kernel run over dy laid out
/// on the wide grid with a zero margin in front. Only the interior of dx_pad is kept.
fn input_gradient(g: &Conv2dGeom, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let p = Planes::new(g);
    let (chw, ohw, taps) = (g.c * g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let hp = g.h + g.pad.0 + g.pad.1;
    let block = blocking(g.c).1 * LANES;
    let grid = (hp * p.wp).div_ceil(block) * block;
    // Each output channel's dy plane: margin zeros, dy on the wide grid, zeros to the end.
    let margin = (g.kh - 1) * p.wp + g.kw - 1;
    let stride = (margin + grid).div_ceil(LANES) * LANES;
    // Weights as [C][O * KH * KW] with offsets for (o, ky, kx) in the same order.
    let mut wt = vec![0.0f32; w.len()];
    let mut offsets = Vec::with_capacity(g.o * taps);
    for o in 0..g.o {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                offsets.push(o * stride + margin - ky * p.wp - kx);
            }
        }
    }
    for o in 0..g.o {
        for c in 0..g.c {
            for t in 0..taps {
                wt[c * g.o * taps + o * taps + t] = w[(o * g.c + c) * taps + t];
            }
        }
    }
    let mut dx = vec![0.0f32; g.n * chw];
    let per = chunk_len(g.n);
    dx.par_chunks_mut(per * chw).zip(dy.par_chunks(per * g.o * ohw)).for_each(|(dx, dy)| {
        let mut planes = vec![0.0f32; g.o * stride];
        let mut grad = vec![0.0f32; g.c * grid];
        for (dx, dy) in dx.chunks_exact_mut(chw).zip(dy.chunks_exact(g.o * ohw)) {
            for (plane, src) in planes.chunks_exact_mut(stride).zip(dy.chunks_exact(ohw)) {
                for (y, row) in src.chunks_exact(g.ow).enumerate() {
                    plane[margin + y * p.wp..margin + y * p.wp + g.ow].copy_from_slice(row);
                }
            }
            gather(&planes, &offsets, &wt, g.c, grid, &mut grad);
            for (dst, src) in dx.chunks_exact_mut(g.h * g.w).zip(grad.chunks_exact(grid)) {
                for (y, row) in dst.chunks_exact_mut(g.w).enumerate() {
                    let at = (y + g.pad.0) * p.wp + g.pad.2;
                    row.copy_from_slice(&src[at..at + g.w]);
                }
            }
        }
    });
    dx
}

/// dW [O, C, KH, KW] summed over the batch.
fn weight_gradient(g: &Conv2dGeom, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let p = Planes::new(g);
    let (chw, ohw, taps) = (g.c * g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let per = chunk_len(g.n);
    // Accumulators are kept as 8-lane vectors per weight and summed across lanes at the end.
    let lanes = x
        .par_chunks(per * chw)
        .zip(dy.par_chunks(per * g.o * ohw))
        .map(|(x, dy)| {
            let mut acc = vec![0.0f32; g.o * g.c * taps * LANES];
            let mut planes = vec![0.0f32; g.c * p.stride];
            let mut dy_wide = vec![0.0f32; g.o * p.wide];
            for (x, dy) in x.chunks_exact(chw).zip(dy.chunks_exact(g.o * ohw)) {
                fill_planes(g, &p, x, &mut planes);
                for (dst, src) in dy_wide.chunks_exact_mut(p.wide).zip(dy.chunks_exact(ohw)) {
                    for (d, s) in dst.chunks_mut(p.wp).zip(src.chunks_exact(g.ow)) {
                        d[..g.ow].copy_from_slice(s);
                    }
                }
                sample_weight_gradient(g, &p, &planes, &dy_wide, &mut acc);
            }
            acc
        })
        .reduce(
            || vec![0.0f32; g.o * g.c * taps * LANES],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        );
    lanes.chunks_exact(LANES).map(|l| l.iter().sum()).collect()
}

/// Adds one sample's dW into the lane accumulators `acc [O][C][KH][KW][8]`. `dy_wide` is
/// zero at garbage positions (written once, only valid columns are ever overwritten).
fn sample_weight_gradient(g: &Conv2dGeom, p: &Planes, planes: &[f32], dy_wide: &[f32], acc: &mut [f32]) {
    macro_rules! dispatch {
        ($($kw:literal),*) => {
            match g.kw {
                $($kw => {
                    let mut o = 0;
                    while o < g.o {
                        if o + 1 < g.o {
                            rows_weight_gradient::<$kw, 2>(g, p, planes, dy_wide, o, acc);
                            o += 2;
                        } else {
                            rows_weight_gradient::<$kw, 1>(g, p, planes, dy_wide, o, acc);
                            o += 1;
                        }
                    }
                })*
                _ => unreachable!("applies() limits KW to 7"),
            }
        };
    }
    dispatch!(1, 2, 3, 4, 5, 6, 7);
}

/// dW of OB output channels starting at `o0`, every input channel and kernel row: KW x OB
/// vector accumulators summed over every wide position.
#[allow(clippy::needless_range_loop)] // indices pair register arrays (acc[r][v] with w[r], x[v])
fn rows_weight_gradient<const KW: usize, const OB: usize>(
    g: &Conv2dGeom,
    p: &Planes,
    planes: &[f32],
    dy_wide: &[f32],
    o0: usize,
    acc: &mut [f32],
) {
    let taps = g.kh * g.kw;
    assert!(dy_wide.len() >= (o0 + OB) * p.wide && acc.len() >= (o0 + OB) * g.c * taps * LANES);
    assert!(planes.len() >= (g.c - 1) * p.stride + (g.kh - 1) * p.wp + KW - 1 + p.wide);
    for c in 0..g.c {
        for ky in 0..g.kh {
            let base = c * p.stride + ky * p.wp;
            // acc index of (o, c, ky, kx = 0)
            let at = |o: usize| ((o * g.c + c) * taps + ky * g.kw) * LANES;
            #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
            // SAFETY: the asserts bound every read: base + kx + i + 8 <= planes.len() for
            // i + 8 <= p.wide, and the accumulators of channels o0..o0+OB.
            unsafe {
                use std::arch::x86_64::*;
                let (pp, dp, ap) = (planes.as_ptr().add(base), dy_wide.as_ptr(), acc.as_mut_ptr());
                let mut a = [[_mm256_setzero_ps(); KW]; OB];
                for (r, a_r) in a.iter_mut().enumerate() {
                    for (kx, a) in a_r.iter_mut().enumerate() {
                        *a = _mm256_loadu_ps(ap.add(at(o0 + r) + kx * LANES));
                    }
                }
                for i in (0..p.wide).step_by(LANES) {
                    let d: [__m256; OB] = std::array::from_fn(|r| _mm256_loadu_ps(dp.add((o0 + r) * p.wide + i)));
                    for kx in 0..KW {
                        let xv = _mm256_loadu_ps(pp.add(i + kx));
                        for r in 0..OB {
                            a[r][kx] = _mm256_fmadd_ps(d[r], xv, a[r][kx]);
                        }
                    }
                }
                for (r, a_r) in a.iter().enumerate() {
                    for (kx, a) in a_r.iter().enumerate() {
                        _mm256_storeu_ps(ap.add(at(o0 + r) + kx * LANES), *a);
                    }
                }
            }
            #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")))]
            for r in 0..OB {
                for kx in 0..KW {
                    let s: f32 = (0..p.wide).map(|i| dy_wide[(o0 + r) * p.wide + i] * planes[base + i + kx]).sum();
                    acc[at(o0 + r) + kx * LANES] += s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::kernel_check::{Case, assert_matches_reference};
    use super::*;

    /// LeNet's two layers and awkward ones: rectangular kernels, uneven padding (also
    /// wider than the kernel), odd channel counts (forward block tails), widths that are no
    /// multiple of 8, and six output channels (the 6 x 2 blocks).
    const CASES: &[Case] = &[
        ([3, 1, 28, 28], [6, 1, 5, 5], (2, 2, 2, 2)),
        ([2, 6, 14, 14], [16, 6, 5, 5], (0, 0, 0, 0)),
        ([2, 3, 9, 7], [5, 3, 3, 2], (1, 0, 0, 1)),
        ([1, 2, 5, 11], [7, 2, 1, 7], (0, 0, 3, 6)),
        ([4, 1, 6, 6], [1, 1, 3, 3], (1, 1, 1, 1)),
        ([2, 2, 4, 4], [3, 2, 2, 2], (3, 1, 2, 0)),
        ([2, 7, 8, 8], [12, 7, 3, 3], (1, 1, 1, 1)),
        ([2, 6, 9, 9], [6, 6, 3, 3], (0, 0, 0, 0)),
    ];

    #[test]
    fn matches_the_reference_and_the_im2col_backward() {
        // Without AVX2/FMA the scalar fallbacks are checked (the dispatcher never picks them).
        assert_matches_reference(13, CASES, |g| applies(g) || !SIMD, &forward, &backward, |r| 1e-3 * (1.0 + r.abs()));
    }
}
