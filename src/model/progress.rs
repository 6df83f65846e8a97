//! Progress output during `fit`: a bar per epoch on a terminal, one line per epoch otherwise.

use super::history::EpochRecord;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Nothing.
    Silent,
    /// One summary line per epoch (to stdout).
    Epochs,
    /// A progress bar per epoch (to stderr), then its summary line.
    Bar,
    /// `Bar` when stdout is a terminal, `Epochs` otherwise.
    #[default]
    Auto,
}

impl Verbosity {
    fn resolved(self) -> Verbosity {
        match self {
            Verbosity::Auto if std::io::stdout().is_terminal() => Verbosity::Bar,
            Verbosity::Auto => Verbosity::Epochs,
            v => v,
        }
    }
}

pub(crate) struct Progress {
    mode: Verbosity,
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl Progress {
    pub fn new(mode: Verbosity, epochs: usize) -> Progress {
        Progress { mode: mode.resolved(), bar: None, epochs }
    }

    pub fn start_epoch(&mut self, epoch: usize, steps: usize) {
        if self.mode == Verbosity::Bar {
            let bar = ProgressBar::new(steps as u64);
            let style = ProgressStyle::with_template(&format!(
                "epoch {epoch}/{} [{{bar:30}}] {{pos}}/{{len}} {{msg}} eta {{eta}}",
                self.epochs
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            self.bar = Some(bar);
        }
    }

    /// After each step: running loss, accuracy and throughput.
    pub fn step(&mut self, step: usize, loss: f32, accuracy: Option<f32>, images_per_sec: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            if step.is_multiple_of(10) {
                let acc = accuracy.map(|a| format!(" acc {a:.4}")).unwrap_or_default();
                bar.set_message(format!("loss {loss:.4}{acc} {images_per_sec:.0} img/s"));
            }
        }
    }

    pub fn end_epoch(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.mode == Verbosity::Silent {
            return;
        }
        let mut line = format!("epoch {}/{}: loss {:.4}", r.epoch, self.epochs, r.loss);
        if let Some(a) = r.accuracy {
            line += &format!(" acc {a:.4}");
        }
        if let Some(v) = r.val_loss {
            line += &format!(" val_loss {v:.4}");
        }
        if let Some(v) = r.val_accuracy {
            line += &format!(" val_acc {v:.4}");
        }
        line += &format!(" lr {:.3e} {:.1}s {:.0} img/s", r.learning_rate, r.seconds, r.images_per_sec);
        println!("{line}");
    }
}
