//! Composite layers: the pieces of branching networks, each itself a [`Layer`], so a
//! graph-shaped network (ResNet, GoogLeNet) is a `Sequential` of blocks and trains, saves,
//! loads and summarizes exactly like a plain stack.
//!
//! - [`Residual`]: `act(body(x) + shortcut(x))`, the shortcut an identity or a projection
//!   (ResNet's basic and bottleneck blocks).
//! - [`Concat`]: branches applied to the same input, joined along the channel axis
//!   (Inception).
//! - [`Block`]: layers in order, shown and saved as one unit (VGG block, NiN block).
//! - [`AuxClassifier`]: a side head whose loss joins training and which inference skips
//!   (GoogLeNet's auxiliary classifiers).
//!
//! Blocks nest: a `Concat` branch may hold a `Residual`, and so on. Tensors inside a
//! composite are named by their path, e.g. `body.1.batchnorm.gamma`, so saved files stay
//! unambiguous however deep the nesting.
//!
//! ```
//! use strata::nn::{Activation::Relu, BatchNorm, Conv2d, Layer, Residual};
//! use strata::Rng;
//! let mut block = Residual::new(vec![
//!     Box::new(Conv2d::new(8, 3).padding(1).use_bias(false)),
//!     Box::new(BatchNorm::new()),
//! ]);
//! assert_eq!(block.build(&[8, 6, 6], &mut Rng::seeded(0)).unwrap(), vec![8, 6, 6]);
//! let names: Vec<String> = block.named_params().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["body.0.conv2d.weight", "body.1.batchnorm.gamma", "body.1.batchnorm.beta"]);
//! ```

mod aux;
mod block;
mod concat;
mod residual;

pub use aux::{AuxClassifier, AuxClassifierConfig};
pub use block::{Block, BlockConfig};
pub use concat::{Concat, ConcatConfig};
pub use residual::{Residual, ResidualConfig};

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};

/// Boxes layers into the `Vec<Box<dyn Layer>>` composite layers take:
/// `layers![Conv2d::new(16, 3), BatchNorm::new()]`.
#[macro_export]
macro_rules! layers {
    ($($layer:expr),* $(,)?) => {
        vec![$(Box::new($layer) as Box<dyn $crate::nn::Layer>),*]
    };
}

/// A sub-layer of a composite layer, as `summary` shows it.
pub struct SubLayer<'a> {
    /// Path within the parent, e.g. `"body.0"` or `"branch2.1"`.
    pub path: String,
    /// The sub-layer.
    pub layer: &'a dyn Layer,
    /// Per-sample input shape the sub-layer was built for.
    pub input: Vec<usize>,
    /// Per-sample output shape.
    pub output: Vec<usize>,
}

/// Layers applied in order inside a composite layer. Remembers the shapes each layer was
/// built for (summary rows and multiply-accumulates need them).
#[derive(Default)]
pub(crate) struct Chain {
    layers: Vec<Box<dyn Layer>>,
    /// Per-sample input shape of each layer, then the chain's output shape (after build).
    shapes: Vec<Vec<usize>>,
}

/// `"3.conv2d"`: how a layer at `index` of a chain is named in paths.
fn step_name(index: usize, layer: &dyn Layer) -> String {
    format!("{index}.{}", layer.kind().to_ascii_lowercase())
}

impl Chain {
    pub(crate) fn new(layers: Vec<Box<dyn Layer>>) -> Chain {
        Chain { layers, shapes: Vec::new() }
    }
    pub(crate) fn from_specs(specs: &[LayerSpec]) -> Chain {
        Chain::new(specs.iter().map(|s| s.to_layer()).collect())
    }
    pub(crate) fn specs(&self) -> Vec<LayerSpec> {
        self.layers.iter().map(|l| l.spec()).collect()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Builds every layer in turn; errors name the failing layer by its path.
    pub(crate) fn build(&mut self, path: &str, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let mut shapes = vec![input.to_vec()];
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let out = layer.build(&shapes[i], rng).map_err(|e| {
                let at = if path.is_empty() { i.to_string() } else { format!("{path}.{i}") };
                Error::Model(format!("{at} ({}): {e}", layer.kind()))
            })?;
            shapes.push(out);
        }
        self.shapes = shapes;
        Ok(self.shapes.last().cloned().unwrap_or_default())
    }

    pub(crate) fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (mut h, mut i) = (x.clone(), 0);
        while i < self.layers.len() {
            if let Some(fused) = super::forward_with_next_relu(&self.layers, i, &h, ctx) {
                (h, i) = (fused?, i + 2);
            } else {
                (h, i) = (self.layers[i].forward(&h, ctx)?, i + 1);
            }
        }
        Ok(h)
    }

    pub(crate) fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }
    pub(crate) fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// `"{prefix}.{i}.{kind}.{name}"` for every parameter of every layer.
    pub(crate) fn named_params(&self, prefix: &str) -> Vec<(String, &Param)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let step = step_name(i, l.as_ref());
            out.extend(l.named_params().into_iter().map(|(n, p)| (join(prefix, &step, &n), p)));
        }
        out
    }
    pub(crate) fn named_params_mut(&mut self, prefix: &str) -> Vec<(String, &mut Param)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            let step = step_name(i, l.as_ref());
            out.extend(l.named_params_mut().into_iter().map(|(n, p)| (join(prefix, &step, &n), p)));
        }
        out
    }
    pub(crate) fn named_buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let step = step_name(i, l.as_ref());
            out.extend(l.named_buffers().into_iter().map(|(n, t)| (join(prefix, &step, &n), t)));
        }
        out
    }

    /// Sets the buffer `rest` = `"{i}.{kind}.{name}"` (the path below this chain).
    pub(crate) fn set_buffer(&mut self, rest: &str, value: Tensor) -> Result<()> {
        let unknown = || Error::Model(format!("no buffer '{rest}' in this block"));
        let (index, tail) = rest.split_once('.').ok_or_else(unknown)?;
        let (kind, name) = tail.split_once('.').ok_or_else(unknown)?;
        let layer = index.parse::<usize>().ok().and_then(|i| self.layers.get_mut(i)).ok_or_else(unknown)?;
        if layer.kind().to_ascii_lowercase() != kind {
            return Err(unknown());
        }
        layer.set_buffer(name, value)
    }

    /// Multiply-accumulates per sample, from the shapes of the last build.
    pub(crate) fn macs(&self) -> u64 {
        self.layers.iter().zip(&self.shapes).map(|(l, s)| l.macs(s)).sum()
    }

    pub(crate) fn children(&self, prefix: &str) -> Vec<SubLayer<'_>> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(i, _)| i + 1 < self.shapes.len())
            .map(|(i, l)| SubLayer {
                path: if prefix.is_empty() { i.to_string() } else { format!("{prefix}.{i}") },
                layer: l.as_ref(),
                input: self.shapes[i].clone(),
                output: self.shapes[i + 1].clone(),
            })
            .collect()
    }
}

/// `prefix.step.name`, leaving out an empty prefix.
fn join(prefix: &str, step: &str, name: &str) -> String {
    if prefix.is_empty() { format!("{step}.{name}") } else { format!("{prefix}.{step}.{name}") }
}

/// Splits `"branch2.rest"` into (`2`, `"rest"`) for a known `prefix` ("branch").
pub(crate) fn split_indexed<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, tail) = rest.split_once('.')?;
    Some((index.parse().ok()?, tail))
}
