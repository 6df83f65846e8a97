//! TensorBoard logs of a training run (`strata train --tensorboard DIR`): loss, accuracy
//! and learning rate every N steps and per epoch (validation too), a histogram of every
//! weight tensor and the first layer's filters as a picture after each epoch.

use crate::Result;
use crate::inspect::{filters_png, layer_index, layer_name};
use crate::io::tensorboard::EventWriter;
use crate::model::{EpochRecord, Sequential, StepRecord, TrainingObserver};
use std::path::Path;

/// Writes a run's event file; give it to training as [`crate::model::SharedObserver`].
///
/// Tags: `step/loss`, `step/accuracy`, `step/learning_rate` (every `every` steps, at the
/// global step); `epoch/loss`, `epoch/accuracy`, `epoch/val_loss`, `epoch/val_accuracy`,
/// `epoch/learning_rate` (at the epoch number); histograms `weights/<layer>/<param>`
/// (`weights/conv2d_1/weight`) and the image `filters/<layer>` (the first layer with
/// weights) at the epoch number.
pub struct TensorBoardLog {
    writer: EventWriter,
    every: u64,
    input_shape: Vec<usize>,
}

impl TensorBoardLog {
    /// A new event file in `dir`, logging step figures every `every` steps (at least 1).
    pub fn create(dir: &Path, every: u64, input_shape: &[usize]) -> Result<TensorBoardLog> {
        Ok(TensorBoardLog { writer: EventWriter::create(dir)?, every: every.max(1), input_shape: input_shape.to_vec() })
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }
}

impl TrainingObserver for TensorBoardLog {
    fn on_step(&mut self, _model: &Sequential, s: &StepRecord) -> Result<()> {
        if s.global_step % self.every != 0 {
            return Ok(());
        }
        let step = s.global_step as i64;
        self.writer.scalar("step/loss", step, s.loss)?;
        if let Some(a) = s.accuracy {
            self.writer.scalar("step/accuracy", step, a)?;
        }
        self.writer.scalar("step/learning_rate", step, s.learning_rate)
    }

    fn on_epoch_end(&mut self, model: &Sequential, r: &EpochRecord) -> Result<()> {
        let step = r.epoch as i64;
        let w = &mut self.writer;
        w.scalar("epoch/loss", step, r.loss)?;
        for (tag, v) in [("epoch/accuracy", r.accuracy), ("epoch/val_loss", r.val_loss), ("epoch/val_accuracy", r.val_accuracy)] {
            if let Some(v) = v {
                w.scalar(tag, step, v)?;
            }
        }
        w.scalar("epoch/learning_rate", step, r.learning_rate)?;
        for (i, layer) in model.layers().iter().enumerate() {
            for p in layer.params() {
                w.histogram(&format!("weights/{}/{}", layer_name(layer.kind(), i), p.name), step, p.value.data())?;
            }
        }
        if let Ok(index) = layer_index(model, None) {
            // The grid at 4 pixels a weight: a picture TensorBoard shows whole.
            if let Ok((png, _)) = filters_png(model, index, &self.input_shape, 4) {
                let size = image::load_from_memory(&png).map(|i| (i.width(), i.height())).unwrap_or((0, 0));
                let tag = format!("filters/{}", layer_name(model.layers()[index].kind(), index));
                w.image(&tag, step, png, size, 3)?;
            }
        }
        Ok(())
    }
}
