//! Winograd F(4x4, 3x3)'s transforms: 36 multiplications per 4x4 output tile instead of
//! 144 (F(2x2, 3x3): 16 per 2x2, i.e. 64 per 4x4), so the tile products do 4x less work
//! than direct convolution and the transformed data is 2.25 values per output instead of 4.
//! The driver (driver.rs) runs them; the scheme is in the family docs (mod.rs). Shapes: x
//! [N, C, H, W], w [O, C, 3, 3], bias `[O]`, out [N, O, OH, OW]; transformed arrays
//! `[36][channels][tiles]`.
//!
//! The transformed tiles are 6x6. Tiles of a row are 4 columns apart; each row of tiles
//! carries one extra (garbage) tile so that a plane's tiles form a flat array, and the
//! transforms are linear combinations of long, contiguous rows (one vectorized pass per
//! term). The larger transform constants (1/24 in G, 8 in A) cost some precision: errors
//! stay within ~1e-4 of the result's scale on the test shapes.

use super::driver::{Tiles, Variant, backward_with, forward_with, impl_variant, supports_3x3};
use crate::tensor::conv::geometry::Conv2dGeom;
use crate::tensor::conv::runs::copy_run;
use crate::tensor::isa::{self, Isa};
use std::mem::MaybeUninit;

/// Transformed-tile positions.
const P: usize = 36;

/// Whether F(4x4, 3x3) handles this convolution: one a Winograd variant can run
/// ([`supports_3x3`]) with outputs of at least 16x16. Each transformed value costs about
/// twice the arithmetic of F(2x2, 3x3)'s (six-term combinations instead of two), which the
/// smaller tile products repay only on large maps: small ones have few tiles per row, so the
/// transforms' short rows and the garbage tile dominate and F(2x2, 3x3) is faster there
/// (measurements at resnet20's shapes in BENCHMARKS.md).
pub(crate) fn applies(g: &Conv2dGeom) -> bool {
    supports_3x3(g) && g.oh >= 16 && g.ow >= 16
}

/// G (weight transform).
const G: [[f32; 3]; 6] = [
    [0.25, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];
/// Splits a row-transformed plane (tile j's columns at t[4j..4j+4]) into its four column
/// phases `q[c][j] = t[4j + c]`; `q[c][per]` is zero (the last tile's right neighbour).
fn phases(isa: Isa, t: &[f32], per: usize, q: &mut [Vec<f32>; 4]) {
    assert!(t.len() >= 4 * per && q.iter().all(|q| q.len() > per));
    let [q0, q1, q2, q3] = q;
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::phases(t, per, [&mut q0[..], &mut q1[..], &mut q2[..], &mut q3[..]]),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::phases(t, per, [&mut q0[..], &mut q1[..], &mut q2[..], &mut q3[..]]),
            _ => 0,
        }
    };
    for (j, c) in t[..4 * per].chunks_exact(4).enumerate().skip(done) {
        (q0[j], q1[j], q2[j], q3[j]) = (c[0], c[1], c[2], c[3]);
    }
    (q0[per], q1[per], q2[per], q3[per]) = (0.0, 0.0, 0.0, 0.0);
}

/// The inverse of [`phases`]: `t[4j + c] = q[c][j]` for j < per.
fn interleave4(isa: Isa, q: [&[f32]; 4], per: usize, t: &mut [f32]) {
    assert!(t.len() >= 4 * per && q.iter().all(|q| q.len() >= per));
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::interleave4(q, per, t),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::interleave4(q, per, t),
            _ => 0,
        }
    };
    for (j, c) in t[..4 * per].chunks_exact_mut(4).enumerate().skip(done) {
        (c[0], c[1], c[2], c[3]) = (q[0][j], q[1][j], q[2][j], q[3][j]);
    }
}

/// `U[xi][o][c] = (G g G^T)[xi]` for w [O, C, 3, 3] -> `[36][O][C]`.
#[allow(clippy::needless_range_loop)] // matrix formulas read best with explicit indices
fn weight_transform(w: &[f32], o: usize, c: usize) -> Vec<f32> {
    let mut u = vec![0.0f32; P * o * c];
    for (oc, g) in w.chunks_exact(9).enumerate() {
        let mut gg = [[0.0f32; 3]; 6]; // G g
        for i in 0..6 {
            for j in 0..3 {
                gg[i][j] = (0..3).map(|k| G[i][k] * g[k * 3 + j]).sum();
            }
        }
        for i in 0..6 {
            for j in 0..6 {
                u[(i * 6 + j) * o * c + oc] = (0..3).map(|k| gg[i][k] * G[j][k]).sum();
            }
        }
    }
    u
}

/// `dg = G^T dU G` for dU `[36][O][C]` -> dw [O, C, 3, 3].
#[allow(clippy::needless_range_loop)]
fn weight_transform_backward(du: &[f32], o: usize, c: usize) -> Vec<f32> {
    let mut dw = vec![0.0f32; o * c * 9];
    for (oc, g) in dw.chunks_exact_mut(9).enumerate() {
        let d = |i: usize, j: usize| du[(i * 6 + j) * o * c + oc];
        let mut r = [[0.0f32; 6]; 3]; // G^T dU
        for a in 0..3 {
            for j in 0..6 {
                r[a][j] = (0..6).map(|i| G[i][a] * d(i, j)).sum();
            }
        }
        for a in 0..3 {
            for b in 0..3 {
                g[a * 3 + b] = (0..6).map(|j| r[a][j] * G[j][b]).sum();
            }
        }
    }
    dw
}

/// Per-worker scratch, sized for a whole group of samples (their tile rows stacked): six
/// rows-of-tiles arrays `[group][th][wp]`, four column phases `[group * per + 1]`, 24
/// per-tile rows `[group * per]`, six rows of A dY `[group][th][wp]`, six per-tile rows of
/// the input gradient's columns, and one input-gradient plane `[hp][wp]`.
struct Scratch {
    t: [Vec<f32>; 6],
    q: [Vec<f32>; 4],
    w: Vec<Vec<f32>>,
    a: [Vec<f32>; 6],
    e: [Vec<f32>; 6],
    dplane: Vec<f32>,
    /// Output-gradient rows 4ty + r `[group][th][wp]`: only the first OW values of rows
    /// inside the output are ever written, so the rest stays zero.
    dy: [Vec<f32>; 4],
    /// The ISA of the transforms' kernels (one the CPU runs).
    isa: Isa,
}

impl Scratch {
    fn new(t: &Tiles, isa: Isa) -> Scratch {
        assert!(isa.supported(), "winograd: this CPU does not support {isa}");
        fn rows<const K: usize>(len: usize) -> [Vec<f32>; K] {
            std::array::from_fn(|_| vec![0.0; len])
        }
        let (tiles, rows_len) = (t.group * t.per, t.group * t.th * t.wp);
        Scratch {
            t: rows(rows_len),
            q: rows(tiles + 1),
            w: (0..24).map(|_| vec![0.0; tiles]).collect(),
            a: rows(rows_len),
            e: rows(tiles),
            dplane: vec![0.0; t.plane()],
            dy: rows(rows_len),
            isa,
        }
    }
}

/// `V[xi][c][tile] = (B^T d B)[xi]` for every tile of `s` samples' planes; V is
/// `[36][C][s * per]`. The rows go per sample, the columns once per channel over all the
/// samples' tiles (stacked tile rows, as in F(2x2, 3x3)).
fn input_transform(g: &Conv2dGeom, t: &Tiles, planes: &[f32], s: usize, v: &mut [f32], sc: &mut Scratch) {
    let (wp, n) = (t.wp, s * t.per);
    let ld = g.c * n;
    for c in 0..g.c {
        for i in 0..s {
            let p = &planes[c * t.group * t.plane() + i * t.plane()..][..t.plane()];
            // rows of B^T d for every tile row: plane rows 4ty..4ty+6
            for ty in 0..t.th {
                let r: [&[f32]; 6] = std::array::from_fn(|k| &p[(4 * ty + k) * wp..][..wp]);
                let at = (i * t.th + ty) * wp;
                bt_rows(sc.isa, r, sc.t.each_mut().map(|row| &mut row[at..at + wp]));
            }
        }
        // columns: tile j's six columns are q0[j], q1[j], q2[j], q3[j], q0[j+1], q1[j+1]
        for k in 0..6 {
            phases(sc.isa, &sc.t[k][..4 * n], n, &mut sc.q);
            let q = &sc.q;
            let cols: [&[f32]; 6] = [&q[0][..n], &q[1][..n], &q[2][..n], &q[3][..n], &q[0][1..=n], &q[1][1..=n]];
            let (head, tail) = v[(k * 6) * ld + c * n..].split_at_mut(ld);
            let (v1, tail) = tail.split_at_mut(ld);
            let (v2, tail) = tail.split_at_mut(ld);
            let (v3, tail) = tail.split_at_mut(ld);
            let (v4, tail) = tail.split_at_mut(ld);
            bt_rows(sc.isa, cols, [&mut head[..n], &mut v1[..n], &mut v2[..n], &mut v3[..n], &mut v4[..n], &mut tail[..n]]);
        }
    }
}

/// `out[l] = sum_u BT[l][u] x[u]`, element by element over six rows (one fused pass), with
/// B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
///        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]].
#[inline]
fn bt_rows(isa: Isa, x: [&[f32]; 6], mut out: [&mut [f32]; 6]) {
    let len = out[0].len();
    assert!(x.iter().all(|r| r.len() >= len) && out.iter().all(|r| r.len() == len));
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::bt_rows(x, &mut out),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::bt_rows(x, &mut out),
            _ => 0,
        }
    };
    {
        let [o0, o1, o2, o3, o4, o5] = out;
        for e in done..len {
            let (a, b, c, d, f, h) = (x[0][e], x[1][e], x[2][e], x[3][e], x[4][e], x[5][e]);
            o0[e] = 4.0 * a - 5.0 * c + f;
            o1[e] = -4.0 * (b + c) + d + f;
            o2[e] = 4.0 * (b - c) - d + f;
            o3[e] = 2.0 * (d - b) - c + f;
            o4[e] = 2.0 * (b - d) - c + f;
            o5[e] = 4.0 * b - 5.0 * d + h;
        }
    }
}

/// `out[r] = sum_i AT[r][i] m[i]`, element by element over six rows (one fused pass), with
/// A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]].
#[inline]
fn at_rows(isa: Isa, m: [&[f32]; 6], mut out: [&mut [f32]; 4]) {
    let len = out[0].len();
    assert!(m.iter().all(|r| r.len() >= len) && out.iter().all(|r| r.len() == len));
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::at_rows(m, &mut out),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::at_rows(m, &mut out),
            _ => 0,
        }
    };
    {
        let [o0, o1, o2, o3] = out;
        for e in done..len {
            let (a, b, c, d, f, h) = (m[0][e], m[1][e], m[2][e], m[3][e], m[4][e], m[5][e]);
            let (s1, d1, s2, d2) = (b + c, b - c, d + f, d - f);
            o0[e] = a + s1 + s2;
            o1[e] = d1 + 2.0 * d2;
            o2[e] = s1 + 4.0 * s2;
            o3[e] = d1 + 8.0 * d2 + h;
        }
    }
}

/// `out[i] = sum_r AT[r][i] x[r]` (A times four rows), element by element.
#[inline]
fn a_rows(isa: Isa, x: [&[f32]; 4], mut out: [&mut [f32]; 6]) {
    let len = out[0].len();
    assert!(x.iter().all(|r| r.len() >= len) && out.iter().all(|r| r.len() == len));
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::a_rows(x, &mut out),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::a_rows(x, &mut out),
            _ => 0,
        }
    };
    {
        let [o0, o1, o2, o3, o4, o5] = out;
        for e in done..len {
            let (a, b, c, d) = (x[0][e], x[1][e], x[2][e], x[3][e]);
            o0[e] = a;
            o1[e] = a + b + c + d;
            o2[e] = a - b + c - d;
            o3[e] = a + 2.0 * b + 4.0 * c + 8.0 * d;
            o4[e] = a - 2.0 * b + 4.0 * c - 8.0 * d;
            o5[e] = d;
        }
    }
}

/// `out[w] (+)= sum_m BT[m][w] x[m]` (B times six rows), element by element.
#[inline]
fn b_rows(isa: Isa, x: [&[f32]; 6], mut out: [&mut [f32]; 6], add: bool) {
    let len = out[0].len();
    assert!(x.iter().all(|r| r.len() >= len) && out.iter().all(|r| r.len() == len));
    // SAFETY: the lengths are checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::b_rows(x, &mut out, add),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::b_rows(x, &mut out, add),
            _ => 0,
        }
    };
    for e in done..len {
        let (x0, x1, x2, x3, x4, x5) = (x[0][e], x[1][e], x[2][e], x[3][e], x[4][e], x[5][e]);
        let v = [
            4.0 * x0,
            -4.0 * x1 + 4.0 * x2 - 2.0 * x3 + 2.0 * x4 + 4.0 * x5,
            -5.0 * x0 - 4.0 * x1 - 4.0 * x2 - x3 - x4,
            x1 - x2 + 2.0 * x3 - 2.0 * x4 - 5.0 * x5,
            x0 + x1 + x2 + x3 + x4,
            x5,
        ];
        for (o, v) in out.iter_mut().zip(v) {
            o[e] = if add { o[e] + v } else { v };
        }
    }
}

/// The AVX-512 transforms: 16 lanes, tails by mask registers (every call finishes its work).
#[cfg(target_arch = "x86_64")]
mod x512 {
    /// See `super::phases`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::phases` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn phases(t: &[f32], per: usize, [q0, q1, q2, q3]: [&mut [f32]; 4]) -> usize {
        // SAFETY: loads are masked to the 4 * per values, stores to the per tiles (checked above).
        unsafe {
            use std::arch::x86_64::*;
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            for j in (0..per).step_by(16) {
                let left = 4 * (per - j);
                let v: [__m512; 4] = std::array::from_fn(|k| {
                    let m = mask(left.saturating_sub(16 * k));
                    _mm512_maskz_loadu_ps(m, t.as_ptr().add((4 * j + 16 * k).min(t.len())))
                });
                let (e01, o01) = (_mm512_permutex2var_ps(v[0], even, v[1]), _mm512_permutex2var_ps(v[0], odd, v[1]));
                let (e23, o23) = (_mm512_permutex2var_ps(v[2], even, v[3]), _mm512_permutex2var_ps(v[2], odd, v[3]));
                let m = mask(per - j);
                _mm512_mask_storeu_ps(q0.as_mut_ptr().add(j), m, _mm512_permutex2var_ps(e01, even, e23));
                _mm512_mask_storeu_ps(q2.as_mut_ptr().add(j), m, _mm512_permutex2var_ps(e01, odd, e23));
                _mm512_mask_storeu_ps(q1.as_mut_ptr().add(j), m, _mm512_permutex2var_ps(o01, even, o23));
                _mm512_mask_storeu_ps(q3.as_mut_ptr().add(j), m, _mm512_permutex2var_ps(o01, odd, o23));
            }
        }
        per
    }

    /// See `super::interleave4`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::interleave4` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn interleave4(q: [&[f32]; 4], per: usize, t: &mut [f32]) -> usize {
        // SAFETY: loads are masked to the per tiles, stores to the 4 * per values.
        unsafe {
            use std::arch::x86_64::*;
            let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            let hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            for j in (0..per).step_by(16) {
                let m = mask(per - j);
                let [a, b, c, d] = [0, 1, 2, 3].map(|k| _mm512_maskz_loadu_ps(m, q[k].as_ptr().add(j)));
                let (ac_lo, ac_hi) = (_mm512_permutex2var_ps(a, lo, c), _mm512_permutex2var_ps(a, hi, c));
                let (bd_lo, bd_hi) = (_mm512_permutex2var_ps(b, lo, d), _mm512_permutex2var_ps(b, hi, d));
                let out = [
                    _mm512_permutex2var_ps(ac_lo, lo, bd_lo),
                    _mm512_permutex2var_ps(ac_lo, hi, bd_lo),
                    _mm512_permutex2var_ps(ac_hi, lo, bd_hi),
                    _mm512_permutex2var_ps(ac_hi, hi, bd_hi),
                ];
                let left = 4 * (per - j);
                for (k, v) in out.into_iter().enumerate() {
                    let n = left.saturating_sub(16 * k);
                    if n > 0 {
                        _mm512_mask_storeu_ps(t.as_mut_ptr().add(4 * j + 16 * k), mask(n), v);
                    }
                }
            }
        }
        per
    }

    /// See `super::bt_rows`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::bt_rows` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn bt_rows(x: [&[f32]; 6], out: &mut [&mut [f32]; 6]) -> usize {
        let len = out[0].len();
        // SAFETY: every access is masked to the len values checked above.
        unsafe {
            use std::arch::x86_64::*;
            let k = |v: f32| _mm512_set1_ps(v);
            for e in (0..len).step_by(16) {
                let m = ((1u32 << (len - e).min(16)) - 1) as u16;
                let [a, b, c, d, f, h] = x.map(|r| _mm512_maskz_loadu_ps(m, r.as_ptr().add(e)));
                let ptr = out.each_mut().map(|o| o.as_mut_ptr());
                let st = |o: *mut f32, v: __m512| _mm512_mask_storeu_ps(o.add(e), m, v);
                st(ptr[0], _mm512_add_ps(_mm512_fmadd_ps(k(4.0), a, _mm512_mul_ps(k(-5.0), c)), f));
                st(ptr[1], _mm512_add_ps(_mm512_fmadd_ps(k(-4.0), _mm512_add_ps(b, c), d), f));
                st(ptr[2], _mm512_add_ps(_mm512_fmadd_ps(k(4.0), _mm512_sub_ps(b, c), _mm512_sub_ps(f, d)), _mm512_setzero_ps()));
                st(ptr[3], _mm512_sub_ps(_mm512_fmadd_ps(k(2.0), _mm512_sub_ps(d, b), f), c));
                st(ptr[4], _mm512_sub_ps(_mm512_fmadd_ps(k(2.0), _mm512_sub_ps(b, d), f), c));
                st(ptr[5], _mm512_add_ps(_mm512_fmadd_ps(k(4.0), b, _mm512_mul_ps(k(-5.0), d)), h));
            }
        }
        len
    }

    /// See `super::at_rows`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::at_rows` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn at_rows(m: [&[f32]; 6], out: &mut [&mut [f32]; 4]) -> usize {
        let len = out[0].len();
        // SAFETY: every access is masked to the len values checked above.
        unsafe {
            use std::arch::x86_64::*;
            let k = |v: f32| _mm512_set1_ps(v);
            for e in (0..len).step_by(16) {
                let mk = ((1u32 << (len - e).min(16)) - 1) as u16;
                let [a, b, c, d, f, h] = m.map(|r| _mm512_maskz_loadu_ps(mk, r.as_ptr().add(e)));
                let (s1, d1, s2, d2) = (_mm512_add_ps(b, c), _mm512_sub_ps(b, c), _mm512_add_ps(d, f), _mm512_sub_ps(d, f));
                let ptr = out.each_mut().map(|o| o.as_mut_ptr());
                let st = |o: *mut f32, v: __m512| _mm512_mask_storeu_ps(o.add(e), mk, v);
                st(ptr[0], _mm512_add_ps(_mm512_add_ps(a, s1), s2));
                st(ptr[1], _mm512_fmadd_ps(k(2.0), d2, d1));
                st(ptr[2], _mm512_fmadd_ps(k(4.0), s2, s1));
                st(ptr[3], _mm512_add_ps(_mm512_fmadd_ps(k(8.0), d2, d1), h));
            }
        }
        len
    }

    /// See `super::a_rows`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::a_rows` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn a_rows(x: [&[f32]; 4], out: &mut [&mut [f32]; 6]) -> usize {
        let len = out[0].len();
        // SAFETY: every access is masked to the len values checked above.
        unsafe {
            use std::arch::x86_64::*;
            let k = |v: f32| _mm512_set1_ps(v);
            let ptr = out.each_mut().map(|o| o.as_mut_ptr());
            for e in (0..len).step_by(16) {
                let m = ((1u32 << (len - e).min(16)) - 1) as u16;
                let [a, b, c, d] = x.map(|r| _mm512_maskz_loadu_ps(m, r.as_ptr().add(e)));
                let st = |o: *mut f32, v: __m512| _mm512_mask_storeu_ps(o.add(e), m, v);
                let (ac, bd) = (_mm512_add_ps(a, c), _mm512_add_ps(b, d));
                let (a4c, b4d) = (_mm512_fmadd_ps(k(4.0), c, a), _mm512_fmadd_ps(k(4.0), d, b));
                st(ptr[0], a);
                st(ptr[1], _mm512_add_ps(ac, bd));
                st(ptr[2], _mm512_sub_ps(ac, bd));
                st(ptr[3], _mm512_fmadd_ps(k(2.0), b4d, a4c));
                st(ptr[4], _mm512_fnmadd_ps(k(2.0), b4d, a4c));
                st(ptr[5], d);
            }
        }
        len
    }

    /// See `super::b_rows`; returns how many it did (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the lengths are as `super::b_rows` checks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn b_rows(x: [&[f32]; 6], out: &mut [&mut [f32]; 6], add: bool) -> usize {
        let len = out[0].len();
        // SAFETY: every access is masked to the len values checked above.
        unsafe {
            use std::arch::x86_64::*;
            let k = |v: f32| _mm512_set1_ps(v);
            let ptr = out.each_mut().map(|o| o.as_mut_ptr());
            for e in (0..len).step_by(16) {
                let m = ((1u32 << (len - e).min(16)) - 1) as u16;
                let [x0, x1, x2, x3, x4, x5] = x.map(|r| _mm512_maskz_loadu_ps(m, r.as_ptr().add(e)));
                let st = |o: *mut f32, v: __m512| {
                    let v = if add { _mm512_add_ps(_mm512_maskz_loadu_ps(m, o.add(e)), v) } else { v };
                    _mm512_mask_storeu_ps(o.add(e), m, v)
                };
                let (d12, s12, d34, s34) =
                    (_mm512_sub_ps(x2, x1), _mm512_add_ps(x1, x2), _mm512_sub_ps(x3, x4), _mm512_add_ps(x3, x4));
                st(ptr[0], _mm512_mul_ps(k(4.0), x0));
                st(ptr[1], _mm512_fmadd_ps(k(4.0), _mm512_add_ps(d12, x5), _mm512_mul_ps(k(-2.0), d34)));
                st(ptr[2], _mm512_fmadd_ps(k(-5.0), x0, _mm512_fmadd_ps(k(-4.0), s12, _mm512_sub_ps(_mm512_setzero_ps(), s34))));
                st(ptr[3], _mm512_fmadd_ps(k(2.0), d34, _mm512_fmadd_ps(k(-5.0), x5, _mm512_sub_ps(_mm512_setzero_ps(), d12))));
                st(ptr[4], _mm512_add_ps(_mm512_add_ps(x0, s12), s34));
                st(ptr[5], x5);
            }
        }
        len
    }
}

/// The AVX2 + FMA transforms: 8 lanes, whole vectors only (each returns how far it got; the
/// caller finishes the tail with the portable loop).
#[cfg(target_arch = "x86_64")]
mod x2 {
    use std::arch::x86_64::*;

    /// The 4 x 4 transpose inside each 128-bit lane of four vectors.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn transpose_lanes([w0, w1, w2, w3]: [__m256; 4]) -> [__m256; 4] {
        let (t0, t1) = (_mm256_unpacklo_ps(w0, w1), _mm256_unpackhi_ps(w0, w1));
        let (t2, t3) = (_mm256_unpacklo_ps(w2, w3), _mm256_unpackhi_ps(w2, w3));
        [
            _mm256_shuffle_ps::<0x44>(t0, t2),
            _mm256_shuffle_ps::<0xEE>(t0, t2),
            _mm256_shuffle_ps::<0x44>(t1, t3),
            _mm256_shuffle_ps::<0xEE>(t1, t3),
        ]
    }

    /// See `super::phases`; returns the tiles done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::phases` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn phases(t: &[f32], per: usize, mut q: [&mut [f32]; 4]) -> usize {
        let full = per / 8 * 8;
        for j in (0..full).step_by(8) {
            // SAFETY: tiles j..j + 8 (values 4j..4j + 32) are inside the checked lengths.
            unsafe {
                // v[i] holds tiles 2i and 2i + 1; regroup to lanes (tile i | tile i + 4)
                let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(t.as_ptr().add(4 * j + 8 * i)));
                let w = [
                    _mm256_permute2f128_ps::<0x20>(v[0], v[2]),
                    _mm256_permute2f128_ps::<0x31>(v[0], v[2]),
                    _mm256_permute2f128_ps::<0x20>(v[1], v[3]),
                    _mm256_permute2f128_ps::<0x31>(v[1], v[3]),
                ];
                for (dst, r) in q.iter_mut().zip(transpose_lanes(w)) {
                    _mm256_storeu_ps(dst.as_mut_ptr().add(j), r);
                }
            }
        }
        full
    }

    /// See `super::interleave4`; returns the tiles done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::interleave4` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn interleave4(q: [&[f32]; 4], per: usize, t: &mut [f32]) -> usize {
        let full = per / 8 * 8;
        for j in (0..full).step_by(8) {
            // SAFETY: tiles j..j + 8 (values 4j..4j + 32) are inside the checked lengths.
            unsafe {
                let w = transpose_lanes(q.map(|r| _mm256_loadu_ps(r.as_ptr().add(j))));
                let out = t.as_mut_ptr().add(4 * j);
                _mm256_storeu_ps(out, _mm256_permute2f128_ps::<0x20>(w[0], w[1]));
                _mm256_storeu_ps(out.add(8), _mm256_permute2f128_ps::<0x20>(w[2], w[3]));
                _mm256_storeu_ps(out.add(16), _mm256_permute2f128_ps::<0x31>(w[0], w[1]));
                _mm256_storeu_ps(out.add(24), _mm256_permute2f128_ps::<0x31>(w[2], w[3]));
            }
        }
        full
    }

    /// See `super::bt_rows`; returns the values done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::bt_rows` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn bt_rows(x: [&[f32]; 6], out: &mut [&mut [f32]; 6]) -> usize {
        let full = out[0].len() / 8 * 8;
        let k = |v: f32| _mm256_set1_ps(v);
        let ptr = out.each_mut().map(|o| o.as_mut_ptr());
        for e in (0..full).step_by(8) {
            // SAFETY: values e..e + 8 are inside the checked lengths.
            unsafe {
                let [a, b, c, d, f, h] = x.map(|r| _mm256_loadu_ps(r.as_ptr().add(e)));
                let st = |o: *mut f32, v: __m256| _mm256_storeu_ps(o.add(e), v);
                st(ptr[0], _mm256_add_ps(_mm256_fmadd_ps(k(4.0), a, _mm256_mul_ps(k(-5.0), c)), f));
                st(ptr[1], _mm256_add_ps(_mm256_fmadd_ps(k(-4.0), _mm256_add_ps(b, c), d), f));
                st(ptr[2], _mm256_fmadd_ps(k(4.0), _mm256_sub_ps(b, c), _mm256_sub_ps(f, d)));
                st(ptr[3], _mm256_sub_ps(_mm256_fmadd_ps(k(2.0), _mm256_sub_ps(d, b), f), c));
                st(ptr[4], _mm256_sub_ps(_mm256_fmadd_ps(k(2.0), _mm256_sub_ps(b, d), f), c));
                st(ptr[5], _mm256_add_ps(_mm256_fmadd_ps(k(4.0), b, _mm256_mul_ps(k(-5.0), d)), h));
            }
        }
        full
    }

    /// See `super::at_rows`; returns the values done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::at_rows` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn at_rows(m: [&[f32]; 6], out: &mut [&mut [f32]; 4]) -> usize {
        let full = out[0].len() / 8 * 8;
        let k = |v: f32| _mm256_set1_ps(v);
        let ptr = out.each_mut().map(|o| o.as_mut_ptr());
        for e in (0..full).step_by(8) {
            // SAFETY: values e..e + 8 are inside the checked lengths.
            unsafe {
                let [a, b, c, d, f, h] = m.map(|r| _mm256_loadu_ps(r.as_ptr().add(e)));
                let (s1, d1, s2, d2) = (_mm256_add_ps(b, c), _mm256_sub_ps(b, c), _mm256_add_ps(d, f), _mm256_sub_ps(d, f));
                let st = |o: *mut f32, v: __m256| _mm256_storeu_ps(o.add(e), v);
                st(ptr[0], _mm256_add_ps(_mm256_add_ps(a, s1), s2));
                st(ptr[1], _mm256_fmadd_ps(k(2.0), d2, d1));
                st(ptr[2], _mm256_fmadd_ps(k(4.0), s2, s1));
                st(ptr[3], _mm256_add_ps(_mm256_fmadd_ps(k(8.0), d2, d1), h));
            }
        }
        full
    }

    /// See `super::a_rows`; returns the values done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::a_rows` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn a_rows(x: [&[f32]; 4], out: &mut [&mut [f32]; 6]) -> usize {
        let full = out[0].len() / 8 * 8;
        let k = |v: f32| _mm256_set1_ps(v);
        let ptr = out.each_mut().map(|o| o.as_mut_ptr());
        for e in (0..full).step_by(8) {
            // SAFETY: values e..e + 8 are inside the checked lengths.
            unsafe {
                let [a, b, c, d] = x.map(|r| _mm256_loadu_ps(r.as_ptr().add(e)));
                let st = |o: *mut f32, v: __m256| _mm256_storeu_ps(o.add(e), v);
                let (ac, bd) = (_mm256_add_ps(a, c), _mm256_add_ps(b, d));
                let (a4c, b4d) = (_mm256_fmadd_ps(k(4.0), c, a), _mm256_fmadd_ps(k(4.0), d, b));
                st(ptr[0], a);
                st(ptr[1], _mm256_add_ps(ac, bd));
                st(ptr[2], _mm256_sub_ps(ac, bd));
                st(ptr[3], _mm256_fmadd_ps(k(2.0), b4d, a4c));
                st(ptr[4], _mm256_fnmadd_ps(k(2.0), b4d, a4c));
                st(ptr[5], d);
            }
        }
        full
    }

    /// See `super::b_rows`; returns the values done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the lengths are as `super::b_rows` checks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn b_rows(x: [&[f32]; 6], out: &mut [&mut [f32]; 6], add: bool) -> usize {
        let full = out[0].len() / 8 * 8;
        let k = |v: f32| _mm256_set1_ps(v);
        let ptr = out.each_mut().map(|o| o.as_mut_ptr());
        for e in (0..full).step_by(8) {
            // SAFETY: values e..e + 8 are inside the checked lengths.
            unsafe {
                let [x0, x1, x2, x3, x4, x5] = x.map(|r| _mm256_loadu_ps(r.as_ptr().add(e)));
                let st = |o: *mut f32, v: __m256| {
                    let v = if add { _mm256_add_ps(_mm256_loadu_ps(o.add(e)), v) } else { v };
                    _mm256_storeu_ps(o.add(e), v)
                };
                let (d12, s12, d34, s34) =
                    (_mm256_sub_ps(x2, x1), _mm256_add_ps(x1, x2), _mm256_sub_ps(x3, x4), _mm256_add_ps(x3, x4));
                let zero = _mm256_setzero_ps();
                st(ptr[0], _mm256_mul_ps(k(4.0), x0));
                st(ptr[1], _mm256_fmadd_ps(k(4.0), _mm256_add_ps(d12, x5), _mm256_mul_ps(k(-2.0), d34)));
                st(ptr[2], _mm256_fmadd_ps(k(-5.0), x0, _mm256_fmadd_ps(k(-4.0), s12, _mm256_sub_ps(zero, s34))));
                st(ptr[3], _mm256_fmadd_ps(k(2.0), d34, _mm256_fmadd_ps(k(-5.0), x5, _mm256_sub_ps(zero, d12))));
                st(ptr[4], _mm256_add_ps(_mm256_add_ps(x0, s12), s34));
                st(ptr[5], x5);
            }
        }
        full
    }
}

/// Output tiles `A^T M A` of `s` samples from M `[36][O][s * per]`, plus bias, into
/// `out` `[s, O, OH, OW]` (all the samples' tiles at once, then rows out per sample).
fn output_transform(
    g: &Conv2dGeom,
    t: &Tiles,
    m: &[f32],
    s: usize,
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
    sc: &mut Scratch,
) {
    let (n, wp) = (s * t.per, t.wp);
    let (ld, ohw) = (g.o * n, g.oh * g.ow);
    for o in 0..g.o {
        let b = bias.map_or(0.0, |b| b[o]);
        let mrow = |xi: usize| &m[xi * ld + o * n..][..n];
        // rows of A^T M: s[r][j] = sum_i AT[r][i] m[i][j], into w[r * 6 + j]
        for j in 0..6 {
            let (w0, rest) = sc.w.split_at_mut(6);
            let (w1, rest) = rest.split_at_mut(6);
            let (w2, w3) = rest.split_at_mut(6);
            at_rows(
                sc.isa,
                std::array::from_fn(|ii| mrow(ii * 6 + j)),
                [&mut w0[j][..n], &mut w1[j][..n], &mut w2[j][..n], &mut w3[j][..n]],
            );
        }
        // columns: y[r][c] = sum_j AT[c][j] s[r][j], interleaved into t[r] (output row 4ty + r)
        for r in 0..4 {
            let [q0, q1, q2, q3] = &mut sc.q;
            at_rows(
                sc.isa,
                std::array::from_fn(|j| &sc.w[r * 6 + j][..n]),
                [&mut q0[..n], &mut q1[..n], &mut q2[..n], &mut q3[..n]],
            );
            interleave4(sc.isa, sc.q.each_ref().map(|q| &q[..]), n, &mut sc.t[r]);
        }
        for i in 0..s {
            for y in 0..g.oh {
                let src = &sc.t[y % 4][(i * t.th + y / 4) * wp..][..g.ow];
                let dst = &mut out[(i * g.o + o) * ohw + y * g.ow..][..g.ow];
                dst.iter_mut().zip(src).for_each(|(d, v)| _ = d.write(v + b));
            }
        }
    }
}

/// `dM = A dY A^T` for `s` samples' output gradients `[s, O, OH, OW]` into `[36][O][s * per]`
/// (positions beyond the output, and the garbage tiles, count as zero).
fn output_transform_backward(g: &Conv2dGeom, t: &Tiles, dy: &[f32], s: usize, dm: &mut [f32], sc: &mut Scratch) {
    let (n, wp) = (s * t.per, t.wp);
    let (ld, ohw) = (g.o * n, g.oh * g.ow);
    let rows = s * t.th * wp;
    for o in 0..g.o {
        // output rows 4ty + r of every sample's tile rows, into dy[r] (zero beyond the output)
        for i in 0..s {
            for y in 0..g.oh {
                let dst = &mut sc.dy[y % 4][(i * t.th + y / 4) * wp..][..g.ow];
                copy_run(dst, &dy[(i * g.o + o) * ohw + y * g.ow..][..g.ow]);
            }
        }
        // rows of A dY: six rows from the four output rows, into a[..6]
        a_rows(sc.isa, std::array::from_fn(|r| &sc.dy[r][..rows]), sc.a.each_mut().map(|v| &mut v[..rows]));
        for ii in 0..6 {
            phases(sc.isa, &sc.a[ii][..rows], n, &mut sc.q);
            let base = (ii * 6) * ld + o * n;
            let (d0, rest) = dm[base..].split_at_mut(ld);
            let (d1, rest) = rest.split_at_mut(ld);
            let (d2, rest) = rest.split_at_mut(ld);
            let (d3, rest) = rest.split_at_mut(ld);
            let (d4, d5) = rest.split_at_mut(ld);
            let q = &sc.q;
            a_rows(
                sc.isa,
                std::array::from_fn(|c| &q[c][..n]),
                [&mut d0[..n], &mut d1[..n], &mut d2[..n], &mut d3[..n], &mut d4[..n], &mut d5[..n]],
            );
        }
    }
}

/// `dd = B dV B^T` for every tile, summed where tiles overlap, into `dx` `[s, C, H, W]`
/// (only the padded plane's interior, which is the input); dV is `[36][C][s * per]`.
fn input_transform_backward(g: &Conv2dGeom, t: &Tiles, dv: &[f32], s: usize, dx: &mut [MaybeUninit<f32>], sc: &mut Scratch) {
    let (n, wp) = (s * t.per, t.wp);
    let (ld, hw, w) = (g.c * n, g.h * g.w, g.w);
    for c in 0..g.c {
        // columns: e[u] = sum_m BT[m][u] dV[l][m] lands on plane column 4x + u; u = 4, 5
        // overlap the next tile's 0, 1 (garbage tiles have dV = 0, so x - 1 may cross rows
        // and samples: all the samples' tiles go at once)
        for l in 0..6 {
            let [e0, e1, e2, e3, e4, e5] = &mut sc.e;
            b_rows(
                sc.isa,
                std::array::from_fn(|mm| &dv[(l * 6 + mm) * ld + c * n..][..n]),
                [&mut e0[..n], &mut e1[..n], &mut e2[..n], &mut e3[..n], &mut e4[..n], &mut e5[..n]],
                false,
            );
            let [q0, q1, ..] = &mut sc.q;
            (q0[0], q1[0]) = (e0[0], e1[0]);
            for x in 1..n {
                q0[x] = e0[x] + e4[x - 1];
                q1[x] = e1[x] + e5[x - 1];
            }
            interleave4(sc.isa, [&q0[..n], &q1[..n], &e2[..n], &e3[..n]], n, &mut sc.t[l]);
        }
        // rows, per sample: plane row 4ty + u += sum_l BT[l][u] t[l] (rows 4, 5 overlap the
        // next tile row); then the plane's interior is the input gradient
        for i in 0..s {
            let p = &mut sc.dplane;
            p.fill(0.0);
            for ty in 0..t.th {
                let rows = &mut p[4 * ty * wp..(4 * ty + 6) * wp];
                let (r0, rest) = rows.split_at_mut(wp);
                let (r1, rest) = rest.split_at_mut(wp);
                let (r2, rest) = rest.split_at_mut(wp);
                let (r3, rest) = rest.split_at_mut(wp);
                let (r4, r5) = rest.split_at_mut(wp);
                let at = (i * t.th + ty) * wp;
                b_rows(sc.isa, std::array::from_fn(|l| &sc.t[l][at..at + wp]), [r0, r1, r2, r3, r4, r5], true);
            }
            let plane = &mut dx[(i * g.c + c) * hw..][..hw];
            for (y, dst) in plane.chunks_exact_mut(w).enumerate() {
                dst.iter_mut().zip(&p[(y + g.pad.0) * wp + g.pad.2..][..w]).for_each(|(d, &v)| _ = d.write(v));
            }
        }
    }
}

/// F(4x4, 3x3), this module's transforms, run by the shared driver.
struct F4;

impl_variant!(F4, tile 4);

/// Forward: x [N, C, H, W], w [O, C, 3, 3], bias `[O]` -> out [N, O, OH, OW].
pub(crate) fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_with::<F4>(isa::active(), g, x, w, bias)
}

/// Backward: from dy [N, O, OH, OW] compute dx (if `need_dx`), dw and db (if `need_db`).
pub(crate) fn backward(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    backward_with::<F4>(isa::active(), g, x, w, dy, need_dx, need_db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::conv::reference::kernel_check::assert_matches_reference;

    #[test]
    fn matches_the_reference_and_the_im2col_backward() {
        // ResNet shapes (sizes not multiples of 4), asymmetric and no padding, partial groups.
        let cases = [
            ([3, 16, 16, 16], [16, 16, 3, 3], (1, 1, 1, 1)),
            ([3, 8, 17, 18], [8, 8, 3, 3], (1, 1, 1, 1)),
            ([40, 8, 16, 19], [9, 8, 3, 3], (1, 1, 1, 1)),
            ([2, 9, 18, 17], [8, 9, 3, 3], (0, 1, 2, 0)),
            ([3, 8, 19, 21], [10, 8, 3, 3], (0, 0, 0, 0)),
            ([2, 16, 28, 28], [16, 16, 3, 3], (1, 1, 1, 1)),
        ];
        for isa in crate::tensor::isa::available() {
            let forward = |g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>| forward_with::<F4>(isa, g, x, w, b);
            let backward = |g: &Conv2dGeom, x: &[f32], w: &[f32], dy: &[f32], dx: bool, db: bool| {
                backward_with::<F4>(isa, g, x, w, dy, dx, db)
            };
            assert_matches_reference(12, &cases, applies, &forward, &backward, |r| 2e-4 * (1.0 + r.abs()));
        }
    }
}
