//! A named group of layers applied in order (VGG block, NiN block).

use super::{Chain, SubLayer};
use crate::autograd::{Param, Var};
use crate::nn::{ForwardCtx, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};

/// Layers applied one after another, treated as one unit: one row (with its sub-rows) in
/// `summary`, one entry in a spec file. The reusable building block of VGG ("n 3x3
/// convolutions, then a 2x2 max-pool") and NiN ("a convolution, then two 1x1
/// convolutions").
///
/// ```
/// use strata::layers;
/// use strata::nn::{Activation::Relu, Block, Conv2d, Layer, MaxPool2d};
/// use strata::Rng;
/// let mut vgg_block = Block::new(layers![
///     Conv2d::new(64, 3).padding(1).activation(Relu),
///     Conv2d::new(64, 3).padding(1).activation(Relu),
///     MaxPool2d::new(2),
/// ]);
/// assert_eq!(vgg_block.build(&[3, 32, 32], &mut Rng::seeded(0)).unwrap(), vec![64, 16, 16]);
/// ```
pub struct Block {
    layers: Chain,
}

impl Block {
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Block {
        Block { layers: Chain::new(layers) }
    }
    pub(crate) fn from_parts(layers: &[LayerSpec]) -> Block {
        Block { layers: Chain::from_specs(layers) }
    }
}

impl Layer for Block {
    fn kind(&self) -> &'static str {
        "Block"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if self.layers.is_empty() {
            return Err(Error::invalid("Block", "has no layers"));
        }
        self.layers.build("", input, rng)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.layers.forward(x, ctx)
    }
    fn params(&self) -> Vec<&Param> {
        self.layers.params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.params_mut()
    }
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.layers.named_params("")
    }
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param)> {
        self.layers.named_params_mut("")
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.layers.named_buffers("")
    }
    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        self.layers.set_buffer(name, value)
    }
    fn macs(&self, _input: &[usize]) -> u64 {
        self.layers.macs()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Block { layers: self.layers.specs() }
    }
    fn children(&self) -> Vec<SubLayer<'_>> {
        self.layers.children("")
    }
}
