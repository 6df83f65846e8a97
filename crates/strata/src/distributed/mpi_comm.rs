//! [`Communicator`] over MPI (rsmpi), for `mpirun -n N strata train ...`.

use super::{CommStats, Communicator, StatsCounter};
use crate::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives as _};
use std::cell::RefCell;
use std::fmt;

/// The MPI world: every process `mpirun` started. Owns MPI's initialization: dropping it
/// finalizes MPI (which every rank must then do), so keep one for the whole program.
/// On a failure only one rank sees, call [`Communicator::abort`] instead of dropping it.
pub struct MpiComm {
    world: SimpleCommunicator,
    /// Send copy for the all-reduce (rsmpi has no in-place variant).
    scratch: RefCell<Vec<f32>>,
    stats: StatsCounter,
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
            _universe: universe,
        })
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
            self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
        });
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) {
        let send = buf.to_vec();
        self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
    }
    fn barrier(&self) {
        self.world.barrier();
    }
    fn all_gather_u64(&self, local: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; local.len() * self.size()];
        self.world.all_gather_into(local, &mut out[..]);
        out
    }
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
    fn stats(&self) -> CommStats {
        self.stats.get()
    }
}
