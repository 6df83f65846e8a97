//! Layers that regroup features: Flatten, and Maxout (max over groups of linear pieces).

use super::{ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A [`Flatten`] layer's configuration: nothing to configure (`type = "flatten"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlattenConfig {}

/// `[N, d1, d2, ...] -> [N, d1 * d2 * ...]`. A unit struct (`model.add(Flatten)`): its
/// configuration is empty, so there is nothing for it to hold.
#[derive(Clone, Debug, Default)]
pub struct Flatten;

impl Flatten {
    /// The layer (its configuration is empty).
    pub fn from_config(_config: FlattenConfig) -> Flatten {
        Flatten
    }
    /// The (empty) configuration.
    pub fn config(&self) -> &FlattenConfig {
        &FlattenConfig {}
    }
}

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        x.flatten()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Flatten(FlattenConfig {})
    }
}

/// A [`Maxout`] layer's configuration, as written in spec files (`type = "maxout"`) and
/// saved models.
///
/// ```toml
/// [[layers]]
/// type = "maxout"
/// units = 240
/// pieces = 5
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxoutConfig {
    /// Outputs (required).
    pub units: usize,
    /// Linear pieces per output, of which the largest is the output (required).
    pub pieces: usize,
}

/// A maxout layer (Goodfellow et al. 2013): `units` outputs, each the maximum of `pieces`
/// linear functions of the input. It learns its own piecewise-linear activation.
#[derive(Clone, Debug)]
pub struct Maxout {
    config: MaxoutConfig,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl Maxout {
    /// `units` outputs, each the maximum of `pieces` linear functions.
    pub fn new(units: usize, pieces: usize) -> Maxout {
        Maxout::from_config(MaxoutConfig { units, pieces })
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: MaxoutConfig) -> Maxout {
        Maxout { config, weight: None, bias: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &MaxoutConfig {
        &self.config
    }
}

impl Layer for Maxout {
    fn kind(&self) -> &'static str {
        "Maxout"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if input.len() != 1 {
            return Err(Error::bad_shape("Maxout", input, "needs flat input (add Flatten first)"));
        }
        let MaxoutConfig { units, pieces } = self.config;
        if units == 0 || pieces == 0 {
            return Err(Error::invalid("Maxout", "units and pieces must be at least 1"));
        }
        let width = units
            .checked_mul(pieces)
            .ok_or_else(|| Error::invalid("Maxout", format!("{units} units x {pieces} pieces is too large")))?;
        let fan_in = input[0];
        if self.weight.as_ref().map(|w| w.value.shape().to_vec()) != Some(vec![fan_in, width]) {
            self.weight = Some(Param::new("weight", Init::GlorotUniform.tensor(&[fan_in, width], fan_in, units, rng)?));
            self.bias = Some(Param::new("bias", Tensor::zeros(&[width])));
        }
        Ok(vec![units])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (w, b) = match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => (ctx.param(w), ctx.param(b)),
            _ => return Err(Error::Model("Maxout used before build".into())),
        };
        x.linear(&w, Some(&b))?.maxout(self.config.pieces)
    }
    fn params(&self) -> Vec<&Param> {
        self.weight.iter().chain(self.bias.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        (input.iter().product::<usize>() * self.config.units * self.config.pieces) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Maxout(self.config.clone())
    }
}
