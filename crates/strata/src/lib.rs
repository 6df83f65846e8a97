#![deny(missing_docs)]
//! # strata
//!
//! Deep neural networks as the classic lectures teach them — multilayer perceptrons,
//! convolutional and recurrent networks, deep belief nets — fast on a CPU.
//!
//! ## Quick start
//!
//! LeNet-5-like on Fashion-MNIST, Keras style (`make demo` installs the dataset):
//!
//! ```no_run
//! use strata::prelude::*;
//! # fn main() -> strata::Result<()> {
//! let (train, test) = strata::data::mnist::load("fashion-mnist")?; // pixels in [0, 1]
//! let mut model = Sequential::new()
//!     .seed(1)
//!     .add(Conv2d::new(6, 5).padding(2).activation(Relu))
//!     .add(MaxPool2d::new(2))
//!     .add(Flatten)
//!     .add(Dense::new(10));
//! model.compile(Sgd::new(0.05).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
//! let history = model.fit(&train, FitOptions::epochs(10).batch_size(128).validation(&test))?;
//! let eval = model.evaluate(&test, 1000)?;
//! println!("{}", model.summary()?);
//! println!("test accuracy {:?} after {} epochs", eval.accuracy, history.epochs.len());
//! # Ok(()) }
//! ```
//!
//! The same calls on a small problem, run as a test: XOR, which no single layer can learn.
//!
//! ```
//! use strata::prelude::*;
//! # fn main() -> strata::Result<()> {
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2])?;
//! let xor = Dataset::new(x.clone(), Target::Classes { labels: vec![0, 1, 1, 0], num_classes: 2 })?;
//! let mut model = Sequential::new().seed(3).add(Dense::new(8).input_dim(2).activation(Tanh)).add(Dense::new(2));
//! model.compile(Sgd::new(0.5).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
//! model.fit(&xor, FitOptions::epochs(300).batch_size(4).silent())?;
//! assert_eq!(model.predict_classes(&x)?, vec![0, 1, 1, 0]);
//! # Ok(()) }
//! ```
//!
//! ## Where things are
//!
//! The data flows through one module per stage: [`data`] (files → [`Dataset`]) →
//! [`model`] (a [`model::Sequential`] of [`nn`] layers; forward on the [`autograd`] tape,
//! [`loss`], backward; `fit`, `evaluate`, `predict`, saving) → [`optim`] (updates). Around
//! them: [`zoo`] (named models and spec files), [`experiment`] (any model by name, data
//! preparation, cross-validation), [`metrics`], [`plot`], [`baseline`], [`pretrain`] (RBMs,
//! DBNs, autoencoders), [`text`] (language models), [`distributed`] (data parallelism over
//! MPI or threads), [`io`] (files), [`lab`] (the lectures' experiments, end to end). Tensors, kernels and autograd come from `strata-core`.

pub mod baseline;
pub mod bench;
pub mod data;
pub mod distributed;
pub mod experiment;
pub mod inspect;
pub mod io;
pub mod lab;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod onnx;
pub mod optim;
pub mod plot;
pub mod pretrain;
pub mod text;
pub mod zoo;

pub use strata_core::{Error, Result, Rng, Tensor};
/// Reverse-mode automatic differentiation (from strata-core): [`autograd::Var`],
/// [`autograd::Tape`], [`autograd::Param`] — what a custom [`nn::Layer`] works with.
pub use strata_core::{autograd, memory};
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
