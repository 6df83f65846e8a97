//! How a command joins an MPI job (`mpirun -n N strata train ... --distributed`), and how
//! it leaves one on an error without leaving the other ranks waiting.

use std::rc::Rc;
use strata::distributed::{SharedComm, launched_size};

/// What to rebuild with when MPI is wanted but not compiled in.
#[cfg(not(feature = "mpi"))]
const REBUILD: &str = "rebuild with `cargo build --release --features strata-cli/mpi` (needs OpenMPI: apt-get install libopenmpi-dev openmpi-bin libclang-dev)";

/// The MPI world when training is distributed: `--distributed` was given, or the process
/// was started by `mpirun` with more than one process. `None` for a plain run. A rank that
/// waits longer than `timeout_s` seconds in one collective stops the job (`--comm-timeout`).
pub fn start(flag: bool, timeout_s: f64) -> anyhow::Result<Option<SharedComm>> {
    let launched = launched_size().filter(|&n| n > 1);
    if !flag && launched.is_none() {
        return Ok(None);
    }
    #[cfg(feature = "mpi")]
    {
        use strata::distributed::Communicator;
        let comm = strata::distributed::MpiComm::init()?.with_timeout(std::time::Duration::from_secs_f64(timeout_s));
        // An mpirun of another MPI than the one strata was linked with starts N singletons,
        // each of which would train alone.
        if let Some(n) = launched.filter(|&n| n != comm.size()) {
            anyhow::bail!(
                "mpirun started {n} processes but MPI sees {}: use the mpirun of the MPI strata was built with (OpenMPI)",
                comm.size()
            );
        }
        Ok(Some(Rc::new(comm)))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = timeout_s;
        match launched {
            Some(n) if !flag => anyhow::bail!("strata runs under mpirun with {n} processes but was built without MPI; {REBUILD}"),
            _ => anyhow::bail!("invalid --distributed: this strata was built without MPI; {REBUILD}"),
        }
    }
}

/// Runs `body` on this rank and settles how the job ends.
///
/// - Success: MPI is finalized on return (every rank gets there).
/// - An error all ranks reached together ([`strata::Error::Distributed`], e.g. one rank's
///   seed differs, or a diverged loss): rank 0 prints it (one line), then all ranks
///   finalize and exit 1.
/// - Any other error was seen by this rank alone (its data file is missing, say), while
///   the others may already wait in a collective: print it with the rank and abort the
///   whole job (MPI_Abort), so no rank hangs.
pub fn run_ranks(comm: SharedComm, body: impl FnOnce(SharedComm) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let (rank, size) = (comm.rank(), comm.size());
    let result = body(comm.clone());
    let Err(e) = result else { return Ok(()) };
    if size == 1 {
        return Err(e);
    }
    let text = super::one_line(&e);
    // One write per line: the ranks' output is merged by mpirun.
    // Errors every rank meets at the same point: a configuration mismatch, or a loss that
    // became NaN (the loss is summed over the ranks, so all see it in the same step).
    let collective =
        matches!(e.downcast_ref::<strata::Error>(), Some(strata::Error::Distributed(_) | strata::Error::NonFinite { .. }));
    if collective {
        if rank == 0 {
            // One string, one write: mpirun merges the ranks' stderr.
            let line = format!("error: {text}");
            eprintln!("{line}");
        }
        // Rank 0 has printed before any rank's exit status can make mpirun end the job.
        comm.barrier();
        drop(comm); // finalize with the others
        std::process::exit(1);
    }
    let line = format!("error: rank {rank} of {size}: {text}");
    eprintln!("{line}");
    comm.abort(1)
}

/// `strata train --replicas N`: N thread ranks in this process, each running `body` with
/// its kernels on one thread (data parallelism without MPI, over
/// [`strata::distributed::ThreadWorld`]). An error every rank meets at the same point (a
/// mismatch, a diverged loss) is returned once, rank 0's. Any other error ends the process
/// at once with one line: the other threads may be waiting for this one in a collective.
pub fn run_thread_ranks(n: usize, body: impl Fn(SharedComm) -> anyhow::Result<()> + Sync) -> anyhow::Result<()> {
    let world = strata::distributed::ThreadWorld::new(n);
    // Held while the first failing thread prints and exits, so the line is printed once.
    let exiting = std::sync::Mutex::new(());
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|r| {
                let comm = world.comm(r);
                let (body, exiting) = (&body, &exiting);
                s.spawn(move || -> anyhow::Result<()> {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).stack_size(8 << 20).build()?;
                    pool.install(|| {
                        let result = body(Rc::new(comm));
                        if let Err(e) = &result {
                            let collective = matches!(
                                e.downcast_ref::<strata::Error>(),
                                Some(strata::Error::Distributed(_) | strata::Error::NonFinite { .. })
                            );
                            if !collective {
                                let _printing = exiting.lock();
                                let line = format!("error: {}", super::one_line(e));
                                eprintln!("{line}");
                                std::process::exit(1);
                            }
                        }
                        result
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a training replica panicked")))).collect()
    });
    results.into_iter().next().unwrap_or(Ok(()))
}
