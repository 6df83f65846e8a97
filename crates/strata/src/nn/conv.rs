//! Conv2d: 2-D convolution with channels, any kernel size, stride, padding (incl. "same"),
//! dilation and groups. Per-sample input [C, H, W] -> output [O, OH, OW].

use super::spec::{linear, one, valid, yes};
use super::{Activation, ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
/// How a convolution is computed (from strata-core): chosen per layer shape, see
/// [`Conv2d::algorithm`].
pub use crate::tensor::conv::Algorithm;
use crate::tensor::conv::Conv2dGeom;
/// How [`Algorithm::choose`] decides (forced, measured and cached, or fixed), and its record.
pub use crate::tensor::conv::autotune;
/// The instruction set the hand-written kernels use.
pub use crate::tensor::isa;
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A size given once for both axes or per axis: `3` or `[3, 5]` in spec files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pair {
    /// The same size along both axes: `3`.
    Same(usize),
    /// (rows, columns): `[3, 5]`.
    PerAxis([usize; 2]),
}

impl Pair {
    /// (rows, columns).
    pub fn get(self) -> (usize, usize) {
        match self {
            Pair::Same(v) => (v, v),
            Pair::PerAxis([a, b]) => (a, b),
        }
    }
}

impl From<usize> for Pair {
    fn from(v: usize) -> Pair {
        Pair::Same(v)
    }
}

impl From<(usize, usize)> for Pair {
    fn from((a, b): (usize, usize)) -> Pair {
        Pair::PerAxis([a, b])
    }
}

/// Zero padding: `"valid"` (none), `"same"` (output size = ceil(input / stride), split
/// evenly, the extra row/column at the end as in TensorFlow), or explicit sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Padding {
    /// `"valid"` or `"same"`.
    Named(PaddingMode),
    /// Sizes on both sides: `2` or `[rows, columns]`.
    Explicit(Pair),
}

/// A padding rule by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    /// No padding: the kernel only visits full windows.
    Valid,
    /// The output keeps the input size (divided by the stride).
    Same,
}

impl Padding {
    /// (top, bottom, left, right) for this input size.
    pub fn resolve(
        self,
        h: usize,
        w: usize,
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
    ) -> (usize, usize, usize, usize) {
        match self {
            Padding::Named(PaddingMode::Valid) => (0, 0, 0, 0),
            Padding::Explicit(p) => {
                let (ph, pw) = p.get();
                (ph, ph, pw, pw)
            }
            Padding::Named(PaddingMode::Same) => {
                // Saturating: absurd sizes (and a stride of 0) are refused by the geometry
                // that follows, not here.
                let total = |n: usize, k: usize, s: usize, d: usize| {
                    let s = s.max(1);
                    let out = n.div_ceil(s);
                    (out.saturating_sub(1).saturating_mul(s))
                        .saturating_add(d.saturating_mul(k.saturating_sub(1)))
                        .saturating_add(1)
                        .saturating_sub(n)
                };
                let (th, tw) = (total(h, k.0, s.0, d.0), total(w, k.1, s.1, d.1));
                (th / 2, th - th / 2, tw / 2, tw - tw / 2)
            }
        }
    }
}

/// A [`Conv2d`] layer's configuration, as written in spec files (`type = "conv2d"`) and
/// saved models.
///
/// ```toml
/// [[layers]]
/// type = "conv2d"
/// filters = 6
/// kernel = 5
/// padding = 2
/// activation = "relu"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dConfig {
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
    /// Spacing between kernel taps (atrous convolution); default 1.
    #[serde(default = "one")]
    pub dilation: Pair,
    /// Channel groups, each convolved on its own (AlexNet's two-GPU split is 2); default 1.
    #[serde(default = "one_usize")]
    pub groups: usize,
    /// Whether to add a learned bias per output channel; default `true`.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Applied to the convolution's output; default `"linear"`.
    #[serde(default = "linear")]
    pub activation: Activation,
    /// The kernel's initializer; default (absent): He uniform before a rectifier, Glorot
    /// uniform otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<Init>,
}

fn one_usize() -> usize {
    1
}

impl Conv2dConfig {
    /// `filters` output channels, a `kernel` (square or (height, width)), every other field
    /// at its default.
    pub fn new(filters: usize, kernel: impl Into<Pair>) -> Conv2dConfig {
        Conv2dConfig {
            filters,
            kernel: kernel.into(),
            stride: one(),
            padding: valid(),
            dilation: one(),
            groups: 1,
            use_bias: true,
            activation: Activation::Linear,
            init: None,
        }
    }
}

/// A 2-D convolution layer.
///
/// ```
/// use strata::nn::{Activation::Relu, Conv2d};
/// let conv = Conv2d::new(6, 5).padding(2).activation(Relu); // LeNet-5's first layer
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d {
    config: Conv2dConfig,
    weight: Option<Param>,
    bias: Option<Param>,
    /// The algorithm chosen at build time and the per-sample input [C, H, W] it was chosen
    /// for. Derived, not configured (so not in the config): it depends on the input shape,
    /// which the configuration does not know. The choice depends on per-sample shapes only,
    /// so one choice serves every batch, forward and backward.
    chosen: Option<([usize; 3], Algorithm)>,
}

impl Conv2d {
    /// `filters` output channels, square `kernel`; stride 1, no padding, bias, linear.
    pub fn new(filters: usize, kernel: usize) -> Conv2d {
        Conv2d::from_config(Conv2dConfig::new(filters, kernel))
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: Conv2dConfig) -> Conv2d {
        Conv2d { config, weight: None, bias: None, chosen: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }
    /// A rectangular kernel (height, width).
    pub fn kernel_size(mut self, k: impl Into<Pair>) -> Self {
        self.config.kernel = k.into();
        self
    }
    /// The step between windows, one size or (rows, columns).
    pub fn stride(mut self, s: impl Into<Pair>) -> Self {
        self.config.stride = s.into();
        self
    }
    /// Symmetric zero padding, one size or (rows, columns).
    pub fn padding(mut self, p: impl Into<Pair>) -> Self {
        self.config.padding = Padding::Explicit(p.into());
        self
    }
    /// "same" padding: the output keeps the input size (divided by the stride).
    pub fn padding_same(mut self) -> Self {
        self.config.padding = Padding::Named(PaddingMode::Same);
        self
    }
    /// Any [`Padding`].
    pub fn padding_mode(mut self, p: Padding) -> Self {
        self.config.padding = p;
        self
    }
    /// Spacing between kernel taps, one size or (rows, columns).
    pub fn dilation(mut self, d: impl Into<Pair>) -> Self {
        self.config.dilation = d.into();
        self
    }
    /// Split channels into `g` independent groups (AlexNet's two-GPU split is 2).
    pub fn groups(mut self, g: usize) -> Self {
        self.config.groups = g;
        self
    }
    /// With or without the bias.
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.config.use_bias = yes;
        self
    }
    /// The function applied to the convolution's output.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    /// The kernel's initializer (instead of He/Glorot uniform by activation).
    pub fn init(mut self, i: Init) -> Self {
        self.config.init = Some(i);
        self
    }
    /// The kernel [O, C/groups, KH, KW], once built.
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }
    /// The convolution algorithm chosen for the input shape of the last build (`None`
    /// before the first): forward and backward use it for every batch of that shape.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.chosen.map(|(_, a)| a)
    }

    fn geom(&self, input: &[usize]) -> Result<Conv2dGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("Conv2d", input, "needs [C, H, W] input per sample"));
        };
        let Conv2dConfig { filters, kernel, stride, padding, dilation, groups, .. } = self.config;
        let (k, s, d) = (kernel.get(), stride.get(), dilation.get());
        if groups == 0 || c % groups != 0 {
            return Err(Error::bad_shape("Conv2d", input, format!("{c} channels do not split into {groups} groups")));
        }
        let pad = padding.resolve(h, w, k, s, d);
        Conv2dGeom::new(&[1, c, h, w], &[filters, c / groups, k.0, k.1], s, pad, d, groups)
    }

    /// The algorithm for a per-sample `input` of geometry `g`: the one chosen at build time
    /// when the shape is the built one, else a fresh choice for this shape (a model built for
    /// one image size may still be run on another).
    fn algorithm_for(&self, input: &[usize], g: &Conv2dGeom) -> Algorithm {
        match self.chosen {
            Some((built, algorithm)) if built[..] == *input => algorithm,
            _ => Algorithm::choose(g),
        }
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> &'static str {
        "Conv2d"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let Conv2dConfig { filters, groups, use_bias, activation, init, .. } = self.config;
        if filters == 0 || !filters.is_multiple_of(groups.max(1)) {
            return Err(Error::invalid("Conv2d filters", format!("{filters} filters do not split into {groups} groups")));
        }
        let g = self.geom(input)?;
        let shape = [filters, g.c / g.groups, g.kh, g.kw];
        if self.weight.as_ref().map(|w| w.value.shape() != shape).unwrap_or(true) {
            let fan_in = g.k();
            let fan_out = filters / g.groups * g.kh * g.kw;
            let init = init.unwrap_or(if activation.is_rectifier() { Init::HeUniform } else { Init::GlorotUniform });
            self.weight = Some(Param::new("weight", init.tensor(&shape, fan_in, fan_out, rng)?));
            self.bias = use_bias.then(|| Param::new("bias", Tensor::zeros(&[filters])));
        }
        // Chosen on every build (not only with new weights): the weights fit any image size,
        // the algorithm only the one it was chosen for.
        self.chosen = Some(([g.c, g.h, g.w], Algorithm::choose(&g)));
        Ok(vec![filters, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        // forward_logits applies every activation but an output squashing one
        let y = self.forward_logits(x, ctx)?;
        let activation = self.config.activation;
        if activation.is_output_squash() { activation.apply(&y) } else { Ok(y) }
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let w = self.weight.as_ref().ok_or_else(|| Error::Model("Conv2d used before build".into()))?;
        let input = &x.shape()[1.min(x.shape().len())..];
        let g = self.geom(input)?;
        let (w, b) = (ctx.param(w), self.bias.as_ref().map(|b| ctx.param(b)));
        let algorithm = self.algorithm_for(input, &g);
        let y = x.conv2d_with(&w, b.as_ref(), g.stride, g.pad, g.dilation, g.groups, algorithm)?;
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
        self.geom(input).map(|g| g.macs_per_sample()).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Conv2d(self.config.clone())
    }
    /// The configuration, then the algorithm chosen at build time (`algorithm=strip`).
    fn details(&self) -> Option<String> {
        let algorithm = self.algorithm().map(|a| format!("algorithm={a}"));
        match (self.spec().details(), algorithm) {
            (Some(config), Some(algorithm)) => Some(format!("{config} {algorithm}")),
            (config, algorithm) => config.or(algorithm),
        }
    }
}
