//! [`Communicator`] over MPI (rsmpi), for `mpirun -n N strata train ...`.

use super::{CommStats, Communicator, PendingSum, StatsCounter};
use crate::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives as _};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The MPI world: every process `mpirun` started. Owns MPI's initialization: dropping it
/// finalizes MPI (which every rank must then do), so keep one for the whole program.
/// On a failure only one rank sees, call [`Communicator::abort`] instead of dropping it.
pub struct MpiComm {
    world: SimpleCommunicator,
    /// Send copy for the all-reduce (rsmpi has no in-place variant).
    scratch: RefCell<Vec<f32>>,
    stats: StatsCounter,
    /// Since when this rank has been waiting in a collective, for the watchdog.
    waiting: Arc<Waiting>,
    // Dropped last: finalizes MPI.
    _universe: Universe,
}

impl fmt::Debug for MpiComm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiComm").field("rank", &self.rank()).field("size", &self.size()).finish()
    }
}

impl MpiComm {
    /// Initializes MPI (once per process).
    pub fn init() -> Result<MpiComm> {
        let universe =
            mpi::initialize().ok_or_else(|| Error::Distributed("MPI is already initialized in this process".into()))?;
        Ok(MpiComm {
            world: universe.world(),
            scratch: RefCell::new(Vec::new()),
            stats: StatsCounter::default(),
            waiting: Arc::new(Waiting::new()),
            _universe: universe,
        })
    }

    /// Ends this rank, with one line on stderr, when a collective has waited `limit` for the
    /// other ranks. MPI has no time-outs of its own: a rank whose host lost its network (or
    /// that hangs) would otherwise keep every other rank waiting forever. The exit makes
    /// `mpirun` end the rest of the job; ranks it cannot reach stop on their own watchdogs.
    pub fn with_timeout(self, limit: Duration) -> MpiComm {
        let (waiting, rank, size) = (self.waiting.clone(), self.rank(), self.size());
        let tick = (limit / 8).clamp(Duration::from_millis(50), Duration::from_secs(1));
        std::thread::Builder::new()
            .name("strata-mpi-watchdog".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(tick);
                    if let Some((what, waited)) = waiting.longer_than(limit) {
                        eprintln!(
                            "error: rank {rank} of {size}: no answer from the other ranks for {:.0} s in {what} (a rank died or hangs, or the network between the hosts is down); stopping",
                            waited.as_secs_f64()
                        );
                        // SAFETY: _exit ends the process without running atexit handlers
                        // (MPI's could block on the collective this rank is stuck in).
                        unsafe { libc::_exit(1) }
                    }
                }
            })
            .expect("start the MPI watchdog thread");
        self
    }

    /// Runs one collective, marked as waiting for the watchdog.
    fn collective<T>(&self, what: &'static str, f: impl FnOnce() -> T) -> T {
        self.waiting.enter(what);
        let out = f();
        self.waiting.leave();
        out
    }
    /// This host's name as MPI reports it.
    pub fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_default()
    }
}

impl Communicator for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn all_reduce_sum(&self, buf: &mut [f32]) {
        let mut send = self.scratch.borrow_mut();
        send.clear();
        send.extend_from_slice(buf);
        self.stats.time(std::mem::size_of_val(buf), || {
            self.collective("the gradient all-reduce", || self.world.all_reduce_into(&send[..], buf, SystemOperation::sum()))
        });
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) {
        let send = buf.to_vec();
        self.collective("an evaluation all-reduce", || self.world.all_reduce_into(&send[..], buf, SystemOperation::sum()));
    }
    fn barrier(&self) {
        self.collective("a barrier", || self.world.barrier());
    }
    fn all_gather_u64(&self, local: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; local.len() * self.size()];
        self.collective("the comparison of the ranks' settings", || self.world.all_gather_into(local, &mut out[..]));
        out
    }
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
    fn stats(&self) -> CommStats {
        self.stats.get()
    }
    fn count_step(&self) {
        self.stats.step();
    }
    fn overlaps(&self) -> bool {
        true
    }
    fn start_sum(&self, data: Vec<f32>) -> Box<dyn PendingSum + '_> {
        self.stats.count(std::mem::size_of_val(&data[..]));
        Box::new(self.stats.time_part(|| MpiSum::start(self, data)))
    }
}

/// An `MPI_Iallreduce` under way. It owns both buffers, so neither can move or be freed
/// while MPI reads and writes them; dropping it unfinished waits for it for that reason.
struct MpiSum<'a> {
    comm: &'a MpiComm,
    request: ffi::MPI_Request,
    send: Vec<f32>,
    recv: Vec<f32>,
    done: bool,
}

impl<'a> MpiSum<'a> {
    fn start(comm: &'a MpiComm, send: Vec<f32>) -> MpiSum<'a> {
        let count = i32::try_from(send.len()).expect("an all-reduce of fewer than 2^31 numbers");
        let mut recv = vec![0.0f32; send.len()];
        // SAFETY: the request is initialized by MPI_Iallreduce before any use; the buffers
        // stay where they are (heap storage owned by the returned value) until the request
        // completes (`wait`, also on drop).
        let request = unsafe {
            let mut request = std::mem::MaybeUninit::<ffi::MPI_Request>::uninit();
            ffi::MPI_Iallreduce(
                send.as_ptr().cast(),
                recv.as_mut_ptr().cast(),
                count,
                ffi::RSMPI_FLOAT,
                ffi::RSMPI_SUM,
                comm.world.as_raw(),
                request.as_mut_ptr(),
            );
            request.assume_init()
        };
        MpiSum { comm, request, send, recv, done: false }
    }

    fn wait(&mut self) {
        if !self.done {
            // SAFETY: a request started by `start` and not yet completed.
            self.comm
                .collective("the gradient all-reduce", || unsafe { ffi::MPI_Wait(&mut self.request, ffi::RSMPI_STATUS_IGNORE) });
            self.done = true;
        }
    }
}

impl PendingSum for MpiSum<'_> {
    fn progress(&mut self) {
        if !self.done {
            let mut flag = 0;
            // SAFETY: a request started by `start` and not yet completed.
            let comm = self.comm;
            comm.stats.time_part(|| unsafe { ffi::MPI_Test(&mut self.request, &mut flag, ffi::RSMPI_STATUS_IGNORE) });
            self.done = flag != 0;
        }
    }
    fn finish(mut self: Box<Self>) -> Vec<f32> {
        let comm = self.comm;
        comm.stats.time_part(|| self.wait());
        self.send = Vec::new();
        std::mem::take(&mut self.recv)
    }
}

impl Drop for MpiSum<'_> {
    fn drop(&mut self) {
        self.wait();
    }
}

/// Which collective this rank waits in, and since when (read by the watchdog thread).
struct Waiting {
    origin: Instant,
    /// Milliseconds after `origin` at which the current collective began; `IDLE` outside one.
    since_ms: AtomicU64,
    /// Index into `names` of the current collective.
    what: AtomicU64,
    names: std::sync::Mutex<Vec<&'static str>>,
}

const IDLE: u64 = u64::MAX;

impl Waiting {
    fn new() -> Waiting {
        Waiting { origin: Instant::now(), since_ms: AtomicU64::new(IDLE), what: AtomicU64::new(0), names: Default::default() }
    }
    fn enter(&self, what: &'static str) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let index = names.iter().position(|n| *n == what).unwrap_or_else(|| {
            names.push(what);
            names.len() - 1
        });
        self.what.store(index as u64, Ordering::Relaxed);
        self.since_ms.store(self.origin.elapsed().as_millis() as u64, Ordering::Release);
    }
    fn leave(&self) {
        self.since_ms.store(IDLE, Ordering::Release);
    }
    /// The collective waited in and for how long, when that is longer than `limit`.
    fn longer_than(&self, limit: Duration) -> Option<(&'static str, Duration)> {
        let since = self.since_ms.load(Ordering::Acquire);
        if since == IDLE {
            return None;
        }
        let waited = self.origin.elapsed().saturating_sub(Duration::from_millis(since));
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        (waited > limit)
            .then(|| (names.get(self.what.load(Ordering::Relaxed) as usize).copied().unwrap_or("a collective"), waited))
    }
}
