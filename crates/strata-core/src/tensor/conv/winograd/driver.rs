//! The Winograd driver shared by F(2x2, 3x3) and F(4x4, 3x3): the tile grid ([`Tiles`]),
//! the [`Variant`] trait that a variant's transforms implement (bound by [`impl_variant`]),
//! and everything around the transforms: groups of samples, zero-padded planes, the tile
//! products, threads and the input gradient. Shapes: x [N, C, H, W], w [O, C, 3, 3], bias
//! `[O]`, out [N, O, OH, OW]; transformed arrays are `[positions][channels][tiles]`.
//!
//! Samples are split into one chunk per worker; each worker walks its chunk in small groups
//! so the transformed tiles stay in cache. All buffers are per worker and reused.

use crate::tensor::buffer::filled;
use crate::tensor::conv::geometry::Conv2dGeom;
use crate::tensor::conv::runs::{add_partials, copy_run};
use crate::tensor::isa::Isa;
use crate::tensor::parallel::chunk_len;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Floats of transformed tiles (input plus output) a group of samples aims at (~1 MiB).
const GROUP_FLOATS: usize = 256 * 1024;

/// Whether the Winograd variants can run this convolution at all: 3x3, stride 1, no
/// dilation, one group, and at least 8 input and output channels (thinner products gain
/// little). A variant may add conditions of its own.
pub(super) fn supports_3x3(g: &Conv2dGeom) -> bool {
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
/// `[positions][channels][tiles]` arrays the tile products run on. The drivers in this
/// module (groups of samples, the products, threads, dx) are shared by both variants.
pub(super) trait Variant {
    /// Output tile side m.
    const TILE: usize;
    /// Transformed positions, (m + 2)^2.
    const POSITIONS: usize = (Self::TILE + 2) * (Self::TILE + 2);
    /// Per-worker scratch rows of the transforms.
    type Scratch;
    /// Scratch for one worker, whose transforms run the kernels of `isa` (one the CPU runs).
    fn scratch(t: &Tiles, isa: Isa) -> Self::Scratch;
    /// `U = G g G^T` for w [O, C, 3, 3] -> `[positions][O][C]`.
    fn weight_transform(w: &[f32], o: usize, c: usize) -> Vec<f32>;
    /// `dg = G^T dU G`, `[positions][O][C]` -> dw [O, C, 3, 3].
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
            fn scratch(t: &Tiles, isa: Isa) -> Scratch {
                Scratch::new(t, isa)
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

/// Copies `s` samples `[s, C, H, W]` into the zero-bordered planes `[C][s][Hp][Wp]`.
fn fill_planes(g: &Conv2dGeom, t: &Tiles, x: &[f32], s: usize, planes: &mut [f32]) {
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

/// `m[xi] [rows, n] (+)= a[xi] [rows, k] x b[xi] [k, n]` for every position, contiguous.
/// Products with b as it lies read it in place (it is wide, k is short, and each is used
/// once: packing it would copy all of it).
#[allow(clippy::too_many_arguments)]
fn batched(
    isa: Isa,
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
            crate::tensor::packed_gemm::gemm_in_place_on(isa, rows, n, k, a, b, dst, accumulate);
        } else if !ta && tb && accumulate {
            crate::tensor::packed_gemm::gemm_nt_acc_on(isa, rows, n, k, a, b, dst);
        } else {
            crate::tensor::matmul::gemm_serial(rows, n, k, a, ta, b, tb, dst, accumulate);
        }
    }
}

/// `U[xi]^T` for every position: `[P][O][C]` -> `[P][C][O]`.
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

/// Forward: x [N, C, H, W], w [O, C, 3, 3], bias `[O]` -> out [N, O, OH, OW], with the
/// transforms of variant `V` and the kernels of `isa`.
pub(super) fn forward_with<V: Variant>(isa: Isa, g: &Conv2dGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let t = Tiles::new(g, V::TILE, V::POSITIONS);
    let u = V::weight_transform(w, g.o, g.c);
    let (chw, ohw) = (g.c * g.h * g.w, g.oh * g.ow);
    let per = chunk_len(g.n);
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(per * g.o * ohw).zip(x.par_chunks(per * chw)).for_each(|(out, x)| {
            let mut planes = vec![0.0f32; g.c * t.group * t.plane()];
            let mut v = vec![0.0f32; V::POSITIONS * g.c * t.group * t.per];
            let mut m = vec![0.0f32; V::POSITIONS * g.o * t.group * t.per];
            let mut rows = V::scratch(&t, isa);
            let samples = x.len() / chw;
            for first in (0..samples).step_by(t.group) {
                let s = t.group.min(samples - first);
                let n = s * t.per;
                fill_planes(g, &t, &x[first * chw..(first + s) * chw], s, &mut planes);
                V::input_transform(g, &t, &planes, s, &mut v, &mut rows);
                batched(
                    isa,
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

/// Backward: from dy [N, O, OH, OW] compute dx [N, C, H, W] (if `need_dx`), dw
/// [O, C, 3, 3] and db `[O]` (if `need_db`), with the transforms of variant `V` and the
/// kernels of `isa`.
pub(super) fn backward_with<V: Variant>(
    isa: Isa,
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
        let mut rows = V::scratch(&t, isa);
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
                isa,
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
                    isa,
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
    let zero = || (vec![0.0; usize_], vec![0.0; if need_db { g.o } else { 0 }]);
    let (dx, (du, db)) = if need_dx {
        let mut sums = None;
        let fill = |dx: &mut [MaybeUninit<f32>]| {
            let found = dx
                .par_chunks_mut(per * chw)
                .zip(x.par_chunks(per * chw).zip(dy.par_chunks(per * g.o * ohw)))
                .map(|(dx, (x, dy))| work(x, dy, Some(dx)))
                .reduce(zero, add_partials);
            sums = Some(found);
        };
        // SAFETY: the chunks tile dx, and the input transform writes every value of its samples.
        let dx = unsafe { filled(g.n * chw, fill) };
        (Some(dx), sums.expect("computed with dx"))
    } else {
        (
            None,
            x.par_chunks(per * chw)
                .zip(dy.par_chunks(per * g.o * ohw))
                .map(|(x, dy)| work(x, dy, None))
                .reduce(zero, add_partials),
        )
    };
    (dx, V::weight_transform_backward(&du, g.o, g.c), need_db.then_some(db))
}
