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

    /// Reads back what [`History::to_csv`] wrote (`history.csv` of a run).
    ///
    /// ```
    /// use strata::model::{EpochRecord, History};
    /// let r = EpochRecord { epoch: 1, loss: 0.5, aux_loss: None, accuracy: Some(0.8), val_loss: None, val_accuracy: None,
    ///     learning_rate: 0.05, seconds: 1.5, images_per_sec: 1000.0 };
    /// let h = History { epochs: vec![r.clone()], stopped_early: false };
    /// assert_eq!(History::from_csv(&h.to_csv()).unwrap().epochs, vec![r]);
    /// assert!(History::from_csv("epoch,loss\n1,x\n").is_err());
    /// ```
    pub fn from_csv(text: &str) -> crate::Result<History> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        let col = |name: &str| header.iter().position(|h| h.trim() == name);
        let bad = |line: usize, why: String| crate::Error::invalid("history", format!("line {line}: {why}"));
        let (epoch, loss) = match (col("epoch"), col("loss")) {
            (Some(e), Some(l)) => (e, l),
            _ => return Err(crate::Error::invalid("history", "the header lacks the epoch and loss columns")),
        };
        let mut epochs = Vec::new();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split(',').collect();
            let cell = |c: Option<usize>| c.and_then(|c| cells.get(c)).map(|s| s.trim()).filter(|s| !s.is_empty());
            let num = |c: Option<usize>| -> crate::Result<Option<f64>> {
                cell(c).map(|s| s.parse::<f64>().map_err(|_| bad(i + 2, format!("'{s}' is not a number")))).transpose()
            };
            let need = |c: usize| num(Some(c))?.ok_or_else(|| bad(i + 2, "a required cell is empty".into()));
            epochs.push(EpochRecord {
                epoch: need(epoch)? as usize,
                loss: need(loss)? as f32,
                aux_loss: num(col("aux_loss"))?.map(|v| v as f32),
                accuracy: num(col("accuracy"))?.map(|v| v as f32),
                val_loss: num(col("val_loss"))?.map(|v| v as f32),
                val_accuracy: num(col("val_accuracy"))?.map(|v| v as f32),
                learning_rate: num(col("learning_rate"))?.unwrap_or(0.0) as f32,
                seconds: num(col("seconds"))?.unwrap_or(0.0),
                images_per_sec: num(col("images_per_sec"))?.unwrap_or(0.0),
            });
        }
        Ok(History { epochs, stopped_early: false })
    }
}
