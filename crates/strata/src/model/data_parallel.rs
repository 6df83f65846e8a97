//! Data-parallel training steps and evaluation across the ranks of a
//! [`Communicator`](crate::distributed::Communicator) (see [`crate::distributed`]).
//!
//! Every rank holds the whole model and the same shuffled order of each epoch; rank `r`
//! trains on slice `r` of every global batch ([`shard_range`]). Its loss is its slice's
//! sum divided by the *global* batch size, so the gradients summed over ranks are the
//! gradients of the global batch's mean loss: the same update one process makes on the
//! whole batch, up to the order of floating-point additions.
//!
//! Not exact: BatchNorm normalizes with per-rank batch statistics (and keeps per-rank
//! running statistics; rank 0's are saved), and dropout masks and augmentations are drawn
//! per rank. Networks without them follow the same trajectory for any number of ranks.

use super::fit::{EvalSums, Evaluation, FitOptions, StepOutcome};
use super::sequential::Sequential;
use crate::data::{Augment, Dataset};
use crate::distributed::{BucketedSum, Communicator, Fingerprint, GradBuffer, SharedComm, agree, shard_range};
use crate::{Result, Rng, Tensor};

/// Per-step statistics carried in the gradient all-reduce, after the gradients.
const STATS: usize = 4; // loss sum, correct, samples, ranks whose outputs gave no class

/// Data-parallel state of one `fit`: the communicator, the reused gradient buffer, and its
/// buckets where the all-reduce overlaps the backward pass.
pub(super) struct DataParallel {
    comm: SharedComm,
    buffer: GradBuffer,
    buckets: Option<BucketedSum>,
}

impl DataParallel {
    /// Checks that every rank runs the same configuration (one clear error on all ranks
    /// otherwise), and prepares the gradient buffer.
    pub fn start(
        comm: SharedComm,
        model: &Sequential,
        train: &Dataset,
        validation: Option<&Dataset>,
        opts: &FitOptions,
        first_epoch: usize,
    ) -> Result<DataParallel> {
        let params = model.params();
        let weights: Vec<f32> = params.iter().flat_map(|p| p.value.data().iter().copied()).collect();
        let lr = model.optimizer().map_or(0.0, |o| o.learning_rate());
        let fp = Fingerprint::new()
            .text("model", &format!("{:?}", model.specs()))
            .number("parameter count", model.num_params() as u64)
            .floats("initial weights", &weights)
            .number("random generator state", model.rng.clone().next_u64())
            .dataset("training data", train)
            .maybe_dataset("validation data", validation)
            .number("global batch size", opts.batch as u64)
            .number("epochs", opts.epochs as u64)
            .number("first epoch (resumed checkpoint)", first_epoch as u64)
            .number("shuffle", opts.shuffle as u64)
            .number("steps per epoch", opts.max_steps_per_epoch.map_or(0, |n| n as u64))
            .floats("learning rate", &[lr])
            .floats("gradient clipping", &[opts.clip_norm.unwrap_or(0.0), opts.clip_value.unwrap_or(0.0)])
            .text("augmentation", &format!("{:?}", opts.augment))
            .number("all-reduce bucket bytes", opts.allreduce_bucket_bytes as u64);
        agree(comm.as_ref(), &fp)?;
        let buffer = GradBuffer::new(&params, STATS);
        let ids: Vec<_> = params.iter().map(|p| p.id()).collect();
        let buckets = (comm.overlaps() && opts.allreduce_bucket_bytes > 0)
            .then(|| BucketedSum::new(&buffer, &ids, opts.allreduce_bucket_bytes))
            .filter(|b| b.buckets() > 1);
        Ok(DataParallel { comm, buffer, buckets })
    }

    pub fn rank(&self) -> usize {
        self.comm.rank()
    }
    pub fn comm(&self) -> &dyn Communicator {
        self.comm.as_ref()
    }

    /// This rank's generator for an epoch's dropout and augmentation, derived from the
    /// epoch's (shared) shuffle generator and the rank.
    pub fn rank_rng(&self, epoch_rng: &Rng) -> Rng {
        let base = epoch_rng.clone().next_u64();
        Rng::seeded(base ^ (self.rank() as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

impl Sequential {
    /// One data-parallel step on the global batch `idx` (indices into `train`): this rank's
    /// slice forward and backward, the all-reduce of all gradients and the step's
    /// statistics (in buckets started during the backward pass where the communicator
    /// overlaps, else one after it), then the same optimizer update as every other rank.
    /// Returns the global batch's mean loss and correct count.
    pub(super) fn train_step_data_parallel(
        &mut self,
        train: &Dataset,
        idx: &[usize],
        augment: Option<&Augment>,
        p: &mut DataParallel,
        clip_norm: Option<f32>,
        clip_value: Option<f32>,
    ) -> Result<StepOutcome> {
        let global = idx.len();
        let local = &idx[shard_range(global, p.comm.rank(), p.comm.size())];
        let n = local.len() as f32;
        let comm = p.comm.clone();
        let mut pending = Vec::new();
        if let Some(b) = p.buckets.as_mut() {
            b.begin(n / global as f32);
        }
        let (loss, correct, grads) = if local.is_empty() {
            (0.0, None, None)
        } else {
            let mut batch = train.batch(local)?;
            if let Some(a) = augment {
                a.apply(&mut batch.inputs, &mut self.rng)?;
            }
            let pass = match p.buckets.as_mut() {
                Some(b) => {
                    let buffer = &mut p.buffer;
                    let mut arrive = |id, g: &Tensor| b.arrive(id, g, buffer, comm.as_ref(), &mut pending);
                    self.forward_backward(&batch, Some(&mut arrive))?
                }
                None => self.forward_backward(&batch, None)?,
            };
            (pass.loss, pass.correct, Some(pass.grads))
        };
        let stats = [loss * n, correct.unwrap_or(0) as f32, n, f32::from(!local.is_empty() && correct.is_none())];
        let summed = {
            let params = self.params();
            match p.buckets.as_mut() {
                Some(b) => {
                    drop(grads);
                    b.finish(&stats, &mut p.buffer, comm.as_ref(), pending)?;
                }
                None => {
                    p.buffer.fill(&params, grads.as_ref(), n / global as f32, &stats)?;
                    drop(grads);
                    p.comm.all_reduce_sum(p.buffer.as_mut_slice());
                }
            }
            p.buffer.gradients(&params)?
        };
        p.comm.count_step();
        let s = p.buffer.extras();
        let (loss_sum, correct, unclassified) = (s[0], s[1], s[3]);
        self.apply_gradients(summed, clip_norm, clip_value)?;
        Ok(StepOutcome {
            loss: loss_sum / global as f32,
            aux_loss: None,
            correct: (unclassified == 0.0).then_some(correct.round() as usize),
            samples: global,
        })
    }

    /// [`Sequential::evaluate`] split over the ranks of `comm`: each evaluates its slice of
    /// `data`, the sums are all-reduced, every rank gets the whole set's figures.
    pub fn evaluate_distributed(&self, data: &Dataset, batch_size: usize, comm: &dyn Communicator) -> Result<Evaluation> {
        let range = shard_range(data.len(), comm.rank(), comm.size());
        let sums = self.evaluate_sums(data, range, batch_size)?;
        let mut buf = [sums.loss_sum, sums.correct as f64, f64::from(u8::from(!sums.classified))];
        comm.all_reduce_sum_f64(&mut buf);
        let total = EvalSums { loss_sum: buf[0], correct: buf[1].round() as usize, classified: buf[2] == 0.0 };
        Ok(total.evaluation(data.len()))
    }
}
