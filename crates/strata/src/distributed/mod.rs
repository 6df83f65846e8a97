//! Data-parallel training across processes (and machines): every process ("rank") holds
//! the whole model, trains on its slice of each global batch, and the gradients are summed
//! over all ranks before every rank applies the same optimizer step.
//!
//! The boundary is [`Communicator`]: rank, size, one fused all-reduce per step, an
//! all-gather of configuration fingerprints, and abort. [`Local`] is the one-process
//! implementation (every collective is the identity); `MpiComm` (cargo feature `mpi`)
//! runs over MPI. [`crate::model::FitOptions::distributed`] hands a communicator to `fit`.
//!
//! ```
//! use std::sync::Arc;
//! use strata::distributed::{Communicator, Local};
//! let comm = Local::new();
//! let mut grads = vec![1.0f32, 2.0];
//! comm.all_reduce_sum(&mut grads);
//! assert_eq!((comm.rank(), comm.size(), grads), (0, 1, vec![1.0, 2.0]));
//! ```

mod fingerprint;
mod grad_buffer;
#[cfg(feature = "mpi")]
mod mpi_comm;
mod overlap;
mod shard;
mod threads;

pub use fingerprint::{Fingerprint, agree};
pub use grad_buffer::GradBuffer;
#[cfg(feature = "mpi")]
pub use mpi_comm::MpiComm;
pub use overlap::{BucketedSum, Pending, SUGGESTED_BUCKET_BYTES};
pub use shard::shard_range;
pub use threads::{ThreadComm, ThreadWorld};

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Instant;

/// The collective operations data-parallel training needs. Every rank must call the
/// collectives in the same order with buffers of the same length.
pub trait Communicator: fmt::Debug {
    /// This process's index, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of processes taking part.
    fn size(&self) -> usize;
    /// Element-wise sum of `buf` over all ranks, in place (one collective call).
    fn all_reduce_sum(&self, buf: &mut [f32]);
    /// Element-wise sum in double precision (counts and loss sums of an evaluation).
    fn all_reduce_sum_f64(&self, buf: &mut [f64]);
    /// Every rank's `local` (all of the same length), concatenated in rank order.
    fn all_gather_u64(&self, local: &[u64]) -> Vec<u64>;
    /// Returns when every rank has called it.
    fn barrier(&self);
    /// Ends every rank now with exit status `code` (a failure on one rank that the
    /// others cannot see, so they are not left waiting in a collective).
    fn abort(&self, code: i32) -> !;
    /// Time spent in [`Communicator::all_reduce_sum`] so far, with call count and bytes.
    fn stats(&self) -> CommStats {
        CommStats::default()
    }
    /// Counts one training step's gradient exchange (all its all-reduces) in
    /// [`Communicator::stats`].
    fn count_step(&self) {}
    /// Whether [`Communicator::start_sum`] returns before the sum is done, so that
    /// computation can go on while the data travels (MPI's non-blocking all-reduce). Where
    /// it does not, splitting a step's all-reduce into buckets only adds calls.
    fn overlaps(&self) -> bool {
        false
    }
    /// Starts the element-wise sum of `data` over all ranks; the sum is what
    /// [`PendingSum::finish`] returns. Every rank must start the same sums in the same
    /// order. This default sums at once ([`Communicator::all_reduce_sum`]).
    fn start_sum(&self, mut data: Vec<f32>) -> Box<dyn PendingSum + '_> {
        self.all_reduce_sum(&mut data);
        Box::new(Summed(data))
    }
}

/// A sum over the ranks under way (see [`Communicator::start_sum`]).
pub trait PendingSum {
    /// Lets the transfer advance without waiting for it: MPI moves a non-blocking
    /// collective's data only while the process is inside an MPI call.
    fn progress(&mut self) {}
    /// Waits for the sum and returns it.
    fn finish(self: Box<Self>) -> Vec<f32>;
}

/// A sum already done.
struct Summed(Vec<f32>);

impl PendingSum for Summed {
    fn finish(self: Box<Self>) -> Vec<f32> {
        self.0
    }
}

/// Every rank's `bytes` (of any lengths), in rank order: two all-gathers, the lengths and
/// then the bytes padded to the longest. Every rank must call it.
pub fn all_gather_bytes(comm: &dyn Communicator, bytes: &[u8]) -> Vec<Vec<u8>> {
    let lens = comm.all_gather_u64(&[bytes.len() as u64]);
    let words = lens.iter().map(|&l| (l as usize).div_ceil(8)).max().unwrap_or(0).max(1);
    let mut local = vec![0u64; words];
    for (word, chunk) in local.iter_mut().zip(bytes.chunks(8)) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_le_bytes(w);
    }
    let all = comm.all_gather_u64(&local);
    all.chunks(words).zip(&lens).map(|(ws, &len)| ws.iter().flat_map(|w| w.to_le_bytes()).take(len as usize).collect()).collect()
}

/// The number of processes `mpirun` (OpenMPI, MPICH, or another PMI launcher) started,
/// read from the environment it gives each process; `None` outside such a launch.
pub fn launched_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].iter().find_map(|k| std::env::var(k).ok()?.parse().ok())
}

/// How many of the launched processes share this machine (for the default thread count).
pub fn local_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"].iter().find_map(|k| std::env::var(k).ok()?.parse().ok())
}

/// A shared handle to a communicator, as [`crate::model::FitOptions`] keeps it.
/// Communicators live on the thread that made them (MPI's calls and the thread ranks'
/// statistics are per thread), hence `Rc`.
pub type SharedComm = Rc<dyn Communicator>;

/// What the gradient all-reduces cost so far on this rank.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct CommStats {
    /// Wall time inside all-reduce calls (including waiting for slower ranks); of a
    /// non-blocking all-reduce, the time spent starting it, advancing it and waiting for it:
    /// what the rank could not spend computing.
    pub allreduce_seconds: f64,
    /// All-reduce calls.
    pub allreduce_calls: u64,
    /// Bytes all-reduced (this rank's buffer, summed over calls).
    pub allreduce_bytes: u64,
    /// Training steps whose gradients were all-reduced (one call each, or one per bucket
    /// where the all-reduce overlaps the backward pass).
    pub allreduce_steps: u64,
}

/// Accumulates [`CommStats`] for communicator implementations.
#[derive(Debug, Default)]
pub struct StatsCounter {
    seconds: Cell<f64>,
    calls: Cell<u64>,
    bytes: Cell<u64>,
    steps: Cell<u64>,
}

impl StatsCounter {
    /// Runs `f` (one all-reduce of `bytes` bytes) and adds its time.
    pub fn time<T>(&self, bytes: usize, f: impl FnOnce() -> T) -> T {
        let out = self.time_part(f);
        self.calls.set(self.calls.get() + 1);
        self.bytes.set(self.bytes.get() + bytes as u64);
        out
    }
    /// Counts one all-reduce of `bytes` bytes whose time is added by [`StatsCounter::time_part`].
    pub fn count(&self, bytes: usize) {
        self.calls.set(self.calls.get() + 1);
        self.bytes.set(self.bytes.get() + bytes as u64);
    }
    /// Runs `f` (a part of a non-blocking all-reduce: its start, a progress call, the
    /// wait) and adds its time: the time the all-reduce kept this rank from computing.
    pub fn time_part<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.seconds.set(self.seconds.get() + t.elapsed().as_secs_f64());
        out
    }
    /// Counts one training step's gradient exchange done.
    pub fn step(&self) {
        self.steps.set(self.steps.get() + 1);
    }
    /// The figures so far.
    pub fn get(&self) -> CommStats {
        CommStats {
            allreduce_seconds: self.seconds.get(),
            allreduce_calls: self.calls.get(),
            allreduce_bytes: self.bytes.get(),
            allreduce_steps: self.steps.get(),
        }
    }
}

/// One process: rank 0 of 1; every collective leaves its input as it is.
#[derive(Debug, Default)]
pub struct Local {
    stats: StatsCounter,
}

impl Local {
    /// The one-process communicator.
    pub fn new() -> Local {
        Local::default()
    }
    /// As a [`SharedComm`].
    pub fn shared() -> SharedComm {
        Rc::new(Local::new())
    }
}

impl Communicator for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, buf: &mut [f32]) {
        self.stats.time(std::mem::size_of_val(buf), || ());
    }
    fn all_reduce_sum_f64(&self, _buf: &mut [f64]) {}
    fn barrier(&self) {}
    fn all_gather_u64(&self, local: &[u64]) -> Vec<u64> {
        local.to_vec()
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
    fn stats(&self) -> CommStats {
        self.stats.get()
    }
    fn count_step(&self) {
        self.stats.step();
    }
}
