//! A recurrent stack's configuration: [`RecurrentConfig`], the one the layer holds, and its
//! three spec-file forms [`RnnConfig`] (`type = "rnn"`), [`LstmConfig`] (`"lstm"`) and
//! [`GruConfig`] (`"gru"`), which differ in the fields they accept (only an RNN has an
//! activation, only an LSTM peepholes).

use crate::nn::LayerSpec;
use crate::tensor::recurrent::Cell;
use serde::{Deserialize, Serialize};

/// The shape of a recurrent stack: what a [`Recurrent`](super::Recurrent) layer is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecurrentConfig {
    /// The unit: simple (tanh or ReLU), LSTM or GRU.
    pub cell: Cell,
    /// Hidden units per layer and direction.
    pub units: usize,
    /// Stacked layers (each after the first reads the previous one's output sequence).
    pub layers: usize,
    /// A second pass over each layer's input from the last step to the first; outputs are
    /// concatenated (features 2 * units).
    pub bidirectional: bool,
    /// Output every step [N, T, D*units], or only the final state [N, D*units].
    pub return_sequences: bool,
    /// LSTM only: gates also look at the cell state (Gers & Schmidhuber 2000).
    pub peephole: bool,
}

impl RecurrentConfig {
    /// `units` of `cell`; one layer, one direction, final state out, no peepholes.
    pub fn new(cell: Cell, units: usize) -> RecurrentConfig {
        RecurrentConfig { cell, units, layers: 1, bidirectional: false, return_sequences: false, peephole: false }
    }
    /// 2 when bidirectional, else 1.
    pub fn directions(&self) -> usize {
        1 + self.bidirectional as usize
    }
    /// The spec-file form: `rnn`, `lstm` or `gru` by the cell. (`peephole` is kept for an
    /// LSTM only: the other forms have no such field, and building refuses it anyway.)
    pub fn spec(&self) -> LayerSpec {
        let RecurrentConfig { cell, units, layers, bidirectional, return_sequences, peephole } = *self;
        match cell {
            Cell::RnnTanh | Cell::RnnRelu => {
                let activation = if cell == Cell::RnnRelu { RnnActivation::Relu } else { RnnActivation::Tanh };
                LayerSpec::Rnn(RnnConfig { units, activation, layers, bidirectional, return_sequences })
            }
            Cell::Lstm => LayerSpec::Lstm(LstmConfig { units, layers, bidirectional, return_sequences, peephole }),
            Cell::Gru => LayerSpec::Gru(GruConfig { units, layers, bidirectional, return_sequences }),
        }
    }
}

/// The nonlinearity of a simple RNN (as written in spec files: "tanh" or "relu").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RnnActivation {
    /// `tanh`, the default.
    #[default]
    Tanh,
    /// `max(0, x)` (Le et al. 2015).
    Relu,
}

impl RnnActivation {
    /// The recurrent cell with this nonlinearity.
    pub fn cell(self) -> Cell {
        match self {
            RnnActivation::Tanh => Cell::RnnTanh,
            RnnActivation::Relu => Cell::RnnRelu,
        }
    }
}

fn one() -> usize {
    1
}

/// Simple recurrent layers in spec files (`type = "rnn"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "rnn"
/// units = 64
/// activation = "relu"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnConfig {
    /// Hidden units per layer and direction (required).
    pub units: usize,
    /// `"tanh"` (default) or `"relu"`.
    #[serde(default)]
    pub activation: RnnActivation,
    /// Stacked layers; default 1.
    #[serde(default = "one")]
    pub layers: usize,
    /// Also read each sequence backwards, doubling the features; default `false`.
    #[serde(default)]
    pub bidirectional: bool,
    /// Output every step instead of the final state; default `false`.
    #[serde(default)]
    pub return_sequences: bool,
}

/// LSTM layers in spec files (`type = "lstm"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "lstm"
/// units = 128
/// return_sequences = true
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Hidden units per layer and direction (required).
    pub units: usize,
    /// Stacked layers; default 1.
    #[serde(default = "one")]
    pub layers: usize,
    /// Also read each sequence backwards, doubling the features; default `false`.
    #[serde(default)]
    pub bidirectional: bool,
    /// Output every step instead of the final state; default `false`.
    #[serde(default)]
    pub return_sequences: bool,
    /// Peephole connections (gates see the cell state); default `false`.
    #[serde(default)]
    pub peephole: bool,
}

/// GRU layers in spec files (`type = "gru"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "gru"
/// units = 64
/// layers = 2
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GruConfig {
    /// Hidden units per layer and direction (required).
    pub units: usize,
    /// Stacked layers; default 1.
    #[serde(default = "one")]
    pub layers: usize,
    /// Also read each sequence backwards, doubling the features; default `false`.
    #[serde(default)]
    pub bidirectional: bool,
    /// Output every step instead of the final state; default `false`.
    #[serde(default)]
    pub return_sequences: bool,
}

impl From<RnnConfig> for RecurrentConfig {
    fn from(c: RnnConfig) -> RecurrentConfig {
        let RnnConfig { units, activation, layers, bidirectional, return_sequences } = c;
        RecurrentConfig { cell: activation.cell(), units, layers, bidirectional, return_sequences, peephole: false }
    }
}

impl From<LstmConfig> for RecurrentConfig {
    fn from(c: LstmConfig) -> RecurrentConfig {
        let LstmConfig { units, layers, bidirectional, return_sequences, peephole } = c;
        RecurrentConfig { cell: Cell::Lstm, units, layers, bidirectional, return_sequences, peephole }
    }
}

impl From<GruConfig> for RecurrentConfig {
    fn from(c: GruConfig) -> RecurrentConfig {
        let GruConfig { units, layers, bidirectional, return_sequences } = c;
        RecurrentConfig { cell: Cell::Gru, units, layers, bidirectional, return_sequences, peephole: false }
    }
}
