#![warn(missing_docs)]
//! # strata
//!
//! Deep neural networks as the classic lectures teach them — multilayer perceptrons,
//! convolutional and recurrent networks, deep belief nets — fast on a CPU.
//!
//! The data flows through one module per stage:
//! `data` (files → [`Dataset`]) → `model` (forward on the `autograd` tape, loss, backward)
//! → `optim` (parameter updates) → `io` (safetensors checkpoints).

pub mod baseline;
pub mod bench;
pub mod data;
pub mod distributed;
pub mod experiment;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod pretrain;
pub mod text;
pub mod zoo;

/// Reverse-mode automatic differentiation (from strata-core): [`autograd::Var`],
/// [`autograd::Tape`], [`autograd::Param`] — what a custom [`nn::Layer`] works with.
pub use strata_core::autograd;
pub use strata_core::{Error, Result, Rng, Tensor};
// The kernels are strata-core's; the library uses them as if they were its own module
// (users who want kernels depend on strata-core).
pub(crate) use strata_core::tensor;

pub use data::{Dataset, Target};
pub use optim::{
    Adagrad, Adam, AdamW, ExponentialDecay, LrSchedule, Optimizer, PlateauMode, ReduceOnPlateau, RmsProp, Sgd, StepDecay,
};

/// Sets the number of worker threads used by every kernel (call once, before any work).
pub fn set_threads(n: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        // Commands run on a worker (see the CLI): give workers a main thread's stack.
        .stack_size(8 << 20)
        .build_global()
        .map_err(|e| Error::invalid("threads", e.to_string()))
}

/// The names most programs need: `use strata::prelude::*;`.
pub mod prelude {
    pub use crate::data::{Dataset, Target};
    pub use crate::loss::Loss;
    pub use crate::metrics::Metric;
    pub use crate::model::{FitOptions, Sequential, Verbosity};
    pub use crate::nn::Activation::{self, Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
    pub use crate::nn::{
        AvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool2d, L2Pool2d, Layer, LocalResponseNorm, MaxPool2d,
        Maxout,
    };
    pub use crate::optim::{Optimizer, Sgd};
    pub use crate::{Result, Rng, Tensor};
}
