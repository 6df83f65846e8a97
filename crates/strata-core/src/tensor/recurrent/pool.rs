//! Recycled scratch buffers for the recurrent kernels.
//!
//! One LSTM training step at batch 128 needs ~15 MB of gates, states and their gradients.
//! Fresh allocations of that size come straight from the OS, and the kernel then zeroes
//! every page on first touch, a sizeable share of a step (BENCHMARKS.md). Buffers taken here
//! go back to a small global pool when dropped, so the next step reuses warm memory.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// At most this many buffers wait in the pool (a training step uses about 20).
const MAX_POOLED: usize = 48;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `f32` that returns to the pool when dropped.
#[derive(Debug, Default)]
pub(super) struct Buf(Vec<f32>);

impl Buf {
    /// A buffer of `len` values whose contents are unspecified (left over from an earlier
    /// use): for buffers the caller overwrites completely.
    pub(super) fn uninit(len: usize) -> Buf {
        let mut v = {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            // best fit among those already long enough, else the longest (grown below)
            let pick = pool
                .iter()
                .enumerate()
                .filter(|(_, b)| b.len() >= len)
                .min_by_key(|(_, b)| b.len())
                .or_else(|| pool.iter().enumerate().max_by_key(|(_, b)| b.len()))
                .map(|(i, _)| i);
            pick.map(|i| pool.swap_remove(i)).unwrap_or_default()
        };
        if v.len() >= len {
            v.truncate(len);
        } else {
            v.resize(len, 0.0);
        }
        Buf(v)
    }
    /// A buffer of `len` zeros.
    pub(super) fn zeroed(len: usize) -> Buf {
        let mut b = Buf::uninit(len);
        b.0.fill(0.0);
        b
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() == 0 {
            return;
        }
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.push(v);
        if pool.len() > MAX_POOLED {
            // forget the smallest: the big ones are the expensive ones to fault in again
            if let Some(i) = pool.iter().enumerate().min_by_key(|(_, b)| b.capacity()).map(|(i, _)| i) {
                pool.swap_remove(i);
            }
        }
    }
}

impl Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Clone for Buf {
    fn clone(&self) -> Buf {
        let mut b = Buf::uninit(self.len());
        b.copy_from_slice(self);
        b
    }
}
