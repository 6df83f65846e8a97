//! A named group of layers applied in order (VGG block, NiN block).

use super::{Chain, SubLayer};
use crate::autograd::{Param, Var};
use crate::nn::{ForwardCtx, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// A [`Block`]'s configuration, as written in spec files (`type = "block"`) and saved
/// models: its layers, nested.
///
/// ```toml
/// [[layers]]
/// type = "block"
/// layers = [{ type = "pool2d", pool = "max", window = 2 }, { type = "flatten" }]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockConfig {
    /// The layers, applied in order (required, at least one).
    pub layers: Vec<LayerSpec>,
}

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
///
/// The block holds its layers, not a [`BlockConfig`]: the configuration nests the layers'
/// own configurations, which the layers hold; [`Block::config`] collects them.
pub struct Block {
    layers: Chain,
}

impl Block {
    /// A block of these layers, applied in order.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Block {
        Block { layers: Chain::new(layers) }
    }
    /// An unbuilt block with fresh layers for this configuration.
    pub fn from_config(config: BlockConfig) -> Block {
        Block { layers: Chain::from_specs(&config.layers) }
    }
    /// The configuration (what [`Layer::spec`] saves), collected from the layers.
    pub fn config(&self) -> BlockConfig {
        BlockConfig { layers: self.layers.specs() }
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
        LayerSpec::Block(self.config())
    }
    fn children(&self) -> Vec<SubLayer<'_>> {
        self.layers.children("")
    }
}
