//! The training loop (`fit`), one optimization step, and evaluation.

use super::checkpoint::{Checkpoint, checkpoint_path};
use super::data_parallel::DataParallel;
use super::early_stopping::{EarlyStopping, EarlyStoppingState};
use super::history::{EpochRecord, History};
use super::observer::{SharedObserver, StepRecord};
use super::progress::{Progress, Verbosity};
use super::sequential::Sequential;
use super::train_config::TrainConfig;
use crate::autograd::{Gradients, Param, ParamId, Tape};
use crate::data::{Augment, Batch, Dataset};
use crate::distributed::SharedComm;
use crate::metrics::count_correct;
use crate::nn::ForwardCtx;
use crate::optim::LrSchedule;
use crate::{Error, Result, Rng, Tensor};
use std::path::PathBuf;
use std::time::Instant;

/// Options for [`Sequential::fit`].
///
/// ```
/// use strata::model::FitOptions;
/// let opts = FitOptions::epochs(10).batch_size(128);
/// assert_eq!(opts.batch, 128);
/// ```
pub struct FitOptions<'a> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per step.
    pub batch: usize,
    /// Data to evaluate on after each epoch.
    pub validation: Option<&'a Dataset>,
    /// Or: hold out this fraction of the training data (seeded) for validation.
    pub validation_split: Option<f32>,
    /// Reshuffle the training data every epoch (default true).
    pub shuffle: bool,
    /// How much is printed.
    pub verbosity: Verbosity,
    /// Adjusts the learning rate after each epoch.
    pub schedule: Option<Box<dyn LrSchedule + 'a>>,
    /// Stop each epoch after this many steps (quick experiments, benchmarks).
    pub max_steps_per_epoch: Option<usize>,
    /// Stop when a monitored figure stops improving (and restore the best weights).
    pub early_stopping: Option<EarlyStopping>,
    /// Write a checkpoint into this directory after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir`, if there is one.
    pub resume: bool,
    /// Random transforms applied to each training batch's images (`[N, C, H, W]` inputs
    /// only), drawn from the model's seeded generator. Validation data is never augmented.
    pub augment: Option<Augment>,
    /// Rescale the gradients so their global L2 norm is at most this (exploding gradients).
    pub clip_norm: Option<f32>,
    /// Clamp every gradient element to [-v, v].
    pub clip_value: Option<f32>,
    /// The weight of every auxiliary classifier's loss (GoogLeNet's side heads), in place of
    /// each head's own (0.3). `None`: the heads' own.
    pub aux_weight: Option<f32>,
    /// Train data-parallel with the other ranks of this communicator: `batch` is the
    /// global batch, each rank computes the gradients of its slice, one all-reduce per step
    /// sums them, every rank applies the same update. Rank 0 alone prints and writes
    /// checkpoints; validation is evaluated in slices and summed. See [`crate::distributed`].
    pub distributed: Option<SharedComm>,
    /// With `distributed` over a communicator whose sums run in the background (MPI), the
    /// gradient all-reduce goes in buckets of about this many bytes, each started during the
    /// backward pass as soon as its gradients are final (0, the default: one all-reduce
    /// after the pass; see [`crate::distributed::SUGGESTED_BUCKET_BYTES`] for why).
    pub allreduce_bucket_bytes: usize,
    /// The settings these options were made from ([`FitOptions::from_config`]); checkpoints
    /// record them, so a resumed run continues with the same ones.
    pub training: Option<TrainConfig>,
    /// Told about every step and epoch (TensorBoard logs); rank 0 only.
    pub observer: Option<SharedObserver>,
}

impl<'a> FitOptions<'a> {
    /// Train for `n` epochs with batch size 32 (Keras's default), shuffling each epoch.
    pub fn epochs(n: usize) -> FitOptions<'a> {
        FitOptions {
            epochs: n,
            batch: 32,
            validation: None,
            validation_split: None,
            shuffle: true,
            verbosity: Verbosity::Auto,
            schedule: None,
            max_steps_per_epoch: None,
            early_stopping: None,
            checkpoint_dir: None,
            resume: false,
            augment: None,
            clip_norm: None,
            clip_value: None,
            aux_weight: None,
            distributed: None,
            allreduce_bucket_bytes: 0,
            training: None,
            observer: None,
        }
    }
    /// The options `config` describes: epochs, batch size, validation split, schedule,
    /// early stopping, augmentation, clipping and steps per epoch (verbosity, checkpoints,
    /// resume and ranks are the caller's).
    pub fn from_config(config: &TrainConfig) -> Result<FitOptions<'static>> {
        let mut o = FitOptions::epochs(config.epochs).batch_size(config.batch_size);
        o.validation_split = config.validation_fraction()?;
        o.schedule = config.schedule.as_deref().map(crate::optim::schedule_from_str).transpose()?;
        o.early_stopping = config.early_stopping()?;
        o.augment = config.augmentation()?;
        o.clip_norm = config.clip_norm;
        o.clip_value = config.clip_value;
        o.aux_weight = config.aux_weight;
        o.max_steps_per_epoch = config.steps_per_epoch;
        o.training = Some(config.clone());
        Ok(o)
    }
    /// Samples per step (default 32, Keras's).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }
    /// Evaluates on `data` after every epoch (its figures go into the history).
    pub fn validation(mut self, data: &'a Dataset) -> Self {
        self.validation = Some(data);
        self
    }
    /// Holds out this fraction of the training data, drawn from the model's generator, to
    /// validate on after every epoch.
    pub fn validation_split(mut self, fraction: f32) -> Self {
        self.validation_split = Some(fraction);
        self
    }
    /// Whether to reshuffle the training data every epoch (default true).
    pub fn shuffle(mut self, yes: bool) -> Self {
        self.shuffle = yes;
        self
    }
    /// How much `fit` prints (default [`Verbosity::Auto`]).
    pub fn verbosity(mut self, v: Verbosity) -> Self {
        self.verbosity = v;
        self
    }
    /// Prints nothing.
    pub fn silent(self) -> Self {
        self.verbosity(Verbosity::Silent)
    }
    /// Adjusts the learning rate after every epoch.
    pub fn schedule(mut self, s: impl LrSchedule + 'a) -> Self {
        self.schedule = Some(Box::new(s));
        self
    }
    /// Ends every epoch after `n` steps (quick experiments, benchmarks).
    pub fn max_steps_per_epoch(mut self, n: usize) -> Self {
        self.max_steps_per_epoch = Some(n);
        self
    }
    /// Stops when a monitored figure stops improving.
    pub fn early_stopping(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }
    /// Writes `checkpoint.safetensors` into `dir` after every epoch.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }
    /// Continues from the checkpoint in the checkpoint folder, if there is one.
    pub fn resume(mut self, yes: bool) -> Self {
        self.resume = yes;
        self
    }
    /// Random transforms of every training batch's images.
    pub fn augment(mut self, a: Augment) -> Self {
        self.augment = Some(a);
        self
    }
    /// Rescales the gradients to a global L2 norm of at most `max_norm`.
    pub fn clip_norm(mut self, max_norm: f32) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }
    /// Clamps every gradient element to `[-limit, limit]`.
    pub fn clip_value(mut self, limit: f32) -> Self {
        self.clip_value = Some(limit);
        self
    }
    /// Weighs every auxiliary classifier's loss by `w` instead of the head's own weight.
    pub fn aux_weight(mut self, w: f32) -> Self {
        self.aux_weight = Some(w);
        self
    }
    /// Trains data-parallel with the ranks of `comm` (see [`FitOptions::distributed`](FitOptions#structfield.distributed)).
    pub fn distributed(mut self, comm: SharedComm) -> Self {
        self.distributed = Some(comm);
        self
    }
}

/// The most samples of a streamed dataset evaluated at once (in memory, `evaluate`'s
/// batch size is used as given). The accuracy does not depend on it; the mean loss only in
/// the rounding of its sum.
const STREAMED_EVAL_BATCH: usize = 256;

/// Batches decoded ahead of training: how many may wait, decoded, besides the one being
/// decoded and the one training.
const PREFETCH_BATCHES: usize = 2;

/// Starts a thread in `scope` that decodes the batches `order` of the streamed `train`, in
/// that order, up to [`PREFETCH_BATCHES`] ahead of the receiver. It stops at the first
/// error (which it sends) or when the receiver is dropped.
fn prefetch<'s, 'e: 's>(
    scope: &'s std::thread::Scope<'s, 'e>,
    train: &'e Dataset,
    order: &'e [Vec<usize>],
) -> std::sync::mpsc::Receiver<Result<Batch>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH_BATCHES);
    scope.spawn(move || {
        for idx in order {
            let batch = train.batch(idx);
            let failed = batch.is_err();
            if tx.send(batch).is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// Result of one training step.
#[derive(Clone, Copy, Debug)]
pub struct StepOutcome {
    /// The batch's mean loss, before the update (the network's output; auxiliary
    /// classifiers' losses are in `aux_loss`).
    pub loss: f32,
    /// The auxiliary classifiers' weighted losses, summed: what they add to `loss` in the
    /// loss that is minimized. `None` for a network without them (and in data-parallel
    /// steps, which do not gather it).
    pub aux_loss: Option<f32>,
    /// Correct predictions in the batch (classification), if the targets allow it.
    pub correct: Option<usize>,
    /// Samples in the batch.
    pub samples: usize,
}

/// Loss and accuracy over a dataset.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f32,
    /// Fraction classified correctly (classification targets only).
    pub accuracy: Option<f32>,
    /// Samples evaluated.
    pub samples: usize,
}

/// Both clipping thresholds, when given, must be positive and finite.
pub(super) fn check_clip(clip_norm: Option<f32>, clip_value: Option<f32>) -> Result<()> {
    for (name, v) in [("clip norm", clip_norm), ("clip value", clip_value)] {
        if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
            return Err(Error::invalid(name, "must be a positive number"));
        }
    }
    Ok(())
}

/// One forward and backward pass: the batch's mean loss, the auxiliary classifiers'
/// weighted losses (if any), the correct predictions and the gradients.
pub(super) struct Pass {
    pub loss: f32,
    pub aux_loss: Option<f32>,
    pub correct: Option<usize>,
    pub grads: Gradients,
}

/// Sums over part of a dataset, from which an [`Evaluation`] is made.
pub(super) struct EvalSums {
    pub loss_sum: f64,
    pub correct: usize,
    pub classified: bool,
}

impl EvalSums {
    pub fn evaluation(&self, samples: usize) -> Evaluation {
        let n = samples.max(1);
        Evaluation {
            loss: (self.loss_sum / n as f64) as f32,
            accuracy: self.classified.then(|| self.correct as f32 / n as f32),
            samples,
        }
    }
}

impl Sequential {
    /// An estimate of the memory one training step needs beyond the data: the parameters
    /// four times (values, gradients, two optimizer moments at most) and every layer's
    /// output for the batch twice (the value kept for backward and its gradient).
    pub fn training_bytes(&self, batch: usize) -> u64 {
        let params = self.num_params() as u64 * 4;
        let per_sample: u64 = self.shapes.iter().map(|s| s.iter().product::<usize>() as u64).sum();
        params.saturating_mul(4).saturating_add(per_sample.saturating_mul(batch as u64).saturating_mul(8))
    }

    pub(super) fn ensure_ready(&mut self, sample_shape: &[usize]) -> Result<()> {
        if self.compiled.is_none() {
            return Err(Error::Model("call compile(optimizer, loss, metrics) before fit".into()));
        }
        self.build(sample_shape)
    }

    /// One forward, backward and optimizer step on `batch`.
    pub fn train_step(&mut self, batch: &Batch) -> Result<StepOutcome> {
        self.train_step_clipped(batch, None, None)
    }

    /// [`Sequential::train_step`] with the gradients clipped before the update: first by
    /// value (each element to [-clip_value, clip_value]), then to a global L2 norm of at
    /// most `clip_norm`.
    pub fn train_step_clipped(&mut self, batch: &Batch, clip_norm: Option<f32>, clip_value: Option<f32>) -> Result<StepOutcome> {
        check_clip(clip_norm, clip_value)?;
        let pass = self.forward_backward(batch, None)?;
        self.apply_gradients(pass.grads, clip_norm, clip_value)?;
        Ok(StepOutcome { loss: pass.loss, aux_loss: pass.aux_loss, correct: pass.correct, samples: batch.inputs.shape()[0] })
    }

    /// Forward and backward on `batch` in training mode: the batch's mean loss, its correct
    /// predictions (classification) and the gradients. Parameters are left as they are.
    /// Auxiliary classifiers' losses, each times its weight, join the loss that is
    /// differentiated and are reported apart. `on_gradient`, if given, receives each
    /// parameter's gradient as soon as the backward pass has finished it
    /// ([`crate::autograd::Var::backward_streaming`]).
    pub(super) fn forward_backward(
        &mut self,
        batch: &Batch,
        on_gradient: Option<&mut dyn FnMut(ParamId, &Tensor) -> Result<()>>,
    ) -> Result<Pass> {
        self.ensure_ready(&batch.inputs.shape()[1.min(batch.inputs.rank())..])?;
        self.check_input(&batch.inputs)?;
        let (loss, aux_loss, outputs, grads) = {
            let compiled = self.compiled.as_ref().ok_or_else(|| Error::Model("not compiled".into()))?;
            let (loss_kind, aux_weight) = (compiled.loss, compiled.aux_weight);
            let logits = loss_kind.fuses(self.output_activation());
            let tape = Tape::new();
            let mut rng = std::mem::replace(&mut self.rng, Rng::seeded(0));
            let (forward, aux) = {
                let mut ctx = ForwardCtx::train(&tape, &mut rng);
                let out = self.forward_to(&tape.input(batch.inputs.clone()), &mut ctx, logits);
                (out, ctx.take_aux())
            };
            self.rng = rng;
            let out = forward?;
            let loss = loss_kind.compute(&out, &batch.targets, logits)?;
            let (total, aux_loss) = if aux.is_empty() {
                (loss.clone(), None)
            } else {
                let mut total = loss.clone();
                let mut aux_sum = 0.0;
                for head in &aux {
                    // the heads end in plain logits, fused with the softmax as the output is
                    let l = loss_kind.compute(&head.logits, &batch.targets, true)?.scale(aux_weight.unwrap_or(head.weight));
                    aux_sum += l.value().item()?;
                    total = total.add(&l)?;
                }
                (total, Some(aux_sum))
            };
            let grads = match on_gradient {
                Some(f) => total.backward_streaming(f)?,
                None => total.backward()?,
            };
            (loss.value().item()?, aux_loss, out.into_value(), grads)
            // The tape is dropped here, so the optimizer updates parameters in place
            // instead of copying storage the tape still shared.
        };
        let threshold = if self.compiled.as_ref().is_some_and(|c| c.loss.fuses(self.output_activation())) { 0.0 } else { 0.5 };
        let correct = self.counts_accuracy().then(|| count_correct(&outputs, &batch.targets, threshold).ok()).flatten();
        Ok(Pass { loss, aux_loss, correct, grads })
    }

    /// Clips `grads` (by value, then to a global norm) and applies the optimizer step.
    pub(super) fn apply_gradients(
        &mut self,
        mut grads: Gradients,
        clip_norm: Option<f32>,
        clip_value: Option<f32>,
    ) -> Result<()> {
        let compiled = self.compiled.as_mut().ok_or_else(|| Error::Model("not compiled".into()))?;
        if let Some(v) = clip_value {
            grads.clip_value(v);
        }
        if let Some(n) = clip_norm {
            grads.clip_global_norm(n);
        }
        let mut params: Vec<&mut Param> = self.layers.iter_mut().flat_map(|l| l.params_mut()).collect();
        compiled.optimizer.step(&mut params, &grads)
    }

    /// Trains on `train` for `opts.epochs` epochs; returns the per-epoch history.
    pub fn fit(&mut self, train: &Dataset, mut opts: FitOptions) -> Result<History> {
        if train.is_empty() {
            return Err(Error::invalid("training data", "is empty"));
        }
        if opts.batch == 0 {
            return Err(Error::invalid("batch size", "must be at least 1"));
        }
        self.ensure_ready(train.sample_shape())?;
        let what = format!("training {} at batch {}", self.model_name(), opts.batch);
        crate::memory::ensure_fits(&what, self.training_bytes(opts.batch.min(train.len())))?;
        if train.is_streamed() && opts.distributed.is_some() {
            train.in_memory("data-parallel training (--distributed, --replicas)")?;
        }
        let augment = opts.augment.clone().filter(|a| !a.is_identity());
        if augment.is_some() && train.inputs.rank() != 4 {
            return Err(Error::bad_shape("augment", train.inputs.shape(), "needs image inputs [N, C, H, W]"));
        }
        let split;
        let (train, validation) = match (opts.validation, opts.validation_split) {
            (Some(v), _) => (train, Some(v)),
            (None, Some(f)) => {
                split = train.split(f, &mut self.rng)?;
                (&split.0, Some(&split.1))
            }
            (None, None) => (train, None),
        };
        let mut history = History::default();
        let early = opts.early_stopping.clone();
        if let Some(es) = &early
            && es.monitor.needs_validation()
            && validation.is_none()
        {
            return Err(Error::invalid("early stopping", format!("monitoring {:?} needs validation data", es.monitor)));
        }
        let mut early_state = early.as_ref().map(|_| EarlyStoppingState::default());
        let mut best_weights: Option<Vec<Tensor>> = None;
        let mut first_epoch = 1;
        let checkpoint_file = opts.checkpoint_dir.as_deref().map(checkpoint_path);
        if opts.resume {
            let path = checkpoint_file.as_ref().ok_or_else(|| Error::invalid("resume", "needs a checkpoint directory"))?;
            if path.exists() {
                // The data split above drew from the model's generator exactly as the first
                // run did; from here on the checkpoint's generator takes over.
                let ck = Checkpoint::load(path, self)?;
                self.restore(&ck)?;
                (history, first_epoch) = (ck.history, ck.epoch + 1);
                (early_state, best_weights) = (ck.early_stopping.or(early_state), ck.best_weights);
                if history.stopped_early {
                    first_epoch = opts.epochs + 1;
                }
            }
        }
        if let Some(w) = opts.aux_weight {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(Error::invalid("aux weight", format!("{w} is not a finite number >= 0")));
            }
            if let Some(c) = self.compiled.as_mut() {
                c.aux_weight = Some(w);
            }
        }
        let mut parallel = match &opts.distributed {
            Some(comm) => {
                check_clip(opts.clip_norm, opts.clip_value)?;
                Some(DataParallel::start(comm.clone(), self, train, validation, &opts, first_epoch)?)
            }
            None => None,
        };
        let rank = parallel.as_ref().map_or(0, |p| p.rank());
        let verbosity = if rank == 0 { opts.verbosity } else { Verbosity::Silent };
        let mut progress = Progress::new(verbosity, opts.epochs);
        let observer = opts.observer.clone();
        for epoch in first_epoch..=opts.epochs {
            let mut order_rng = self.rng.fork();
            // Data-parallel: dropout and augmentation draw from a generator of this rank's own
            // (its slices differ from the other ranks'), so the shared generator, which the
            // shuffles come from, stays the same on every rank.
            let shared_rng = parallel.as_ref().map(|p| std::mem::replace(&mut self.rng, p.rank_rng(&order_rng)));
            let mut batches = train.batch_indices(opts.batch, opts.shuffle.then_some(&mut order_rng));
            if let Some(max) = opts.max_steps_per_epoch {
                batches.truncate(max);
            }
            progress.start_epoch(epoch, batches.len());
            let steps_per_epoch = batches.len();
            let start = Instant::now();
            let (mut loss_sum, mut correct, mut seen, mut classified) = (0.0f64, 0usize, 0usize, true);
            let (mut aux_sum, mut aux_seen) = (0.0f64, 0usize);
            std::thread::scope(|scope| -> Result<()> {
                // A streamed dataset's batches are decoded ahead, on another thread.
                let mut prefetched = (train.is_streamed() && parallel.is_none()).then(|| prefetch(scope, train, &batches));
                for (step, idx) in batches.iter().enumerate() {
                    let out = match parallel.as_mut() {
                        Some(p) => {
                            self.train_step_data_parallel(train, idx, augment.as_ref(), p, opts.clip_norm, opts.clip_value)?
                        }
                        None => {
                            let mut batch = match prefetched.as_mut() {
                                Some(rx) => rx.recv().map_err(|_| Error::Model("the batch decoding thread stopped".into()))??,
                                None => train.batch(idx)?,
                            };
                            if let Some(a) = &augment {
                                a.apply(&mut batch.inputs, &mut self.rng)?;
                            }
                            self.train_step_clipped(&batch, opts.clip_norm, opts.clip_value)?
                        }
                    };
                    if !out.loss.is_finite() {
                        return Err(Error::NonFinite { value: out.loss, epoch, step: step + 1 });
                    }
                    loss_sum += out.loss as f64 * out.samples as f64;
                    seen += out.samples;
                    if let Some(a) = out.aux_loss {
                        aux_sum += a as f64 * out.samples as f64;
                        aux_seen += out.samples;
                    }
                    match out.correct {
                        Some(c) => correct += c,
                        None => classified = false,
                    }
                    if let (Some(o), 0) = (&observer, rank) {
                        let record = StepRecord {
                            epoch,
                            step: step + 1,
                            global_step: ((epoch - 1) * steps_per_epoch + step + 1) as u64,
                            loss: out.loss,
                            accuracy: out.correct.map(|c| c as f32 / out.samples.max(1) as f32),
                            learning_rate: self.optimizer().map(|o| o.learning_rate()).unwrap_or(0.0),
                        };
                        let mut o = o.lock().map_err(|_| Error::Model("the training observer panicked".into()))?;
                        o.on_step(self, &record)?;
                    }
                    let secs = start.elapsed().as_secs_f64().max(1e-9);
                    let acc = classified.then(|| correct as f32 / seen as f32);
                    progress.step(step + 1, (loss_sum / seen as f64) as f32, acc, seen as f64 / secs);
                }
                // Dropping the receiver ends the decoding thread (it may be waiting to send).
                prefetched.take();
                Ok(())
            })?;
            let seconds = start.elapsed().as_secs_f64();
            if let Some(shared) = shared_rng {
                self.rng = shared;
            }
            let (val_loss, val_accuracy) = match validation {
                Some(v) => {
                    let e = match &parallel {
                        Some(p) => self.evaluate_distributed(v, 1000, p.comm())?,
                        None => self.evaluate(v, 1000)?,
                    };
                    (Some(e.loss), e.accuracy)
                }
                None => (None, None),
            };
            let lr = self.optimizer().map(|o| o.learning_rate()).unwrap_or(0.0);
            let record = EpochRecord {
                epoch,
                loss: (loss_sum / seen.max(1) as f64) as f32,
                aux_loss: (aux_seen > 0).then(|| (aux_sum / aux_seen as f64) as f32),
                accuracy: classified.then(|| correct as f32 / seen.max(1) as f32),
                val_loss,
                val_accuracy,
                learning_rate: lr,
                seconds,
                images_per_sec: seen as f64 / seconds.max(1e-9),
            };
            progress.end_epoch(&record);
            if let (Some(o), 0) = (&observer, rank) {
                let mut o = o.lock().map_err(|_| Error::Model("the training observer panicked".into()))?;
                o.on_epoch_end(self, &record)?;
            }
            history.epochs.push(record);
            if let (Some(schedule), Some(opt)) = (opts.schedule.as_mut(), self.optimizer_mut()) {
                schedule.on_epoch_end(epoch, val_loss.or(history.last().map(|r| r.loss)), opt);
            }
            let mut stop = false;
            if let (Some(es), Some(state), Some(record)) = (&early, early_state.as_mut(), history.epochs.last()) {
                let step = state.update(es, record)?;
                if step.improved && es.restore_best {
                    best_weights = Some(self.weights());
                }
                stop = step.stop;
                history.stopped_early = stop && epoch < opts.epochs;
            }
            if let (Some(path), 0) = (&checkpoint_file, rank) {
                self.checkpoint(epoch, &history, early_state.as_ref(), best_weights.as_ref(), opts.training.as_ref())
                    .save(path, self)?;
            }
            if stop {
                break;
            }
        }
        if let (Some(es), Some(w)) = (&early, best_weights)
            && es.restore_best
        {
            self.set_weights(w)?;
        }
        Ok(history)
    }

    /// Mean loss and accuracy over `data`, in eval mode.
    pub fn evaluate(&self, data: &Dataset, batch_size: usize) -> Result<Evaluation> {
        let sums = self.evaluate_sums(data, 0..data.len(), batch_size)?;
        Ok(sums.evaluation(data.len()))
    }

    /// Whether accuracy is measured: when `compile` asked for it (a regression, compiled
    /// without metrics, has no accuracy; its 0/1 threshold would mean nothing).
    fn counts_accuracy(&self) -> bool {
        self.metrics().contains(&crate::metrics::Metric::Accuracy)
    }

    /// Summed loss and correct count over the samples `range` of `data`, in eval mode.
    pub(super) fn evaluate_sums(&self, data: &Dataset, range: std::ops::Range<usize>, batch_size: usize) -> Result<EvalSums> {
        let loss_kind = self.loss().ok_or_else(|| Error::Model("call compile before evaluate".into()))?;
        let logits = loss_kind.fuses(self.output_activation());
        let threshold = if logits { 0.0 } else { 0.5 };
        let mut sums = EvalSums { loss_sum: 0.0, correct: 0, classified: true };
        let mut each = |idx: Vec<usize>, out: Tensor| -> Result<()> {
            let targets = data.targets.gather(&idx)?;
            let loss = loss_kind.compute(&Tape::no_grad().input(out.clone()), &targets, logits)?;
            sums.loss_sum += loss.value().item()? as f64 * idx.len() as f64;
            match count_correct(&out, &targets, threshold) {
                Ok(c) if self.counts_accuracy() => sums.correct += c,
                _ => sums.classified = false,
            }
            Ok(())
        };
        if data.is_streamed() {
            // Decoded a batch at a time from the picture files, at most STREAMED_EVAL_BATCH
            // (the data is streamed to keep memory down; so are the activations).
            if range.end > data.len() {
                return Err(Error::invalid("evaluate", format!("rows {range:?} past the {} given", data.len())));
            }
            let batch = batch_size.clamp(1, STREAMED_EVAL_BATCH);
            for start in range.clone().step_by(batch) {
                let idx: Vec<usize> = (start..(start + batch).min(range.end)).collect();
                let x = data.inputs_of(&idx)?;
                let n = idx.len();
                self.eval_batches(&x, 0..n, n, logits, |_, out| each(idx.clone(), out))?;
            }
            return Ok(sums);
        }
        self.eval_batches(&data.inputs, range, batch_size, logits, |rows, out| each(rows.collect(), out))?;
        Ok(sums)
    }

    /// Class predictions (arg-max of the outputs, or threshold 0.5 for one output).
    pub fn predict_classes(&mut self, x: &Tensor) -> Result<Vec<usize>> {
        let out = self.predict(x)?;
        if out.rank() == 2 && out.shape()[1] == 1 {
            return Ok(out.data().iter().map(|&v| (v > 0.5) as usize).collect());
        }
        out.argmax_axis(out.rank().saturating_sub(1))
    }
}
