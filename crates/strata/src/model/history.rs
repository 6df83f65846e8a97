//! What `fit` returns: per-epoch training and validation figures.

use serde::{Deserialize, Serialize};

/// Figures for one epoch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps (the network's output).
    pub loss: f32,
    /// Mean over the epoch's steps of the auxiliary classifiers' weighted losses (summed
    /// over the heads): what training minimized on top of `loss`. Only for networks with
    /// auxiliary classifiers (`googlenet-aux`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux_loss: Option<f32>,
    /// Training accuracy over the epoch (classification targets only).
    pub accuracy: Option<f32>,
    /// Loss on the validation data after the epoch, if there is any.
    pub val_loss: Option<f32>,
    /// Accuracy on the validation data after the epoch.
    pub val_accuracy: Option<f32>,
    /// The learning rate the epoch trained with.
    pub learning_rate: f32,
    /// Wall time of the training part of the epoch (validation excluded).
    pub seconds: f64,
    /// Training throughput: samples per second of `seconds`.
    pub images_per_sec: f64,
}

/// Per-epoch records of a `fit` call.
#[derive(Clone, Debug, Default, Serialize)]
pub struct History {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// True when early stopping ended training before the last epoch.
    pub stopped_early: bool,
}

impl History {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }
    /// Total training seconds over all epochs.
    pub fn train_seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }
    /// The history as CSV, one row per epoch (empty cells where a figure is absent).
    pub fn to_csv(&self) -> String {
        let opt = |v: Option<f32>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_sec\n");
        for e in &self.epochs {
            s += &format!(
                "{},{},{},{},{},{},{:.3},{:.1}\n",
                e.epoch,
                e.loss,
                opt(e.accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.learning_rate,
                e.seconds,
                e.images_per_sec
            );
        }
        s
    }
}
