//! # strata
//!
//! Deep neural networks as the classic lectures teach them — multilayer perceptrons,
//! convolutional and recurrent networks, deep belief nets — fast on a CPU.
//!
//! The data flows through one module per stage:
//! `data` (files → [`Dataset`]) → `model` (forward on the `autograd` tape, loss, backward)
//! → `optim` (parameter updates) → `io` (safetensors checkpoints).

pub mod autograd;
pub mod data;
pub mod error;
pub mod optim;
pub mod rng;
pub mod tensor;

pub use data::{Dataset, Target};
pub use error::{Error, Result};
pub use optim::{
    Adagrad, Adam, AdamW, ExponentialDecay, LrSchedule, Optimizer, PlateauMode, ReduceOnPlateau,
    RmsProp, Sgd, StepDecay,
};
pub use rng::Rng;
pub use tensor::Tensor;

/// Sets the number of worker threads used by every kernel (call once, before any work).
pub fn set_threads(n: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| Error::invalid("threads", e.to_string()))
}
