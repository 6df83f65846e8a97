//! The definition of 2-D convolution, loop by loop: x [N, C, H, W], w [O, C/groups, KH,
//! KW], bias `[O]` -> out [N, O, OH, OW] with `out[n][o][oy][ox] = bias[o] + sum over the
//! group's channels c and taps (ky, kx) of x[n][c][iy][ix] * w[o][c][ky][kx]` (zero outside
//! the input), accumulated in f64. Slow and obviously right: the reference every fast kernel
//! is tested against, and (in tests) `kernel_check`, the shared test of one kernel.

use super::geometry::Conv2dGeom;

/// The definition, loop by loop (shapes in the module docs): the reference the fast
/// kernels are tested against.
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

/// Shared check of the fast kernels (direct, strip, Winograd) against the definition.
#[cfg(test)]
pub(super) mod kernel_check {
    use super::super::im2col;
    use super::*;
    use crate::Rng;

    type Forward<'a> = &'a dyn Fn(&Conv2dGeom, &[f32], &[f32], Option<&[f32]>) -> Vec<f32>;
    type Backward<'a> =
        &'a dyn Fn(&Conv2dGeom, &[f32], &[f32], &[f32], bool, bool) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>);
    /// (input NCHW, weight, padding top/bottom/left/right)
    pub type Case = ([usize; 4], [usize; 4], (usize, usize, usize, usize));

    /// For every case: the kernel applies; its forward matches [`conv2d_reference`] within
    /// `forward_tolerance(reference value)`; its dx, dW and db (and dW alone) match the
    /// im2col backward, which tests/gradients.rs checks against finite differences.
    pub fn assert_matches_reference(
        seed: u64,
        cases: &[Case],
        applies: fn(&Conv2dGeom) -> bool,
        forward: Forward<'_>,
        backward: Backward<'_>,
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
            let (dx0, dw0, db0) = im2col::backward(&g, &x, &w, &dy, true, true);
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
