//! When to split work across threads. Small tensors run serially: at batch 128 a rayon
//! fork-join costs more than the arithmetic it would share.

use rayon::prelude::*;

/// Below this many elements (2^16) an elementwise kernel runs on one thread: smaller, a
/// fork-join costs more than the arithmetic it would share. A custom kernel can use the
/// same threshold.
pub const ELEMENTWISE_PARALLEL_MIN: usize = 1 << 16;

/// Number of threads in rayon's global pool, which every parallel kernel runs on (set with
/// `strata::set_threads` or the `RAYON_NUM_THREADS` environment variable; default: one per
/// logical CPU).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Samples per worker chunk for kernels that give each worker one run of samples (the
/// convolutions): one chunk per thread keeps every per-worker buffer reused.
pub(crate) fn chunk_len(n: usize) -> usize {
    n.div_ceil(threads().max(1)).max(1)
}

/// Applies `f` to matching chunks of `out` and `input`, in parallel when large.
pub(crate) fn zip_chunks<F>(out: &mut [f32], input: &[f32], f: F)
where
    F: Fn(&mut [f32], &[f32]) + Sync + Send,
{
    if out.len() < ELEMENTWISE_PARALLEL_MIN || threads() == 1 {
        f(out, input);
    } else {
        let chunk = out.len().div_ceil(threads() * 4).max(4096);
        out.par_chunks_mut(chunk).zip(input.par_chunks(chunk)).for_each(|(o, i)| f(o, i));
    }
}

/// Calls `f(start, chunk)` on consecutive chunks of `out` that together cover it, where
/// `start` is the chunk's index in `out`: one call on the whole slice below
/// [`ELEMENTWISE_PARALLEL_MIN`] elements or with one thread, else chunks of at least 4096
/// elements in parallel (about four per thread).
pub fn chunks_mut<T: Send, F>(out: &mut [T], f: F)
where
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    if out.len() < ELEMENTWISE_PARALLEL_MIN || threads() == 1 {
        f(0, out);
    } else {
        let chunk = out.len().div_ceil(threads() * 4).max(4096);
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, o)| f(i * chunk, o));
    }
}
