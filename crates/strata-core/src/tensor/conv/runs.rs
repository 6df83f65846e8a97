//! Helpers several convolution algorithms share: copying, adding and zeroing short runs of
//! floats (one output or input row, 5-60 values) without a `memcpy`/`memset` call, and
//! summing the per-worker partial gradients (dW, db) of a backward pass.

/// Copies a short run without a `memcpy` call (runs here are one output row: 5-60 values).
#[inline(always)]
#[allow(clippy::manual_memcpy)] // deliberately not `copy_from_slice` (a memcpy call)
pub(super) fn copy_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    let mut i = 0;
    while i + 8 <= n {
        dst[i..i + 8].copy_from_slice(&src[i..i + 8]);
        i += 8;
    }
    for j in i..n {
        dst[j] = src[j];
    }
}

/// Adds a short run: `dst += src`.
#[inline(always)]
pub(super) fn add_run(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Zeroes a short run without a `memset` call.
#[inline(always)]
pub(super) fn zero_run(dst: &mut [f32]) {
    for d in dst.iter_mut() {
        *d = 0.0;
    }
}

/// Sums two workers' partial (dW, db) of a backward pass into the first: the `reduce` step
/// after each worker has accumulated its chunk of samples.
pub(super) fn add_partials(mut a: (Vec<f32>, Vec<f32>), b: (Vec<f32>, Vec<f32>)) -> (Vec<f32>, Vec<f32>) {
    a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x += y);
    a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
    a
}
