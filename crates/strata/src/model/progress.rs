//! Progress output during `fit`: a bar per epoch on a terminal, one line per epoch otherwise.
//! The bar is a single status line on stderr, redrawn in place a few times a second (as
//! Keras's `Progbar` does), so the library needs no terminal crate.

use super::history::EpochRecord;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Nothing.
    Silent,
    /// One summary line per epoch (to stdout).
    Epochs,
    /// A progress bar per epoch (to stderr), then its summary line.
    Bar,
    /// `Bar` when stdout and stderr are a terminal, `Epochs` otherwise.
    #[default]
    Auto,
}

impl Verbosity {
    fn resolved(self) -> Verbosity {
        match self {
            // The bar goes to stderr: only when both streams are a terminal (not under
            // `mpirun` or a pipe, where a redrawn line would be noise in a log).
            Verbosity::Auto if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() => Verbosity::Bar,
            Verbosity::Auto => Verbosity::Epochs,
            v => v,
        }
    }
}

pub(crate) struct Progress {
    mode: Verbosity,
    bar: Option<Bar>,
    epochs: usize,
}

/// One epoch's status line.
struct Bar {
    epoch: usize,
    steps: usize,
    start: Instant,
    last_draw: Option<Instant>,
}

/// Redraws at most this often: a fast network takes thousands of steps a second.
const REDRAW: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 30;

impl Bar {
    fn draw(&mut self, epochs: usize, step: usize, status: &str) {
        let now = Instant::now();
        if self.last_draw.is_some_and(|t| now - t < REDRAW) && step < self.steps {
            return;
        }
        self.last_draw = Some(now);
        let filled = (BAR_WIDTH * step).checked_div(self.steps).unwrap_or(BAR_WIDTH).min(BAR_WIDTH);
        let arrow = if filled < BAR_WIDTH { ">" } else { "" };
        let rest = BAR_WIDTH - filled - arrow.len();
        let elapsed = self.start.elapsed().as_secs_f64();
        let eta = if step > 0 { elapsed * (self.steps - step.min(self.steps)) as f64 / step as f64 } else { 0.0 };
        let line = format!(
            "epoch {}/{epochs} [{}{arrow}{}] {step}/{} {status} eta {eta:.0}s",
            self.epoch,
            "=".repeat(filled),
            " ".repeat(rest),
            self.steps
        );
        // \r and clear-to-end-of-line: the next draw overwrites this one.
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
    }
}

impl Drop for Bar {
    /// Clears the status line, also when training stops with an error mid-epoch (the error
    /// line then starts on a clean line).
    fn drop(&mut self) {
        if self.last_draw.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

impl Progress {
    pub fn new(mode: Verbosity, epochs: usize) -> Progress {
        Progress { mode: mode.resolved(), bar: None, epochs }
    }

    pub fn start_epoch(&mut self, epoch: usize, steps: usize) {
        if self.mode == Verbosity::Bar {
            self.bar = Some(Bar { epoch, steps, start: Instant::now(), last_draw: None });
        }
    }

    /// After each step: running loss, accuracy and throughput.
    pub fn step(&mut self, step: usize, loss: f32, accuracy: Option<f32>, images_per_sec: f64) {
        if let Some(bar) = &mut self.bar {
            let acc = accuracy.map(|a| format!(" acc {a:.4}")).unwrap_or_default();
            bar.draw(self.epochs, step, &format!("loss {loss:.4}{acc} {images_per_sec:.0} img/s"));
        }
    }

    pub fn end_epoch(&mut self, r: &EpochRecord) {
        self.bar = None;
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
