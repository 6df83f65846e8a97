//! [`ModelChoice`]: what a model name or a spec file gives — a built network with the loss
//! and the training recipe it was made for.

use super::sequential::Sequential;
use super::train_config::ConfigLayer;
use crate::loss::Loss;

/// A built model ready to compile, with the loss and the recipe it trains best with.
pub struct ModelChoice {
    /// The network, built for the data's input shape, randomly initialized.
    pub model: Sequential,
    /// Its training recipe: the bottom layer of its [`TrainConfig`](super::TrainConfig).
    pub recipe: ConfigLayer,
    /// The loss it is trained with.
    pub loss: Loss,
    /// Adaptations made for the given input, in words (the CLI prints them).
    pub notes: Vec<String>,
    /// For an imported network, the input preparation its weights were trained with
    /// (`Some(None)`: pixels in [0, 1]), used instead of a standardization fitted on the
    /// training data; `None` for networks strata initializes.
    pub fixed_input: Option<Option<crate::data::normalize::Standardizer>>,
}
