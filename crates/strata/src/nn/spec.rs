//! Serializable layer descriptions: the one format for TOML spec files written by users
//! and for the JSON description saved beside a model's weights.

use super::conv::{Conv2d, Padding, PaddingMode, Pair};
use super::pool::{GlobalAvgPool2d, Pool2d};
use super::recurrent::{Cell, Recurrent, RnnActivation};
use super::{Activation, ActivationLayer, Dense, Dropout, Embedding, Flatten, Init, Layer, Maxout};
use crate::tensor::pool::PoolKind;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

/// One layer, as written in a spec file:
///
/// ```toml
/// [[layers]]
/// type = "dense"
/// units = 128
/// activation = "relu"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    Dense {
        units: usize,
        #[serde(default = "linear")]
        activation: Activation,
        #[serde(default = "yes")]
        use_bias: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init: Option<Init>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_dim: Option<usize>,
    },
    Activation {
        activation: Activation,
    },
    Dropout {
        rate: f32,
    },
    Flatten,
    Maxout {
        units: usize,
        pieces: usize,
    },
    Conv2d {
        filters: usize,
        kernel: Pair,
        #[serde(default = "one")]
        stride: Pair,
        #[serde(default = "valid")]
        padding: Padding,
        #[serde(default = "one")]
        dilation: Pair,
        #[serde(default = "one_usize")]
        groups: usize,
        #[serde(default = "yes")]
        use_bias: bool,
        #[serde(default = "linear")]
        activation: Activation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init: Option<Init>,
    },
    /// `pool = "max" | "avg" | "l2"`; the stride defaults to the window.
    Pool2d {
        pool: PoolKind,
        window: Pair,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<Pair>,
        #[serde(default = "zero")]
        padding: Pair,
    },
    GlobalAvgPool2d,
    BatchNorm {
        #[serde(default = "super::norm::default_momentum")]
        momentum: f32,
        #[serde(default = "super::norm::default_eps")]
        eps: f32,
    },
    LocalResponseNorm {
        size: usize,
        #[serde(default = "super::norm::default_lrn_alpha")]
        alpha: f32,
        #[serde(default = "super::norm::default_lrn_beta")]
        beta: f32,
        #[serde(default = "super::norm::default_lrn_k")]
        k: f32,
    },
    /// Simple recurrent layer(s); `activation` is "tanh" (default) or "relu".
    Rnn {
        units: usize,
        #[serde(default)]
        activation: RnnActivation,
        #[serde(default = "one_usize")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        return_sequences: bool,
    },
    Lstm {
        units: usize,
        #[serde(default = "one_usize")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        return_sequences: bool,
        #[serde(default)]
        peephole: bool,
    },
    Gru {
        units: usize,
        #[serde(default = "one_usize")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        return_sequences: bool,
    },
    Embedding {
        vocab: usize,
        dim: usize,
    },
    /// Nearest-neighbour upsampling by `factor`.
    Upsample2d {
        factor: Pair,
    },
    /// Flat features back to a per-sample shape.
    Unflatten {
        shape: Vec<usize>,
    },
    /// Training-time input corruption: `noise = "mask" | "gaussian"`.
    Noise {
        noise: super::NoiseKind,
        amount: f32,
    },
    /// `activation(body(x) + shortcut(x))`, a residual block; an empty shortcut is the
    /// identity, the activation defaults to ReLU.
    Residual {
        body: Vec<LayerSpec>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shortcut: Vec<LayerSpec>,
        #[serde(default = "relu")]
        activation: Activation,
    },
    /// Branches applied to the same input, joined along the channels (Inception).
    Concat {
        branches: Vec<Vec<LayerSpec>>,
    },
    /// Layers applied in order, as one unit (VGG block, NiN block).
    Block {
        layers: Vec<LayerSpec>,
    },
}

fn one() -> Pair {
    Pair::Same(1)
}
fn zero() -> Pair {
    Pair::Same(0)
}
fn one_usize() -> usize {
    1
}
fn valid() -> Padding {
    Padding::Named(PaddingMode::Valid)
}

fn linear() -> Activation {
    Activation::Linear
}
fn relu() -> Activation {
    Activation::Relu
}

impl LayerSpec {
    /// A fresh (unbuilt) layer for this description.
    pub fn to_layer(&self) -> Box<dyn Layer> {
        match self.clone() {
            LayerSpec::Dense { units, activation, use_bias, init, input_dim } => {
                let mut d = Dense::new(units).activation(activation).use_bias(use_bias);
                if let Some(i) = init {
                    d = d.init(i);
                }
                if let Some(n) = input_dim {
                    d = d.input_dim(n);
                }
                Box::new(d)
            }
            LayerSpec::Activation { activation } => Box::new(ActivationLayer(activation)),
            LayerSpec::Dropout { rate } => Box::new(Dropout::new(rate)),
            LayerSpec::Flatten => Box::new(Flatten),
            LayerSpec::Maxout { units, pieces } => Box::new(Maxout::new(units, pieces)),
            LayerSpec::Conv2d { filters, kernel, stride, padding, dilation, groups, use_bias, activation, init } => {
                let mut c = Conv2d::new(filters, 1)
                    .kernel_size(kernel)
                    .stride(stride)
                    .padding_mode(padding)
                    .dilation(dilation)
                    .groups(groups)
                    .use_bias(use_bias)
                    .activation(activation);
                if let Some(i) = init {
                    c = c.init(i);
                }
                Box::new(c)
            }
            LayerSpec::Pool2d { pool, window, stride, padding } => {
                let mut p = Pool2d::new(pool, 1).window(window).padding(padding);
                if let Some(s) = stride {
                    p = p.stride(s);
                }
                Box::new(p)
            }
            LayerSpec::GlobalAvgPool2d => Box::new(GlobalAvgPool2d),
            LayerSpec::BatchNorm { momentum, eps } => Box::new(super::BatchNorm::new().momentum(momentum).eps(eps)),
            LayerSpec::LocalResponseNorm { size, alpha, beta, k } => {
                Box::new(super::LocalResponseNorm::new(size).alpha(alpha).beta(beta).k(k))
            }
            LayerSpec::Rnn { units, activation, layers, bidirectional, return_sequences } => Box::new(
                Recurrent::new(activation.cell(), units)
                    .layers(layers)
                    .bidirectional(bidirectional)
                    .return_sequences(return_sequences),
            ),
            LayerSpec::Lstm { units, layers, bidirectional, return_sequences, peephole } => Box::new(
                Recurrent::new(Cell::Lstm, units)
                    .layers(layers)
                    .bidirectional(bidirectional)
                    .return_sequences(return_sequences)
                    .peephole(peephole),
            ),
            LayerSpec::Gru { units, layers, bidirectional, return_sequences } => Box::new(
                Recurrent::new(Cell::Gru, units).layers(layers).bidirectional(bidirectional).return_sequences(return_sequences),
            ),
            LayerSpec::Embedding { vocab, dim } => Box::new(Embedding::new(vocab, dim)),
            LayerSpec::Upsample2d { factor } => Box::new(super::Upsample2d::new(factor)),
            LayerSpec::Unflatten { shape } => Box::new(super::Unflatten::new(&shape)),
            LayerSpec::Noise { noise, amount } => Box::new(super::Noise { kind: noise, amount }),
            LayerSpec::Residual { body, shortcut, activation } => {
                Box::new(super::graph::Residual::from_parts(&body, &shortcut, activation))
            }
            LayerSpec::Concat { branches } => Box::new(super::graph::Concat::from_parts(&branches)),
            LayerSpec::Block { layers } => Box::new(super::graph::Block::from_parts(&layers)),
        }
    }
}
