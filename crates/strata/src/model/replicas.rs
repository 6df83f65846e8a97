//! Data parallelism inside one process: several replicas of a network, each on its own
//! thread with its kernels on that one thread, train on slices of every global batch and
//! sum their gradients after each step (the same step as [`crate::distributed`] over MPI,
//! with thread ranks). On small networks this keeps the cores busier than one model whose
//! every kernel is split across the threads (figures in BENCHMARKS.md): a small network's
//! kernels are too short to split well.

use super::{FitOptions, History, Sequential};

/// Replicas per core [`fit_replicated`] accepts.
pub const MAX_REPLICAS_PER_CORE: usize = 4;
use crate::data::Dataset;
use crate::distributed::ThreadWorld;
use crate::{Error, Result};
use std::rc::Rc;

/// Trains `replicas` copies of a network made by `make` (called once per replica; it must
/// build identical copies, e.g. from the same seed, which `fit` checks) with the options
/// `options` gives each replica, on slices of every global batch of `train`. Returns
/// replica 0's trained network and history; the first replica error otherwise.
///
/// Not bit-identical to one model for networks with dropout or batch norm (per-replica
/// masks and batch statistics), as with MPI.
pub fn fit_replicated<'a>(
    replicas: usize,
    make: impl Fn() -> Result<Sequential> + Sync,
    train: &'a Dataset,
    options: impl Fn() -> FitOptions<'a> + Sync,
) -> Result<(Sequential, History)> {
    if replicas == 0 {
        return Err(Error::invalid("replicas", "must be at least 1"));
    }
    // Every replica is a thread that the others wait for at each step: one that cannot be
    // started would leave them waiting, so absurd counts are refused before any starts.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if replicas > MAX_REPLICAS_PER_CORE * cores {
        return Err(Error::invalid(
            "replicas",
            format!(
                "{replicas} on {cores} cores (at most {}: each replica is meant to have a core)",
                MAX_REPLICAS_PER_CORE * cores
            ),
        ));
    }
    // Each replica checks its own step against the free memory as it starts, but they start
    // together: the sum is checked once, before any starts.
    let probe = make()?;
    let per_replica = probe.training_bytes(options().batch.div_ceil(replicas).min(train.len()));
    let what = format!("training {replicas} replicas of {}", probe.model_name());
    crate::memory::ensure_fits(&what, per_replica.saturating_mul(replicas as u64))?;
    drop(probe);
    let world = ThreadWorld::new(replicas);
    let results: Vec<Result<(Sequential, History)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..replicas)
            .map(|r| {
                let comm = world.comm(r);
                let (make, options) = (&make, &options);
                s.spawn(move || -> Result<(Sequential, History)> {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(1)
                        .stack_size(8 << 20)
                        .build()
                        .map_err(|e| Error::invalid("threads", e.to_string()))?;
                    pool.install(|| {
                        let mut model = make()?;
                        let history = model.fit(train, options().distributed(Rc::new(comm)))?;
                        Ok((model, history))
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Model("a training replica failed (panic)".into()))))
            .collect()
    });
    let mut first = None;
    for result in results {
        let trained = result?;
        first.get_or_insert(trained);
    }
    first.ok_or_else(|| Error::Model("no replica ran".into()))
}
