//! Ranks that are threads of one process: the communicator behind in-process data
//! parallelism ([`crate::model::fit_replicated`]). Two replicas of a small network, each
//! running its kernels on one thread, keep two cores busier than one model whose every
//! kernel is split across two threads (no fork/join and wake-up per kernel).
//!
//! Every collective deposits each rank's buffer in a shared slot, waits for all, and sums
//! the slots in rank order, so every rank gets bit-identical results.

use super::{CommStats, Communicator, StatsCounter};
use std::sync::{Arc, Barrier, RwLock};

/// The shared state of one group of thread ranks.
#[derive(Debug)]
pub struct ThreadWorld {
    size: usize,
    barrier: Barrier,
    f32s: RwLock<Vec<Vec<f32>>>,
    f64s: RwLock<Vec<Vec<f64>>>,
    u64s: RwLock<Vec<Vec<u64>>>,
}

impl ThreadWorld {
    /// A group of `size` ranks; hand [`ThreadWorld::comm`] of each rank to its thread.
    pub fn new(size: usize) -> Arc<ThreadWorld> {
        fn slots<T: Clone>(size: usize) -> RwLock<Vec<Vec<T>>> {
            RwLock::new(vec![Vec::new(); size])
        }
        Arc::new(ThreadWorld { size, barrier: Barrier::new(size), f32s: slots(size), f64s: slots(size), u64s: slots(size) })
    }
    /// The communicator of rank `rank`.
    pub fn comm(self: &Arc<ThreadWorld>, rank: usize) -> ThreadComm {
        assert!(rank < self.size, "rank {rank} of a world of {}", self.size);
        ThreadComm { rank, world: Arc::clone(self), stats: StatsCounter::default() }
    }
}

/// One thread rank.
#[derive(Debug)]
pub struct ThreadComm {
    rank: usize,
    world: Arc<ThreadWorld>,
    stats: StatsCounter,
}

impl ThreadComm {
    /// Deposits `mine`, waits for every rank, runs `combine` on all deposits (in rank
    /// order) and `mine`, and waits again so that nobody deposits the next call's buffer
    /// while another still reads.
    fn exchange<T: Clone, R>(
        &self,
        slots: &RwLock<Vec<Vec<T>>>,
        mine: &mut [T],
        combine: impl FnOnce(&[Vec<T>], &mut [T]) -> R,
    ) -> R {
        {
            let mut s = slots.write().unwrap_or_else(|e| e.into_inner());
            s[self.rank].clear();
            s[self.rank].extend_from_slice(mine);
        }
        self.world.barrier.wait();
        let out = combine(&slots.read().unwrap_or_else(|e| e.into_inner()), mine);
        self.world.barrier.wait();
        out
    }
}

/// `buf = all[0] + all[1] + ...`, in rank order so that every rank gets the same bits.
fn sum_into<T: Copy + std::ops::AddAssign>(all: &[Vec<T>], buf: &mut [T]) {
    buf.copy_from_slice(&all[0]);
    for other in &all[1..] {
        buf.iter_mut().zip(other).for_each(|(b, &o)| *b += o);
    }
}

impl Communicator for ThreadComm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.world.size
    }
    fn all_reduce_sum(&self, buf: &mut [f32]) {
        self.stats.time(std::mem::size_of_val(buf), || self.exchange(&self.world.f32s, buf, sum_into));
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) {
        self.exchange(&self.world.f64s, buf, sum_into);
    }
    fn all_gather_u64(&self, local: &[u64]) -> Vec<u64> {
        self.exchange(&self.world.u64s, &mut local.to_vec(), |all, _| all.concat())
    }
    fn barrier(&self) {
        self.world.barrier.wait();
    }
    fn stats(&self) -> CommStats {
        self.stats.get()
    }
    fn count_step(&self) {
        self.stats.step();
    }
    /// Threads cannot end their siblings: this one panics, and the panic reaches the
    /// caller of the group through its join (the others fail at their next collective
    /// only if they wait for this rank, so the failing code path must be one all ranks
    /// take; `fit` checks agreement before training for that reason).
    fn abort(&self, code: i32) -> ! {
        panic!("distributed: rank {} of {} aborted (code {code})", self.rank, self.world.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_gathers_across_threads() {
        let world = ThreadWorld::new(3);
        let results: Vec<(Vec<f32>, Vec<u64>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|r| {
                    let comm = world.comm(r);
                    s.spawn(move || {
                        let mut v = vec![r as f32, 10.0 * r as f32 + 1.0];
                        comm.all_reduce_sum(&mut v);
                        let g = comm.all_gather_u64(&[r as u64 * 7]);
                        (v, g)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (v, g) in results {
            assert_eq!(v, vec![3.0, 33.0]);
            assert_eq!(g, vec![0, 7, 14]);
        }
    }
}
