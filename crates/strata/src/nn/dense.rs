//! Dense (fully connected) layer: `y = activation(x W + b)`, W of shape [in, out].

use super::{Activation, ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng};

/// A fully connected layer.
///
/// ```
/// use strata::nn::{Activation::Relu, Dense};
/// let layer = Dense::new(5).input_dim(2).activation(Relu);
/// assert_eq!(layer.units(), 5);
/// ```
#[derive(Clone, Debug)]
pub struct Dense {
    units: usize,
    activation: Activation,
    use_bias: bool,
    init: Option<Init>,
    input_dim: Option<usize>,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl Dense {
    /// A layer with `units` outputs, linear activation, a bias, and default initialization
    /// (He uniform before rectifiers, Glorot uniform otherwise).
    pub fn new(units: usize) -> Dense {
        Dense { units, activation: Activation::Linear, use_bias: true, init: None, input_dim: None, weight: None, bias: None }
    }
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    /// Declares the input width (only needed on a model's first layer, and optional there).
    pub fn input_dim(mut self, n: usize) -> Self {
        self.input_dim = Some(n);
        self
    }
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.use_bias = yes;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = Some(init);
        self
    }
    pub fn units(&self) -> usize {
        self.units
    }
    /// The declared input width, if any.
    pub fn declared_input(&self) -> Option<usize> {
        self.input_dim
    }
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }
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
        *out.last_mut().unwrap_or(&mut 0) = self.units;
        y.reshape(&out)
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let fan_in = *input.last().ok_or_else(|| Error::bad_shape("Dense", input, "needs at least 1 dimension"))?;
        if let Some(d) = self.input_dim
            && d != fan_in
        {
            return Err(Error::ShapeMismatch { op: "Dense input_dim", left: vec![d], right: input.to_vec() });
        }
        if self.units == 0 {
            return Err(Error::invalid("Dense units", "must be at least 1"));
        }
        let have = self.weight.as_ref().map(|w| w.value.shape().to_vec());
        if have.as_deref() != Some(&[fan_in, self.units][..]) {
            let init = self.init.unwrap_or(if self.activation.is_rectifier() { Init::HeUniform } else { Init::GlorotUniform });
            self.weight = Some(Param::new("weight", init.tensor(&[fan_in, self.units], fan_in, self.units, rng)));
            self.bias = self.use_bias.then(|| Param::new("bias", crate::Tensor::zeros(&[self.units])));
        }
        let mut out = input.to_vec();
        *out.last_mut().unwrap_or(&mut 0) = self.units;
        Ok(out)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.activation.apply(&self.linear(x, ctx)?)
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        if self.activation.is_output_squash() { self.linear(x, ctx) } else { self.forward(x, ctx) }
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
        let rows: usize = input[..input.len().saturating_sub(1)].iter().product();
        (rows * input.last().copied().unwrap_or(0) * self.units) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Dense {
            units: self.units,
            activation: self.activation,
            use_bias: self.use_bias,
            init: self.init,
            input_dim: self.input_dim,
        }
    }
}
