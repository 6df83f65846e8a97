//! [`Algorithm`]: which kernel computes a convolution, chosen in one place
//! ([`Algorithm::choose`]), and the dispatch to the algorithm modules. Every algorithm
//! computes the same function: x [N, C, H, W], w [O, C/groups, KH, KW], bias `[O]` ->
//! out [N, O, OH, OW], and backward dx, dw, db from dy [N, O, OH, OW].

use super::geometry::Conv2dGeom;
use super::winograd::{f2x2, f4x4};
use super::{direct, im2col, strip};
use crate::Error;
use std::fmt;
use std::str::FromStr;

/// An algorithm for 2-D convolution. All compute the same result (up to rounding); each
/// supports some geometries ([`Algorithm::supports`]) and is fastest on some of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// im2col + one GEMM per sample (or per few small samples): every geometry.
    Im2col,
    /// Register-blocked AVX2 + FMA kernels without a copy of the input per tap, for fewer
    /// than 8 input channels (where im2col's GEMM is thin and its copy dominates): stride 1,
    /// no dilation, one group, kernels at most 7 wide, and a build with AVX2 and FMA.
    Direct,
    /// One GEMM per kernel tap on zero-padded input strips, no im2col matrix: stride 1, no
    /// dilation, one group, at least 8 input channels, not a 1x1 unpadded convolution.
    Strip,
    /// Winograd F(2x2, 3x3), 2.25x fewer multiplications: 3x3, stride 1, no dilation, one
    /// group, at least 8 input and output channels.
    WinogradF2x2,
    /// Winograd F(4x4, 3x3), 4x fewer multiplications: as [`Algorithm::WinogradF2x2`],
    /// with outputs of at least 16x16 (on smaller maps its transforms cost more than its
    /// products save).
    WinogradF4x4,
}

/// The order [`Algorithm::preferred`] tries: the first that supports a geometry is fastest on
/// it. Im2col, last, supports everything.
const PREFERENCE: [Algorithm; 5] =
    [Algorithm::WinogradF4x4, Algorithm::WinogradF2x2, Algorithm::Strip, Algorithm::Direct, Algorithm::Im2col];

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 5] =
        [Algorithm::Im2col, Algorithm::Direct, Algorithm::Strip, Algorithm::WinogradF2x2, Algorithm::WinogradF4x4];

    /// The algorithm for `g`: the one `STRATA_CONV_ALGO` forces if it supports `g`, else the
    /// fastest on this machine, timed once per geometry on first use and remembered in a
    /// cache file per CPU model, ISA and thread count (`STRATA_CONV_AUTOTUNE=0`: no timing,
    /// [`Algorithm::preferred`]). See [`autotune`](super::autotune) for the details, and
    /// [`autotune::decide`](super::autotune::decide) for how the choice was made.
    ///
    /// Like [`Algorithm::preferred`], independent of the batch size `g.n`, and the same for a
    /// geometry throughout a process. Every algorithm computes the same function, so the
    /// choice changes results only by rounding.
    pub fn choose(g: &Conv2dGeom) -> Algorithm {
        super::autotune::decide(g).algorithm
    }

    /// The fixed preference order, without measuring: Winograd F(4x4, 3x3) if it applies,
    /// else F(2x2, 3x3), else strip, else direct, else im2col. Measured on AVX-512 (Zen 5)
    /// and on AVX2 (Zen 3, BENCHMARKS.md 2026-12-03): Winograd wins wherever it applies on
    /// both, with the AVX2 kernels and with the portable ones.
    ///
    /// The choice depends only on the per-sample shapes and the settings (channels, spatial
    /// sizes, kernel, stride, padding, dilation, groups), never on the batch size `g.n`: a
    /// layer can choose once from its per-sample shape and use the choice for every batch.
    pub fn preferred(g: &Conv2dGeom) -> Algorithm {
        PREFERENCE.into_iter().find(|a| a.supports(g)).unwrap_or(Algorithm::Im2col)
    }

    /// Whether this algorithm can compute the convolution `g` (im2col: always). Like
    /// [`Algorithm::choose`], independent of the batch size.
    pub fn supports(self, g: &Conv2dGeom) -> bool {
        match self {
            Algorithm::Im2col => true,
            Algorithm::Direct => direct::applies(g),
            Algorithm::Strip => strip::applies(g),
            Algorithm::WinogradF2x2 => f2x2::applies(g),
            Algorithm::WinogradF4x4 => f4x4::applies(g),
        }
    }

    /// Forward: x [N, C, H, W], w [O, C/groups, KH, KW], bias `[O]` -> out [N, O, OH, OW].
    ///
    /// # Panics
    /// If the algorithm does not [support](Algorithm::supports) `g`.
    pub fn forward(self, g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        assert!(self.supports(g), "conv2d: {self} does not support {g}");
        match self {
            Algorithm::Im2col => im2col::forward(g, x, w, bias),
            Algorithm::Direct => direct::forward(g, x, w, bias),
            Algorithm::Strip => strip::forward(g, x, w, bias),
            Algorithm::WinogradF2x2 => f2x2::forward(g, x, w, bias),
            Algorithm::WinogradF4x4 => f4x4::forward(g, x, w, bias),
        }
    }

    /// Backward: from dy [N, O, OH, OW] compute dx [N, C, H, W] (if `need_dx`), dw
    /// [O, C/groups, KH, KW] and db `[O]` (if `need_db`).
    ///
    /// # Panics
    /// If the algorithm does not [support](Algorithm::supports) `g`.
    pub fn backward(
        self,
        g: &Conv2dGeom,
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        need_dx: bool,
        need_db: bool,
    ) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
        assert!(self.supports(g), "conv2d: {self} does not support {g}");
        match self {
            Algorithm::Im2col => im2col::backward(g, x, w, dy, need_dx, need_db),
            Algorithm::Direct => direct::backward(g, x, w, dy, need_dx, need_db),
            Algorithm::Strip => strip::backward(g, x, w, dy, need_dx, need_db),
            Algorithm::WinogradF2x2 => f2x2::backward(g, x, w, dy, need_dx, need_db),
            Algorithm::WinogradF4x4 => f4x4::backward(g, x, w, dy, need_dx, need_db),
        }
    }

    /// The stable lowercase name: "im2col", "direct", "strip", "winograd-f2x2",
    /// "winograd-f4x4" (what [`Display`](fmt::Display) writes and [`FromStr`] reads).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Im2col => "im2col",
            Algorithm::Direct => "direct",
            Algorithm::Strip => "strip",
            Algorithm::WinogradF2x2 => "winograd-f2x2",
            Algorithm::WinogradF4x4 => "winograd-f4x4",
        }
    }
}

/// Writes [`Algorithm::name`] (padded to the formatter's width, if one is given).
impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Reads an [`Algorithm::name`]; any other string is an [`Error::Invalid`] that lists the
/// names.
impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Algorithm, Error> {
        Algorithm::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
            Error::invalid("conv2d algorithm", format!("{s:?} is not one of {}", names.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::conv2d_reference;
    use super::*;
    use crate::Rng;

    /// (what, input NCHW, weight, stride, padding, dilation, groups, expected choice).
    type Case =
        (&'static str, [usize; 4], [usize; 4], (usize, usize), (usize, usize, usize, usize), (usize, usize), usize, Algorithm);

    /// The direct kernels exist only in builds with AVX2 and FMA; otherwise im2col takes
    /// their shapes.
    const DIRECT: Algorithm = if direct::SIMD { Algorithm::Direct } else { Algorithm::Im2col };

    const CASES: &[Case] = &[
        ("LeNet conv1 1->6 5x5 pad 2, 28x28", [2, 1, 28, 28], [6, 1, 5, 5], (1, 1), (2, 2, 2, 2), (1, 1), 1, DIRECT),
        ("LeNet conv2 6->16 5x5, 14x14", [2, 6, 14, 14], [16, 6, 5, 5], (1, 1), (0, 0, 0, 0), (1, 1), 1, DIRECT),
        ("16->16 3x3 pad 1, 28x28", [2, 16, 28, 28], [16, 16, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1, Algorithm::WinogradF4x4),
        ("32->32 3x3 pad 1, 14x14", [2, 32, 14, 14], [32, 32, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1, Algorithm::WinogradF2x2),
        ("16->32 3x3 stride 2 pad 1, 28x28", [2, 16, 28, 28], [32, 16, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 1, Algorithm::Im2col),
        ("16->32 1x1 stride 2, 28x28", [2, 16, 28, 28], [32, 16, 1, 1], (2, 2), (0, 0, 0, 0), (1, 1), 1, Algorithm::Im2col),
        (
            "16->32 3x3 pad 1 in 4 groups, 14x14",
            [2, 16, 14, 14],
            [32, 4, 3, 3],
            (1, 1),
            (1, 1, 1, 1),
            (1, 1),
            4,
            Algorithm::Im2col,
        ),
        (
            "16->16 3x3 dilation 2 pad 2, 14x14",
            [2, 16, 14, 14],
            [16, 16, 3, 3],
            (1, 1),
            (2, 2, 2, 2),
            (2, 2),
            1,
            Algorithm::Im2col,
        ),
        ("16->16 5x5 pad 2, 14x14", [2, 16, 14, 14], [16, 16, 5, 5], (1, 1), (2, 2, 2, 2), (1, 1), 1, Algorithm::Strip),
        ("8->8 3x3 unpadded, 7x9", [3, 8, 7, 9], [8, 8, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 1, Algorithm::WinogradF2x2),
    ];

    fn geometry(&(_, xs, ws, stride, pad, dilation, groups, _): &Case) -> Conv2dGeom {
        Conv2dGeom::new(&xs, &ws, stride, pad, dilation, groups).unwrap()
    }

    #[test]
    fn choose_picks_a_supporting_algorithm_and_ignores_the_batch_size() {
        for case in CASES {
            let g = geometry(case);
            let measured = Algorithm::choose(&g);
            assert!(measured.supports(&g), "{}: {measured} chosen but unsupported", case.0);
            assert_eq!(Algorithm::choose(&Conv2dGeom { n: 64, ..g }), measured, "{}", case.0);
            let chosen = Algorithm::preferred(&g);
            assert!(chosen.supports(&g), "{}: {chosen} chosen but unsupported", case.0);
            assert_eq!(chosen, case.7, "{}", case.0);
            assert!(Algorithm::Im2col.supports(&g));
            for n in [1, 7, 64] {
                let resized = Conv2dGeom { n, ..g };
                assert_eq!(Algorithm::preferred(&resized), chosen, "{} at batch {n}", case.0);
                for a in Algorithm::ALL {
                    assert_eq!(a.supports(&resized), a.supports(&g), "{}: {a} at batch {n}", case.0);
                }
            }
        }
    }

    #[test]
    fn every_supporting_algorithm_matches_the_reference_and_im2col() {
        let mut rng = Rng::seeded(21);
        let mut rand = |n: usize| (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect::<Vec<f32>>();
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                assert!((u - v).abs() < 1e-3 * (1.0 + v.abs()), "{what}[{i}]: {u} vs {v}");
            }
        };
        for case in CASES {
            let g = geometry(case);
            let (x, w, b) = (rand(case.1.iter().product()), rand(case.2.iter().product()), rand(g.o));
            let dy = rand(g.out_shape().iter().product());
            let reference = conv2d_reference(&g, &x, &w, Some(&b));
            let (dx0, dw0, db0) = Algorithm::Im2col.backward(&g, &x, &w, &dy, true, true);
            let mut checked = Vec::new();
            for a in Algorithm::ALL.into_iter().filter(|a| a.supports(&g)) {
                let what = |part: &str| format!("{}: {a} {part}", case.0);
                close(&a.forward(&g, &x, &w, Some(&b)), &reference, &what("forward"));
                close(&a.forward(&g, &x, &w, None), &conv2d_reference(&g, &x, &w, None), &what("forward without bias"));
                let (dx, dw, db) = a.backward(&g, &x, &w, &dy, true, true);
                close(&dx.expect("dx asked for"), dx0.as_ref().unwrap(), &what("dx"));
                close(&dw, &dw0, &what("dw"));
                close(&db.expect("db asked for"), db0.as_ref().unwrap(), &what("db"));
                let (no_dx, dw, no_db) = a.backward(&g, &x, &w, &dy, false, false);
                assert!(no_dx.is_none() && no_db.is_none(), "{}", what("dx/db not asked for"));
                close(&dw, &dw0, &what("dw without dx"));
                checked.push(a);
            }
            assert!(checked.contains(&Algorithm::Im2col) && checked.contains(&case.7), "{}: {checked:?}", case.0);
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
            assert_eq!(a.to_string(), a.name());
            assert_eq!(a.name(), a.name().to_lowercase());
        }
        let err = "fft".parse::<Algorithm>().unwrap_err().to_string();
        assert!(err.contains("fft"), "{err}");
        for a in Algorithm::ALL {
            assert!(err.contains(a.name()), "{err} does not list {a}");
        }
    }

    #[test]
    #[should_panic(expected = "does not support")]
    fn an_unsupported_algorithm_panics_instead_of_computing_garbage() {
        let g = Conv2dGeom::new(&[1, 16, 8, 8], &[16, 16, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 1).unwrap();
        Algorithm::WinogradF2x2.forward(&g, &[0.0; 16 * 64], &[0.0; 16 * 16 * 9], None);
    }

    #[test]
    fn lecture_example_cross_correlation() {
        // 3x3 input 0..8, 2x2 kernel 0..3 -> [[19, 25], [37, 43]]
        let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let w: Vec<f32> = (0..4).map(|v| v as f32).collect();
        let g = Conv2dGeom::new(&[1, 1, 3, 3], &[1, 1, 2, 2], (1, 1), (0, 0, 0, 0), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (2, 2));
        assert_eq!(Algorithm::choose(&g).forward(&g, &x, &w, None), vec![19.0, 25.0, 37.0, 43.0]);
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
            let algorithm = Algorithm::choose(&g);
            let x: Vec<f32> = (0..xs.iter().product()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let w: Vec<f32> = (0..ws.iter().product()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..ws[0]).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let fast = algorithm.forward(&g, &x, &w, Some(&b));
            let slow = conv2d_reference(&g, &x, &w, Some(&b));
            for (a, r) in fast.iter().zip(&slow) {
                assert!((a - r).abs() < 1e-4, "{xs:?} {ws:?}: {a} vs {r}");
            }
            // backward against the reference via the adjoint identity:
            // <dy, conv(x)> differentiated = <dx, .> ; check dw, dx by finite sums
            let dy: Vec<f32> = (0..fast.len()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let (dx, dw, db) = algorithm.backward(&g, &x, &w, &dy, true, true);
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
