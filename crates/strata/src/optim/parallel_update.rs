//! Splitting one optimizer update across threads. The update of each element depends only
//! on that element, so chunks are independent and the result does not depend on the thread
//! count. Each helper hands matching chunks of the weights, the gradient and the state
//! buffers to a closure that runs the optimizer's fused loop over them.

use crate::tensor::parallel::threads;
use rayon::prelude::*;

/// Tensors with at least this many elements are updated by several threads; below it the
/// fork-join costs more than the update (a few flops per element, memory bound).
pub const PARALLEL_MIN: usize = 1 << 16;

/// Chunk length for a parallel update of `n` elements, or `None` to run serially.
fn parallel_chunk(n: usize) -> Option<usize> {
    let t = threads();
    (n >= PARALLEL_MIN && t > 1).then(|| n.div_ceil(t * 4).max(1 << 14))
}

/// `f(w, g)` over matching chunks.
pub(super) fn zip1<F>(w: &mut [f32], g: &[f32], f: F)
where
    F: Fn(&mut [f32], &[f32]) + Sync,
{
    debug_assert_eq!(w.len(), g.len());
    match parallel_chunk(w.len()) {
        None => f(w, g),
        Some(c) => w.par_chunks_mut(c).zip(g.par_chunks(c)).for_each(|(w, g)| f(w, g)),
    }
}

/// `f(w, g, a)` over matching chunks; `a` is a state buffer.
pub(super) fn zip2<F>(w: &mut [f32], g: &[f32], a: &mut [f32], f: F)
where
    F: Fn(&mut [f32], &[f32], &mut [f32]) + Sync,
{
    debug_assert!(w.len() == g.len() && w.len() == a.len());
    match parallel_chunk(w.len()) {
        None => f(w, g, a),
        Some(c) => w.par_chunks_mut(c).zip(g.par_chunks(c)).zip(a.par_chunks_mut(c)).for_each(|((w, g), a)| f(w, g, a)),
    }
}

/// `f(w, g, a, b)` over matching chunks; `a` and `b` are state buffers.
pub(super) fn zip3<F>(w: &mut [f32], g: &[f32], a: &mut [f32], b: &mut [f32], f: F)
where
    F: Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync,
{
    debug_assert!(w.len() == g.len() && w.len() == a.len() && w.len() == b.len());
    match parallel_chunk(w.len()) {
        None => f(w, g, a, b),
        Some(c) => w
            .par_chunks_mut(c)
            .zip(g.par_chunks(c))
            .zip(a.par_chunks_mut(c))
            .zip(b.par_chunks_mut(c))
            .for_each(|(((w, g), a), b)| f(w, g, a, b)),
    }
}
