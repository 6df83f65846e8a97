//! Conv2d: 2-D convolution with channels, any kernel size, stride, padding (incl. "same"),
//! dilation and groups. Per-sample input [C, H, W] -> output [O, OH, OW].

use super::{Activation, ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::tensor::conv::Conv2dGeom;
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A size given once for both axes or per axis: `3` or `[3, 5]` in spec files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pair {
    Same(usize),
    PerAxis([usize; 2]),
}

impl Pair {
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
    Named(PaddingMode),
    Explicit(Pair),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    Valid,
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
                let total = |n: usize, k: usize, s: usize, d: usize| {
                    let out = n.div_ceil(s);
                    ((out - 1) * s + d * (k - 1) + 1).saturating_sub(n)
                };
                let (th, tw) = (total(h, k.0, s.0, d.0), total(w, k.1, s.1, d.1));
                (th / 2, th - th / 2, tw / 2, tw - tw / 2)
            }
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
    filters: usize,
    kernel: Pair,
    stride: Pair,
    padding: Padding,
    dilation: Pair,
    groups: usize,
    use_bias: bool,
    activation: Activation,
    init: Option<Init>,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl Conv2d {
    /// `filters` output channels, square `kernel`; stride 1, no padding, bias, linear.
    pub fn new(filters: usize, kernel: usize) -> Conv2d {
        Conv2d {
            filters,
            kernel: Pair::Same(kernel),
            stride: Pair::Same(1),
            padding: Padding::Named(PaddingMode::Valid),
            dilation: Pair::Same(1),
            groups: 1,
            use_bias: true,
            activation: Activation::Linear,
            init: None,
            weight: None,
            bias: None,
        }
    }
    /// A rectangular kernel (height, width).
    pub fn kernel_size(mut self, k: impl Into<Pair>) -> Self {
        self.kernel = k.into();
        self
    }
    pub fn stride(mut self, s: impl Into<Pair>) -> Self {
        self.stride = s.into();
        self
    }
    /// Symmetric zero padding, one size or (rows, columns).
    pub fn padding(mut self, p: impl Into<Pair>) -> Self {
        self.padding = Padding::Explicit(p.into());
        self
    }
    /// "same" padding: the output keeps the input size (divided by the stride).
    pub fn padding_same(mut self) -> Self {
        self.padding = Padding::Named(PaddingMode::Same);
        self
    }
    pub fn padding_mode(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }
    pub fn dilation(mut self, d: impl Into<Pair>) -> Self {
        self.dilation = d.into();
        self
    }
    /// Split channels into `g` independent groups (AlexNet's two-GPU split is 2).
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.use_bias = yes;
        self
    }
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    pub fn init(mut self, i: Init) -> Self {
        self.init = Some(i);
        self
    }
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }

    fn geom(&self, input: &[usize]) -> Result<Conv2dGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("Conv2d", input, "needs [C, H, W] input per sample"));
        };
        let (k, s, d) = (self.kernel.get(), self.stride.get(), self.dilation.get());
        if self.groups == 0 || c % self.groups != 0 {
            return Err(Error::bad_shape("Conv2d", input, format!("{c} channels do not split into {} groups", self.groups)));
        }
        let pad = self.padding.resolve(h, w, k, s, d);
        Conv2dGeom::new(&[1, c, h, w], &[self.filters, c / self.groups, k.0, k.1], s, pad, d, self.groups)
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> &'static str {
        "Conv2d"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if self.filters == 0 || !self.filters.is_multiple_of(self.groups.max(1)) {
            return Err(Error::invalid(
                "Conv2d filters",
                format!("{} filters do not split into {} groups", self.filters, self.groups),
            ));
        }
        let g = self.geom(input)?;
        let shape = [self.filters, g.c / g.groups, g.kh, g.kw];
        if self.weight.as_ref().map(|w| w.value.shape() != shape).unwrap_or(true) {
            let fan_in = g.k();
            let fan_out = self.filters / g.groups * g.kh * g.kw;
            let init = self.init.unwrap_or(if self.activation.is_rectifier() { Init::HeUniform } else { Init::GlorotUniform });
            self.weight = Some(Param::new("weight", init.tensor(&shape, fan_in, fan_out, rng)));
            self.bias = self.use_bias.then(|| Param::new("bias", Tensor::zeros(&[self.filters])));
        }
        Ok(vec![self.filters, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.activation.apply(&self.forward_logits(x, ctx)?)
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let w = self.weight.as_ref().ok_or_else(|| Error::Model("Conv2d used before build".into()))?;
        let g = self.geom(&x.shape()[1.min(x.shape().len())..])?;
        let (w, b) = (ctx.param(w), self.bias.as_ref().map(|b| ctx.param(b)));
        let y = x.conv2d(&w, b.as_ref(), g.stride, g.pad, g.dilation, g.groups)?;
        if self.activation.is_output_squash() { Ok(y) } else { self.activation.apply(&y) }
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation).filter(|a| a.is_output_squash())
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
        LayerSpec::Conv2d {
            filters: self.filters,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
            use_bias: self.use_bias,
            activation: self.activation,
            init: self.init,
        }
    }
}
