//! Direct convolution for few input channels (LeNet's 1 and 6, the first layer of most
//! image networks), with AVX2 + FMA register-blocked kernels.
//!
//! With C < 8 input channels the GEMM behind im2col is thin (K = C * KH * KW = 25 for
//! LeNet's first layer) and the im2col copy, 25 floats written per input pixel, costs
//! more than the product. Here nothing is copied but one zero-padded plane per channel.
//! As in the strip kernels (conv_strip.rs), a channel's padded plane `[Hp][Wp]` is read
//! as one flat array: output position `i = y * Wp + x` of a "wide" output row needs input
//! `i + ky * Wp + kx` for tap (ky, kx), so every tap is a contiguous run of the plane and
//! the loops vectorize over 8 positions at a time. Columns `x >= OW` of the wide output are
//! garbage and dropped; at most `(Wp - OW) / Wp` of the work is wasted.
//!
//! - forward: a block of R output channels x 3 vectors of positions lives in 12 registers;
//!   each tap loads 3 input vectors and broadcasts R weights.
//! - dW: per output-channel pair, input channel and kernel row, KW x 2 accumulators sum
//!   dy (zero at garbage positions) times the shifted input over every position.
//! - dx: the transposed convolution, which for stride 1 is the forward kernel run on dy
//!   with the weights flipped and transposed and padding `K - 1 - pad`.
//!
//! Samples are split into one chunk per worker; buffers are per worker and reused.

use super::conv::Conv2dGeom;
use rayon::prelude::*;

/// Whether the direct kernels handle this convolution: stride 1, no dilation, one group,
/// fewer than 8 input channels (the strip and Winograd kernels take the rest), padding at
/// most `K - 1` per side (so the transposed convolution needs no negative padding), and
/// a CPU with AVX2 and FMA enabled at compile time.
pub fn applies(g: &Conv2dGeom) -> bool {
    let pads_fit = g.pad.0 < g.kh && g.pad.1 < g.kh && g.pad.2 < g.kw && g.pad.3 < g.kw;
    SIMD && g.stride == (1, 1) && g.dilation == (1, 1) && g.groups == 1 && g.c < 8 && pads_fit && g.kw <= 7
}

const SIMD: bool = cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"));

/// Positions per register.
const LANES: usize = 8;
/// Vectors of positions per forward block.
const V: usize = 3;
/// Output channels per forward block.
const R: usize = 4;

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
        let wide = (g.oh * wp).div_ceil(V * LANES) * V * LANES;
        // Largest index read: wide - 1 + (kh - 1) * wp + kw - 1.
        let need = wide + (g.kh - 1) * wp + g.kw - 1;
        let stride = need.max(hp * wp).div_ceil(LANES) * LANES;
        Planes { wp, wide, stride }
    }
}

/// Samples per worker chunk.
fn chunk_len(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
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

/// Forward: x [N, C, H, W], w [O, C, KH, KW], bias [O] -> out [N, O, OH, OW].
pub fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let mut out = vec![0.0; g.n * g.o * g.oh * g.ow];
    forward_into(g, x, w, bias, &mut out);
    out
}

fn forward_into(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let p = Planes::new(g);
    let (chw, ohw) = (g.c * g.h * g.w, g.oh * g.ow);
    let per = chunk_len(g.n);
    out.par_chunks_mut(per * g.o * ohw).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
        let mut planes = vec![0.0f32; g.c * p.stride];
        let mut wide = vec![0.0f32; g.o * p.wide];
        for (out, x) in out.chunks_exact_mut(g.o * ohw).zip(x.chunks_exact(chw)) {
            fill_planes(g, &p, x, &mut planes);
            wide_forward(g, &p, &planes, w, &mut wide);
            for (o, (dst, src)) in out.chunks_exact_mut(ohw).zip(wide.chunks_exact(p.wide)).enumerate() {
                let b = bias.map_or(0.0, |b| b[o]);
                for (d, s) in dst.chunks_exact_mut(g.ow).zip(src.chunks(p.wp)) {
                    d.iter_mut().zip(s).for_each(|(d, s)| *d = s + b);
                }
            }
        }
    });
}

/// All output channels of one sample on the wide grid: wide [O][p.wide].
fn wide_forward(g: &Conv2dGeom, p: &Planes, planes: &[f32], w: &[f32], wide: &mut [f32]) {
    let taps = g.kh * g.kw;
    // Input offsets of every (channel, tap), in the weights' order.
    let mut offsets = Vec::with_capacity(g.c * taps);
    for c in 0..g.c {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                offsets.push(c * p.stride + ky * p.wp + kx);
            }
        }
    }
    let k = g.c * taps;
    let mut o = 0;
    while o < g.o {
        let r = (g.o - o).min(R);
        let w_block = &w[o * k..(o + r) * k];
        let dst = &mut wide[o * p.wide..(o + r) * p.wide];
        match r {
            4 => block_forward::<4>(planes, &offsets, w_block, k, p.wide, dst),
            3 => block_forward::<3>(planes, &offsets, w_block, k, p.wide, dst),
            2 => block_forward::<2>(planes, &offsets, w_block, k, p.wide, dst),
            _ => block_forward::<1>(planes, &offsets, w_block, k, p.wide, dst),
        }
        o += r;
    }
}

/// `dst[r][i] = sum_t w[r][t] * planes[offsets[t] + i]` for RB output channels and every
/// wide position i (a multiple of V * LANES).
fn block_forward<const RB: usize>(planes: &[f32], offsets: &[usize], w: &[f32], k: usize, wide: usize, dst: &mut [f32]) {
    assert!(w.len() >= RB * k && dst.len() >= RB * wide && offsets.len() == k && wide % (V * LANES) == 0);
    assert!(offsets.iter().all(|&off| off + wide <= planes.len()));
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    // SAFETY: the asserts bound every read (offset + i + 8 <= offset + wide) and write.
    unsafe {
        use std::arch::x86_64::*;
        let (pp, wp, dp) = (planes.as_ptr(), w.as_ptr(), dst.as_mut_ptr());
        for i in (0..wide).step_by(V * LANES) {
            let mut acc = [[_mm256_setzero_ps(); V]; RB];
            for (t, &off) in offsets.iter().enumerate() {
                let src = pp.add(off + i);
                let xv = [_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(LANES)), _mm256_loadu_ps(src.add(2 * LANES))];
                for r in 0..RB {
                    let wv = _mm256_broadcast_ss(&*wp.add(r * k + t));
                    for v in 0..V {
                        acc[r][v] = _mm256_fmadd_ps(wv, xv[v], acc[r][v]);
                    }
                }
            }
            for r in 0..RB {
                for v in 0..V {
                    _mm256_storeu_ps(dp.add(r * wide + i + v * LANES), acc[r][v]);
                }
            }
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")))]
    for r in 0..RB {
        for i in 0..wide {
            dst[r * wide + i] = offsets.iter().enumerate().map(|(t, &off)| w[r * k + t] * planes[off + i]).sum();
        }
    }
}

/// Backward: from dy [N, O, OH, OW] compute dx (if `need_dx`), dw and db (if `need_db`).
pub fn backward(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    let dx = need_dx.then(|| {
        let (flipped, tg) = transposed(g, w);
        let mut dx = vec![0.0; g.n * g.c * g.h * g.w];
        forward_into(&tg, dy, &flipped, None, &mut dx);
        dx
    });
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

/// The transposed convolution of a stride-1 convolution as a convolution: weights
/// `w'[c][o][ky][kx] = w[o][c][KH-1-ky][KW-1-kx]` and padding `K - 1 - pad` per side, over
/// dy [N, O, OH, OW], giving [N, C, H, W].
fn transposed(g: &Conv2dGeom, w: &[f32]) -> (Vec<f32>, Conv2dGeom) {
    let taps = g.kh * g.kw;
    let mut flipped = vec![0.0; w.len()];
    for o in 0..g.o {
        for c in 0..g.c {
            for t in 0..taps {
                flipped[(c * g.o + o) * taps + (taps - 1 - t)] = w[(o * g.c + c) * taps + t];
            }
        }
    }
    let tg = Conv2dGeom {
        n: g.n,
        c: g.o,
        h: g.oh,
        w: g.ow,
        o: g.c,
        kh: g.kh,
        kw: g.kw,
        stride: (1, 1),
        pad: (g.kh - 1 - g.pad.0, g.kh - 1 - g.pad.1, g.kw - 1 - g.pad.2, g.kw - 1 - g.pad.3),
        dilation: (1, 1),
        groups: 1,
        oh: g.h,
        ow: g.w,
    };
    (flipped, tg)
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
    use super::*;
    use crate::tensor::conv::{conv2d_backward_im2col, conv2d_reference};

    fn data(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| (((i + seed) * 7919 % 1013) as f32 / 506.0) - 1.0).collect()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
        }
    }

    /// LeNet's two layers and awkward ones: rectangular kernels, uneven padding, odd
    /// channel counts (forward block tails), widths that are no multiple of 8.
    const CASES: &[([usize; 4], [usize; 4], (usize, usize, usize, usize))] = &[
        ([3, 1, 28, 28], [6, 1, 5, 5], (2, 2, 2, 2)),
        ([2, 6, 14, 14], [16, 6, 5, 5], (0, 0, 0, 0)),
        ([2, 3, 9, 7], [5, 3, 3, 2], (1, 0, 0, 1)),
        ([1, 2, 5, 11], [7, 2, 1, 7], (0, 0, 3, 6)),
        ([4, 1, 6, 6], [1, 1, 3, 3], (1, 1, 1, 1)),
    ];

    #[test]
    fn forward_matches_the_reference() {
        for &(input, weight, pad) in CASES {
            let g = Conv2dGeom::new(&input, &weight, (1, 1), pad, (1, 1), 1).unwrap();
            assert!(applies(&g) || !SIMD, "{input:?} {weight:?}");
            let (x, w, b) = (data(input.iter().product(), 1), data(weight.iter().product(), 2), data(weight[0], 3));
            close(&forward(&g, &x, &w, Some(&b)), &conv2d_reference(&g, &x, &w, Some(&b)), "forward");
        }
    }

    #[test]
    fn backward_matches_im2col() {
        for &(input, weight, pad) in CASES {
            let g = Conv2dGeom::new(&input, &weight, (1, 1), pad, (1, 1), 1).unwrap();
            let (x, w) = (data(input.iter().product(), 1), data(weight.iter().product(), 2));
            let dy = data(g.out_shape().iter().product(), 4);
            let (dx, dw, db) = backward(&g, &x, &w, &dy, true, true);
            let (dx_r, dw_r, db_r) = conv2d_backward_im2col(&g, &x, &w, &dy, true, true);
            close(&dx.unwrap(), &dx_r.unwrap(), "dx");
            close(&dw, &dw_r, "dw");
            close(&db.unwrap(), &db_r.unwrap(), "db");
        }
    }
}
