//! Winograd convolution F(2x2, 3x3) (Lavin & Gray 2015) for 3x3 stride-1 convolutions:
//! 16 multiplications per 2x2 output tile instead of 36, so 2.25 times less GEMM work in
//! the forward pass and in both halves of the backward pass.
//!
//! With `d` a 4x4 input tile, `g` a 3x3 kernel and `m` the 2x2 output tile:
//! `m = A^T [(G g G^T) . (B^T d B)] A`. Summed over input channels, the elementwise
//! product becomes, for each of the 16 tile positions `xi`, a matrix product
//! `M[xi] [O, tiles] = U[xi] [O, C] x V[xi] [C, tiles]` with `U = G g G^T` (weights) and
//! `V = B^T d B` (input tiles). The backward pass runs the transposes:
//! `dM = A dY A^T`, `dU[xi] += dM[xi] V[xi]^T` (then `dg = G^T dU G`), and
//! `dV[xi] = U[xi]^T dM[xi]` (then `dd = B dV B^T`, added back where tiles overlap).
//!
//! The transforms run on whole rows of tiles at once (vectorizable loops over the tile
//! columns). Tiles beyond the output (odd sizes) compute garbage that is never stored, and
//! their output gradient is zero. Samples are split into one chunk per worker; each worker
//! walks its chunk in small groups so the transformed tiles stay in cache.

use super::buffer::filled;
use super::conv::{Conv2dGeom, copy_run};
use super::parallel::chunk_len;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Floats of transformed tiles (input plus output) a group of samples aims at (~1 MiB).
const GROUP_FLOATS: usize = 256 * 1024;

/// Whether F(2x2, 3x3) handles this convolution: 3x3, stride 1, no dilation, one group,
/// and at least 8 input and output channels (thinner products gain little).
pub fn applies(g: &Conv2dGeom) -> bool {
    g.kh == 3 && g.kw == 3 && g.stride == (1, 1) && g.dilation == (1, 1) && g.groups == 1 && g.c >= 8 && g.o >= 8
}

/// Tile grid and padded plane of one convolution (shared by F(2x2, 3x3) and F(4x4, 3x3)).
/// Each row of tiles carries one extra (garbage) tile, so that the tiles of a plane are a
/// flat array whose neighbours along a row are neighbours in memory: every transform is then
/// a few long, vectorizable loops.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tiles {
    /// Tile rows: ceil(OH / m) for m x m output tiles.
    pub(super) th: usize,
    /// Padded plane: m th + 2 rows of m te columns (input at offset (top, left)), te =
    /// ceil(OW / m) + 1 tiles per row.
    pub(super) hp: usize,
    pub(super) wp: usize,
    /// Tiles per sample (th * te).
    pub(super) per: usize,
    /// Samples per group.
    pub(super) group: usize,
}

impl Tiles {
    fn new(g: &Conv2dGeom, tile: usize, positions: usize) -> Tiles {
        let (th, te) = (g.oh.div_ceil(tile), g.ow.div_ceil(tile) + 1);
        let per = th * te;
        let group = (GROUP_FLOATS / (positions * (g.c + g.o) * per).max(1)).clamp(1, 32);
        Tiles { th, hp: tile * th + 2, wp: tile * te, per, group }
    }
    pub(super) fn plane(&self) -> usize {
        self.hp * self.wp
    }
}

/// One Winograd variant F(m x m, 3x3): its tile and the transforms between planes and the
/// `[positions][channels][tiles]` arrays the tile products run on. The drivers below
/// (groups of samples, the products, threads, dx) are shared by both variants.
pub(super) trait Variant {
    /// Output tile side m.
    const TILE: usize;
    /// Transformed positions, (m + 2)^2.
    const POSITIONS: usize = (Self::TILE + 2) * (Self::TILE + 2);
    /// Per-worker scratch rows of the transforms.
    type Scratch;
    fn scratch(t: &Tiles) -> Self::Scratch;
    /// `U = G g G^T` for w [O, C, 3, 3] -> [positions][O][C].
    fn weight_transform(w: &[f32], o: usize, c: usize) -> Vec<f32>;
    /// `dg = G^T dU G`, [positions][O][C] -> dw [O, C, 3, 3].
    fn weight_transform_backward(du: &[f32], o: usize, c: usize) -> Vec<f32>;
    /// V = B^T d B for `s` samples' planes.
    fn input_transform(g: &Conv2dGeom, t: &Tiles, planes: &[f32], s: usize, v: &mut [f32], sc: &mut Self::Scratch);
    /// `A^T M A` plus bias into `out` `[s, O, OH, OW]`.
    #[allow(clippy::too_many_arguments)]
    fn output_transform(
        g: &Conv2dGeom,
        t: &Tiles,
        m: &[f32],
        s: usize,
        bias: Option<&[f32]>,
        out: &mut [MaybeUninit<f32>],
        sc: &mut Self::Scratch,
    );
    /// dM = A dY A^T.
    fn output_transform_backward(g: &Conv2dGeom, t: &Tiles, dy: &[f32], s: usize, dm: &mut [f32], sc: &mut Self::Scratch);
    /// dd = B dV B^T, summed where tiles overlap, into `dx` `[s, C, H, W]` (every value written).
    fn input_transform_backward(
        g: &Conv2dGeom,
        t: &Tiles,
        dv: &[f32],
        s: usize,
        dx: &mut [MaybeUninit<f32>],
        sc: &mut Self::Scratch,
    );
}

/// `impl Variant for $variant` by the free functions of the same names in the invoking
/// module: each variant keeps its transforms as plain functions, read and tested on their
/// own, and this macro is the one place that binds them to the trait.
macro_rules! impl_variant {
    ($variant:ident, tile $tile:expr) => {
        impl Variant for $variant {
            const TILE: usize = $tile;
            type Scratch = Scratch;
            fn scratch(t: &Tiles) -> Scratch {
                Scratch::new(t)
            }
            fn weight_transform(w: &[f32], o: usize, c: usize) -> Vec<f32> {
                weight_transform(w, o, c)
            }
            fn weight_transform_backward(du: &[f32], o: usize, c: usize) -> Vec<f32> {
                weight_transform_backward(du, o, c)
            }
            fn input_transform(g: &Conv2dGeom, t: &Tiles, planes: &[f32], s: usize, v: &mut [f32], sc: &mut Scratch) {
                input_transform(g, t, planes, s, v, sc)
            }
            fn output_transform(
                g: &Conv2dGeom,
                t: &Tiles,
                m: &[f32],
                s: usize,
                bias: Option<&[f32]>,
                out: &mut [MaybeUninit<f32>],
                sc: &mut Scratch,
            ) {
                output_transform(g, t, m, s, bias, out, sc)
            }
            fn output_transform_backward(g: &Conv2dGeom, t: &Tiles, dy: &[f32], s: usize, dm: &mut [f32], sc: &mut Scratch) {
                output_transform_backward(g, t, dy, s, dm, sc)
            }
            fn input_transform_backward(
                g: &Conv2dGeom,
                t: &Tiles,
                dv: &[f32],
                s: usize,
                dx: &mut [MaybeUninit<f32>],
                sc: &mut Scratch,
            ) {
                input_transform_backward(g, t, dv, s, dx, sc)
            }
        }
    };
}
pub(super) use impl_variant;

/// F(2x2, 3x3), this module's transforms.
struct F2;
impl_variant!(F2, tile 2);

/// `U[xi][o][c] = (G g G^T)[xi]` for w [O, C, 3, 3] -> [16][O][C].
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

/// `dg = G^T dU G` for dU [16][O][C] -> dw [O, C, 3, 3].
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

/// Copies `s` samples `[s, C, H, W]` into the zero-bordered planes `[C][s][Hp][Wp]`.
pub(super) fn fill_planes(g: &Conv2dGeom, t: &Tiles, x: &[f32], s: usize, planes: &mut [f32]) {
    let (hw, pl, stride) = (g.h * g.w, t.plane(), t.group * t.plane());
    for i in 0..s {
        for c in 0..g.c {
            let src = &x[(i * g.c + c) * hw..(i * g.c + c + 1) * hw];
            let base = c * stride + i * pl + g.pad.0 * t.wp + g.pad.2;
            for (y, row) in src.chunks_exact(g.w).enumerate() {
                copy_run(&mut planes[base + y * t.wp..][..g.w], row);
            }
        }
    }
}

/// Splits `row` into its even and odd elements (`even.len()` pairs).
#[inline]
fn deinterleave(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    let pairs = even.len();
    assert!(odd.len() == pairs && row.len() >= 2 * pairs);
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: every access is masked to the `pairs` pairs checked above.
    unsafe {
        use std::arch::x86_64::*;
        let even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        for j in (0..pairs).step_by(16) {
            let (lo, hi, out) = lane_masks(pairs - j);
            let a = _mm512_maskz_loadu_ps(lo, row.as_ptr().add(2 * j));
            let b = _mm512_maskz_loadu_ps(hi, row.as_ptr().add(2 * j + 16));
            _mm512_mask_storeu_ps(even.as_mut_ptr().add(j), out, _mm512_permutex2var_ps(a, even_idx, b));
            _mm512_mask_storeu_ps(odd.as_mut_ptr().add(j), out, _mm512_permutex2var_ps(a, odd_idx, b));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    for ((pair, e), o) in row.chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
        *e = pair[0];
        *o = pair[1];
    }
}

/// Interleaves `even` and `odd` into `row` (`even.len()` pairs).
#[inline]
fn interleave(even: &[f32], odd: &[f32], row: &mut [f32]) {
    let pairs = even.len();
    assert!(odd.len() == pairs && row.len() >= 2 * pairs);
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: every access is masked to the `pairs` pairs checked above.
    unsafe {
        use std::arch::x86_64::*;
        let lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        for j in (0..pairs).step_by(16) {
            let (lo, hi, inp) = lane_masks(pairs - j);
            let e = _mm512_maskz_loadu_ps(inp, even.as_ptr().add(j));
            let o = _mm512_maskz_loadu_ps(inp, odd.as_ptr().add(j));
            _mm512_mask_storeu_ps(row.as_mut_ptr().add(2 * j), lo, _mm512_permutex2var_ps(e, lo_idx, o));
            _mm512_mask_storeu_ps(row.as_mut_ptr().add(2 * j + 16), hi, _mm512_permutex2var_ps(e, hi_idx, o));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    for ((pair, e), o) in row.chunks_exact_mut(2).zip(even).zip(odd) {
        pair[0] = *e;
        pair[1] = *o;
    }
}

/// For `left` remaining pairs, 16 at most handled: the masks of the first and second 16
/// interleaved floats, and of the 16 de-interleaved ones.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
fn lane_masks(left: usize) -> (u16, u16, u16) {
    let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
    let pairs = left.min(16);
    (mask(2 * pairs), mask((2 * pairs).saturating_sub(16)), mask(pairs))
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
}

impl Scratch {
    fn new(t: &Tiles) -> Scratch {
        let v = |n: usize| std::array::from_fn(|_| vec![0.0f32; n]);
        let tiles = t.group * t.per;
        let dy = std::array::from_fn(|_| vec![0.0; t.group * t.th * t.wp]);
        Scratch { t: v(t.group * t.th * t.wp), e: v(tiles + 1), o: v(tiles + 1), zero: vec![0.0; t.wp], dy }
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
            input_columns(&sc.t[k][..2 * n], n, v, rows, &mut sc.e[k], &mut sc.o[k]);
        }
    }
}

/// The column half of the input transform for one row-transformed plane `t` (tile j's
/// columns at t[2j..2j+4]; the last tile's right neighbour reads as zero): writes the `per`
/// tiles' four values to `v[rows[0]..]`, ..., `v[rows[3]..]`. `even`/`odd` are scratch of
/// `per + 1` floats (the last one zero) for builds without AVX-512.
fn input_columns(t: &[f32], per: usize, v: &mut [f32], rows: [usize; 4], even: &mut [f32], odd: &mut [f32]) {
    assert!(t.len() >= 2 * per && rows.iter().all(|&r| r + per <= v.len()));
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: loads are masked to t's length, stores to the `per` values of each row.
    unsafe {
        use std::arch::x86_64::*;
        let _ = (even, odd);
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
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    {
        deinterleave(&t[..2 * per], &mut even[..per], &mut odd[..per]);
        let (e0, e1, o0, o1) = (&even[..per], &even[1..=per], &odd[..per], &odd[1..=per]);
        let [a, b, cc, d] = rows;
        v[a..a + per].iter_mut().zip(e0.iter().zip(e1)).for_each(|(v, (x, y))| *v = x - y);
        v[b..b + per].iter_mut().zip(o0.iter().zip(e1)).for_each(|(v, (x, y))| *v = x + y);
        v[cc..cc + per].iter_mut().zip(e1.iter().zip(o0)).for_each(|(v, (x, y))| *v = x - y);
        v[d..d + per].iter_mut().zip(o0.iter().zip(o1)).for_each(|(v, (x, y))| *v = x - y);
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
            output_columns([&src[0][..n], &src[1][..n], &src[2][..n], &src[3][..n]], &mut sc.t[r]);
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
/// `dst[2x + 1] = v1 - v2 - v3` (at x).
fn output_columns(v: [&[f32]; 4], dst: &mut [f32]) {
    let per = v[0].len();
    assert!(v.iter().all(|r| r.len() == per) && dst.len() >= 2 * per);
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: every access is masked to the `per` tiles checked above.
    unsafe {
        use std::arch::x86_64::*;
        let lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        for x in (0..per).step_by(16) {
            let (lo, hi, inp) = lane_masks(per - x);
            let [v0, v1, v2, v3] = v.map(|r| _mm512_maskz_loadu_ps(inp, r.as_ptr().add(x)));
            let y0 = _mm512_add_ps(_mm512_add_ps(v0, v1), v2);
            let y1 = _mm512_sub_ps(_mm512_sub_ps(v1, v2), v3);
            _mm512_mask_storeu_ps(dst.as_mut_ptr().add(2 * x), lo, _mm512_permutex2var_ps(y0, lo_idx, y1));
            _mm512_mask_storeu_ps(dst.as_mut_ptr().add(2 * x + 16), hi, _mm512_permutex2var_ps(y0, hi_idx, y1));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    for (x, pair) in dst[..2 * per].chunks_exact_mut(2).enumerate() {
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
            deinterleave(&sc.dy[r][..2 * n], &mut sc.e[r][..n], &mut sc.o[r][..n]);
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
            interleave(e, o, &mut sc.t[k][..2 * n]);
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

/// `m[xi] [rows, n] (+)= a[xi] [rows, k] x b[xi] [k, n]` for every position, contiguous.
/// Products with b as it lies read it in place (it is wide, k is short, and each is used
/// once: packing it would copy all of it).
#[allow(clippy::too_many_arguments)]
fn batched(
    positions: usize,
    (rows, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    (a, ta): (&[f32], bool),
    (b, tb): (&[f32], bool),
) {
    let (sa, sb, sd) = (rows * k, k * n, rows * n);
    for xi in 0..positions {
        let (a, b, dst) = (&a[xi * sa..(xi + 1) * sa], &b[xi * sb..(xi + 1) * sb], &mut dst[xi * sd..(xi + 1) * sd]);
        if !ta && !tb {
            super::packed_gemm::gemm_in_place(rows, n, k, a, b, dst, accumulate);
        } else if !ta && tb && accumulate {
            super::packed_gemm::gemm_nt_acc(rows, n, k, a, b, dst);
        } else {
            super::matmul::gemm_serial(rows, n, k, a, ta, b, tb, dst, accumulate);
        }
    }
}

/// `U[xi]^T` for every position: [P][O][C] -> [P][C][O].
fn transpose_positions(u: &[f32], o: usize, c: usize) -> Vec<f32> {
    let mut ut = vec![0.0; u.len()];
    for (src, dst) in u.chunks_exact(o * c).zip(ut.chunks_exact_mut(o * c)) {
        for (r, row) in src.chunks_exact(c).enumerate() {
            for (j, &value) in row.iter().enumerate() {
                dst[j * o + r] = value;
            }
        }
    }
    ut
}

/// Forward: x [N, C, H, W], w [O, C, 3, 3], bias [O] -> out [N, O, OH, OW].
pub fn forward(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_with::<F2>(g, x, w, bias)
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
    backward_with::<F2>(g, x, w, dy, need_dx, need_db)
}

/// [`forward`] with the transforms of variant `V`.
pub(super) fn forward_with<V: Variant>(g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let t = Tiles::new(g, V::TILE, V::POSITIONS);
    let u = V::weight_transform(w, g.o, g.c);
    let (chw, ohw) = (g.c * g.h * g.w, g.oh * g.ow);
    let per = chunk_len(g.n);
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(per * g.o * ohw).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
            let mut planes = vec![0.0f32; g.c * t.group * t.plane()];
            let mut v = vec![0.0f32; V::POSITIONS * g.c * t.group * t.per];
            let mut m = vec![0.0f32; V::POSITIONS * g.o * t.group * t.per];
            let mut rows = V::scratch(&t);
            let samples = x.len() / chw;
            for first in (0..samples).step_by(t.group) {
                let s = t.group.min(samples - first);
                let n = s * t.per;
                fill_planes(g, &t, &x[first * chw..(first + s) * chw], s, &mut planes);
                V::input_transform(g, &t, &planes, s, &mut v, &mut rows);
                batched(
                    V::POSITIONS,
                    (g.o, n, g.c),
                    &mut m[..V::POSITIONS * g.o * n],
                    false,
                    (&u, false),
                    (&v[..V::POSITIONS * g.c * n], false),
                );
                V::output_transform(g, &t, &m, s, bias, &mut out[first * g.o * ohw..(first + s) * g.o * ohw], &mut rows);
            }
        })
    };
    // SAFETY: the chunks tile `out`, and the output transform writes every value of its samples.
    unsafe { filled(g.n * g.o * ohw, fill) }
}

/// [`backward`] with the transforms of variant `V`.
pub(super) fn backward_with<V: Variant>(
    g: &Conv2dGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_dx: bool,
    need_db: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
    let t = Tiles::new(g, V::TILE, V::POSITIONS);
    let u = V::weight_transform(w, g.o, g.c);
    let ut = if need_dx { transpose_positions(&u, g.o, g.c) } else { Vec::new() };
    let (chw, ohw) = (g.c * g.h * g.w, g.oh * g.ow);
    let usize_ = V::POSITIONS * g.o * g.c;
    let per = chunk_len(g.n);
    let work = |x: &[f32], dy: &[f32], mut dx: Option<&mut [MaybeUninit<f32>]>| -> (Vec<f32>, Vec<f32>) {
        let mut du = vec![0.0f32; usize_];
        let mut db = vec![0.0f32; if need_db { g.o } else { 0 }];
        let mut planes = vec![0.0f32; g.c * t.group * t.plane()];
        let mut v = vec![0.0f32; V::POSITIONS * g.c * t.group * t.per];
        let mut dm = vec![0.0f32; V::POSITIONS * g.o * t.group * t.per];
        let mut rows = V::scratch(&t);
        let samples = x.len() / chw;
        for first in (0..samples).step_by(t.group) {
            let s = t.group.min(samples - first);
            let n = s * t.per;
            let dys = &dy[first * g.o * ohw..(first + s) * g.o * ohw];
            if need_db {
                for (k, row) in dys.chunks_exact(ohw).enumerate() {
                    db[k % g.o] += row.iter().sum::<f32>();
                }
            }
            fill_planes(g, &t, &x[first * chw..(first + s) * chw], s, &mut planes);
            V::input_transform(g, &t, &planes, s, &mut v, &mut rows);
            V::output_transform_backward(g, &t, dys, s, &mut dm, &mut rows);
            // dU[xi] [O, C] += dM[xi] [O, n] x V[xi]^T [n, C]
            batched(
                V::POSITIONS,
                (g.o, g.c, n),
                &mut du,
                true,
                (&dm[..V::POSITIONS * g.o * n], false),
                (&v[..V::POSITIONS * g.c * n], true),
            );
            if let Some(dx) = dx.as_deref_mut() {
                // dV[xi] [C, n] = U[xi]^T [C, O] x dM[xi] [O, n], into V's buffer.
                batched(
                    V::POSITIONS,
                    (g.c, n, g.o),
                    &mut v[..V::POSITIONS * g.c * n],
                    false,
                    (&ut, false),
                    (&dm[..V::POSITIONS * g.o * n], false),
                );
                V::input_transform_backward(g, &t, &v, s, &mut dx[first * chw..(first + s) * chw], &mut rows);
            }
        }
        (du, db)
    };
    let sum = |mut a: (Vec<f32>, Vec<f32>), b: (Vec<f32>, Vec<f32>)| {
        a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x += y);
        a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
        a
    };
    let zero = || (vec![0.0; usize_], vec![0.0; if need_db { g.o } else { 0 }]);
    let (dx, (du, db)) = if need_dx {
        let mut sums = None;
        let fill = |dx: &mut [MaybeUninit<f32>]| {
            let found = dx
                .par_chunks_mut(per * chw)
                .zip(x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * ohw)))
                .map(|(dx, (x, dy))| work(x, dy, Some(dx)))
                .reduce(zero, sum);
            sums = Some(found);
        };
        // SAFETY: the chunks tile dx, and the input transform writes every value of its samples.
        let dx = unsafe { filled(g.n * chw, fill) };
        (Some(dx), sums.expect("computed with dx"))
    } else {
        (None, x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * ohw)).map(|(x, dy)| work(x, dy, None)).reduce(zero, sum))
    };
    (dx, V::weight_transform_backward(&du, g.o, g.c), need_db.then_some(db))
}

#[cfg(test)]
mod tests {
    use super::super::conv::kernel_check::assert_matches_reference;
    use super::*;

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
        assert_matches_reference(12, &cases, applies, forward, backward, |r| 1e-4 * (1.0 + r.abs()));
    }
}
