//! Watching a training run from outside `fit`: a [`TrainingObserver`] is told about steps
//! and epochs as they end (TensorBoard logs are one), without `fit` knowing what it does.

use super::history::EpochRecord;
use super::sequential::Sequential;
use crate::Result;
use std::sync::{Arc, Mutex};

/// One training step as it ended.
#[derive(Clone, Copy, Debug)]
pub struct StepRecord {
    /// The epoch (1-based).
    pub epoch: usize,
    /// The step within the epoch (1-based).
    pub step: usize,
    /// Steps since training began (1-based): `(epoch - 1) * steps_per_epoch + step`.
    pub global_step: u64,
    /// The batch's mean loss.
    pub loss: f32,
    /// The batch's accuracy (classification).
    pub accuracy: Option<f32>,
    /// The learning rate of the step.
    pub learning_rate: f32,
}

/// Told about each step and each epoch of [`Sequential::fit`] (on rank 0 of a data-parallel
/// run). An error stops training.
pub trait TrainingObserver: Send {
    /// After every step.
    fn on_step(&mut self, model: &Sequential, step: &StepRecord) -> Result<()>;
    /// After every epoch (validation included), with the epoch's record.
    fn on_epoch_end(&mut self, model: &Sequential, record: &EpochRecord) -> Result<()>;
}

/// An observer shared between the caller and `fit`.
pub type SharedObserver = Arc<Mutex<dyn TrainingObserver>>;
