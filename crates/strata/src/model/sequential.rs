//! `Sequential`: layers applied one after another, Keras style.

use crate::autograd::{Param, Tape, Var};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::nn::{DenseConfig, ForwardCtx, Layer, LayerSpec};
use crate::optim::Optimizer;
use crate::{Error, Result, Rng, Tensor};

/// Optimizer, loss and metrics chosen by [`Sequential::compile`].
pub(crate) struct Compiled {
    pub optimizer: Box<dyn Optimizer>,
    pub loss: Loss,
    pub metrics: Vec<Metric>,
    /// Replaces every auxiliary classifier's own loss weight when set (`--aux-weight`).
    pub aux_weight: Option<f32>,
}

/// A stack of layers.
///
/// ```
/// use strata::prelude::*;
/// let mut model = Sequential::new()
///     .add(Dense::new(5).input_dim(2).activation(Relu))
///     .add(Dense::new(1).activation(Sigmoid));
/// model.compile(Sgd::new(0.1), Loss::Mse, &[Metric::Accuracy]);
/// assert_eq!(model.num_params(), 2 * 5 + 5 + 5 + 1);
/// ```
pub struct Sequential {
    pub(crate) layers: Vec<Box<dyn Layer>>,
    /// Per-sample input shape, once known.
    input_shape: Option<Vec<usize>>,
    /// Per-sample output shape of each layer, once built.
    pub(crate) shapes: Vec<Vec<usize>>,
    pub(crate) compiled: Option<Compiled>,
    pub(crate) rng: Rng,
    seed: u64,
    name: String,
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new()
    }
}

impl Sequential {
    /// An empty model (seed 0; see [`Sequential::seed`]).
    pub fn new() -> Sequential {
        Sequential {
            layers: Vec::new(),
            input_shape: None,
            shapes: Vec::new(),
            compiled: None,
            rng: Rng::seeded(0),
            seed: 0,
            name: "sequential".into(),
        }
    }
    /// Seeds every random choice of this model: initialization, shuffling, dropout.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.rng = Rng::seeded(seed);
        self
    }
    /// Names the model (shown by `summary`, saved with it).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// The model's name.
    pub fn model_name(&self) -> &str {
        &self.name
    }
    /// The seed of its generator.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }
    /// Appends a layer.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Layer + 'static) -> Self {
        self.push(Box::new(layer));
        self
    }
    /// Appends a boxed layer.
    pub fn push(&mut self, layer: Box<dyn Layer>) {
        self.layers.push(layer);
        self.shapes.clear();
    }
    /// Declares the per-sample input shape (e.g. `[1, 28, 28]`); otherwise it comes from a
    /// first layer's `input_dim` or from the data at the first `fit`.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    /// The layers, mutably (setting weights and buffers from outside, as an import does).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }
    /// Per-sample input shape, if known.
    pub fn known_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    /// Whether every layer has its parameters (after `build` or the first `fit`).
    pub fn is_built(&self) -> bool {
        !self.shapes.is_empty() && self.shapes.len() == self.layers.len()
    }
    /// Per-sample output shape (after build).
    pub fn output_shape(&self) -> Option<&[usize]> {
        self.shapes.last().map(|s| s.as_slice())
    }

    /// Creates every layer's parameters for a per-sample `input` shape.
    pub fn build(&mut self, input: &[usize]) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::Model("the model has no layers".into()));
        }
        if self.is_built() && self.input_shape.as_deref() == Some(input) {
            return Ok(());
        }
        let mut shape = input.to_vec();
        let mut shapes = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let kind = layer.kind();
            let at = |e: Error| Error::Model(format!("layer {} ({kind}): {e}", i + 1));
            shape = layer.build(&shape, &mut self.rng).map_err(at)?;
            // A model that cannot hold one sample's activations cannot run at all.
            let values = crate::memory::checked_element_count("output", &shape).map_err(at)?;
            crate::memory::ensure_fits(&format!("one sample's output {shape:?}"), values as u64 * 4).map_err(at)?;
            shapes.push(shape.clone());
        }
        self.input_shape = Some(input.to_vec());
        self.shapes = shapes;
        Ok(())
    }

    /// Builds from the declared input shape, if there is one.
    pub(crate) fn build_if_declared(&mut self) -> Result<()> {
        if self.is_built() {
            return Ok(());
        }
        let declared = self.input_shape.clone().or_else(|| {
            self.layers.first().and_then(|l| match l.spec() {
                LayerSpec::Dense(DenseConfig { input_dim: Some(n), .. }) => Some(vec![n]),
                _ => None,
            })
        });
        match declared {
            Some(s) => self.build(&s),
            None => Ok(()),
        }
    }

    /// Chooses the optimizer, the loss and the metrics for `fit`.
    pub fn compile(&mut self, optimizer: impl Optimizer + 'static, loss: Loss, metrics: &[Metric]) {
        self.compile_boxed(Box::new(optimizer), loss, metrics);
    }
    /// [`Sequential::compile`] with an optimizer chosen at run time.
    pub fn compile_boxed(&mut self, optimizer: Box<dyn Optimizer>, loss: Loss, metrics: &[Metric]) {
        self.compiled = Some(Compiled { optimizer, loss, metrics: metrics.to_vec(), aux_weight: None });
        // Build now when the shape is declared, so num_params/summary work before fit.
        let _ = self.build_if_declared();
    }
    /// The metrics `compile` chose.
    pub fn metrics(&self) -> &[Metric] {
        self.compiled.as_ref().map(|c| c.metrics.as_slice()).unwrap_or(&[])
    }
    /// The loss `compile` chose.
    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss)
    }
    /// The optimizer `compile` chose.
    pub fn optimizer(&self) -> Option<&dyn Optimizer> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }
    /// The optimizer, mutably (schedules set its learning rate).
    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn Optimizer + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }

    /// Every trainable parameter, layer by layer.
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }
    /// Every trainable parameter, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }
    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.value.numel()).sum()
    }

    /// The full forward pass on the tape.
    pub fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.forward_to(x, ctx, false)
    }

    /// Forward pass; with `logits`, the last layer stops before its softmax/sigmoid.
    pub(crate) fn forward_to(&self, x: &Var, ctx: &mut ForwardCtx, logits: bool) -> Result<Var> {
        let (mut h, mut i) = (x.clone(), 0);
        let last = self.layers.len().saturating_sub(1);
        while i < self.layers.len() {
            let layer = &self.layers[i];
            // a ReLU layer after this one may run in the same pass (a ReLU has no logits form)
            let (r, step) = match crate::nn::forward_with_next_relu(&self.layers, i, &h, ctx) {
                Some(fused) => (fused, 2),
                None if logits && i == last => (layer.forward_logits(&h, ctx), 1),
                None => (layer.forward(&h, ctx), 1),
            };
            h = r.map_err(|e| Error::Model(format!("layer {} ({}): {e}", i + 1, layer.kind())))?;
            i += step;
        }
        Ok(h)
    }

    /// The last layer's output squashing (softmax/sigmoid), if any.
    pub(crate) fn output_activation(&self) -> Option<crate::nn::Activation> {
        self.layers.last().and_then(|l| l.output_activation())
    }

    /// Checks a batch of inputs against the built input shape.
    pub(crate) fn check_input(&self, x: &Tensor) -> Result<()> {
        if let Some(expected) = &self.input_shape
            && &x.shape()[1.min(x.rank())..] != expected.as_slice()
        {
            let mut want = vec![x.shape().first().copied().unwrap_or(0)];
            want.extend(expected);
            return Err(Error::ShapeMismatch { op: "model input", left: want, right: x.shape().to_vec() });
        }
        Ok(())
    }

    /// Outputs for a batch of inputs `[N, ...]`, in eval mode, in chunks of
    /// [`EVAL_BATCH`](super::EVAL_BATCH).
    pub fn predict(&mut self, x: &Tensor) -> Result<Tensor> {
        if !self.is_built() {
            self.build(&x.shape()[1.min(x.rank())..])?;
        }
        self.predict_built(x, super::EVAL_BATCH)
    }

    pub(crate) fn predict_built(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        self.eval_outputs(x, batch_size, false, Ok)
    }

    /// The output of layer `index` (0-based, after its activation) for inputs `x` [N, ...],
    /// in eval mode: what the network "sees" at that depth (feature maps).
    pub fn activations(&self, x: &Tensor, index: usize) -> Result<Tensor> {
        if index >= self.layers.len() || !self.is_built() {
            return Err(Error::Model(format!("no layer {index} in a built model of {} layers", self.layers.len())));
        }
        self.check_input(x)?;
        let tape = Tape::no_grad();
        let mut ctx = ForwardCtx::eval(&tape);
        let mut h = tape.input(x.clone());
        for layer in &self.layers[..=index] {
            h = layer.forward(&h, &mut ctx)?;
        }
        Ok(h.into_value())
    }

    /// The layer descriptions (saved beside the weights).
    pub fn specs(&self) -> Vec<LayerSpec> {
        self.layers.iter().map(|l| l.spec()).collect()
    }

    /// A model from layer descriptions.
    pub fn from_specs(specs: &[LayerSpec]) -> Sequential {
        let mut m = Sequential::new();
        for s in specs {
            m.push(s.to_layer());
        }
        m
    }
}
