//! Training control: early stopping on a monitored figure, with patience and restoring the
//! best weights. (Checkpointing every epoch and resuming live in `checkpoint`.)
//!
//! ```
//! use strata::model::{EarlyStopping, Monitor};
//! let es = EarlyStopping::new(5).monitor(Monitor::ValAccuracy);
//! assert_eq!(es.patience, 5);
//! assert!(es.restore_best);
//! ```

use super::history::EpochRecord;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The per-epoch figure early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Loss on the validation data (lower is better).
    ValLoss,
    /// Accuracy on the validation data (higher is better).
    ValAccuracy,
    /// Training loss.
    Loss,
    /// Training accuracy.
    Accuracy,
}

impl Monitor {
    /// The figure in `r`, if the epoch recorded it.
    pub fn value(self, r: &EpochRecord) -> Option<f32> {
        match self {
            Monitor::ValLoss => r.val_loss,
            Monitor::ValAccuracy => r.val_accuracy,
            Monitor::Loss => Some(r.loss),
            Monitor::Accuracy => r.accuracy,
        }
    }
    /// True for accuracies, false for losses.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Monitor::ValAccuracy | Monitor::Accuracy)
    }
    /// True when the figure needs validation data.
    pub fn needs_validation(self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::ValAccuracy)
    }
}

impl FromStr for Monitor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Monitor> {
        Ok(match s {
            "val_loss" => Monitor::ValLoss,
            "val_accuracy" => Monitor::ValAccuracy,
            "loss" => Monitor::Loss,
            "accuracy" => Monitor::Accuracy,
            o => {
                return Err(Error::invalid("monitor", format!("unknown '{o}' (val_loss, val_accuracy, loss, accuracy)")));
            }
        })
    }
}

/// Stop training when `monitor` has not improved by more than `min_delta` for `patience`
/// epochs in a row; with `restore_best`, the model ends with the weights of its best epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The figure watched (default validation loss).
    pub monitor: Monitor,
    /// Epochs without improvement before training stops.
    pub patience: usize,
    /// Smallest change that counts as an improvement (default 0).
    pub min_delta: f32,
    /// End with the best epoch's weights (default true).
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Watch the validation loss with `patience` epochs, restoring the best weights.
    pub fn new(patience: usize) -> EarlyStopping {
        EarlyStopping { monitor: Monitor::ValLoss, patience, min_delta: 0.0, restore_best: true }
    }
    /// Watches `m` instead of the validation loss.
    pub fn monitor(mut self, m: Monitor) -> Self {
        self.monitor = m;
        self
    }
    /// Counts only improvements larger than `d`.
    pub fn min_delta(mut self, d: f32) -> Self {
        self.min_delta = d;
        self
    }
    /// Whether training ends with the best epoch's weights.
    pub fn restore_best(mut self, yes: bool) -> Self {
        self.restore_best = yes;
        self
    }
}

/// Where early stopping stands (saved in checkpoints so a resumed run decides alike).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EarlyStoppingState {
    /// Best value so far and the epoch that reached it.
    pub best: Option<f32>,
    pub best_epoch: usize,
    /// Epochs since the last improvement.
    pub wait: usize,
}

/// What one epoch means for early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EarlyStoppingStep {
    /// This epoch is the best so far (its weights are the ones to restore).
    pub improved: bool,
    /// Patience ran out: stop after this epoch.
    pub stop: bool,
}

impl EarlyStoppingState {
    /// Records epoch `r`; errors if the monitored figure is missing.
    pub fn update(&mut self, es: &EarlyStopping, r: &EpochRecord) -> Result<EarlyStoppingStep> {
        let v = es
            .monitor
            .value(r)
            .ok_or_else(|| Error::invalid("early stopping", format!("epoch {} has no {:?} to monitor", r.epoch, es.monitor)))?;
        let improved = match self.best {
            None => true,
            Some(b) if es.monitor.higher_is_better() => v > b + es.min_delta,
            Some(b) => v < b - es.min_delta,
        };
        if improved {
            (self.best, self.best_epoch, self.wait) = (Some(v), r.epoch, 0);
        } else {
            self.wait += 1;
        }
        Ok(EarlyStoppingStep { improved, stop: !improved && self.wait >= es.patience.max(1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: usize, val_loss: f32) -> EpochRecord {
        EpochRecord {
            aux_loss: None,
            epoch,
            loss: 1.0,
            accuracy: None,
            val_loss: Some(val_loss),
            val_accuracy: None,
            learning_rate: 0.1,
            seconds: 0.0,
            images_per_sec: 0.0,
        }
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let es = EarlyStopping::new(2).min_delta(0.01);
        let mut st = EarlyStoppingState::default();
        let steps: Vec<(bool, bool)> = [1.0, 0.8, 0.795, 0.9]
            .iter()
            .enumerate()
            .map(|(i, &v)| st.update(&es, &rec(i + 1, v)).map(|s| (s.improved, s.stop)).unwrap())
            .collect();
        // 0.795 is not better than 0.8 by more than 0.01; 0.9 is worse: two bad epochs -> stop
        assert_eq!(steps, [(true, false), (true, false), (false, false), (false, true)]);
        assert_eq!((st.best, st.best_epoch), (Some(0.8), 2));
        let acc = EarlyStopping::new(1).monitor(Monitor::ValAccuracy);
        assert!(EarlyStoppingState::default().update(&acc, &rec(1, 0.5)).is_err());
        assert_eq!("val_accuracy".parse::<Monitor>().unwrap(), Monitor::ValAccuracy);
    }
}
