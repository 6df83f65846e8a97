//! Serializable layer descriptions: the one format for TOML spec files written by users
//! and for the JSON description saved beside a model's weights.

use super::recurrent::{Cell, Recurrent, RnnActivation};
use super::{Activation, ActivationLayer, Dense, Dropout, Embedding, Flatten, Init, Layer, Maxout};
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
    /// Simple recurrent layer(s); `activation` is "tanh" (default) or "relu".
    Rnn {
        units: usize,
        #[serde(default)]
        activation: RnnActivation,
        #[serde(default = "one")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        return_sequences: bool,
    },
    Lstm {
        units: usize,
        #[serde(default = "one")]
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
        #[serde(default = "one")]
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
}

fn one() -> usize {
    1
}

fn linear() -> Activation {
    Activation::Linear
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
            LayerSpec::Rnn { units, activation, layers, bidirectional, return_sequences } => {
                Box::new(Recurrent::new(activation.cell(), units).layers(layers).bidirectional(bidirectional).return_sequences(return_sequences))
            }
            LayerSpec::Lstm { units, layers, bidirectional, return_sequences, peephole } => Box::new(
                Recurrent::new(Cell::Lstm, units)
                    .layers(layers)
                    .bidirectional(bidirectional)
                    .return_sequences(return_sequences)
                    .peephole(peephole),
            ),
            LayerSpec::Gru { units, layers, bidirectional, return_sequences } => {
                Box::new(Recurrent::new(Cell::Gru, units).layers(layers).bidirectional(bidirectional).return_sequences(return_sequences))
            }
            LayerSpec::Embedding { vocab, dim } => Box::new(Embedding::new(vocab, dim)),
        }
    }
}
