//! Unsupervised pretraining, the 2006 breakthrough of the lectures: restricted Boltzmann
//! machines trained by contrastive divergence, deep belief nets built from them greedily
//! and unrolled into classifiers, and autoencoders (dense, convolutional, denoising,
//! stacked) as the alternative.
//!
//! - `rbm`: the model — energy, conditionals, free energy, sampling, monitoring.
//! - `cd`: training by CD-k and persistent CD, with momentum and weight decay.
//! - `dbn`: greedy layer-wise pretraining and conversion to a [`crate::model::Sequential`].
//! - `autoencoder`: autoencoder models and stacked-autoencoder pretraining.
//! - `pictures`: learned filters, samples and reconstructions as PNG grids.
//! - `plan`: the model names `dbn`, `sae`, `autoencoder`, `conv-autoencoder` for
//!   `strata train`.
//!
//! ```no_run
//! use strata::pretrain::{CdOptions, Dbn, Visible};
//! # fn main() -> strata::Result<()> {
//! let (train, test) = strata::data::mnist::load("fashion-mnist")?; // pixels in [0, 1]
//! let opts = CdOptions { epochs: 1, ..CdOptions::default() };
//! let (dbn, _) = Dbn::pretrain(&train.inputs, &[500, 500, 2000], Visible::Bernoulli, &opts, |_, _| {})?;
//! let mut model = dbn.to_sequential(train.sample_shape(), 10, None, 1)?; // then compile + fit
//! # let _ = (test, &mut model); Ok(()) }
//! ```

mod autoencoder;
mod cd;
mod dbn;
pub mod pictures;
mod plan;
mod rbm;

pub use autoencoder::{
    AutoencoderOptions, Encoder, conv_autoencoder, dense_autoencoder, reconstruction_dataset, reconstructs_input, sae_classifier,
    stacked_autoencoders,
};
pub use cd::{CdOptions, RbmEpoch, RbmGradient};
pub use dbn::{Dbn, load_stack, sigmoid_stack};
pub use plan::{DBN_DEFAULT, NAMES, Plan, PlanKind, PretrainReport, PretrainSettings, Pretrained};
pub use rbm::{Rbm, Visible};
