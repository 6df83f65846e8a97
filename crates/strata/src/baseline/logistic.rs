//! Logistic regression as a network: one Dense layer whose outputs are the class logits,
//! trained with softmax cross-entropy (for two classes this is the classic logistic model
//! with a redundant second column). Training uses the usual `Sequential::fit` with SGD; the
//! recipe below is its default.
//!
//! ```
//! use strata::baseline::logistic_regression;
//! let mut m = logistic_regression(3);
//! m.build(&[4]).unwrap();
//! assert_eq!(m.num_params(), 4 * 3 + 3);
//! ```

use crate::model::{Sequential, TrainConfig};
use crate::nn::{Dense, Flatten};

/// Flatten → Dense(classes): multinomial logistic regression (train with softmax CE).
pub fn logistic_regression(classes: usize) -> Sequential {
    Sequential::new().name("logreg").add(Flatten).add(Dense::new(classes))
}

/// The default training recipe: SGD, learning rate 0.1, momentum 0.9, batch 32, 100 epochs.
pub fn recipe() -> TrainConfig {
    TrainConfig { optimizer: "sgd".into(), lr: 0.1, momentum: 0.9, batch_size: 32, epochs: 100, ..TrainConfig::default() }
}
