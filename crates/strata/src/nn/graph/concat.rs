//! Parallel branches joined along the channel axis (GoogLeNet's Inception block).

use super::{Chain, SubLayer, split_indexed};
use crate::autograd::{Param, Var};
use crate::nn::{ForwardCtx, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A [`Concat`] block's configuration, as written in spec files (`type = "concat"`) and
/// saved models: the layers of each branch, nested.
///
/// ```toml
/// [[layers]]
/// type = "concat"
/// branches = [
///     [{ type = "conv2d", filters = 8, kernel = 1 }],
///     [{ type = "pool2d", pool = "max", window = 3, stride = 1, padding = 1 }],
/// ]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcatConfig {
    /// Each branch's layers; an empty branch passes the input through (required).
    pub branches: Vec<Vec<LayerSpec>>,
}

/// Applies every branch to the same input and joins the outputs along the channel axis
/// (axis 1 of the batch): Inception's "look at several scales, let the next layer pick".
/// Branch outputs must agree on every axis but the channels. An empty branch passes the
/// input through.
///
/// ```
/// use strata::layers;
/// use strata::nn::{Activation::Relu, Concat, Conv2d, Layer, MaxPool2d};
/// use strata::Rng;
/// let mut inception = Concat::new(vec![
///     layers![Conv2d::new(8, 1).activation(Relu)],
///     layers![Conv2d::new(4, 1).activation(Relu), Conv2d::new(8, 3).padding(1).activation(Relu)],
///     layers![MaxPool2d::new(3).stride(1).padding(1), Conv2d::new(4, 1).activation(Relu)],
/// ]);
/// assert_eq!(inception.build(&[16, 12, 12], &mut Rng::seeded(0)).unwrap(), vec![20, 12, 12]);
/// ```
///
/// The block holds its layers, not a [`ConcatConfig`]: the configuration nests the layers'
/// own configurations, which the layers hold; [`Concat::config`] collects them.
pub struct Concat {
    branches: Vec<Chain>,
}

impl Concat {
    /// A block of these branches (each a list of layers applied in order).
    pub fn new(branches: Vec<Vec<Box<dyn Layer>>>) -> Concat {
        Concat { branches: branches.into_iter().map(Chain::new).collect() }
    }
    /// An unbuilt block with fresh layers for this configuration.
    pub fn from_config(config: ConcatConfig) -> Concat {
        Concat { branches: config.branches.iter().map(|b| Chain::from_specs(b)).collect() }
    }
    /// The configuration (what [`Layer::spec`] saves), collected from the layers.
    pub fn config(&self) -> ConcatConfig {
        ConcatConfig { branches: self.branches.iter().map(|b| b.specs()).collect() }
    }
    fn prefix(j: usize) -> String {
        format!("branch{j}")
    }
}

impl Layer for Concat {
    fn kind(&self) -> &'static str {
        "Concat"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if self.branches.is_empty() {
            return Err(Error::invalid("Concat", "needs at least one branch"));
        }
        let mut out: Option<Vec<usize>> = None;
        for (j, b) in self.branches.iter_mut().enumerate() {
            let shape = if b.is_empty() { input.to_vec() } else { b.build(&Concat::prefix(j), input, rng)? };
            out = Some(match out {
                None => shape,
                Some(mut acc) => {
                    if shape.is_empty() || acc.len() != shape.len() || acc[1..] != shape[1..] {
                        return Err(Error::Model(format!(
                            "Concat: branch {j} gives {shape:?}, which does not join {acc:?} along the channels"
                        )));
                    }
                    acc[0] += shape[0];
                    acc
                }
            });
        }
        out.filter(|s| !s.is_empty()).ok_or_else(|| Error::bad_shape("Concat", input, "needs per-sample input [C, ...]"))
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let mut outs = Vec::with_capacity(self.branches.len());
        for b in &self.branches {
            outs.push(if b.is_empty() { x.clone() } else { b.forward(x, ctx)? });
        }
        let refs: Vec<&Var> = outs.iter().collect();
        Var::concat(&refs, 1)
    }
    fn params(&self) -> Vec<&Param> {
        self.branches.iter().flat_map(|b| b.params()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.branches.iter_mut().flat_map(|b| b.params_mut()).collect()
    }
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.branches.iter().enumerate().flat_map(|(j, b)| b.named_params(&Concat::prefix(j))).collect()
    }
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param)> {
        self.branches.iter_mut().enumerate().flat_map(|(j, b)| b.named_params_mut(&Concat::prefix(j))).collect()
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.branches.iter().enumerate().flat_map(|(j, b)| b.named_buffers(&Concat::prefix(j))).collect()
    }
    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        match split_indexed(name, "branch") {
            Some((j, rest)) if j < self.branches.len() => self.branches[j].set_buffer(rest, value),
            _ => Err(Error::Model(format!("Concat has no buffer '{name}'"))),
        }
    }
    fn macs(&self, _input: &[usize]) -> u64 {
        self.branches.iter().map(|b| b.macs()).sum()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Concat(self.config())
    }
    fn children(&self) -> Vec<SubLayer<'_>> {
        self.branches.iter().enumerate().flat_map(|(j, b)| b.children(&Concat::prefix(j))).collect()
    }
}
