//! Inverted dropout.
//!
//! The lectures' dropout keeps each unit with probability `1 - p` during training and, at
//! test time, multiplies the weights by `1 - p` so each unit's expected input matches what
//! it saw in training. Inverted dropout instead divides the kept activations by `1 - p`
//! during training: the expected value of every activation is then already the test-time
//! value, so the test-time network is used unchanged. The two give the same function at
//! test time (scaling the outgoing weights by `1 - p` = scaling the incoming activations
//! by `1 - p`, and inverted dropout moves that factor into training), but inverted dropout
//! costs nothing at inference and leaves saved weights usable without dropout.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng, Tensor};

/// A [`Dropout`] layer's configuration, as written in spec files (`type = "dropout"`) and
/// saved models.
///
/// ```toml
/// [[layers]]
/// type = "dropout"
/// rate = 0.5
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    /// Probability of dropping a unit in training, in [0, 1) (required).
    pub rate: f32,
}

/// Zeroes each input with probability `rate` in training mode; identity in eval mode.
#[derive(Clone, Debug)]
pub struct Dropout {
    config: DropoutConfig,
}

impl Dropout {
    /// `rate` is the probability of dropping a unit, in [0, 1).
    pub fn new(rate: f32) -> Dropout {
        Dropout::from_config(DropoutConfig { rate })
    }
    /// A layer with this configuration.
    pub fn from_config(config: DropoutConfig) -> Dropout {
        Dropout { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &DropoutConfig {
        &self.config
    }
    /// The probability of dropping a unit.
    pub fn rate(&self) -> f32 {
        self.config.rate
    }
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate()) {
            return Err(Error::invalid("dropout rate", format!("{} is not in [0, 1)", self.rate())));
        }
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        if !ctx.training || self.rate() == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate();
        let scale = 1.0 / keep;
        let rng = ctx.rng()?;
        let mask: Vec<f32> = (0..x.value().numel()).map(|_| if rng.uniform() < keep { scale } else { 0.0 }).collect();
        x.mul_const(Tensor::from_vec(mask, x.shape())?)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Dropout(self.config.clone())
    }
}
