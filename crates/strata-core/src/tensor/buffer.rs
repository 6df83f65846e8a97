//! Output buffers for kernels that write every element: allocated without zeroing first.
//!
//! `vec![0.0; n]` asks the allocator for zeroed memory, and for reused memory that is a
//! `memset` over the whole buffer. For activations that a kernel then overwrites in full
//! the memset is pure waste, and with activation-sized buffers on every op it is a
//! noticeable share of a training step (profile in BENCHMARKS.md).

use std::mem::MaybeUninit;

/// A vector of `len` floats written by `fill`, which gets them uninitialized.
///
/// # Safety
/// `fill` must write every element of the slice it is given (with `MaybeUninit::write`)
/// before returning; reading any of them before is not possible through the slice.
pub(crate) unsafe fn filled(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller guarantees `fill` initialized all `len` elements.
    unsafe { v.set_len(len) };
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_keeps_what_the_kernel_wrote() {
        // SAFETY: the closure writes every element.
        let v = unsafe { filled(1000, |out| out.iter_mut().enumerate().for_each(|(i, o)| _ = o.write(i as f32 * 0.5))) };
        assert_eq!(v.len(), 1000);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32 * 0.5));
    }
}
