//! Learning-rate schedules: after each epoch they may change the optimizer's learning rate.
//!
//! ```
//! use strata::optim::{LrSchedule, Optimizer, Sgd, StepDecay};
//! let mut opt = Sgd::new(0.1);
//! let mut schedule = StepDecay::new(2, 0.5).unwrap();
//! assert_eq!(schedule.on_epoch_end(1, None, &mut opt), None);
//! assert_eq!(schedule.on_epoch_end(2, None, &mut opt), Some(0.05)); // epoch 3 runs at 0.05
//! assert_eq!(opt.learning_rate(), 0.05);
//! ```

use super::{Optimizer, require};
use crate::{Error, Result};

/// Adjusts an optimizer's learning rate between epochs.
pub trait LrSchedule: Send {
    /// Called after epoch `epoch` (counted from 1) with the watched metric, if any
    /// (validation loss, say); returns the new learning rate if it changed.
    fn on_epoch_end(&mut self, epoch: usize, metric: Option<f32>, opt: &mut dyn Optimizer) -> Option<f32>;
}

/// Sets `lr` on `opt` if it differs from the current one; returns it then.
fn set_if_changed(opt: &mut dyn Optimizer, lr: f32) -> Option<f32> {
    (lr != opt.learning_rate()).then(|| {
        opt.set_learning_rate(lr);
        lr
    })
}

/// The closed-form schedules: after `epoch`, lr = base * factor(epoch). The base is read on
/// the first call as the rate `epoch` ran at, divided by factor(epoch - 1).
fn closed_form(base: &mut Option<f64>, epoch: usize, opt: &mut dyn Optimizer, factor: impl Fn(usize) -> f64) -> Option<f32> {
    let base = *base.get_or_insert_with(|| opt.learning_rate() as f64 / factor(epoch.saturating_sub(1)));
    set_if_changed(opt, (base * factor(epoch)) as f32)
}

/// A decay factor: finite and > 0.
fn check_gamma(gamma: f32) -> Result<()> {
    require("gamma", gamma, gamma.is_finite() && gamma > 0.0, "must be finite and > 0")
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs (PyTorch's `StepLR`):
/// after epoch `e`, lr = base * gamma^floor(e / step_size).
///
/// The base rate is read from the optimizer on the first call, as the rate that epoch ran
/// at divided by the decay already due, so a schedule created when training resumes from
/// a checkpoint continues where it left off.
#[derive(Clone, Debug)]
pub struct StepDecay {
    step_size: usize,
    gamma: f32,
    base: Option<f64>,
}

impl StepDecay {
    /// Errors unless `step_size` >= 1 and `gamma` is finite and > 0.
    pub fn new(step_size: usize, gamma: f32) -> Result<StepDecay> {
        if step_size == 0 {
            return Err(Error::invalid("step size", "0 (must be at least 1 epoch)"));
        }
        check_gamma(gamma)?;
        Ok(StepDecay { step_size, gamma, base: None })
    }
}

impl LrSchedule for StepDecay {
    fn on_epoch_end(&mut self, epoch: usize, _metric: Option<f32>, opt: &mut dyn Optimizer) -> Option<f32> {
        let (step_size, gamma) = (self.step_size, self.gamma as f64);
        closed_form(&mut self.base, epoch, opt, |e| gamma.powf((e / step_size) as f64))
    }
}

/// Multiplies the learning rate by `gamma` after every epoch (PyTorch's `ExponentialLR`):
/// after epoch `e`, lr = base * gamma^e, with the base read as for [`StepDecay`].
#[derive(Clone, Debug)]
pub struct ExponentialDecay {
    gamma: f32,
    base: Option<f64>,
}

impl ExponentialDecay {
    /// Errors unless `gamma` is finite and > 0.
    pub fn new(gamma: f32) -> Result<ExponentialDecay> {
        check_gamma(gamma)?;
        Ok(ExponentialDecay { gamma, base: None })
    }
}

impl LrSchedule for ExponentialDecay {
    fn on_epoch_end(&mut self, epoch: usize, _metric: Option<f32>, opt: &mut dyn Optimizer) -> Option<f32> {
        let gamma = self.gamma as f64;
        closed_form(&mut self.base, epoch, opt, |e| gamma.powf(e as f64))
    }
}

/// Whether a smaller or a larger metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlateauMode {
    /// Loss-like: lower is better (the default).
    #[default]
    Min,
    /// Accuracy-like: higher is better.
    Max,
}

/// Multiplies the learning rate by `factor` when the watched metric has stopped improving
/// (PyTorch's `ReduceLROnPlateau`, relative threshold):
///
/// - an epoch improves when its metric beats the best so far by more than
///   `threshold * |best|` (default 1e-4); otherwise it is a bad epoch;
/// - after more than `patience` bad epochs in a row, lr = max(lr * factor, min_lr) and the
///   count restarts; for `cooldown` epochs after a reduction bad epochs are not counted.
///
/// An epoch without a metric changes nothing. (Keras counts the same way but reduces one
/// bad epoch earlier: its patience 3 is this patience 2.)
///
/// ```
/// use strata::optim::{LrSchedule, Optimizer, PlateauMode, ReduceOnPlateau, Sgd};
/// let mut opt = Sgd::new(0.1);
/// let mut plateau = ReduceOnPlateau::new(0.5, 1).unwrap().mode(PlateauMode::Min);
/// let changes: Vec<Option<f32>> =
///     [1.0, 0.8, 0.9, 0.9].iter().enumerate().map(|(e, &loss)| plateau.on_epoch_end(e + 1, Some(loss), &mut opt)).collect();
/// assert_eq!(changes, [None, None, None, Some(0.05)]);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceOnPlateau {
    factor: f32,
    patience: usize,
    min_lr: f32,
    threshold: f32,
    mode: PlateauMode,
    cooldown: usize,
    best: Option<f32>,
    bad_epochs: usize,
    cooldown_left: usize,
}

impl ReduceOnPlateau {
    /// Reduce by `factor` (in (0, 1)) after more than `patience` epochs without improvement.
    pub fn new(factor: f32, patience: usize) -> Result<ReduceOnPlateau> {
        ReduceOnPlateau {
            factor,
            patience,
            min_lr: 0.0,
            threshold: 1e-4,
            mode: PlateauMode::Min,
            cooldown: 0,
            best: None,
            bad_epochs: 0,
            cooldown_left: 0,
        }
        .validated()
    }
    /// The learning rate never goes below this, >= 0 (default 0).
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }
    /// Relative improvement that counts, >= 0 (default 1e-4).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }
    /// Whether lower (default) or higher metrics are better.
    pub fn mode(mut self, mode: PlateauMode) -> Self {
        self.mode = mode;
        self
    }
    /// Epochs after a reduction during which bad epochs are not counted (default 0).
    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }
    /// Checks every setting ([`ReduceOnPlateau::new`] checks its own; call this after the
    /// setters to check theirs).
    pub fn validate(&self) -> Result<()> {
        require("factor", self.factor, self.factor > 0.0 && self.factor < 1.0, "must be in (0, 1)")?;
        require("min lr", self.min_lr, self.min_lr.is_finite() && self.min_lr >= 0.0, "must be finite and >= 0")?;
        require("threshold", self.threshold, self.threshold.is_finite() && self.threshold >= 0.0, "must be finite and >= 0")
    }
    /// `self` if [`ReduceOnPlateau::validate`] passes.
    pub fn validated(self) -> Result<Self> {
        self.validate().map(|_| self)
    }

    fn improves(&self, metric: f32) -> bool {
        let Some(best) = self.best else {
            return !metric.is_nan();
        };
        let margin = self.threshold * best.abs();
        match self.mode {
            PlateauMode::Min => metric < best - margin,
            PlateauMode::Max => metric > best + margin,
        }
    }
}

impl LrSchedule for ReduceOnPlateau {
    fn on_epoch_end(&mut self, _epoch: usize, metric: Option<f32>, opt: &mut dyn Optimizer) -> Option<f32> {
        let metric = metric?;
        if self.improves(metric) {
            self.best = Some(metric);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs <= self.patience {
            return None;
        }
        self.bad_epochs = 0;
        self.cooldown_left = self.cooldown;
        let old = opt.learning_rate();
        let new = (old * self.factor).max(self.min_lr);
        // Like PyTorch, ignore changes too small to matter (already at min_lr).
        if old - new > 1e-8 { set_if_changed(opt, new) } else { None }
    }
}

/// Parses a schedule given on the command line:
/// `step:SIZE:GAMMA` ([`StepDecay`]), `plateau:FACTOR:PATIENCE[:MIN_LR]`
/// ([`ReduceOnPlateau`] on a loss-like metric) or `exp:GAMMA` ([`ExponentialDecay`]).
///
/// ```
/// use strata::optim::schedule_from_str;
/// assert!(schedule_from_str("step:10:0.5").is_ok());
/// assert!(schedule_from_str("plateau:0.5:3").is_ok());
/// assert!(schedule_from_str("exp:0.95").is_ok());
/// let e = schedule_from_str("step:ten:0.5").err().unwrap().to_string();
/// assert!(e.contains("SIZE"), "{e}");
/// ```
pub fn schedule_from_str(spec: &str) -> Result<Box<dyn LrSchedule>> {
    const FORMS: &str = "step:SIZE:GAMMA, plateau:FACTOR:PATIENCE[:MIN_LR] or exp:GAMMA";
    let fail = |reason: String| Error::invalid("schedule", format!("'{spec}': {reason} (expected {FORMS})"));
    let parts: Vec<&str> = spec.trim().split(':').map(str::trim).collect();
    let num = |i: usize, what: &str| -> Result<f32> {
        parts[i].parse::<f32>().map_err(|_| fail(format!("{what} '{}' is not a number", parts[i])))
    };
    let count = |i: usize, what: &str| -> Result<usize> {
        parts[i].parse::<usize>().map_err(|_| fail(format!("{what} '{}' is not a whole number", parts[i])))
    };
    let in_words = |e: Error| fail(e.to_string());
    let schedule: Box<dyn LrSchedule> = match (parts[0].to_ascii_lowercase().as_str(), parts.len()) {
        ("step", 3) => Box::new(StepDecay::new(count(1, "SIZE")?, num(2, "GAMMA")?).map_err(in_words)?),
        ("plateau", 3 | 4) => {
            let mut p = ReduceOnPlateau::new(num(1, "FACTOR")?, count(2, "PATIENCE")?).map_err(in_words)?;
            if parts.len() == 4 {
                p = p.min_lr(num(3, "MIN_LR")?).validated().map_err(in_words)?;
            }
            Box::new(p)
        }
        ("exp", 2) => Box::new(ExponentialDecay::new(num(1, "GAMMA")?).map_err(in_words)?),
        (name @ ("step" | "plateau" | "exp"), n) => {
            return Err(fail(format!("wrong number of values after '{name}' ({} given)", n - 1)));
        }
        (other, _) => return Err(fail(format!("unknown schedule '{other}'"))),
    };
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::super::Sgd;
    use super::*;

    /// The lr changes a schedule reports over epochs 1..=metrics.len(), starting at lr 1.
    fn run(schedule: &mut dyn LrSchedule, metrics: &[Option<f32>]) -> Vec<Option<f32>> {
        let mut opt = Sgd::new(1.0);
        metrics.iter().enumerate().map(|(e, m)| schedule.on_epoch_end(e + 1, *m, &mut opt)).collect()
    }

    #[test]
    fn step_decay_changes_lr_every_step_size_epochs() {
        let got = run(&mut StepDecay::new(2, 0.5).unwrap(), &[None; 6]);
        assert_eq!(got, [None, Some(0.5), None, Some(0.25), None, Some(0.125)]);
        let got = run(&mut StepDecay::new(3, 0.1).unwrap(), &[Some(1.0); 4]);
        assert_eq!(got[..2], [None, None]);
        assert!((got[2].unwrap() - 0.1).abs() < 1e-7 && got[3].is_none(), "{got:?}");
    }

    #[test]
    fn step_decay_created_on_resume_continues_the_schedule() {
        // Epochs 1-4 ran with StepDecay(2, 0.5) from lr 1: epoch 5 runs at 0.25.
        let mut opt = Sgd::new(0.25);
        let mut s = StepDecay::new(2, 0.5).unwrap();
        assert_eq!(s.on_epoch_end(5, None, &mut opt), None);
        assert_eq!(s.on_epoch_end(6, None, &mut opt), Some(0.125));
    }

    #[test]
    fn exponential_decay_multiplies_every_epoch() {
        let got = run(&mut ExponentialDecay::new(0.5).unwrap(), &[None; 3]);
        assert_eq!(got, [Some(0.5), Some(0.25), Some(0.125)]);
    }

    #[test]
    fn plateau_reduces_after_more_than_patience_bad_epochs() {
        let m = [1.0, 0.9, 0.95, 0.9, 0.92, 0.5, 0.6, 0.6, 0.6].map(Some);
        let got = run(&mut ReduceOnPlateau::new(0.5, 2).unwrap(), &m);
        // best 0.9 at epoch 2; epochs 3, 4 (0.9 is not better), 5 are bad -> reduce at 5.
        // best 0.5 at 6; 7, 8, 9 bad -> reduce at 9.
        assert_eq!(got, [None, None, None, None, Some(0.5), None, None, None, Some(0.25)]);
    }

    #[test]
    fn plateau_threshold_ignores_tiny_improvements() {
        let m = [1.0, 0.99995, 0.99991].map(Some);
        let got = run(&mut ReduceOnPlateau::new(0.5, 1).unwrap(), &m);
        assert_eq!(got, [None, None, Some(0.5)]);
    }

    #[test]
    fn plateau_in_max_mode_watches_accuracy() {
        let m = [0.5, 0.6, 0.6, 0.55, 0.7].map(Some);
        let got = run(&mut ReduceOnPlateau::new(0.1, 1).unwrap().mode(PlateauMode::Max), &m);
        assert_eq!(got[..3], [None, None, None]);
        assert!((got[3].unwrap() - 0.1).abs() < 1e-7 && got[4].is_none(), "{got:?}");
    }

    #[test]
    fn plateau_respects_min_lr_cooldown_and_missing_metrics() {
        let p = ReduceOnPlateau::new(0.5, 0).unwrap().min_lr(0.3);
        let got = run(&mut p.clone(), &[Some(1.0), Some(2.0), None, Some(2.0), Some(2.0)]);
        assert_eq!(got, [None, Some(0.5), None, Some(0.3), None]);

        let got = run(&mut ReduceOnPlateau::new(0.5, 0).unwrap().cooldown(2), &[Some(1.0); 6]);
        assert_eq!(got, [None, Some(0.5), None, None, Some(0.25), None]);
    }

    #[test]
    fn bad_schedule_settings_are_errors() {
        assert!(StepDecay::new(0, 0.5).is_err());
        assert!(StepDecay::new(1, 0.0).is_err());
        assert!(ExponentialDecay::new(f32::NAN).is_err());
        assert!(ReduceOnPlateau::new(1.0, 3).is_err());
        assert!(ReduceOnPlateau::new(0.0, 3).is_err());
        assert!(ReduceOnPlateau::new(0.5, 3).unwrap().min_lr(-1.0).validate().is_err());
        assert!(ReduceOnPlateau::new(0.5, 3).unwrap().threshold(f32::NAN).validate().is_err());
    }

    #[test]
    fn schedule_from_str_parses_the_cli_forms() {
        let got = run(schedule_from_str("step:2:0.5").unwrap().as_mut(), &[None; 2]);
        assert_eq!(got, [None, Some(0.5)]);
        let got = run(schedule_from_str(" exp : 0.5 ").unwrap().as_mut(), &[None]);
        assert_eq!(got, [Some(0.5)]);
        let got = run(schedule_from_str("plateau:0.5:0:0.75").unwrap().as_mut(), &[Some(1.0), Some(1.0), Some(1.0)]);
        assert_eq!(got, [None, Some(0.75), None]);
    }

    #[test]
    fn schedule_from_str_errors_say_what_is_wrong() {
        for (spec, needle) in [
            ("cosine:10", "unknown schedule 'cosine'"),
            ("step:10", "wrong number of values after 'step' (1 given)"),
            ("step:x:0.5", "SIZE 'x'"),
            ("step:0:0.5", "step size"),
            ("plateau:2:3", "factor"),
            ("plateau:0.5:-1", "PATIENCE '-1'"),
            ("plateau:0.5:3:-1", "min lr"),
            ("exp:abc", "GAMMA 'abc'"),
            ("", "unknown schedule ''"),
        ] {
            let e = schedule_from_str(spec).err().unwrap().to_string();
            assert!(e.contains(needle) && e.contains("expected step:SIZE:GAMMA"), "{spec}: {e}");
        }
    }
}
