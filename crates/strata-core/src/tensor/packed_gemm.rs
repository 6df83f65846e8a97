//! A right-hand matrix that is multiplied many times — the recurrent weights, used at every
//! time step of a sequence — packed once into column panels, and the product
//! `C [m, n] += A [m, k] x B [k, n]` with that packed B.
//!
//! Why: a general GEMM repacks B on every call, and for an LSTM step ([64, 128] x [128, 512]
//! per replica) repacking costs about a quarter of the product (BENCHMARKS.md). Packed once
//! per sequence, each panel (k x 64 floats, contiguous) is streamed from cache by an AVX-512
//! micro-kernel that keeps a 6 x 64 block of C in 24 registers, or (k x 16 floats) by an
//! AVX2 + FMA one that keeps a 6 x 16 block in 12; which one is [`isa::active`]'s choice at
//! run time. Without either (other CPUs, `STRATA_ISA=scalar`) the general GEMM runs on the
//! plain matrix.
//!
//! [`gemm_in_place_on`] runs the same micro-kernel on a B read where it lies: for products with
//! a short inner dimension and a wide B used once (Winograd's transformed tiles, [C, tiles]),
//! where packing would copy all of B for a handful of multiply-adds per element.

use super::isa::{self, Isa};
use super::matmul::gemm_serial;

/// Rows of C per register block (AVX-512: 6 x 4 = 24 accumulators of the 32 vector
/// registers; AVX2: 6 x 2 = 12 of the 16).
const ROWS: usize = 6;

/// Columns of B per panel for an ISA's micro-kernel (AVX-512: 4 vectors of 16; AVX2: 2 of
/// 8); `None`: no micro-kernel, the general GEMM on the plain matrix.
fn panel_width(isa: Isa) -> Option<usize> {
    match isa {
        Isa::Avx512 if cfg!(target_arch = "x86_64") => Some(64),
        Isa::Avx2 if cfg!(target_arch = "x86_64") => Some(16),
        _ => None,
    }
}

/// `isa`, checked to run on this CPU (a kernel of an ISA the CPU lacks would fault).
fn checked(isa: Isa) -> Isa {
    assert!(isa.supported(), "packed_gemm: this CPU does not support {isa}");
    isa
}

/// One column block of `c (+)= a x b` by `isa`'s micro-kernel (see `avx512::column_block`).
///
/// # Safety
/// As `column_block`, and `isa` has a micro-kernel ([`panel_width`]) the CPU supports.
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn column_block(
    isa: Isa,
    m: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    cols: usize,
    accumulate: bool,
) {
    // SAFETY: forwarded to the caller's contract.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::column_block(m, k, a, k, b, ldb, c, ldc, cols, accumulate),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::column_block(m, k, a, k, b, ldb, c, ldc, cols, accumulate),
            _ => unreachable!("packed_gemm: no micro-kernel for {isa}"),
        }
    }
}

/// B [k, n], packed for repeated products.
#[derive(Clone, Debug)]
pub struct PackedRhs {
    k: usize,
    n: usize,
    /// The ISA whose micro-kernel the panels are laid out for.
    isa: Isa,
    /// With a micro-kernel of panel width P: panels `[ceil(n / P)][k][P]`, zero-padded past
    /// column n. Without: B row-major.
    data: Vec<f32>,
}

impl PackedRhs {
    /// Packs `b`: B itself ([k, n] row-major), or with `transposed` its transpose given as
    /// [n, k] row-major (so a weight `w [n, k]` packs as `w^T`), for the [active](isa::active) ISA.
    pub fn new(b: &[f32], k: usize, n: usize, transposed: bool) -> PackedRhs {
        PackedRhs::new_for(isa::active(), b, k, n, transposed)
    }

    /// As [`PackedRhs::new`], for the micro-kernel of `isa`.
    ///
    /// # Panics
    /// If the CPU does not support `isa`.
    pub(crate) fn new_for(isa: Isa, b: &[f32], k: usize, n: usize, transposed: bool) -> PackedRhs {
        assert_eq!(b.len(), k * n, "packed_gemm: B has {} values, expected {k} x {n}", b.len());
        let isa = checked(isa);
        let at = |row: usize, col: usize| if transposed { b[col * k + row] } else { b[row * n + col] };
        let data = if let Some(panel) = panel_width(isa) {
            let panels = n.div_ceil(panel);
            let mut data = vec![0.0; panels * k * panel];
            for (p, dst) in data.chunks_exact_mut(k * panel).enumerate() {
                let cols = panel.min(n - p * panel);
                for (row, dst) in dst.chunks_exact_mut(panel).enumerate() {
                    for (j, d) in dst[..cols].iter_mut().enumerate() {
                        *d = at(row, p * panel + j);
                    }
                }
            }
            data
        } else if transposed {
            (0..k).flat_map(|row| (0..n).map(move |col| (row, col))).map(|(r, c)| at(r, c)).collect()
        } else {
            b.to_vec()
        };
        PackedRhs { k, n, isa, data }
    }

    /// `c [m, n] += a [m, k] x B`, on the calling thread.
    pub fn mul_acc(&self, m: usize, a: &[f32], c: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        assert!(a.len() >= m * k && c.len() >= m * n, "packed_gemm: operands too short for m = {m}, k = {k}, n = {n}");
        if m == 0 || n == 0 || k == 0 {
            return;
        }
        let Some(panel) = panel_width(self.isa) else {
            gemm_serial(m, n, k, a, false, &self.data, false, c, true);
            return;
        };
        for (p, data) in self.data.chunks_exact(k * panel).enumerate() {
            let col = p * panel;
            // SAFETY: the panel holds k rows of `panel` values; a and c as asserted above;
            // the ISA was checked when packing.
            unsafe { column_block(self.isa, m, k, a, data, panel, &mut c[col..], n, panel.min(n - col), true) };
        }
    }
}

/// `c [m, n] (+)= a [m, k] x b [k, n]` (all row-major, on the calling thread), with b read in
/// place rather than packed (see the module notes), by the kernels of `isa`.
///
/// # Panics
/// If the CPU does not support `isa`, or an operand is too short.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_in_place_on(isa: Isa, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "packed_gemm: operands too short for m = {m}, k = {k}, n = {n}"
    );
    let isa = checked(isa);
    let panel = panel_width(isa);
    let Some(panel) = panel.filter(|_| m > 0 && n > 0 && k > 0) else {
        gemm_serial(m, n, k, a, false, b, false, c, accumulate);
        return;
    };
    for col in (0..n).step_by(panel) {
        // SAFETY: b's rows hold n values from column `col` on (at least `cols`), as asserted;
        // the ISA is checked.
        unsafe { column_block(isa, m, k, a, &b[col..], n, &mut c[col..], n, panel.min(n - col), accumulate) };
    }
}

/// `c [m, n] += a [m, k] x b [n, k]^T` (both row-major, rows contiguous along k): every
/// value of c a dot product of two rows. For Winograd's weight gradient, `dU [O, C] +=
/// dM [O, tiles] x V [C, tiles]^T`: C and O are 16 to 64, tiles a few hundred, and a general
/// GEMM packs one whole operand for it (and then sums horizontally anyway). By the
/// [active](isa::active) ISA.
pub fn gemm_nt_acc(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    gemm_nt_acc_on(isa::active(), m, n, k, a, b, c)
}

/// [`gemm_nt_acc`] by the kernels of `isa`.
///
/// # Panics
/// If the CPU does not support `isa`, or an operand is too short.
pub(crate) fn gemm_nt_acc_on(isa: Isa, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(
        a.len() >= m * k && b.len() >= n * k && c.len() >= m * n,
        "packed_gemm: operands too short for m = {m}, k = {k}, n = {n}"
    );
    let isa = checked(isa);
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Scalar && m.is_multiple_of(4) && n.is_multiple_of(4) {
        for i in (0..m).step_by(4) {
            for j in (0..n).step_by(4) {
                // SAFETY: rows i..i + 4 of a and j..j + 4 of b hold k values each (asserted);
                // the ISA is checked.
                let sums = unsafe {
                    if isa == Isa::Avx512 {
                        avx512::dots_4x4(k, &a[i * k..], &b[j * k..])
                    } else {
                        avx2::dots_4x4(k, &a[i * k..], &b[j * k..])
                    }
                };
                for (r, row) in sums.iter().enumerate() {
                    c[(i + r) * n + j..][..4].iter_mut().zip(row).for_each(|(c, s)| *c += s);
                }
            }
        }
        return;
    }
    let _ = isa;
    gemm_serial(m, n, k, a, false, b, true, c, true);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// The 16 dot products of rows 0..4 of `a` with rows 0..4 of `b`, rows `k` long and
    /// `k` apart: 16 accumulators of 16 lanes, summed across lanes at the end.
    ///
    /// # Safety
    /// a and b hold 4 rows of k values each.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dots_4x4(k: usize, a: &[f32], b: &[f32]) -> [[f32; 4]; 4] {
        let (ap, bp) = (a.as_ptr(), b.as_ptr());
        let mut p = 0;
        // SAFETY: loads are inside the four rows (full vectors, then a masked tail).
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 4]; 4];
            let mut step = |av: [__m512; 4], bv: [__m512; 4]| {
                for r in 0..4 {
                    for s in 0..4 {
                        acc[r][s] = _mm512_fmadd_ps(av[r], bv[s], acc[r][s]);
                    }
                }
            };
            while p + 16 <= k {
                step(
                    std::array::from_fn(|r| _mm512_loadu_ps(ap.add(r * k + p))),
                    std::array::from_fn(|s| _mm512_loadu_ps(bp.add(s * k + p))),
                );
                p += 16;
            }
            if p < k {
                let m = ((1u32 << (k - p)) - 1) as u16;
                step(
                    std::array::from_fn(|r| _mm512_maskz_loadu_ps(m, ap.add(r * k + p))),
                    std::array::from_fn(|s| _mm512_maskz_loadu_ps(m, bp.add(s * k + p))),
                );
            }
            acc.map(|row| sum_lanes_4(row))
        }
    }

    /// The lane sums of four vectors, by a tree (11 shuffles and adds instead of 4 x 8).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sum_lanes_4([a0, a1, a2, a3]: [__m512; 4]) -> [f32; 4] {
        // SAFETY: register-only operations.
        unsafe {
            // per 128-bit lane: [a0 (0+2), a1 (0+2), a0 (1+3), a1 (1+3)], the same for a2, a3
            let t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
            let t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
            // per 128-bit lane: that lane's sums of a0, a1, a2, a3
            let u = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(t0, t1), _mm512_shuffle_ps::<0xEE>(t0, t1));
            // add the four 128-bit lanes: halves swapped, then neighbours swapped
            let h = _mm512_add_ps(u, _mm512_shuffle_f32x4::<0x4E>(u, u));
            let h = _mm512_add_ps(h, _mm512_shuffle_f32x4::<0xB1>(h, h));
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), _mm512_castps512_ps128(h));
            out
        }
    }

    /// One column block (`cols` <= 64 columns) of `c [m, ..] (+)= a [m, k] x b [k, ..]`, in
    /// register blocks of up to 6 rows. Rows of a, b and c are `lda`, `ldb`, `ldc` apart.
    ///
    /// # Safety
    /// a holds m rows of k values, b k rows and c m rows of at least `cols` values each.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn column_block(
        m: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        cols: usize,
        accumulate: bool,
    ) {
        let mut row = 0;
        while row < m {
            let rows = super::ROWS.min(m - row);
            let (a, c) = (&a[row * lda..], &mut c[row * ldc..]);
            // SAFETY: forwarded to the caller's contract, for rows row..row + rows.
            unsafe {
                match rows {
                    6 => block::<6>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                    5 => block::<5>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                    4 => block::<4>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                    3 => block::<3>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                    2 => block::<2>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                    _ => block::<1>(k, a, lda, b, ldb, c, ldc, cols, accumulate),
                }
            }
            row += rows;
        }
    }

    /// `c[r][0..cols] (+)= sum_t a[r][t] * b[t][0..cols]` for R rows.
    ///
    /// # Safety
    /// As [`column_block`] with m = R.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // r and v index register arrays together
    unsafe fn block<const R: usize>(
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        cols: usize,
        accumulate: bool,
    ) {
        const V: usize = 4;
        // SAFETY: bounds per the function's contract; masked loads and stores touch only
        // the `cols` valid columns.
        unsafe {
            let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
            let masks: [__mmask16; V] = std::array::from_fn(|v| {
                let valid = cols.saturating_sub(16 * v).min(16);
                ((1u32 << valid) - 1) as __mmask16
            });
            let mut acc = [[_mm512_setzero_ps(); V]; R];
            for t in 0..k {
                let row = bp.add(t * ldb);
                let b: [__m512; V] = std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], row.add(16 * v)));
                for r in 0..R {
                    let av = _mm512_set1_ps(*ap.add(r * lda + t));
                    for v in 0..V {
                        acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
                    }
                }
            }
            for r in 0..R {
                let row = cp.add(r * ldc);
                for v in 0..V {
                    let at = row.add(16 * v);
                    let sum = if accumulate { _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], at), acc[r][v]) } else { acc[r][v] };
                    _mm512_mask_storeu_ps(at, masks[v], sum);
                }
            }
        }
    }
}

/// The AVX2 + FMA micro-kernels: as the AVX-512 ones with 8-lane vectors and 16 registers
/// (a 6 x 16 block of C in 12 accumulators; dot products 4 x 2 at a time), and masked
/// loads and stores by lane masks instead of mask registers.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 8 ones then 8 zeros: `MASKS[8 - n..16 - n]` enables the first n lanes.
    static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    /// The lane mask of the first `n` (at most 8) lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn lanes(n: usize) -> __m256i {
        let n = n.min(8);
        // SAFETY: 8 - n..16 - n is inside MASKS.
        unsafe { _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast()) }
    }

    /// The lane sum of one vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sum_lanes(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// The 16 dot products of rows 0..4 of `a` with rows 0..4 of `b`, rows `k` long and
    /// `k` apart: two passes of 4 x 2 (8 accumulators; 4 x 4 would need all 16 registers).
    ///
    /// # Safety
    /// a and b hold 4 rows of k values each.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dots_4x4(k: usize, a: &[f32], b: &[f32]) -> [[f32; 4]; 4] {
        let mut out = [[0.0; 4]; 4];
        for half in 0..2 {
            // SAFETY: rows 2 half, 2 half + 1 of b are inside its 4 rows.
            let sums = unsafe { dots_4x2(k, a.as_ptr(), b.as_ptr().add(2 * half * k)) };
            for (row, s) in out.iter_mut().zip(sums) {
                row[2 * half..2 * half + 2].copy_from_slice(&s);
            }
        }
        out
    }

    /// # Safety
    /// a points at 4 rows of k values, b at 2 (each k apart).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dots_4x2(k: usize, ap: *const f32, bp: *const f32) -> [[f32; 2]; 4] {
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        let mut step = |av: [__m256; 4], bv: [__m256; 2]| {
            for r in 0..4 {
                for s in 0..2 {
                    acc[r][s] = _mm256_fmadd_ps(av[r], bv[s], acc[r][s]);
                }
            }
        };
        let mut p = 0;
        // SAFETY: loads are inside the rows (full vectors, then a masked tail).
        unsafe {
            while p + 8 <= k {
                step(
                    std::array::from_fn(|r| _mm256_loadu_ps(ap.add(r * k + p))),
                    std::array::from_fn(|s| _mm256_loadu_ps(bp.add(s * k + p))),
                );
                p += 8;
            }
            if p < k {
                let m = lanes(k - p);
                step(
                    std::array::from_fn(|r| _mm256_maskload_ps(ap.add(r * k + p), m)),
                    std::array::from_fn(|s| _mm256_maskload_ps(bp.add(s * k + p), m)),
                );
            }
        }
        acc.map(|row| row.map(|v| sum_lanes(v)))
    }

    /// One column block (`cols` <= 16 columns) of `c [m, ..] (+)= a [m, k] x b [k, ..]`, in
    /// register blocks of up to 6 rows. Rows of a, b and c are `lda`, `ldb`, `ldc` apart.
    ///
    /// # Safety
    /// a holds m rows of k values, b k rows and c m rows of at least `cols` values each.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn column_block(
        m: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        cols: usize,
        accumulate: bool,
    ) {
        let full = cols >= 16;
        let mut row = 0;
        while row < m {
            let rows = super::ROWS.min(m - row);
            let (a, c) = (&a[row * lda..], &mut c[row * ldc..]);
            macro_rules! go {
                ($r:literal) => {
                    if full {
                        block::<$r, false>(k, a, lda, b, ldb, c, ldc, cols, accumulate)
                    } else {
                        block::<$r, true>(k, a, lda, b, ldb, c, ldc, cols, accumulate)
                    }
                };
            }
            // SAFETY: forwarded to the caller's contract, for rows row..row + rows.
            unsafe {
                match rows {
                    6 => go!(6),
                    5 => go!(5),
                    4 => go!(4),
                    3 => go!(3),
                    2 => go!(2),
                    _ => go!(1),
                }
            }
            row += rows;
        }
    }

    /// `c[r][0..cols] (+)= sum_t a[r][t] * b[t][0..cols]` for R rows; `MASKED`: fewer than
    /// 16 columns (masked loads and stores), else exactly 16.
    ///
    /// # Safety
    /// As [`column_block`] with m = R.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // r and v index register arrays together
    unsafe fn block<const R: usize, const MASKED: bool>(
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        cols: usize,
        accumulate: bool,
    ) {
        // SAFETY: bounds per the function's contract; with MASKED, loads and stores touch
        // only the `cols` valid columns (masked-off lanes are not accessed).
        unsafe {
            let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
            let masks = [lanes(cols), lanes(cols.saturating_sub(8))];
            let load = |p: *const f32, v: usize| {
                if MASKED { _mm256_maskload_ps(p.wrapping_add(8 * v), masks[v]) } else { _mm256_loadu_ps(p.add(8 * v)) }
            };
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            for t in 0..k {
                let row = bp.add(t * ldb);
                let b = [load(row, 0), load(row, 1)];
                for r in 0..R {
                    let av = _mm256_broadcast_ss(&*ap.add(r * lda + t));
                    for v in 0..2 {
                        acc[r][v] = _mm256_fmadd_ps(av, b[v], acc[r][v]);
                    }
                }
            }
            for r in 0..R {
                let row = cp.add(r * ldc);
                for v in 0..2 {
                    let sum = if accumulate { _mm256_add_ps(load(row, v), acc[r][v]) } else { acc[r][v] };
                    if MASKED {
                        _mm256_maskstore_ps(row.wrapping_add(8 * v), masks[v], sum);
                    } else {
                        _mm256_storeu_ps(row.add(8 * v), sum);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::isa::available;
    use crate::tensor::matmul_reference;

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| (((i + seed) * 7919 % 1013) as f32 / 506.0) - 1.0).collect()
    }

    #[test]
    fn matches_the_reference_product_on_awkward_shapes() {
        // m crosses the 12-row blocks, n the 32-column panels (and stays under one).
        for &(m, k, n) in &[(1, 1, 1), (5, 3, 7), (12, 16, 32), (13, 9, 33), (64, 128, 512), (30, 17, 70), (25, 40, 100)] {
            let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            let product = matmul_reference(&a, &b, m, k, n);
            let expected: Vec<f32> = product.iter().zip(&c0).map(|(p, c)| p + c).collect();
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            for isa in available() {
                let plain = PackedRhs::new_for(isa, &b, k, n, false);
                let transposed = PackedRhs::new_for(isa, &bt, k, n, true);
                for (packed, how) in [(plain, "plain"), (transposed, "transposed")] {
                    let mut c = c0.clone();
                    packed.mul_acc(m, &a, &mut c);
                    for (i, (got, want)) in c.iter().zip(&expected).enumerate() {
                        assert!(
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "{isa} {how} {m}x{k}x{n} at {i}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn in_place_product_matches_the_reference_with_and_without_accumulating() {
        for &(m, k, n) in &[(1, 1, 1), (7, 16, 70), (16, 16, 420), (13, 5, 64), (6, 33, 129), (12, 8, 24), (5, 3, 7)] {
            let (a, b, c0) = (values(m * k, 6), values(k * n, 7), values(m * n, 8));
            let product = matmul_reference(&a, &b, m, k, n);
            for (isa, accumulate) in available().into_iter().flat_map(|i| [(i, false), (i, true)]) {
                let mut c = c0.clone();
                gemm_in_place_on(isa, m, n, k, &a, &b, &mut c, accumulate);
                for (i, got) in c.iter().enumerate() {
                    let want = product[i] + if accumulate { c0[i] } else { 0.0 };
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{isa} {m}x{k}x{n} acc {accumulate} at {i}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn row_dot_product_form_matches_the_reference() {
        // c += a b^T: m, n multiples of 4 (the 4 x 4 kernel) or not (the fallback); k with
        // and without a partial last vector.
        for &(m, n, k) in &[(4, 4, 1), (4, 4, 13), (16, 16, 224), (32, 32, 37), (8, 12, 16), (64, 4, 120), (6, 10, 21)] {
            let (a, b, c0) = (values(m * k, 9), values(n * k, 10), values(m * n, 11));
            let bt: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
            let product = matmul_reference(&a, &bt, m, k, n);
            for isa in available() {
                let mut c = c0.clone();
                gemm_nt_acc_on(isa, m, n, k, &a, &b, &mut c);
                for (i, got) in c.iter().enumerate() {
                    let want = product[i] + c0[i];
                    assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "{isa} {m}x{n}x{k} at {i}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn leaves_columns_and_rows_past_the_product_alone() {
        // C is a view with more rows than m: the rows after m must not be touched.
        let (m, k, n) = (3, 4, 5);
        for isa in available() {
            let packed = PackedRhs::new_for(isa, &values(k * n, 4), k, n, false);
            let mut c = vec![7.0; (m + 2) * n];
            packed.mul_acc(m, &values(m * k, 5), &mut c);
            assert!(c[m * n..].iter().all(|&v| v == 7.0), "{isa}");
        }
    }
}
