//! 2-D pooling over NCHW tensors: max and min (remembering the winner for backward),
//! average and L2 (the square root of the sum of squares, PyTorch's LPPool2d with p = 2).
//! Each (sample, channel) plane is independent, so planes are split across workers.

use crate::{Error, Result};
use rayon::prelude::*;

/// Window geometry of one 2-D pooling: input `[N, C, H, W]` -> output `[N, C, OH, OW]`.
/// Build it with [`PoolGeom::new`], which checks the sizes; the kernels trust the fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    /// Samples N.
    pub n: usize,
    /// Channels C (pooling keeps them).
    pub c: usize,
    /// Input height H.
    pub h: usize,
    /// Input width W.
    pub w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// (rows, columns) step between windows.
    pub stride: (usize, usize),
    /// Zero padding (top/bottom, left/right); padded cells never win a max and count as 0
    /// in an average (PyTorch's `count_include_pad=True`).
    pub pad: (usize, usize),
    /// Output height `(H + 2 pad.0 - kh) / stride.0 + 1`.
    pub oh: usize,
    /// Output width `(W + 2 pad.1 - kw) / stride.1 + 1`.
    pub ow: usize,
}

/// Which pooling. Serialized in snake case (`"max"`, `"avg"`, `"l2"`, `"min"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// The window's maximum (the first one in row-major order on ties).
    Max,
    /// The window's mean over all `kh * kw` cells, padding included.
    Avg,
    /// The square root of the window's sum of squares (LPPool2d with p = 2).
    L2,
    /// The window's minimum (the first one in row-major order on ties); padded cells never
    /// win. Min pooling keeps the darkest detail, as max pooling keeps the brightest.
    Min,
}

impl PoolKind {
    /// Whether the kind remembers a winner per window (max and min), which its gradient
    /// goes to.
    pub fn has_winner(self) -> bool {
        matches!(self, PoolKind::Max | PoolKind::Min)
    }
}

impl PoolGeom {
    /// Checks and stores the geometry for an `input` shape `[N, C, H, W]`, a `kernel`
    /// window (rows, columns), a `stride` and symmetric padding `pad` (rows, columns).
    /// Errors unless the input has rank 4, window and stride are at least 1, the padding is
    /// at most half the window, and the window fits in the padded input.
    pub fn new(input: &[usize], kernel: (usize, usize), stride: (usize, usize), pad: (usize, usize)) -> Result<PoolGeom> {
        let &[n, c, h, w] = input else {
            return Err(Error::bad_shape("pool2d", input, "input must be [N, C, H, W]"));
        };
        let bad = |why: &str| {
            Error::bad_shape("pool2d", input, format!("{why} (window {kernel:?}, stride {stride:?}, padding {pad:?})"))
        };
        if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
            return Err(bad("window and stride must be at least 1"));
        }
        if pad.0 > kernel.0 / 2 || pad.1 > kernel.1 / 2 {
            return Err(bad("padding must be at most half the window"));
        }
        // 2 * pad <= kernel cannot overflow; the sums with the input size can.
        if h.saturating_add(2 * pad.0) < kernel.0 || w.saturating_add(2 * pad.1) < kernel.1 {
            return Err(bad("the window is larger than the padded input"));
        }
        Ok(PoolGeom {
            n,
            c,
            h,
            w,
            kh: kernel.0,
            kw: kernel.1,
            stride,
            pad,
            oh: (h + 2 * pad.0 - kernel.0) / stride.0 + 1,
            ow: (w + 2 * pad.1 - kernel.1) / stride.1 + 1,
        })
    }
    /// The output's shape `[N, C, OH, OW]`.
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.oh, self.ow]
    }
    /// The input rows/columns window (oy, ox) covers, clipped to the input.
    #[inline]
    fn window(&self, oy: usize, ox: usize) -> (usize, usize, usize, usize) {
        let y0 = (oy * self.stride.0) as isize - self.pad.0 as isize;
        let x0 = (ox * self.stride.1) as isize - self.pad.1 as isize;
        let y1 = (y0 + self.kh as isize).min(self.h as isize) as usize;
        let x1 = (x0 + self.kw as isize).min(self.w as isize) as usize;
        (y0.max(0) as usize, y1, x0.max(0) as usize, x1)
    }
}

/// Planes per parallel task: enough work to amortise scheduling.
fn planes_per_task(g: &PoolGeom) -> usize {
    (16384 / (g.h * g.w).max(1)).max(1)
}

/// Forward pooling of `x` (`[N, C, H, W]`, row-major) -> `(y, winners)` with `y`
/// `[N, C, OH, OW]`. For max pooling `winners` holds, per output, the winning cell's index
/// within its `H * W` input plane (what [`pool2d_backward`] needs); for the other kinds it is
/// empty.
///
/// # Panics
/// If `x` is shorter than `g` says.
pub fn pool2d_forward(g: &PoolGeom, kind: PoolKind, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut out = vec![0.0; g.n * g.c * ohw];
    let mut arg = vec![0u32; if kind.has_winner() { out.len() } else { 0 }];
    let area = (g.kh * g.kw) as f32;
    let per = planes_per_task(g);
    let fast_2x2 = kind == PoolKind::Max && (g.kh, g.kw) == (2, 2) && g.stride == (2, 2) && g.pad == (0, 0);
    let body = |(plane_out, plane_arg, plane_in): (&mut [f32], Option<&mut [u32]>, &[f32])| {
        let mut plane_arg = plane_arg;
        if fast_2x2 && let Some(a) = plane_arg.as_deref_mut() {
            max_pool_2x2(g, plane_in, plane_out, a);
            return;
        }
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (y0, y1, x0, x1) = g.window(oy, ox);
                let o = oy * g.ow + ox;
                match kind {
                    PoolKind::Max => {
                        let (mut best, mut at) = (f32::NEG_INFINITY, y0 * g.w + x0);
                        for y in y0..y1 {
                            for (dx, &v) in plane_in[y * g.w + x0..y * g.w + x1].iter().enumerate() {
                                if v > best {
                                    best = v;
                                    at = y * g.w + x0 + dx;
                                }
                            }
                        }
                        plane_out[o] = best;
                        if let Some(a) = plane_arg.as_deref_mut() {
                            a[o] = at as u32;
                        }
                    }
                    PoolKind::Min => {
                        let (mut best, mut at) = (f32::INFINITY, y0 * g.w + x0);
                        for y in y0..y1 {
                            for (dx, &v) in plane_in[y * g.w + x0..y * g.w + x1].iter().enumerate() {
                                if v < best {
                                    best = v;
                                    at = y * g.w + x0 + dx;
                                }
                            }
                        }
                        plane_out[o] = best;
                        if let Some(a) = plane_arg.as_deref_mut() {
                            a[o] = at as u32;
                        }
                    }
                    PoolKind::Avg => {
                        let s: f32 = (y0..y1).map(|y| plane_in[y * g.w + x0..y * g.w + x1].iter().sum::<f32>()).sum();
                        plane_out[o] = s / area;
                    }
                    PoolKind::L2 => {
                        let s: f32 =
                            (y0..y1).map(|y| plane_in[y * g.w + x0..y * g.w + x1].iter().map(|v| v * v).sum::<f32>()).sum();
                        plane_out[o] = s.sqrt();
                    }
                }
            }
        }
    };
    if kind.has_winner() {
        out.par_chunks_mut(per * ohw).zip(arg.par_chunks_mut(per * ohw)).zip(x.par_chunks(per * hw)).for_each(|((o, a), x)| {
            for ((po, pa), px) in o.chunks_mut(ohw).zip(a.chunks_mut(ohw)).zip(x.chunks(hw)) {
                body((po, Some(pa), px));
            }
        });
    } else {
        out.par_chunks_mut(per * ohw).zip(x.par_chunks(per * hw)).for_each(|(o, x)| {
            for (po, px) in o.chunks_mut(ohw).zip(x.chunks(hw)) {
                body((po, None, px));
            }
        });
    }
    (out, arg)
}

/// The common case (2x2 windows, stride 2, no padding) without per-window bookkeeping.
/// Branch-free selects: which of four values wins is data-dependent and unpredictable, so
/// compare-and-branch code mispredicts about half the time.
fn max_pool_2x2(g: &PoolGeom, x: &[f32], out: &mut [f32], arg: &mut [u32]) {
    for oy in 0..g.oh {
        let (r0, r1) = (2 * oy * g.w, (2 * oy + 1) * g.w);
        let (top, bottom) = (&x[r0..r0 + 2 * g.ow], &x[r1..r1 + 2 * g.ow]);
        let (o_row, a_row) = (&mut out[oy * g.ow..(oy + 1) * g.ow], &mut arg[oy * g.ow..(oy + 1) * g.ow]);
        for (ox, ((t, b), (o, a))) in
            top.chunks_exact(2).zip(bottom.chunks_exact(2)).zip(o_row.iter_mut().zip(a_row.iter_mut())).enumerate()
        {
            let i = (2 * ox) as u32;
            // Ties keep the first in row-major order, as the general loop does.
            let (vt, it) = if t[1] > t[0] { (t[1], r0 as u32 + i + 1) } else { (t[0], r0 as u32 + i) };
            let (vb, ib) = if b[1] > b[0] { (b[1], r1 as u32 + i + 1) } else { (b[0], r1 as u32 + i) };
            let (v, at) = if vb > vt { (vb, ib) } else { (vt, it) };
            *o = v;
            *a = at;
        }
    }
}

/// Backward pooling: the input gradient `dx` `[N, C, H, W]` from the output gradient `dy`
/// `[N, C, OH, OW]`. Max and min route each gradient to its window's winner (`arg`, from
/// [`pool2d_forward`]); average spreads it evenly; L2 scales it by `x / y` (zero where
/// `y` is 0). Only L2 reads `x` and `y`, and only max and min read `arg`: the others may be
/// empty.
///
/// # Panics
/// If a slice the kind reads is shorter than `g` says.
pub fn pool2d_backward(g: &PoolGeom, kind: PoolKind, x: &[f32], y: &[f32], arg: &[u32], dy: &[f32]) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut dx = vec![0.0; g.n * g.c * hw];
    let area = (g.kh * g.kw) as f32;
    let per = planes_per_task(g);
    dx.par_chunks_mut(per * hw).enumerate().for_each(|(t, dxs)| {
        for (i, dplane) in dxs.chunks_mut(hw).enumerate() {
            let plane = t * per + i;
            let dyp = &dy[plane * ohw..(plane + 1) * ohw];
            // Only L2 pooling reads the input (max and average may pass an empty slice).
            let xp = if kind == PoolKind::L2 { &x[plane * hw..(plane + 1) * hw] } else { &[][..] };
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let o = oy * g.ow + ox;
                    let d = dyp[o];
                    match kind {
                        PoolKind::Max | PoolKind::Min => dplane[arg[plane * ohw + o] as usize] += d,
                        PoolKind::Avg => {
                            let (y0, y1, x0, x1) = g.window(oy, ox);
                            for yy in y0..y1 {
                                dplane[yy * g.w + x0..yy * g.w + x1].iter_mut().for_each(|v| *v += d / area);
                            }
                        }
                        PoolKind::L2 => {
                            let out = y[plane * ohw + o];
                            if out > 0.0 {
                                let (y0, y1, x0, x1) = g.window(oy, ox);
                                for yy in y0..y1 {
                                    for xx in x0..x1 {
                                        dplane[yy * g.w + xx] += d * xp[yy * g.w + xx] / out;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lecture_example_max_pool() {
        // max-pool of [[0,1],[3,4]] gives 4
        let g = PoolGeom::new(&[1, 1, 2, 2], (2, 2), (2, 2), (0, 0)).unwrap();
        let (y, arg) = pool2d_forward(&g, PoolKind::Max, &[0.0, 1.0, 3.0, 4.0]);
        assert_eq!(y, vec![4.0]);
        assert_eq!(arg, vec![3]);
        let (avg, _) = pool2d_forward(&g, PoolKind::Avg, &[0.0, 1.0, 3.0, 4.0]);
        assert_eq!(avg, vec![2.0]);
        let (l2, _) = pool2d_forward(&g, PoolKind::L2, &[0.0, 1.0, 3.0, 4.0]);
        assert!((l2[0] - 26f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn overlapping_and_padded_windows_match_a_naive_loop() {
        // 3x3 windows, stride 2, padding 1 over a 2x2x5x5 input
        let x: Vec<f32> = (0..100).map(|v| ((v * 37) % 23) as f32 - 11.0).collect();
        let g = PoolGeom::new(&[2, 2, 5, 5], (3, 3), (2, 2), (1, 1)).unwrap();
        assert_eq!((g.oh, g.ow), (3, 3));
        let (y, _) = pool2d_forward(&g, PoolKind::Max, &x);
        let (a, _) = pool2d_forward(&g, PoolKind::Avg, &x);
        let (lo, lo_arg) = pool2d_forward(&g, PoolKind::Min, &x);
        for p in 0..4 {
            for oy in 0..3 {
                for ox in 0..3 {
                    let (mut m, mut s, mut least) = (f32::NEG_INFINITY, 0.0, f32::INFINITY);
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = (oy as isize * 2 - 1 + ky, ox as isize * 2 - 1 + kx);
                            if (0..5).contains(&iy) && (0..5).contains(&ix) {
                                let v = x[p * 25 + iy as usize * 5 + ix as usize];
                                m = m.max(v);
                                s += v;
                                least = least.min(v);
                            }
                        }
                    }
                    assert_eq!(y[p * 9 + oy * 3 + ox], m);
                    // min pooling ignores the padding (a padded zero would win against positives)
                    assert_eq!(lo[p * 9 + oy * 3 + ox], least);
                    assert_eq!(x[p * 25 + lo_arg[p * 9 + oy * 3 + ox] as usize], least);
                    assert!((a[p * 9 + oy * 3 + ox] - s / 9.0).abs() < 1e-5);
                }
            }
        }
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn max_2x2_fast_path_matches_a_naive_loop() {
        let (h, w) = (6, 8);
        let x: Vec<f32> = (0..3 * h * w).map(|v| ((v * 53) % 29) as f32).collect();
        let g = PoolGeom::new(&[1, 3, h, w], (2, 2), (2, 2), (0, 0)).unwrap();
        let (y, arg) = pool2d_forward(&g, PoolKind::Max, &x);
        for c in 0..3 {
            for oy in 0..h / 2 {
                for ox in 0..w / 2 {
                    let idx = [(2 * oy, 2 * ox), (2 * oy, 2 * ox + 1), (2 * oy + 1, 2 * ox), (2 * oy + 1, 2 * ox + 1)];
                    let best = idx.iter().map(|&(r, q)| x[c * h * w + r * w + q]).fold(f32::NEG_INFINITY, f32::max);
                    let o = c * (h / 2) * (w / 2) + oy * (w / 2) + ox;
                    assert_eq!(y[o], best);
                    assert_eq!(x[c * h * w + arg[o] as usize], best);
                }
            }
        }
    }
}
