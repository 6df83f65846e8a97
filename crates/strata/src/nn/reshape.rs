//! Layers that regroup features: Flatten, and Maxout (max over groups of linear pieces).

use super::{ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};

/// `[N, d1, d2, ...] -> [N, d1 * d2 * ...]`.
#[derive(Clone, Debug, Default)]
pub struct Flatten;

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
        LayerSpec::Flatten
    }
}

/// A maxout layer (Goodfellow et al. 2013): `units` outputs, each the maximum of `pieces`
/// linear functions of the input. It learns its own piecewise-linear activation.
#[derive(Clone, Debug)]
pub struct Maxout {
    units: usize,
    pieces: usize,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl Maxout {
    pub fn new(units: usize, pieces: usize) -> Maxout {
        Maxout { units, pieces, weight: None, bias: None }
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
        if self.units == 0 || self.pieces == 0 {
            return Err(Error::invalid("Maxout", "units and pieces must be at least 1"));
        }
        let (fan_in, width) = (input[0], self.units * self.pieces);
        if self.weight.as_ref().map(|w| w.value.shape().to_vec()) != Some(vec![fan_in, width]) {
            self.weight = Some(Param::new("weight", Init::GlorotUniform.tensor(&[fan_in, width], fan_in, self.units, rng)));
            self.bias = Some(Param::new("bias", Tensor::zeros(&[width])));
        }
        Ok(vec![self.units])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (w, b) = match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => (ctx.param(w), ctx.param(b)),
            _ => return Err(Error::Model("Maxout used before build".into())),
        };
        x.linear(&w, Some(&b))?.maxout(self.pieces)
    }
    fn params(&self) -> Vec<&Param> {
        self.weight.iter().chain(self.bias.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        (input.iter().product::<usize>() * self.units * self.pieces) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Maxout { units: self.units, pieces: self.pieces }
    }
}
