//! Dense (fully connected) layer: `y = activation(x W + b)`, W of shape [in, out].

use super::spec::{linear, yes};
use super::{Activation, ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// A [`Dense`] layer's configuration, as written in spec files (`type = "dense"`) and
/// saved models.
///
/// ```toml
/// [[layers]]
/// type = "dense"
/// units = 128
/// activation = "relu"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    /// Outputs (required).
    pub units: usize,
    /// Applied to `x W + b`; default `"linear"`.
    #[serde(default = "linear")]
    pub activation: Activation,
    /// Whether to add a learned bias `b`; default `true`.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// The weights' initializer; default (absent): He uniform before a rectifier, Glorot
    /// uniform otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<Init>,
    /// The input width, checked at build time and enough to build a model whose first layer
    /// this is; default (absent): whatever the previous layer gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_dim: Option<usize>,
}

impl DenseConfig {
    /// `units` outputs and every other field at its default.
    pub fn new(units: usize) -> DenseConfig {
        DenseConfig { units, activation: Activation::Linear, use_bias: true, init: None, input_dim: None }
    }
}

/// A fully connected layer.
///
/// ```
/// use strata::nn::{Activation::Relu, Dense};
/// let layer = Dense::new(5).input_dim(2).activation(Relu);
/// assert_eq!(layer.units(), 5);
/// ```
#[derive(Clone, Debug)]
pub struct Dense {
    config: DenseConfig,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl Dense {
    /// A layer with `units` outputs, linear activation, a bias, and default initialization
    /// (He uniform before rectifiers, Glorot uniform otherwise).
    pub fn new(units: usize) -> Dense {
        Dense::from_config(DenseConfig::new(units))
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: DenseConfig) -> Dense {
        Dense { config, weight: None, bias: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &DenseConfig {
        &self.config
    }
    /// The function applied to `x W + b`.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    /// Declares the input width (only needed on a model's first layer, and optional there).
    pub fn input_dim(mut self, n: usize) -> Self {
        self.config.input_dim = Some(n);
        self
    }
    /// With or without the bias.
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.config.use_bias = yes;
        self
    }
    /// The weights' initializer (instead of He/Glorot uniform by activation).
    pub fn init(mut self, init: Init) -> Self {
        self.config.init = Some(init);
        self
    }
    /// Number of outputs.
    pub fn units(&self) -> usize {
        self.config.units
    }
    /// The declared input width, if any.
    pub fn declared_input(&self) -> Option<usize> {
        self.config.input_dim
    }
    /// The weight matrix [in, out], once built.
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }
    /// The bias `[out]`, once built (and if the layer has one).
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    fn linear(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let w = self.weight.as_ref().ok_or_else(|| Error::Model("Dense used before build".into()))?;
        let w = ctx.param(w);
        let b = self.bias.as_ref().map(|b| ctx.param(b));
        let shape = x.shape().to_vec();
        if shape.len() == 2 {
            return x.linear(&w, b.as_ref());
        }
        // Applies to the last axis: [.., in] -> [rows, in] -> [.., out].
        let inner = *shape.last().ok_or_else(|| Error::bad_shape("Dense", &shape, "needs at least 1 dimension"))?;
        let rows = x.value().numel() / inner.max(1);
        let y = x.reshape(&[rows, inner])?.linear(&w, b.as_ref())?;
        let mut out = shape;
        *out.last_mut().unwrap_or(&mut 0) = self.config.units;
        y.reshape(&out)
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let fan_in = *input.last().ok_or_else(|| Error::bad_shape("Dense", input, "needs at least 1 dimension"))?;
        let DenseConfig { units, activation, use_bias, init, input_dim } = self.config;
        if let Some(d) = input_dim
            && d != fan_in
        {
            return Err(Error::ShapeMismatch { op: "Dense input_dim", left: vec![d], right: input.to_vec() });
        }
        if units == 0 {
            return Err(Error::invalid("Dense units", "must be at least 1"));
        }
        let have = self.weight.as_ref().map(|w| w.value.shape().to_vec());
        if have.as_deref() != Some(&[fan_in, units][..]) {
            let init = init.unwrap_or(if activation.is_rectifier() { Init::HeUniform } else { Init::GlorotUniform });
            self.weight = Some(Param::new("weight", init.tensor(&[fan_in, units], fan_in, units, rng)?));
            self.bias = use_bias.then(|| Param::new("bias", crate::Tensor::zeros(&[units])));
        }
        let mut out = input.to_vec();
        *out.last_mut().unwrap_or(&mut 0) = units;
        Ok(out)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.config.activation.apply(&self.linear(x, ctx)?)
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        if self.config.activation.is_output_squash() { self.linear(x, ctx) } else { self.forward(x, ctx) }
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.config.activation).filter(|a| a.is_output_squash())
    }
    fn params(&self) -> Vec<&Param> {
        self.weight.iter().chain(self.bias.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        let rows: usize = input[..input.len().saturating_sub(1)].iter().product();
        (rows * input.last().copied().unwrap_or(0) * self.config.units) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Dense(self.config.clone())
    }
}
