//! LocallyConnected2d: a convolution whose weights are not shared — every output position
//! has its own filter (the "unshared convolution" of the lectures, as in DeepFace and
//! Keras's `LocallyConnected2D`). Per-sample input [C, H, W] -> output [O, OH, OW].
//!
//! Computed from ops the tape already has: the input's patches are gathered by a grouped
//! convolution with fixed one-hot kernels (cols [N, C*KH*KW, OH, OW], in im2col order), then
//! each position's patch meets its own weights, `y[n, o, p] = sum_k cols[n, k, p] w[o, k, p]`,
//! as a broadcast product summed over k. Its gradient is the tape's, checked against finite
//! differences in tests/layers.rs.

use super::conv::{Padding, Pair};
use super::spec::{linear, one, valid, yes};
use super::{Activation, ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::tensor::conv::Conv2dGeom;
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A [`LocallyConnected2d`] layer's configuration, as written in spec files
/// (`type = "locally_connected2d"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "locally_connected2d"
/// filters = 8
/// kernel = 3
/// activation = "relu"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocallyConnected2dConfig {
    /// Output channels (required).
    pub filters: usize,
    /// Kernel size, `3` or `[height, width]` (required).
    pub kernel: Pair,
    /// Step between windows, `2` or `[rows, columns]`; default 1.
    #[serde(default = "one")]
    pub stride: Pair,
    /// Zero padding: `"valid"` (none), `"same"`, or sizes `2` / `[rows, columns]`;
    /// default `"valid"`.
    #[serde(default = "valid")]
    pub padding: Padding,
    /// Whether to add a learned bias per output channel and position; default `true`.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Applied to the output; default `"linear"`.
    #[serde(default = "linear")]
    pub activation: Activation,
    /// The weights' initializer; default (absent): He uniform before a rectifier, Glorot
    /// uniform otherwise (fan-in: one patch, C * KH * KW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<Init>,
}

impl LocallyConnected2dConfig {
    /// `filters` output channels, a `kernel` (square or (height, width)), every other field
    /// at its default.
    pub fn new(filters: usize, kernel: impl Into<Pair>) -> LocallyConnected2dConfig {
        LocallyConnected2dConfig {
            filters,
            kernel: kernel.into(),
            stride: one(),
            padding: valid(),
            use_bias: true,
            activation: linear(),
            init: None,
        }
    }
}

/// A 2-D convolution without weight sharing: weight `[O, C*KH*KW, OH*OW]`, bias `[O, OH*OW]`.
///
/// ```
/// use strata::nn::{Activation::Relu, Layer, LocallyConnected2d};
/// use strata::Rng;
/// let mut layer = LocallyConnected2d::new(4, 3).activation(Relu);
/// assert_eq!(layer.build(&[1, 8, 8], &mut Rng::seeded(1)).unwrap(), vec![4, 6, 6]);
/// assert_eq!(layer.params()[0].value.shape(), &[4, 9, 36]); // a 3x3 filter per position
/// ```
#[derive(Clone, Debug)]
pub struct LocallyConnected2d {
    config: LocallyConnected2dConfig,
    weight: Option<Param>,
    bias: Option<Param>,
    /// The one-hot kernels that gather the patches, `[C*KH*KW, 1, KH, KW]`, for the built
    /// channel count.
    patches: Option<Tensor>,
}

impl LocallyConnected2d {
    /// `filters` output channels, square `kernel`; stride 1, no padding, bias, linear.
    pub fn new(filters: usize, kernel: usize) -> LocallyConnected2d {
        LocallyConnected2d::from_config(LocallyConnected2dConfig::new(filters, kernel))
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: LocallyConnected2dConfig) -> LocallyConnected2d {
        LocallyConnected2d { config, weight: None, bias: None, patches: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &LocallyConnected2dConfig {
        &self.config
    }
    /// Step between windows.
    pub fn stride(mut self, s: impl Into<Pair>) -> Self {
        self.config.stride = s.into();
        self
    }
    /// Symmetric zero padding, one size or (rows, columns).
    pub fn padding(mut self, p: impl Into<Pair>) -> Self {
        self.config.padding = Padding::Explicit(p.into());
        self
    }
    /// The function applied to the output.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    /// With or without the bias.
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.config.use_bias = yes;
        self
    }

    /// The patch-gathering convolution for a per-sample `input` [C, H, W]: C groups of one
    /// channel, each with KH*KW one-hot kernels.
    fn geom(&self, input: &[usize]) -> Result<Conv2dGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("LocallyConnected2d", input, "needs [C, H, W] input per sample"));
        };
        let LocallyConnected2dConfig { kernel, stride, padding, .. } = self.config;
        let (k, s) = (kernel.get(), stride.get());
        if k.0 == 0 || k.1 == 0 || s.0 == 0 || s.1 == 0 {
            return Err(Error::invalid("LocallyConnected2d", "kernel and stride must be at least 1"));
        }
        let taps = k.0.checked_mul(k.1).and_then(|t| t.checked_mul(c)).ok_or_else(|| {
            Error::bad_shape("LocallyConnected2d", input, format!("a {}x{} kernel over {c} channels is too large", k.0, k.1))
        })?;
        let pad = padding.resolve(h, w, k, s, (1, 1));
        Conv2dGeom::new(&[1, c, h, w], &[taps, 1, k.0, k.1], s, pad, (1, 1), c)
    }
}

/// `[C*KH*KW, 1, KH, KW]`: output channel `(c, ky, kx)` of the grouped convolution copies
/// input channel c at offset (ky, kx), the im2col order.
fn one_hot_kernels(c: usize, kh: usize, kw: usize) -> Result<Tensor> {
    let taps = kh * kw;
    let mut w = vec![0.0; c * taps * taps];
    for ch in 0..c {
        for t in 0..taps {
            w[(ch * taps + t) * taps + t] = 1.0;
        }
    }
    Tensor::from_vec(w, &[c * taps, 1, kh, kw])
}

impl Layer for LocallyConnected2d {
    fn kind(&self) -> &'static str {
        "LocallyConnected2d"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let LocallyConnected2dConfig { filters, use_bias, activation, init, .. } = self.config;
        if filters == 0 {
            return Err(Error::invalid("LocallyConnected2d filters", "must be at least 1"));
        }
        let g = self.geom(input)?;
        let (k, p) = (g.o, g.p());
        let shape = [filters, k, p];
        if self.weight.as_ref().map(|w| w.value.shape() != shape).unwrap_or(true) {
            let init = init.unwrap_or(if activation.is_rectifier() { Init::HeUniform } else { Init::GlorotUniform });
            self.weight = Some(Param::new("weight", init.tensor(&shape, k, filters, rng)?));
            self.bias = use_bias.then(|| Param::new("bias", Tensor::zeros(&[filters, p])));
        }
        self.patches = Some(one_hot_kernels(g.c, g.kh, g.kw)?);
        Ok(vec![filters, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        // forward_logits applies every activation but an output squashing one
        let y = self.forward_logits(x, ctx)?;
        let activation = self.config.activation;
        if activation.is_output_squash() { activation.apply(&y) } else { Ok(y) }
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (Some(w), Some(patches)) = (&self.weight, &self.patches) else {
            return Err(Error::Model("LocallyConnected2d used before build".into()));
        };
        let n = x.shape().first().copied().unwrap_or(0);
        let g = self.geom(&x.shape()[1.min(x.shape().len())..])?;
        let (o, k, p) = (self.config.filters, g.o, g.p());
        if w.value.shape() != [o, k, p] {
            return Err(Error::ShapeMismatch {
                op: "LocallyConnected2d input",
                left: w.value.shape().to_vec(),
                right: vec![o, k, p],
            });
        }
        let cols = x.conv2d(&ctx.tape.input(patches.clone()), None, g.stride, g.pad, g.dilation, g.groups)?;
        // [N, 1, K, P] * [1, O, K, P] summed over K: each position's patch against its own filter
        let y = cols.reshape(&[n, 1, k, p])?.mul(&ctx.param(w).reshape(&[1, o, k, p])?)?.sum(2, false)?;
        let y = match &self.bias {
            Some(b) => y.add(&ctx.param(b))?,
            None => y,
        };
        let y = y.reshape(&[n, o, g.oh, g.ow])?;
        let activation = self.config.activation;
        if activation.is_output_squash() { Ok(y) } else { activation.apply(&y) }
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
        self.geom(input).map(|g| (self.config.filters * g.o * g.p()) as u64).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::LocallyConnected2d(self.config.clone())
    }
}
