//! Matrix products through the `gemm` crate (measured fastest here), plus the naive
//! reference the tests compare it with.

use super::Tensor;
use crate::{Error, Result};
use gemm::Parallelism;
use rayon::prelude::*;

/// Below this many multiply-adds a product runs on one thread (fork-join would dominate).
const GEMM_PARALLEL_MIN_MACS: usize = 1 << 19;

/// The matrix product `c = a' b'` (or `c += a' b'` with `accumulate`) on row-major slices,
/// where `a'` is `a` or its transpose (`trans_a`) and `b'` is `b` or its transpose.
///
/// Shapes: `a` is `[m, k]` (`[k, m]` when `trans_a`), `b` is `[k, n]` (`[n, k]` when
/// `trans_b`), `c` is `[m, n]`; longer slices are fine, only the leading elements are used.
/// Large products run on rayon's pool; `k == 0` zeroes `c` (or leaves it, accumulating).
///
/// # Panics
/// If a slice is shorter than its shape.
#[allow(clippy::too_many_arguments)]
pub fn gemm(m: usize, n: usize, k: usize, a: &[f32], trans_a: bool, b: &[f32], trans_b: bool, c: &mut [f32], accumulate: bool) {
    gemm_with(m, n, k, a, trans_a, b, trans_b, c, accumulate, true)
}

#[allow(clippy::too_many_arguments)]
fn gemm_with(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    c: &mut [f32],
    accumulate: bool,
    may_fork: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm: buffers too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // Row-major [r, c] has row stride = cols, column stride 1; a transpose swaps them.
    let (a_rs, a_cs) = if trans_a { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if trans_b { (1, k as isize) } else { (n as isize, 1) };
    let threads = rayon::current_num_threads();
    let parallel = may_fork && m * n * k >= GEMM_PARALLEL_MIN_MACS && threads > 1;
    if parallel && m >= ROW_SPLIT_MIN_ROWS * threads {
        // One block of C's rows per thread, each a serial product: no synchronization
        // inside the product (the gemm crate's own threading costs more at these sizes).
        // B is packed by every thread, a small price next to the product.
        let rows = m.div_ceil(threads);
        let (a_addr, b_addr) = (a.as_ptr() as usize, b.as_ptr() as usize);
        c[..m * n].par_chunks_mut(rows * n).enumerate().for_each(|(t, c_part)| {
            let r0 = t * rows;
            let mt = c_part.len() / n;
            // SAFETY: rows r0..r0+mt of A' start at offset r0 * a_rs and stay inside `a`
            // (checked above for the whole product); `c_part` is exactly those rows of C.
            unsafe {
                raw_gemm(
                    (mt, n, k),
                    (c_part.as_mut_ptr(), n as isize),
                    accumulate,
                    ((a_addr as *const f32).offset(r0 as isize * a_rs), a_rs, a_cs),
                    (b_addr as *const f32, b_rs, b_cs),
                    Parallelism::None,
                )
            }
        });
        return;
    }
    if parallel && n >= COLUMN_SPLIT_MIN_COLUMNS * threads {
        // Few rows (small batches): one block of C's columns per thread instead.
        let cols = n.div_ceil(threads).div_ceil(16) * 16;
        let (a_addr, b_addr, c_addr) = (a.as_ptr() as usize, b.as_ptr() as usize, c.as_mut_ptr() as usize);
        (0..n.div_ceil(cols)).into_par_iter().for_each(|t| {
            let j0 = t * cols;
            let nt = cols.min(n - j0);
            // SAFETY: columns j0..j0+nt of B' and C are inside the checked buffers, and the
            // threads' column blocks of C are disjoint.
            unsafe {
                raw_gemm(
                    (m, nt, k),
                    ((c_addr as *mut f32).add(j0), n as isize),
                    accumulate,
                    (a_addr as *const f32, a_rs, a_cs),
                    ((b_addr as *const f32).offset(j0 as isize * b_cs), b_rs, b_cs),
                    Parallelism::None,
                )
            }
        });
        return;
    }
    let parallelism = if parallel { Parallelism::Rayon(threads) } else { Parallelism::None };
    // SAFETY: the asserts above guarantee every index gemm touches is inside the slices;
    // c does not alias a or b (distinct borrows).
    unsafe {
        raw_gemm(
            (m, n, k),
            (c.as_mut_ptr(), n as isize),
            accumulate,
            (a.as_ptr(), a_rs, a_cs),
            (b.as_ptr(), b_rs, b_cs),
            parallelism,
        )
    }
}

/// Rows of C per thread below which a parallel product is left to the gemm crate's own
/// threading (which can split the columns instead).
const ROW_SPLIT_MIN_ROWS: usize = 32;

/// Columns of C per thread needed to split a product with few rows by columns.
const COLUMN_SPLIT_MIN_COLUMNS: usize = 64;

/// `c [m, n] (+)= a' b'` on a row-major view (pointer, row stride) of `c` and strided
/// (pointer, row stride, column stride) views of a' and b'.
///
/// # Safety
/// Every element of the three views must be inside its allocation; `c` must not overlap
/// `a` or `b`.
unsafe fn raw_gemm(
    (m, n, k): (usize, usize, usize),
    (c, c_rs): (*mut f32, isize),
    accumulate: bool,
    (a, a_rs, a_cs): (*const f32, isize, isize),
    (b, b_rs, b_cs): (*const f32, isize, isize),
    parallelism: Parallelism,
) {
    // SAFETY: forwarded to the caller's contract.
    unsafe {
        gemm::gemm(m, n, k, c, 1, c_rs, accumulate, a, a_cs, a_rs, b, b_cs, b_rs, 1.0, 1.0, false, false, false, parallelism)
    }
}

/// [`gemm`](fn@gemm) on the calling thread only: for callers that already run one product per
/// worker (per-sample convolution), where nested fork-join would only add overhead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_serial(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    gemm_with(m, n, k, a, trans_a, b, trans_b, c, accumulate, false)
}

/// The textbook triple loop `c[i, j] = sum_p a[i, p] b[p, j]` (accumulated in f64) for
/// row-major `a` `[m, k]` and `b` `[k, n]`, returning `c` `[m, n]`: the reference [`gemm`](fn@gemm)
/// is tested against.
///
/// # Panics
/// If `a` or `b` is shorter than its shape.
pub fn matmul_reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a[i * k + p] as f64 * b[p * n + j] as f64;
            }
            c[i * n + j] = s as f32;
        }
    }
    c
}

impl Tensor {
    /// Matrix product. `[m, k] @ [k, n] -> [m, n]`; with more dimensions the leading ones
    /// are batch dimensions (`[B.., m, k] @ [B.., k, n]`, or a 2-D right operand shared by
    /// the whole batch).
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_t(other, false, false)
    }

    /// Matrix product with either operand transposed in its last two dimensions.
    pub fn matmul_t(&self, other: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
        let mismatch = || Error::ShapeMismatch { op: "matmul", left: self.shape().to_vec(), right: other.shape().to_vec() };
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() < 2 || sb.len() < 2 {
            return Err(mismatch());
        }
        let (ra, ca) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (rb, cb) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        let (m, k) = if trans_a { (ca, ra) } else { (ra, ca) };
        let (k2, n) = if trans_b { (cb, rb) } else { (rb, cb) };
        if k != k2 {
            return Err(mismatch());
        }
        let batch_a = &sa[..sa.len() - 2];
        let batch_b = &sb[..sb.len() - 2];
        let shared_rhs = batch_b.is_empty();
        if !shared_rhs && batch_a != batch_b {
            return Err(mismatch());
        }
        let batch: usize = batch_a.iter().product();
        let mut out_shape = batch_a.to_vec();
        out_shape.extend([m, n]);
        let mut out = vec![0.0; batch * m * n];
        if shared_rhs && !trans_a && batch > 1 {
            // Fold the batch into the rows: one big product instead of many small ones.
            gemm(batch * m, n, k, self.data(), false, other.data(), trans_b, &mut out, false);
        } else {
            for i in 0..batch {
                let a = &self.data()[i * m * k..(i + 1) * m * k];
                let b = if shared_rhs { other.data() } else { &other.data()[i * k * n..(i + 1) * k * n] };
                gemm(m, n, k, a, trans_a, b, trans_b, &mut out[i * m * n..(i + 1) * m * n], false);
            }
        }
        Ok(Tensor::new_unchecked(out, &out_shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
        let mut t = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                t[j * r + i] = a[i * c + j];
            }
        }
        t
    }

    #[test]
    fn gemm_matches_reference_in_every_transpose_combination() {
        let mut rng = Rng::seeded(7);
        for &(m, k, n) in
            &[(1, 1, 1), (3, 5, 2), (17, 33, 9), (64, 70, 65), (128, 784, 32), (131, 50, 77), (16, 784, 256), (5, 300, 1000)]
        {
            let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let want = matmul_reference(&a, &b, m, k, n);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let aa = if ta { transpose(&a, m, k) } else { a.clone() };
                let bb = if tb { transpose(&b, k, n) } else { b.clone() };
                let mut c = vec![0.0; m * n];
                gemm(m, n, k, &aa, ta, &bb, tb, &mut c, false);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{m}x{k}x{n} {ta} {tb}: {x} vs {y}");
                }
                // accumulate adds onto what is there
                gemm(m, n, k, &aa, ta, &bb, tb, &mut c, true);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - 2.0 * y).abs() <= 2e-4 * (1.0 + y.abs()));
                }
            }
        }
    }

    #[test]
    fn batched_matmul_and_shape_errors() {
        let a = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[2, 2, 3]).unwrap();
        let b = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[3, 2]).unwrap();
        let c = a.matmul(&b).unwrap();
        assert_eq!(c.shape(), &[2, 2, 2]);
        assert_eq!(&c.data()[4..8], &matmul_reference(&a.data()[6..12], b.data(), 2, 3, 2)[..]);
        let bb = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[2, 3, 2]).unwrap();
        let d = a.matmul(&bb).unwrap();
        assert_eq!(&d.data()[4..8], &matmul_reference(&a.data()[6..12], &bb.data()[6..12], 2, 3, 2)[..]);
        let err = a.matmul(&a).unwrap_err().to_string();
        assert!(err.contains("matmul") && err.contains("[2, 2, 3]"), "{err}");
    }
}
