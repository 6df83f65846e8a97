//! Stride-1 convolution without an im2col matrix ("strip" convolution), for the 3x3
//! convolutions of residual networks. Shapes: x [N, C, H, W], w [O, C, KH, KW], bias `[O]`,
//! out [N, O, OH, OW]; stride 1, no dilation, one group.
//!
//! im2col writes `C * KH * KW` copies of every input pixel before its GEMM. With few
//! output channels (ResNet-20 has 16) that copy costs a third as much as the GEMM itself.
//! Here the input of a group of samples is laid out once, zero-padded, as one strip per
//! channel: `[C][sample][Hp][Wp]` (`Hp`, `Wp` the padded sizes). For a kernel tap
//! `(ky, kx)`, the values every output position needs are then the strip shifted by
//! `ky * Wp + kx`: a plain strided matrix `[C, N]` that GEMM reads in place. The
//! convolution is the sum of `KH * KW` products `W[:, :, ky, kx] [O, C] x shifted strip
//! [C, N]`, computed on a "wide" output grid `[O][sample][Hp][Wp]` whose positions outside
//! the real `OH x OW` output hold garbage and are dropped (valid positions never read
//! across a sample's border). The backward pass runs the same products transposed:
//! `dW[:, :, ky, kx] += dy_wide x strip^T` and `dstrip += W^T x dy_wide` shifted back.
//!
//! Samples are split into one chunk per worker, and each worker walks its chunk in groups
//! sized so the strips stay in cache; all buffers are per worker and reused.

use super::geometry::Conv2dGeom;
use super::runs::add_partials;
use crate::tensor::parallel::chunk_len;
use gemm::Parallelism;
use rayon::prelude::*;

/// Floats of strips (input plus output) a group of samples aims to fit in (about 384 KiB).
const GROUP_FLOATS: usize = 96 * 1024;

/// Whether the strip kernels handle this convolution: stride 1, no dilation, one group,
/// at least 8 input channels (with fewer, each tap's product is too thin for GEMM), and
/// not a 1x1 unpadded convolution (which needs no im2col at all).
pub(super) fn applies(g: &Conv2dGeom) -> bool {
    let pointwise = g.kh == 1 && g.kw == 1 && g.pad == (0, 0, 0, 0);
    g.stride == (1, 1) && g.dilation == (1, 1) && g.groups == 1 && g.c >= 8 && !pointwise
}

/// The strip layout for a geometry: padded plane sizes and samples per group.
#[derive(Clone, Copy, Debug)]
struct Layout {
    wp: usize,
    /// Padded plane: Hp * Wp.
    plane: usize,
    /// Samples per group.
    group: usize,
}

impl Layout {
    fn new(g: &Conv2dGeom) -> Layout {
        let hp = g.h + g.pad.0 + g.pad.1;
        let wp = g.w + g.pad.2 + g.pad.3;
        let plane = hp * wp;
        let group = (GROUP_FLOATS / ((g.c + g.o) * plane).max(1)).clamp(1, 64);
        Layout { wp, plane, group }
    }
    /// Length of one channel's strip for `s` samples: the planes, plus `kw` floats of
    /// slack that garbage positions of the last plane read into.
    fn strip_len(&self, g: &Conv2dGeom) -> usize {
        self.group * self.plane + g.kw
    }
    /// Wide output positions computed for `s` samples: up to the last valid one.
    fn wide_len(&self, g: &Conv2dGeom, s: usize) -> usize {
        (s - 1) * self.plane + (g.oh - 1) * self.wp + g.ow
    }
    /// Offset of tap (ky, kx) in a strip.
    fn tap(&self, ky: usize, kx: usize) -> usize {
        ky * self.wp + kx
    }
}

/// `dst [m, n] (+)= a [m, k] x b [k, n]` on strided raw views, single-threaded.
///
/// # Safety
/// Every index `i * rs + j * cs` of each view, for i, j inside its shape, must be inside
/// the allocation the pointer comes from, and `dst` must not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_view(
    m: usize,
    n: usize,
    k: usize,
    dst: (*mut f32, isize, isize),
    accumulate: bool,
    a: (*const f32, isize, isize),
    b: (*const f32, isize, isize),
) {
    // SAFETY: forwarded to the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.0,
            dst.2,
            dst.1,
            accumulate,
            a.0,
            a.2,
            a.1,
            b.0,
            b.2,
            b.1,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// Copies `s` samples `x` `[s, C, H, W]` into the interior of the strips `[C][strip_len]`
/// (the zero border is never written, so it stays zero across groups).
fn fill_strips(g: &Conv2dGeom, l: &Layout, x: &[f32], s: usize, strips: &mut [f32]) {
    let (hw, strip) = (g.h * g.w, l.strip_len(g));
    for i in 0..s {
        for c in 0..g.c {
            let src = &x[(i * g.c + c) * hw..(i * g.c + c + 1) * hw];
            let base = c * strip + i * l.plane + g.pad.0 * l.wp + g.pad.2;
            for (y, row) in src.chunks_exact(g.w).enumerate() {
                strips[base + y * l.wp..base + y * l.wp + g.w].copy_from_slice(row);
            }
        }
    }
}

/// Forward: x [N, C, H, W], w [O, C, KH, KW], bias `[O]` -> out [N, O, OH, OW].
pub(super) fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let l = Layout::new(g);
    let (chw, ohw, taps) = (g.c * g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let strip = l.strip_len(g);
    let mut out = vec![0.0; g.n * g.o * ohw];
    let per = chunk_len(g.n);
    out.par_chunks_mut(per * g.o * ohw).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
        let mut strips = vec![0.0f32; g.c * strip];
        let wide_cap = l.wide_len(g, l.group);
        let mut wide = vec![0.0f32; g.o * wide_cap];
        let samples = x.len() / chw;
        for first in (0..samples).step_by(l.group) {
            let s = l.group.min(samples - first);
            fill_strips(g, &l, &x[first * chw..(first + s) * chw], s, &mut strips);
            let n = l.wide_len(g, s);
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let t = ky * g.kw + kx;
                    // SAFETY: A = w[o, c, t] (o < O, c < C) is inside w; B = strips[c * strip
                    // + tap + q] with q < n: tap + n <= strip (see Layout::strip_len); dst
                    // [o * wide_cap + q] is inside `wide`; `wide` is a separate buffer.
                    unsafe {
                        gemm_view(
                            g.o,
                            n,
                            g.c,
                            (wide.as_mut_ptr(), wide_cap as isize, 1),
                            t > 0,
                            (w.as_ptr().add(t), (g.c * taps) as isize, taps as isize),
                            (strips.as_ptr().add(l.tap(ky, kx)), strip as isize, 1),
                        );
                    }
                }
            }
            // Keep the valid positions, add the bias.
            for i in 0..s {
                for o in 0..g.o {
                    let b = bias.map_or(0.0, |b| b[o]);
                    let dst = &mut out[((first + i) * g.o + o) * ohw..((first + i) * g.o + o + 1) * ohw];
                    for (oy, row) in dst.chunks_exact_mut(g.ow).enumerate() {
                        let src = &wide[o * wide_cap + i * l.plane + oy * l.wp..][..g.ow];
                        row.iter_mut().zip(src).for_each(|(d, v)| *d = v + b);
                    }
                }
            }
        }
    });
    out
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
    let l = Layout::new(g);
    let (chw, ohw, taps) = (g.c * g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let strip = l.strip_len(g);
    let wsize = g.o * g.c * taps;
    let per = chunk_len(g.n);
    let mut dx = if need_dx { vec![0.0; g.n * chw] } else { Vec::new() };
    let work = |x: &[f32], dy: &[f32], mut dx: Option<&mut [f32]>| -> (Vec<f32>, Vec<f32>) {
        let mut dw = vec![0.0f32; wsize];
        let mut db = vec![0.0f32; if need_db { g.o } else { 0 }];
        let mut strips = vec![0.0f32; g.c * strip];
        let mut dstrips = if need_dx { vec![0.0f32; g.c * strip] } else { Vec::new() };
        let wide_cap = l.wide_len(g, l.group);
        // Garbage positions of dy_wide stay zero: only valid positions are ever written.
        let mut dy_wide = vec![0.0f32; g.o * wide_cap];
        let samples = x.len() / chw;
        for first in (0..samples).step_by(l.group) {
            let s = l.group.min(samples - first);
            fill_strips(g, &l, &x[first * chw..(first + s) * chw], s, &mut strips);
            for i in 0..s {
                for o in 0..g.o {
                    let src = &dy[((first + i) * g.o + o) * ohw..((first + i) * g.o + o + 1) * ohw];
                    if need_db {
                        db[o] += src.iter().sum::<f32>();
                    }
                    for (oy, row) in src.chunks_exact(g.ow).enumerate() {
                        dy_wide[o * wide_cap + i * l.plane + oy * l.wp..][..g.ow].copy_from_slice(row);
                    }
                }
            }
            let n = l.wide_len(g, s);
            if need_dx {
                dstrips.fill(0.0);
            }
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let (t, tap) = (ky * g.kw + kx, l.tap(ky, kx));
                    // SAFETY (both products): indices as in `forward`; dw[o, c, t] is inside
                    // dw; dstrips[c * strip + tap + q] with q < n is inside dstrips; dst
                    // buffers are distinct from the operands.
                    unsafe {
                        // dW[:, :, t] [O, C] += dy_wide [O, n] x strip_t^T [n, C]
                        gemm_view(
                            g.o,
                            g.c,
                            n,
                            (dw.as_mut_ptr().add(t), (g.c * taps) as isize, taps as isize),
                            true,
                            (dy_wide.as_ptr(), wide_cap as isize, 1),
                            (strips.as_ptr().add(tap), 1, strip as isize),
                        );
                        if need_dx {
                            // dstrip_t [C, n] += W[:, :, t]^T [C, O] x dy_wide [O, n]
                            gemm_view(
                                g.c,
                                n,
                                g.o,
                                (dstrips.as_mut_ptr().add(tap), strip as isize, 1),
                                true,
                                (w.as_ptr().add(t), taps as isize, (g.c * taps) as isize),
                                (dy_wide.as_ptr(), wide_cap as isize, 1),
                            );
                        }
                    }
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                // The interior of the strips is the input gradient; the border is padding.
                for i in 0..s {
                    for c in 0..g.c {
                        let dst = &mut dx[((first + i) * g.c + c) * g.h * g.w..((first + i) * g.c + c + 1) * g.h * g.w];
                        let base = c * strip + i * l.plane + g.pad.0 * l.wp + g.pad.2;
                        for (y, row) in dst.chunks_exact_mut(g.w).enumerate() {
                            row.copy_from_slice(&dstrips[base + y * l.wp..base + y * l.wp + g.w]);
                        }
                    }
                }
            }
        }
        (dw, db)
    };
    let zero = || (vec![0.0; wsize], vec![0.0; if need_db { g.o } else { 0 }]);
    let (dw, db) = if need_dx {
        dx.par_chunks_mut(per * chw)
            .zip(x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * ohw)))
            .map(|(dx, (x, dy))| work(x, dy, Some(dx)))
            .reduce(zero, add_partials)
    } else {
        x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * ohw)).map(|(x, dy)| work(x, dy, None)).reduce(zero, add_partials)
    };
    (need_dx.then_some(dx), dw, need_db.then_some(db))
}

#[cfg(test)]
mod tests {
    use super::super::reference::kernel_check::assert_matches_reference;
    use super::*;

    #[test]
    fn matches_the_reference_and_the_im2col_backward() {
        // ResNet shapes, odd sizes, asymmetric padding, several groups of samples with a
        // partial last group.
        let cases = [
            ([3, 16, 8, 8], [16, 16, 3, 3], (1, 1, 1, 1)),
            ([70, 8, 5, 7], [12, 8, 3, 3], (1, 1, 1, 1)),
            ([4, 9, 6, 5], [5, 9, 2, 3], (0, 1, 2, 0)),
            ([5, 8, 7, 7], [8, 8, 1, 1], (1, 1, 0, 0)),
            ([2, 10, 6, 6], [3, 10, 5, 5], (2, 2, 2, 2)),
        ];
        assert_matches_reference(11, &cases, applies, &forward, &backward, |_| 1e-4);
    }
}
