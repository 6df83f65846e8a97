//! Winograd F(2x2, 3x3)'s transforms: 16 multiplications per 2x2 output tile instead of 36,
//! so 2.25 times less GEMM work in the forward pass and in both halves of the backward pass.
//! The driver (driver.rs) runs them; the scheme is in the family docs (mod.rs). Shapes: x
//! [N, C, H, W], w [O, C, 3, 3], bias `[O]`, out [N, O, OH, OW]; transformed arrays
//! `[16][channels][tiles]`.
//!
//! The transforms run on whole rows of tiles at once (vectorizable loops over the tile
//! columns). Tiles beyond the output (odd sizes) compute garbage that is never stored, and
//! their output gradient is zero.

use super::driver::{Tiles, Variant, backward_with, forward_with, impl_variant, supports_3x3};
use crate::tensor::conv::geometry::Conv2dGeom;
use crate::tensor::conv::runs::copy_run;
use crate::tensor::isa::{self, Isa};
use std::mem::MaybeUninit;

/// Whether F(2x2, 3x3) handles this convolution: every one a Winograd variant can run
/// ([`supports_3x3`]).
pub(crate) fn applies(g: &Conv2dGeom) -> bool {
    supports_3x3(g)
}

/// F(2x2, 3x3), this module's transforms.
struct F2;
impl_variant!(F2, tile 2);

/// `U[xi][o][c] = (G g G^T)[xi]` for w [O, C, 3, 3] -> `[16][O][C]`.
fn weight_transform(w: &[f32], o: usize, c: usize) -> Vec<f32> {
    let mut u = vec![0.0f32; 16 * o * c];
    for (oc, g) in w.chunks_exact(9).enumerate() {
        // G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]]; rows of G g (4x3), then (G g) G^T.
        let mut gg = [[0.0f32; 3]; 4];
        for j in 0..3 {
            let (a, b, d) = (g[j], g[3 + j], g[6 + j]);
            gg[0][j] = a;
            gg[1][j] = 0.5 * (a + b + d);
            gg[2][j] = 0.5 * (a - b + d);
            gg[3][j] = d;
        }
        for (i, r) in gg.iter().enumerate() {
            let t = [r[0], 0.5 * (r[0] + r[1] + r[2]), 0.5 * (r[0] - r[1] + r[2]), r[2]];
            for (j, v) in t.into_iter().enumerate() {
                u[(i * 4 + j) * o * c + oc] = v;
            }
        }
    }
    u
}

/// `dg = G^T dU G` for dU `[16][O][C]` -> dw [O, C, 3, 3].
#[allow(clippy::needless_range_loop)] // matrix formulas read best with explicit indices
fn weight_transform_backward(du: &[f32], o: usize, c: usize) -> Vec<f32> {
    let mut dw = vec![0.0f32; o * c * 9];
    for (oc, g) in dw.chunks_exact_mut(9).enumerate() {
        let d = |i: usize, j: usize| du[(i * 4 + j) * o * c + oc];
        // G^T = [[1,.5,.5,0],[0,.5,-.5,0],[0,.5,.5,1]]: rows of G^T dU (3x4), then (.) G.
        let mut r = [[0.0f32; 4]; 3];
        for j in 0..4 {
            r[0][j] = d(0, j) + 0.5 * (d(1, j) + d(2, j));
            r[1][j] = 0.5 * (d(1, j) - d(2, j));
            r[2][j] = 0.5 * (d(1, j) + d(2, j)) + d(3, j);
        }
        for (i, row) in r.iter().enumerate() {
            g[i * 3] = row[0] + 0.5 * (row[1] + row[2]);
            g[i * 3 + 1] = 0.5 * (row[1] - row[2]);
            g[i * 3 + 2] = 0.5 * (row[1] + row[2]) + row[3];
        }
    }
    dw
}

/// Splits `row` into its even and odd elements (`even.len()` pairs), by the kernels of `isa`.
#[inline]
fn deinterleave(isa: Isa, row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    let pairs = even.len();
    assert!(odd.len() == pairs && row.len() >= 2 * pairs);
    // SAFETY: the kernels access only the `pairs` pairs checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::deinterleave(row, even, odd),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::deinterleave(row, even, odd),
            _ => 0,
        }
    };
    for (j, pair) in row[..2 * pairs].chunks_exact(2).enumerate().skip(done) {
        even[j] = pair[0];
        odd[j] = pair[1];
    }
}

/// Interleaves `even` and `odd` into `row` (`even.len()` pairs), by the kernels of `isa`.
#[inline]
fn interleave(isa: Isa, even: &[f32], odd: &[f32], row: &mut [f32]) {
    let pairs = even.len();
    assert!(odd.len() == pairs && row.len() >= 2 * pairs);
    // SAFETY: the kernels access only the `pairs` pairs checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::interleave(even, odd, row),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::interleave(even, odd, row),
            _ => 0,
        }
    };
    for (j, pair) in row[..2 * pairs].chunks_exact_mut(2).enumerate().skip(done) {
        pair[0] = even[j];
        pair[1] = odd[j];
    }
}

/// The AVX-512 transforms: 16 lanes, tails by mask registers (every call finishes its work).
#[cfg(target_arch = "x86_64")]
mod x512 {
    use std::arch::x86_64::*;

    /// For `left` remaining pairs, 16 at most handled: the masks of the first and second 16
    /// interleaved floats, and of the 16 de-interleaved ones.
    #[inline(always)]
    fn lane_masks(left: usize) -> (u16, u16, u16) {
        let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
        let pairs = left.min(16);
        (mask(2 * pairs), mask((2 * pairs).saturating_sub(16)), mask(pairs))
    }

    /// See `super::deinterleave`; returns the pairs done (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; `odd.len() == even.len()` and `row.len() >= 2 * even.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn deinterleave(row: &[f32], even: &mut [f32], odd: &mut [f32]) -> usize {
        let pairs = even.len();
        // SAFETY: every access is masked to the `pairs` pairs (caller's contract).
        unsafe {
            let even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            for j in (0..pairs).step_by(16) {
                let (lo, hi, out) = lane_masks(pairs - j);
                let a = _mm512_maskz_loadu_ps(lo, row.as_ptr().add(2 * j));
                let b = _mm512_maskz_loadu_ps(hi, row.as_ptr().wrapping_add(2 * j + 16));
                _mm512_mask_storeu_ps(even.as_mut_ptr().add(j), out, _mm512_permutex2var_ps(a, even_idx, b));
                _mm512_mask_storeu_ps(odd.as_mut_ptr().add(j), out, _mm512_permutex2var_ps(a, odd_idx, b));
            }
        }
        pairs
    }

    /// See `super::interleave`; returns the pairs done (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; `odd.len() == even.len()` and `row.len() >= 2 * even.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn interleave(even: &[f32], odd: &[f32], row: &mut [f32]) -> usize {
        let pairs = even.len();
        // SAFETY: every access is masked to the `pairs` pairs (caller's contract).
        unsafe {
            let lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            let hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            for j in (0..pairs).step_by(16) {
                let (lo, hi, inp) = lane_masks(pairs - j);
                let e = _mm512_maskz_loadu_ps(inp, even.as_ptr().add(j));
                let o = _mm512_maskz_loadu_ps(inp, odd.as_ptr().add(j));
                _mm512_mask_storeu_ps(row.as_mut_ptr().add(2 * j), lo, _mm512_permutex2var_ps(e, lo_idx, o));
                _mm512_mask_storeu_ps(row.as_mut_ptr().wrapping_add(2 * j + 16), hi, _mm512_permutex2var_ps(e, hi_idx, o));
            }
        }
        pairs
    }

    /// See `super::input_columns`; returns the tiles done (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; `t.len() >= 2 * per` and every `rows[i] + per <= v.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn input_columns(t: &[f32], per: usize, v: &mut [f32], rows: [usize; 4]) -> usize {
        // SAFETY: loads are masked to t's length, stores to the `per` values of each row.
        unsafe {
            let even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            let load = |at: usize| {
                let left = t.len().saturating_sub(at);
                let lo = _mm512_maskz_loadu_ps(mask(left), t.as_ptr().add(at.min(t.len())));
                let hi = _mm512_maskz_loadu_ps(mask(left.saturating_sub(16)), t.as_ptr().add((at + 16).min(t.len())));
                (_mm512_permutex2var_ps(lo, even_idx, hi), _mm512_permutex2var_ps(lo, odd_idx, hi))
            };
            let out = rows.map(|r| v.as_mut_ptr().add(r));
            for j in (0..per).step_by(16) {
                let ((c0, c1), (c2, c3)) = (load(2 * j), load(2 * j + 2));
                let m = mask(per - j);
                _mm512_mask_storeu_ps(out[0].add(j), m, _mm512_sub_ps(c0, c2));
                _mm512_mask_storeu_ps(out[1].add(j), m, _mm512_add_ps(c1, c2));
                _mm512_mask_storeu_ps(out[2].add(j), m, _mm512_sub_ps(c2, c1));
                _mm512_mask_storeu_ps(out[3].add(j), m, _mm512_sub_ps(c1, c3));
            }
        }
        per
    }

    /// See `super::output_columns`; returns the tiles done (all).
    ///
    /// # Safety
    /// AVX-512 F runs here; the four rows hold `per` values and `dst.len() >= 2 * per`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn output_columns(v: [&[f32]; 4], dst: &mut [f32]) -> usize {
        let per = v[0].len();
        // SAFETY: every access is masked to the `per` tiles (caller's contract).
        unsafe {
            let lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            let hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            for x in (0..per).step_by(16) {
                let (lo, hi, inp) = lane_masks(per - x);
                let [v0, v1, v2, v3] = v.map(|r| _mm512_maskz_loadu_ps(inp, r.as_ptr().add(x)));
                let y0 = _mm512_add_ps(_mm512_add_ps(v0, v1), v2);
                let y1 = _mm512_sub_ps(_mm512_sub_ps(v1, v2), v3);
                _mm512_mask_storeu_ps(dst.as_mut_ptr().add(2 * x), lo, _mm512_permutex2var_ps(y0, lo_idx, y1));
                _mm512_mask_storeu_ps(dst.as_mut_ptr().wrapping_add(2 * x + 16), hi, _mm512_permutex2var_ps(y0, hi_idx, y1));
            }
        }
        per
    }
}

/// The AVX2 + FMA transforms: 8 lanes, whole vectors only (each returns how far it got; the
/// caller finishes the tail with the portable loop).
#[cfg(target_arch = "x86_64")]
mod x2 {
    use std::arch::x86_64::*;

    /// The even and odd elements of 16 consecutive floats at `p`.
    ///
    /// # Safety
    /// AVX2 runs here; p..p + 16 is readable.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn split(p: *const f32) -> (__m256, __m256) {
        // SAFETY: per the contract.
        let (a, b) = unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) };
        // [a0 a2 b0 b2 | a4 a6 b4 b6] -> 64-bit lanes 0, 2, 1, 3 -> [a0 a2 a4 a6 b0 b2 b4 b6]
        let fix = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
        (fix(_mm256_shuffle_ps::<0x88>(a, b)), fix(_mm256_shuffle_ps::<0xDD>(a, b)))
    }

    /// Stores 8 pairs (e[i], o[i]) interleaved at `p`.
    ///
    /// # Safety
    /// AVX2 runs here; p..p + 16 is writable.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn zip(e: __m256, o: __m256, p: *mut f32) {
        // [e0 o0 e1 o1 | e4 o4 e5 o5] and [e2 o2 e3 o3 | e6 o6 e7 o7]
        let (lo, hi) = (_mm256_unpacklo_ps(e, o), _mm256_unpackhi_ps(e, o));
        // SAFETY: per the contract.
        unsafe {
            _mm256_storeu_ps(p, _mm256_permute2f128_ps::<0x20>(lo, hi));
            _mm256_storeu_ps(p.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
        }
    }

    /// See `super::deinterleave`; returns the pairs done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; `odd.len() == even.len()` and `row.len() >= 2 * even.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn deinterleave(row: &[f32], even: &mut [f32], odd: &mut [f32]) -> usize {
        let full = even.len() / 8 * 8;
        for j in (0..full).step_by(8) {
            // SAFETY: pairs j..j + 8 are inside the checked lengths.
            unsafe {
                let (e, o) = split(row.as_ptr().add(2 * j));
                _mm256_storeu_ps(even.as_mut_ptr().add(j), e);
                _mm256_storeu_ps(odd.as_mut_ptr().add(j), o);
            }
        }
        full
    }

    /// See `super::interleave`; returns the pairs done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; `odd.len() == even.len()` and `row.len() >= 2 * even.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn interleave(even: &[f32], odd: &[f32], row: &mut [f32]) -> usize {
        let full = even.len() / 8 * 8;
        for j in (0..full).step_by(8) {
            // SAFETY: pairs j..j + 8 are inside the checked lengths.
            unsafe {
                zip(_mm256_loadu_ps(even.as_ptr().add(j)), _mm256_loadu_ps(odd.as_ptr().add(j)), row.as_mut_ptr().add(2 * j))
            };
        }
        full
    }

    /// See `super::input_columns`; returns the tiles done (a multiple of 8; tile j reads
    /// t[2j..2j + 18], so the last tiles are left to the caller).
    ///
    /// # Safety
    /// AVX2 runs here; `t.len() >= 2 * per` and every `rows[i] + per <= v.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn input_columns(t: &[f32], per: usize, v: &mut [f32], rows: [usize; 4]) -> usize {
        let mut j = 0;
        // SAFETY: loads end at 2j + 18 <= t.len(), stores at j + 8 <= per.
        unsafe {
            let out = rows.map(|r| v.as_mut_ptr().add(r));
            while j + 8 <= per && 2 * j + 18 <= t.len() {
                let ((c0, c1), (c2, c3)) = (split(t.as_ptr().add(2 * j)), split(t.as_ptr().add(2 * j + 2)));
                _mm256_storeu_ps(out[0].add(j), _mm256_sub_ps(c0, c2));
                _mm256_storeu_ps(out[1].add(j), _mm256_add_ps(c1, c2));
                _mm256_storeu_ps(out[2].add(j), _mm256_sub_ps(c2, c1));
                _mm256_storeu_ps(out[3].add(j), _mm256_sub_ps(c1, c3));
                j += 8;
            }
        }
        j
    }

    /// See `super::output_columns`; returns the tiles done (a multiple of 8).
    ///
    /// # Safety
    /// AVX2 runs here; the four rows hold `per` values and `dst.len() >= 2 * per`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn output_columns(v: [&[f32]; 4], dst: &mut [f32]) -> usize {
        let full = v[0].len() / 8 * 8;
        for x in (0..full).step_by(8) {
            // SAFETY: tiles x..x + 8 are inside the checked lengths.
            unsafe {
                let [v0, v1, v2, v3] = v.map(|r| _mm256_loadu_ps(r.as_ptr().add(x)));
                let y0 = _mm256_add_ps(_mm256_add_ps(v0, v1), v2);
                let y1 = _mm256_sub_ps(_mm256_sub_ps(v1, v2), v3);
                zip(y0, y1, dst.as_mut_ptr().add(2 * x));
            }
        }
        full
    }
}

/// Per-worker scratch for the transforms: four rows-of-tiles arrays `[group][th][wp]` and
/// four even/odd pairs `[group * per + 1]` (the extra element stays zero: the last tile's
/// neighbour). A channel's tiles of all the group's samples are one flat array (sample i's
/// tile rows follow sample i - 1's), so the column halves of the transforms run once per
/// channel over `s * per` tiles: at 7x7 one sample has only 20 tiles, a vector and a
/// quarter.
struct Scratch {
    t: [Vec<f32>; 4],
    e: [Vec<f32>; 4],
    o: [Vec<f32>; 4],
    /// A row of zeros `[wp]` (tile rows beyond the grid).
    zero: Vec<f32>,
    /// The output gradient's even and odd rows `[group][th][wp]`: only the first OW values
    /// of rows inside the output are ever written, so the rest stays zero.
    dy: [Vec<f32>; 2],
    /// The ISA of the transforms' kernels (one the CPU runs).
    isa: Isa,
}

impl Scratch {
    fn new(t: &Tiles, isa: Isa) -> Scratch {
        assert!(isa.supported(), "winograd: this CPU does not support {isa}");
        let v = |n: usize| std::array::from_fn(|_| vec![0.0f32; n]);
        let tiles = t.group * t.per;
        let dy = std::array::from_fn(|_| vec![0.0; t.group * t.th * t.wp]);
        Scratch { t: v(t.group * t.th * t.wp), e: v(tiles + 1), o: v(tiles + 1), zero: vec![0.0; t.wp], dy, isa }
    }
}

/// `V[xi][c][tile] = (B^T d B)[xi]` for every tile of `s` samples' planes; V is
/// `[16][C][s * per]`.
fn input_transform(g: &Conv2dGeom, t: &Tiles, planes: &[f32], s: usize, v: &mut [f32], sc: &mut Scratch) {
    let (wp, n) = (t.wp, s * t.per);
    let ld = g.c * n;
    for c in 0..g.c {
        for i in 0..s {
            let p = &planes[c * t.group * t.plane() + i * t.plane()..][..t.plane()];
            // Rows of B^T d for every tile row: r0 - r2, r1 + r2, r2 - r1, r1 - r3.
            let [t0, t1, t2, t3] = &mut sc.t;
            for ty in 0..t.th {
                let r = &p[2 * ty * wp..(2 * ty + 4) * wp];
                let (r0, r1, r2, r3) = (&r[..wp], &r[wp..2 * wp], &r[2 * wp..3 * wp], &r[3 * wp..]);
                let range = (i * t.th + ty) * wp..(i * t.th + ty + 1) * wp;
                let (d0, d1, d2, d3) = (&mut t0[range.clone()], &mut t1[range.clone()], &mut t2[range.clone()], &mut t3[range]);
                for (((((d0, d1), d2), d3), (a, b)), (c, d)) in d0
                    .iter_mut()
                    .zip(d1.iter_mut())
                    .zip(d2.iter_mut())
                    .zip(d3.iter_mut())
                    .zip(r0.iter().zip(r1))
                    .zip(r2.iter().zip(r3))
                {
                    *d0 = a - c;
                    *d1 = b + c;
                    *d2 = c - b;
                    *d3 = b - d;
                }
            }
        }
        // Columns: c0 - c2, c1 + c2, c2 - c1, c1 - c3 with c0..c3 = t[2j], t[2j+1], t[2j+2], t[2j+3],
        // for all the samples' tiles at once (a garbage tile's neighbour is the next row's).
        for k in 0..4 {
            let rows = std::array::from_fn(|j| (k * 4 + j) * ld + c * n);
            input_columns(sc.isa, &sc.t[k][..2 * n], n, v, rows);
        }
    }
}

/// The column half of the input transform for one row-transformed plane `t` (tile j's
/// columns at t[2j..2j+4]; the last tile's right neighbour reads as zero): writes the `per`
/// tiles' four values to `v[rows[0]..]`, ..., `v[rows[3]..]`, by the kernels of `isa`.
fn input_columns(isa: Isa, t: &[f32], per: usize, v: &mut [f32], rows: [usize; 4]) {
    assert!(t.len() >= 2 * per && rows.iter().all(|&r| r + per <= v.len()));
    // SAFETY: lengths checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::input_columns(t, per, v, rows),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::input_columns(t, per, v, rows),
            _ => 0,
        }
    };
    let at = |i: usize| t.get(i).copied().unwrap_or(0.0);
    let [a, b, c, d] = rows;
    for j in done..per {
        let (c0, c1, c2, c3) = (at(2 * j), at(2 * j + 1), at(2 * j + 2), at(2 * j + 3));
        v[a + j] = c0 - c2;
        v[b + j] = c1 + c2;
        v[c + j] = c2 - c1;
        v[d + j] = c1 - c3;
    }
}

/// Output tiles `A^T M A` of `s` samples from M `[16][O][s * per]`, plus bias, into
/// `out` `[s, O, OH, OW]`.
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
        // Rows of A^T M: s_j = m0j + m1j + m2j (into e[j]), d_j = m1j - m2j - m3j (into o[j]),
        // for all the samples' tiles at once.
        for j in 0..4 {
            let (m0, m1, m2, m3) = (mrow(j), mrow(4 + j), mrow(8 + j), mrow(12 + j));
            let (sj, dj) = (&mut sc.e[j][..n], &mut sc.o[j][..n]);
            for x in 0..n {
                sj[x] = m0[x] + m1[x] + m2[x];
                dj[x] = m1[x] - m2[x] - m3[x];
            }
        }
        // Columns: y0 = v0 + v1 + v2, y1 = v1 - v2 - v3, for the top (s) and bottom (d) rows.
        for (r, src) in [&sc.e, &sc.o].into_iter().enumerate() {
            output_columns(sc.isa, [&src[0][..n], &src[1][..n], &src[2][..n], &src[3][..n]], &mut sc.t[r]);
        }
        for i in 0..s {
            for y in 0..g.oh {
                let src = &sc.t[y % 2][(i * t.th + y / 2) * wp..][..g.ow];
                let dst = &mut out[(i * g.o + o) * ohw + y * g.ow..][..g.ow];
                dst.iter_mut().zip(src).for_each(|(d, v)| _ = d.write(v + b));
            }
        }
    }
}

/// The column half of the output transform: for every tile x, `dst[2x] = v0 + v1 + v2` and
/// `dst[2x + 1] = v1 - v2 - v3` (at x), by the kernels of `isa`.
fn output_columns(isa: Isa, v: [&[f32]; 4], dst: &mut [f32]) {
    let per = v[0].len();
    assert!(v.iter().all(|r| r.len() == per) && dst.len() >= 2 * per);
    // SAFETY: lengths checked above; `isa` runs here.
    let done = unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x512::output_columns(v, dst),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x2::output_columns(v, dst),
            _ => 0,
        }
    };
    for (x, pair) in dst[..2 * per].chunks_exact_mut(2).enumerate().skip(done) {
        pair[0] = v[0][x] + v[1][x] + v[2][x];
        pair[1] = v[1][x] - v[2][x] - v[3][x];
    }
}

/// `dM = A dY A^T` for `s` samples' output gradients `[s, O, OH, OW]` into `[16][O][s * per]`
/// (positions beyond the output, and the garbage tiles, count as zero).
fn output_transform_backward(g: &Conv2dGeom, t: &Tiles, dy: &[f32], s: usize, dm: &mut [f32], sc: &mut Scratch) {
    let (n, wp) = (s * t.per, t.wp);
    let (ld, ohw) = (g.o * n, g.oh * g.ow);
    for o in 0..g.o {
        // The even (r = 0) and odd (r = 1) rows of every sample's tile rows, into dy[r] (zero beyond the output).
        for i in 0..s {
            for y in 0..g.oh {
                let dst = &mut sc.dy[y % 2][(i * t.th + y / 2) * wp..][..g.ow];
                copy_run(dst, &dy[(i * g.o + o) * ohw + y * g.ow..][..g.ow]);
            }
        }
        for r in 0..2 {
            deinterleave(sc.isa, &sc.dy[r][..2 * n], &mut sc.e[r][..n], &mut sc.o[r][..n]);
        }
        // A = [[1,0],[1,1],[1,-1],[0,-1]]: rows y0, y0 + y1, y0 - y1, -y1 of the tile,
        // then the same combination of its two columns (a = even, b = odd).
        let (e0, o0, e1, o1) = (&sc.e[0][..n], &sc.o[0][..n], &sc.e[1][..n], &sc.o[1][..n]);
        for k in 0..4 {
            let base = |j: usize| (k * 4 + j) * ld + o * n;
            let (d0, rest) = dm[base(0)..].split_at_mut(ld);
            let (d1, rest) = rest.split_at_mut(ld);
            let (d2, d3) = rest.split_at_mut(ld);
            let (d0, d1, d2, d3) = (&mut d0[..n], &mut d1[..n], &mut d2[..n], &mut d3[..n]);
            for x in 0..n {
                let (a, b) = match k {
                    0 => (e0[x], o0[x]),
                    1 => (e0[x] + e1[x], o0[x] + o1[x]),
                    2 => (e0[x] - e1[x], o0[x] - o1[x]),
                    _ => (-e1[x], -o1[x]),
                };
                d0[x] = a;
                d1[x] = a + b;
                d2[x] = a - b;
                d3[x] = -b;
            }
        }
    }
}

/// `dd = B dV B^T` for every tile, summed where tiles overlap, into `dx` `[s, C, H, W]`
/// (only the padded plane's interior, which is the input); dV is `[16][C][s * per]`.
fn input_transform_backward(g: &Conv2dGeom, t: &Tiles, dv: &[f32], s: usize, dx: &mut [MaybeUninit<f32>], sc: &mut Scratch) {
    let (n, wp) = (s * t.per, t.wp);
    let (ld, hw, left) = (g.c * n, g.h * g.w, g.pad.2);
    for c in 0..g.c {
        // B = [[1,0,0,0],[0,1,-1,1],[-1,1,1,0],[0,0,0,-1]]. Columns first: tile column x
        // gives plane columns 2x (v0), 2x+1 (v1 - v2 + v3), 2x+2 (-v0 + v1 + v2), 2x+3 (-v3),
        // so even column x collects v0[x] + (-v0 + v1 + v2)[x-1], odd column x
        // (v1 - v2 + v3)[x] - v3[x-1]. Garbage tiles have dV = 0, so x - 1 may cross rows
        // (and samples): all the samples' tiles go at once.
        for k in 0..4 {
            let v = |j: usize| &dv[(k * 4 + j) * ld + c * n..][..n];
            let (v0, v1, v2, v3) = (v(0), v(1), v(2), v(3));
            let (e, o) = (&mut sc.e[k][..n], &mut sc.o[k][..n]);
            e[0] = v0[0];
            o[0] = v1[0] - v2[0] + v3[0];
            let prev = v0.iter().zip(v1).zip(v2).zip(v3);
            let cur = v0[1..].iter().zip(&v1[1..]).zip(&v2[1..]).zip(&v3[1..]);
            for (((e, o), (((c0, c1), c2), c3)), (((p0, p1), p2), p3)) in e[1..].iter_mut().zip(&mut o[1..]).zip(cur).zip(prev) {
                *e = c0 - p0 + p1 + p2;
                *o = c1 - c2 + c3 - p3;
            }
            interleave(sc.isa, e, o, &mut sc.t[k][..2 * n]);
        }
        // Then rows, the same way, per sample: tile row y gives plane rows 2y (t0),
        // 2y+1 (t1 - t2 + t3), 2y+2 (-t0 + t1 + t2) and 2y+3 (-t3), so even plane row 2y is
        // t0[y] + (-t0 + t1 + t2)[y-1] and odd row 2y+1 (t1 - t2 + t3)[y] - t3[y-1]; rows
        // outside the tile grid read as zero. Each input row is computed once, in place.
        let (rows, zero) = (&sc.t, &sc.zero[..g.w]);
        for i in 0..s {
            let at = |k: usize, y: Option<usize>| match y {
                Some(y) if y < t.th => &rows[k][(i * t.th + y) * wp + left..][..g.w],
                _ => zero,
            };
            let plane = &mut dx[(i * g.c + c) * hw..][..hw];
            for (row, dst) in plane.chunks_exact_mut(g.w).enumerate() {
                let r = row + g.pad.0;
                let (y, before) = (Some(r / 2), (r / 2).checked_sub(1));
                if r.is_multiple_of(2) {
                    let (a, p0, p1, p2) = (at(0, y), at(0, before), at(1, before), at(2, before));
                    for j in 0..g.w {
                        dst[j].write(a[j] - p0[j] + p1[j] + p2[j]);
                    }
                } else {
                    let (a1, a2, a3, p3) = (at(1, y), at(2, y), at(3, y), at(3, before));
                    for j in 0..g.w {
                        dst[j].write(a1[j] - a2[j] + a3[j] - p3[j]);
                    }
                }
            }
        }
    }
}

/// Forward: x [N, C, H, W], w [O, C, 3, 3], bias `[O]` -> out [N, O, OH, OW].
pub(crate) fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_with::<F2>(isa::active(), g, x, w, bias)
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
    backward_with::<F2>(isa::active(), g, x, w, dy, need_dx, need_db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::conv::reference::kernel_check::assert_matches_reference;

    #[test]
    fn matches_the_reference_and_the_im2col_backward() {
        // ResNet shapes (even and odd sizes), asymmetric and no padding, partial groups.
        let cases = [
            ([3, 16, 8, 8], [16, 16, 3, 3], (1, 1, 1, 1)),
            ([5, 8, 7, 7], [8, 8, 3, 3], (1, 1, 1, 1)),
            ([40, 8, 5, 6], [9, 8, 3, 3], (1, 1, 1, 1)),
            ([2, 9, 6, 5], [8, 9, 3, 3], (0, 1, 2, 0)),
            ([3, 8, 7, 9], [10, 8, 3, 3], (0, 0, 0, 0)),
        ];
        for isa in crate::tensor::isa::available() {
            let forward = |g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>| forward_with::<F2>(isa, g, x, w, b);
            let backward = |g: &Conv2dGeom, x: &[f32], w: &[f32], dy: &[f32], dx: bool, db: bool| {
                backward_with::<F2>(isa, g, x, w, dy, dx, db)
            };
            assert_matches_reference(12, &cases, applies, &forward, &backward, |r| 1e-4 * (1.0 + r.abs()));
        }
    }
}
