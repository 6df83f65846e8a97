//! The residual block (He et al. 2016): `act(body(x) + shortcut(x))`.

use super::{Chain, SubLayer};
use crate::autograd::{Param, Var};
use crate::nn::{Activation, ForwardCtx, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A [`Residual`] block's configuration, as written in spec files (`type = "residual"`)
/// and saved models: the layers of its two paths, nested.
///
/// ```toml
/// [[layers]]
/// type = "residual"
/// body = [
///     { type = "conv2d", filters = 16, kernel = 3, padding = 1, use_bias = false },
///     { type = "batch_norm" },
/// ]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualConfig {
    /// The layers computing the correction (required, at least one).
    pub body: Vec<LayerSpec>,
    /// The layers on the shortcut; default (absent, empty): the identity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shortcut: Vec<LayerSpec>,
    /// Applied after the sum; default `"relu"`.
    #[serde(default = "relu")]
    pub activation: Activation,
}

fn relu() -> Activation {
    Activation::Relu
}

/// `act(body(x) + shortcut(x))`. The body learns a correction to its input instead of a
/// whole new mapping, which is what lets very deep stacks train. The shortcut is the
/// identity when empty, or a projection (ResNet: a strided 1x1 convolution and batch norm)
/// where the body changes the shape. The activation after the sum is ReLU by default.
///
/// With ReLU the sum and the activation run as one fused op (one pass over memory).
///
/// ```
/// use strata::layers;
/// use strata::nn::{BatchNorm, Conv2d, Layer, Residual};
/// use strata::Rng;
/// // ResNet's downsampling basic block: 16 -> 32 channels, stride 2.
/// let mut block = Residual::new(layers![
///     Conv2d::new(32, 3).stride(2).padding(1).use_bias(false),
///     BatchNorm::new(),
/// ])
/// .shortcut(layers![Conv2d::new(32, 1).stride(2).use_bias(false), BatchNorm::new()]);
/// assert_eq!(block.build(&[16, 28, 28], &mut Rng::seeded(0)).unwrap(), vec![32, 14, 14]);
/// ```
///
/// The block holds its layers, not a [`ResidualConfig`]: the configuration nests the
/// layers' own configurations, which the layers hold; [`Residual::config`] collects them.
pub struct Residual {
    body: Chain,
    shortcut: Chain,
    activation: Activation,
}

impl Residual {
    /// A block with this body, an identity shortcut and ReLU after the sum.
    pub fn new(body: Vec<Box<dyn Layer>>) -> Residual {
        Residual { body: Chain::new(body), shortcut: Chain::default(), activation: Activation::Relu }
    }
    /// A projection shortcut (empty: the identity).
    pub fn shortcut(mut self, layers: Vec<Box<dyn Layer>>) -> Self {
        self.shortcut = Chain::new(layers);
        self
    }
    /// The function applied after the sum (`Linear` for none).
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    /// An unbuilt block with fresh layers for this configuration.
    pub fn from_config(config: ResidualConfig) -> Residual {
        let ResidualConfig { body, shortcut, activation } = config;
        Residual { body: Chain::from_specs(&body), shortcut: Chain::from_specs(&shortcut), activation }
    }
    /// The configuration (what [`Layer::spec`] saves), collected from the layers.
    pub fn config(&self) -> ResidualConfig {
        ResidualConfig { body: self.body.specs(), shortcut: self.shortcut.specs(), activation: self.activation }
    }
}

impl Layer for Residual {
    fn kind(&self) -> &'static str {
        "Residual"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if self.body.is_empty() {
            return Err(Error::invalid("Residual", "the body has no layers"));
        }
        let out = self.body.build("body", input, rng)?;
        let short = if self.shortcut.is_empty() { input.to_vec() } else { self.shortcut.build("shortcut", input, rng)? };
        if out != short {
            let hint = if self.shortcut.is_empty() { " (add a projection shortcut)" } else { "" };
            return Err(Error::Model(format!("Residual: the body gives {out:?} but the shortcut gives {short:?}{hint}")));
        }
        Ok(out)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let y = self.body.forward(x, ctx)?;
        let s = if self.shortcut.is_empty() { x.clone() } else { self.shortcut.forward(x, ctx)? };
        match self.activation {
            Activation::Relu => y.add_relu(&s),
            a => a.apply(&y.add(&s)?),
        }
    }
    fn params(&self) -> Vec<&Param> {
        let mut p = self.body.params();
        p.extend(self.shortcut.params());
        p
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut p = self.body.params_mut();
        p.extend(self.shortcut.params_mut());
        p
    }
    fn named_params(&self) -> Vec<(String, &Param)> {
        let mut p = self.body.named_params("body");
        p.extend(self.shortcut.named_params("shortcut"));
        p
    }
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param)> {
        let mut p = self.body.named_params_mut("body");
        p.extend(self.shortcut.named_params_mut("shortcut"));
        p
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut b = self.body.named_buffers("body");
        b.extend(self.shortcut.named_buffers("shortcut"));
        b
    }
    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        if let Some(rest) = name.strip_prefix("body.") {
            return self.body.set_buffer(rest, value);
        }
        if let Some(rest) = name.strip_prefix("shortcut.") {
            return self.shortcut.set_buffer(rest, value);
        }
        Err(Error::Model(format!("Residual has no buffer '{name}'")))
    }
    /// The body's and the shortcut's multiply-accumulates (the sum itself is not counted).
    fn macs(&self, _input: &[usize]) -> u64 {
        self.body.macs() + self.shortcut.macs()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Residual(self.config())
    }
    fn children(&self) -> Vec<SubLayer<'_>> {
        let mut c = self.body.children("body");
        c.extend(self.shortcut.children("shortcut"));
        c
    }
}
