//! Layers. A layer is a plain struct: `build` creates its parameters once the input shape
//! is known (Keras style), `forward` maps a batch through it on the autograd tape.
//!
//! Shapes given to `build`, `output_shape` and `macs` are per sample (no batch axis).
//!
//! Each layer type owns its configuration: an `XConfig` struct beside the layer (e.g.
//! [`Conv2dConfig`]), the fields a spec file or saved model writes for it. The layer holds
//! its config (builder methods such as `Conv2d::new(6, 5).padding(2)` write into it) plus
//! its parameters and state; `X::from_config` makes a layer, `config()` reads it back, and
//! [`Layer::spec`] wraps it in the [`LayerSpec`] variant for the type. The registry in
//! `spec.rs` is the one place that lists every layer type.

mod activation;
mod channel_maxout;
pub mod conv;
mod dense;
mod dropout;
mod embedding;
pub mod graph;
mod init;
mod locally_connected;
mod noise;
mod norm;
pub mod pool;
mod rbf;
pub mod recurrent;
mod reshape;
mod sparse_conv;
mod spec;
mod subsampling;
mod unflatten;
mod upsample;

pub use activation::{Activation, ActivationConfig, ActivationLayer, SCALED_TANH};
pub use channel_maxout::{ChannelMaxout, ChannelMaxoutConfig};
pub use conv::{Conv2d, Conv2dConfig, Padding};
pub use dense::{Dense, DenseConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use embedding::{Embedding, EmbeddingConfig};
pub use graph::{
    AuxClassifier, AuxClassifierConfig, Block, BlockConfig, Concat, ConcatConfig, Residual, ResidualConfig, SubLayer,
};
pub use init::Init;
pub use locally_connected::{LocallyConnected2d, LocallyConnected2dConfig};
pub use noise::{Noise, NoiseConfig, NoiseKind};
pub use norm::{BatchNorm, BatchNormConfig, LocalResponseNorm, LocalResponseNormConfig};
pub use pool::{
    AvgPool2d, GlobalAvgPool2d, GlobalAvgPool2dConfig, L2Pool2d, MaxPool2d, MinPool2d, Pool2d, Pool2dConfig, PoolKind,
};
pub use rbf::{Rbf, RbfConfig};
pub use recurrent::{Gru, GruConfig, Lstm, LstmConfig, Recurrent, RecurrentConfig, Rnn, RnnConfig};
pub use reshape::{Flatten, FlattenConfig, Maxout, MaxoutConfig};
pub(crate) use sparse_conv::dense_kernel as sparse_conv_dense_kernel;
pub use sparse_conv::{LENET5_C3_TABLE, SparseConv2d, SparseConv2dConfig};
pub use spec::LayerSpec;
pub use subsampling::{Subsampling2d, Subsampling2dConfig};
pub use unflatten::{Unflatten, UnflattenConfig};
pub use upsample::{Upsample2d, Upsample2dConfig};

use crate::autograd::{Param, Tape, Var};
use crate::{Result, Rng};

/// What a forward pass needs besides the input: the tape, the mode, and (in training) the
/// generator dropout masks and noise are drawn from.
pub struct ForwardCtx<'a> {
    /// The tape the forward pass records on.
    pub tape: &'a Tape,
    /// Training mode: dropout drops, noise corrupts, batch norm uses batch statistics.
    pub training: bool,
    rng: Option<&'a mut Rng>,
    /// The auxiliary classifiers' outputs of a training pass (GoogLeNet's side heads),
    /// gathered for the loss.
    aux: Vec<AuxOutput>,
}

/// What an auxiliary classifier ([`AuxClassifier`]) adds to a training pass: its logits
/// and the weight of its loss in the total.
#[derive(Clone)]
pub struct AuxOutput {
    /// The head's logits `[N, classes]`.
    pub logits: Var,
    /// Its loss's weight in the training loss (GoogLeNet: 0.3).
    pub weight: f32,
}

impl<'a> ForwardCtx<'a> {
    /// Training mode, drawing from `rng`.
    pub fn train(tape: &'a Tape, rng: &'a mut Rng) -> ForwardCtx<'a> {
        ForwardCtx { tape, training: true, rng: Some(rng), aux: Vec::new() }
    }
    /// Eval mode: nothing is drawn (dropout and noise are the identity).
    pub fn eval(tape: &'a Tape) -> ForwardCtx<'a> {
        ForwardCtx { tape, training: false, rng: None, aux: Vec::new() }
    }
    /// Either mode, with a generator for training.
    pub fn new(tape: &'a Tape, training: bool, rng: &'a mut Rng) -> ForwardCtx<'a> {
        ForwardCtx { tape, training, rng: Some(rng), aux: Vec::new() }
    }
    /// The generator of a training pass; an error in a pass made without one (a layer that
    /// draws must do so only in training mode).
    pub fn rng(&mut self) -> Result<&mut Rng> {
        self.rng.as_deref_mut().ok_or_else(|| crate::Error::Model("a layer drew random numbers in an eval-mode pass".into()))
    }
    /// Records an auxiliary classifier's output for the loss (training passes).
    pub fn push_aux(&mut self, out: AuxOutput) {
        self.aux.push(out);
    }
    /// The auxiliary outputs recorded so far, leaving none.
    pub fn take_aux(&mut self) -> Vec<AuxOutput> {
        std::mem::take(&mut self.aux)
    }
    /// Puts a parameter on the tape.
    pub fn param(&self, p: &Param) -> Var {
        self.tape.param(p)
    }
}

/// A network layer.
pub trait Layer: Send {
    /// Type name shown by `summary`, e.g. "Dense".
    fn kind(&self) -> &'static str;
    /// Creates the parameters for a per-sample `input` shape; returns the output shape.
    /// Calling it again with the same shape keeps the existing parameters.
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>>;
    /// Maps a batch `[N, ...input]` to `[N, ...output]`.
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var>;
    /// Like `forward`, but stops before a final softmax or sigmoid, so the loss can fuse
    /// it (softmax + cross-entropy is stable only when fused).
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        self.forward(x, ctx)
    }
    /// The squashing function `forward_logits` leaves out, if any.
    fn output_activation(&self) -> Option<Activation> {
        None
    }
    /// The trainable parameters (none for a layer without weights).
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }
    /// The trainable parameters, mutably (optimizers, loading).
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// Non-trainable state saved with the model (e.g. batch-norm running statistics).
    fn buffers(&self) -> Vec<(&'static str, crate::Tensor)> {
        Vec::new()
    }
    /// Restores a buffer returned by `buffers` (when loading a saved model).
    fn set_buffer(&mut self, name: &str, _value: crate::Tensor) -> Result<()> {
        Err(crate::Error::Model(format!("{} has no buffer '{name}'", self.kind())))
    }
    /// Multiply-accumulates per sample for this input shape.
    fn macs(&self, _input: &[usize]) -> u64 {
        0
    }
    /// The serializable description this layer was made from (spec files, saved models):
    /// its configuration in the [`LayerSpec`] variant for its type.
    fn spec(&self) -> LayerSpec;
    /// The configuration in one line for `summary --verbose`, e.g. `filters=16 kernel=3
    /// padding=1`: by default [`LayerSpec::details`] of [`Layer::spec`] (the fields that
    /// differ from their defaults), so it cannot drift from what is saved. A layer that
    /// derives something at build time appends it (Conv2d: `algorithm=winograd-f4x4`).
    /// `None` when there is nothing to show.
    fn details(&self) -> Option<String> {
        self.spec().details()
    }
    /// Parameters with names unique within this layer: `"weight"` for a plain layer, the
    /// path to the sub-layer for a composite one (`"body.0.conv2d.weight"`). Saved models
    /// name their tensors with these.
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.params().into_iter().map(|p| (p.name.clone(), p)).collect()
    }
    /// [`Layer::named_params`], mutably (loading weights).
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param)> {
        self.params_mut().into_iter().map(|p| (p.name.clone(), p)).collect()
    }
    /// Buffers with names unique within this layer (paths, as in `named_params`);
    /// `set_buffer` accepts these names.
    fn named_buffers(&self) -> Vec<(String, crate::Tensor)> {
        self.buffers().into_iter().map(|(n, t)| (n.to_string(), t)).collect()
    }
    /// The sub-layers of a composite layer (residual, concat, block), each with the
    /// per-sample shapes it was built for; empty for a plain layer. `summary` lists them.
    fn children(&self) -> Vec<SubLayer<'_>> {
        Vec::new()
    }
    /// The function an activation layer applies; `None` for every other layer.
    fn as_activation(&self) -> Option<Activation> {
        None
    }
    /// This layer and then a ReLU, in one pass over the output, where the layer can do that
    /// (batch norm in training); `None` where it cannot, and the caller runs the two layers
    /// one after the other. Same result either way.
    fn forward_relu(&self, _x: &Var, _ctx: &mut ForwardCtx) -> Option<Result<Var>> {
        None
    }
}

/// Layer `i` of `layers` fused with the ReLU layer after it ([`Layer::forward_relu`]), if
/// there is one and the layer can take it; `None` otherwise. Chains of layers (Sequential,
/// blocks, residual bodies) step over both layers when this returns a result.
pub(crate) fn forward_with_next_relu(layers: &[Box<dyn Layer>], i: usize, x: &Var, ctx: &mut ForwardCtx) -> Option<Result<Var>> {
    let next = layers.get(i + 1)?;
    if next.as_activation() != Some(Activation::Relu) {
        return None;
    }
    layers[i].forward_relu(x, ctx)
}
