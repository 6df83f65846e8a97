//! Optimizers: they turn the gradients of one backward pass into parameter updates.
//!
//! Every optimizer follows PyTorch's update rule of the same name (see each type), keeps its
//! per-parameter state (momentum buffers, moments, step counts) keyed by [`ParamId`], and
//! creates that state lazily, as zeros, the first time a parameter gets a gradient.
//!
//! **Hyper-parameters** are set with infallible builder methods, so a whole optimizer reads
//! as one expression. Each type has a `validate()` that checks them all; `step` calls it
//! first (a handful of comparisons), so a bad setting is an [`Error::Invalid`] on the first
//! step, before any parameter changes. [`by_name`] validates at once, for the CLI.
//!
//! **Speed.** Each step is one fused pass over each parameter's data (weight decay, state
//! update and weight update in the same loop, no temporaries); tensors larger than
//! [`PARALLEL_MIN`] elements are split across rayon's threads.
//!
//! ```
//! use strata::autograd::{Param, Tape};
//! use strata::optim::{Optimizer, Sgd};
//! use strata::Tensor;
//! let mut w = Param::new("w", Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap());
//! let mut opt = Sgd::new(0.1).momentum(0.9);
//! for _ in 0..100 {
//!     let grads = {
//!         let tape = Tape::new();
//!         tape.param(&w).square().sum_all().unwrap().backward().unwrap() // f(w) = |w|²
//!     };
//!     opt.step(&mut [&mut w], &grads).unwrap();
//! }
//! assert!(w.value.data().iter().all(|v| v.abs() < 1e-2));
//! ```
//!
//! [`ParamId`]: crate::autograd::ParamId

mod adagrad;
mod adam;
mod adamw;
mod parallel_update;
mod rmsprop;
pub mod schedule;
mod sgd;
mod state;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamw::AdamW;
pub use parallel_update::PARALLEL_MIN;
pub use rmsprop::RmsProp;
pub use schedule::{ExponentialDecay, LrSchedule, PlateauMode, ReduceOnPlateau, StepDecay, schedule_from_str};
pub use sgd::Sgd;

use crate::autograd::{Gradients, Param};
use crate::{Error, Result, Tensor};

/// Updates parameters from their gradients.
pub trait Optimizer: Send {
    /// One update. Parameters without a gradient in `grads` are left alone.
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()>;
    /// The current learning rate.
    fn learning_rate(&self) -> f32;
    /// Sets the learning rate (schedules do, after each epoch).
    fn set_learning_rate(&mut self, lr: f32);
    /// Short name: "sgd", "adam", ...
    fn name(&self) -> &'static str;
    /// Per-parameter state (momentum buffers, moments, step count) in the order of `params`,
    /// for checkpoints; names like "0.momentum". Parameters never stepped have no entries.
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)>;
    /// Restores what `state` returned (same params order), replacing all current state;
    /// errors name the entry that does not fit.
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()>;
}

/// The names [`by_name`] knows.
pub const OPTIMIZER_NAMES: &[&str] = &["sgd", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

/// Builds an optimizer from its name, for the CLI, and validates its settings.
///
/// `momentum` is used by `sgd`, `nesterov` (which needs it > 0) and `rmsprop`; the others
/// ignore it. `weight_decay` is passed as given (L2 for all but `adamw`, whose decay is
/// decoupled; `adamw` with `weight_decay` 0 is plain Adam).
///
/// ```
/// let opt = strata::optim::by_name("nesterov", 0.05, 0.9, 5e-4).unwrap();
/// assert_eq!(opt.name(), "nesterov");
/// assert!(strata::optim::by_name("lbfgs", 0.1, 0.0, 0.0).is_err());
/// ```
pub fn by_name(name: &str, lr: f32, momentum: f32, weight_decay: f32) -> Result<Box<dyn Optimizer>> {
    let opt: Box<dyn Optimizer> = match name.trim().to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::new(lr).momentum(momentum).weight_decay(weight_decay).validated()?),
        "nesterov" => Box::new(Sgd::new(lr).momentum(momentum).nesterov(true).weight_decay(weight_decay).validated()?),
        "adagrad" => Box::new(Adagrad::new(lr).weight_decay(weight_decay).validated()?),
        "rmsprop" => Box::new(RmsProp::new(lr).momentum(momentum).weight_decay(weight_decay).validated()?),
        "adam" => Box::new(Adam::new(lr).weight_decay(weight_decay).validated()?),
        "adamw" => Box::new(AdamW::new(lr).weight_decay(weight_decay).validated()?),
        _ => {
            return Err(Error::invalid(
                "optimizer",
                format!("unknown '{name}' (expected one of: {})", OPTIMIZER_NAMES.join(", ")),
            ));
        }
    };
    Ok(opt)
}

/// `Err(Error::Invalid)` for `name` unless `ok`; `rule` says what is allowed.
fn require(name: &str, value: f32, ok: bool, rule: &str) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::invalid(name, format!("{value} ({rule})"))) }
}

/// A learning rate: finite and >= 0.
fn check_lr(lr: f32) -> Result<()> {
    require("learning rate", lr, lr.is_finite() && lr >= 0.0, "must be finite and >= 0")
}

/// A weight decay: finite and >= 0.
fn check_weight_decay(wd: f32) -> Result<()> {
    require("weight decay", wd, wd.is_finite() && wd >= 0.0, "must be finite and >= 0")
}

/// A decay rate or momentum in [0, 1).
fn check_unit(name: &str, v: f32) -> Result<()> {
    require(name, v, (0.0..1.0).contains(&v), "must be in [0, 1)")
}

/// A denominator guard: finite and > 0 (0 would turn a zero gradient into 0/0 = NaN).
fn check_eps(eps: f32) -> Result<()> {
    require("eps", eps, eps.is_finite() && eps > 0.0, "must be finite and > 0")
}

/// The gradient of `p` must have `p`'s shape.
fn check_grad(p: &Param, g: &Tensor) -> Result<()> {
    if g.shape() == p.value.shape() {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op: "optimizer step (parameter vs gradient)",
            left: p.value.shape().to_vec(),
            right: g.shape().to_vec(),
        })
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn by_name_builds_every_listed_optimizer() {
        for &name in OPTIMIZER_NAMES {
            let opt = by_name(name, 0.01, 0.9, 1e-4).unwrap();
            assert_eq!(opt.name(), name);
            assert_eq!(opt.learning_rate(), 0.01);
        }
        assert_eq!(by_name(" Adam ", 0.01, 0.0, 0.0).unwrap().name(), "adam");
    }

    #[test]
    fn by_name_rejects_unknown_names_and_bad_settings() {
        let e = by_name("lbfgs", 0.1, 0.0, 0.0).err().unwrap().to_string();
        assert!(e.contains("optimizer") && e.contains("'lbfgs'") && e.contains("adamw"), "{e}");
        assert!(by_name("sgd", -0.1, 0.0, 0.0).is_err());
        assert!(by_name("nesterov", 0.1, 0.0, 0.0).is_err(), "nesterov needs momentum");
        assert!(by_name("rmsprop", 0.1, 1.0, 0.0).is_err());
        assert!(by_name("adamw", 0.1, 0.0, -1.0).is_err());
    }

    #[test]
    fn every_optimizer_minimises_a_convex_quadratic() {
        let cases: Vec<(Box<dyn Optimizer>, usize)> = vec![
            (Box::new(Sgd::new(0.1)), 200),
            (Box::new(Sgd::new(0.05).momentum(0.9)), 300),
            (Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true)), 300),
            (Box::new(Adagrad::new(0.5)), 500),
            (Box::new(RmsProp::new(0.01)), 1000),
            (Box::new(RmsProp::new(0.01).momentum(0.5)), 1000),
            (Box::new(Adam::new(0.05)), 1000),
            (Box::new(AdamW::new(0.05).weight_decay(0.0)), 1000),
        ];
        let c = [1.0, -2.0, 3.0, 0.5];
        for (mut opt, steps) in cases {
            let name = opt.name();
            let w = minimise_quadratic(opt.as_mut(), &c, steps);
            for (w, c) in w.iter().zip(c) {
                assert!((w - c).abs() < 2e-2, "{name}: w = {w}, want {c}");
            }
        }
    }

    #[test]
    fn params_without_gradient_are_untouched() {
        let opts: Vec<Box<dyn Optimizer>> = OPTIMIZER_NAMES.iter().map(|n| by_name(n, 0.1, 0.9, 0.1).unwrap()).collect();
        for mut opt in opts {
            let mut a = param(&[1.0, 2.0]);
            let mut b = param(&[3.0, 4.0]);
            let grads = grads_for(&[(&a, &[0.5, 0.5])]);
            opt.step(&mut [&mut a, &mut b], &grads).unwrap();
            assert_ne!(a.value.data(), &[1.0, 2.0], "{}", opt.name());
            assert_eq!(b.value.data(), &[3.0, 4.0], "{}", opt.name());
            // No state is created for `b` either.
            assert!(opt.state(&[&a, &b]).iter().all(|(k, _)| k.starts_with("0.")));
        }
    }

    #[test]
    fn gradient_of_the_wrong_shape_is_an_error() {
        for &name in OPTIMIZER_NAMES {
            let mut opt = by_name(name, 0.1, 0.9, 0.0).unwrap();
            let mut a = param(&[1.0, 2.0]);
            let mut grads = Gradients::default();
            grads.insert(a.id(), Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap());
            let e = opt.step(&mut [&mut a], &grads).unwrap_err();
            assert!(matches!(e, Error::ShapeMismatch { .. }), "{name}: {e}");
            assert_eq!(a.value.data(), &[1.0, 2.0]);
        }
    }

    #[test]
    fn state_round_trip_gives_identical_subsequent_steps() {
        for &name in OPTIMIZER_NAMES {
            assert_state_round_trip(|| by_name(name, 0.05, 0.9, 0.01).unwrap());
        }
    }

    #[test]
    fn load_state_names_the_entry_that_does_not_fit() {
        let mut opt = by_name("adam", 0.1, 0.0, 0.0).unwrap();
        let a = param(&[1.0, 2.0]);
        let vec2 = Tensor::zeros(&[2]);
        let cases: Vec<(Vec<(String, Tensor)>, &str)> = vec![
            (vec![("0.exp_avg".into(), Tensor::zeros(&[3]))], "'0.exp_avg'"),
            (vec![("5.exp_avg".into(), vec2.clone())], "'5.exp_avg'"),
            (vec![("0.momentum".into(), vec2.clone())], "'0.momentum'"),
            (vec![("weight".into(), vec2.clone())], "'weight'"),
            (vec![("0.step".into(), Tensor::scalar(-1.0))], "'0.step'"),
            (vec![("0.step".into(), Tensor::scalar(1.0))], "'0.exp_avg'"), // missing
            (
                vec![
                    ("0.step".into(), Tensor::scalar(1.0)),
                    ("0.exp_avg".into(), vec2.clone()),
                    ("0.exp_avg".into(), vec2.clone()),
                ],
                "'0.exp_avg'",
            ),
        ];
        for (state, needle) in cases {
            let e = opt.load_state(&[&a], &state).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should name {needle}");
        }
    }
}
