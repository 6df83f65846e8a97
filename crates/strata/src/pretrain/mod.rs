//! Unsupervised pretraining, the 2006 breakthrough of the lectures: restricted Boltzmann
//! machines trained by contrastive divergence, deep belief nets built from them greedily
//! and unrolled into classifiers, and autoencoders (dense, convolutional, denoising,
//! stacked) as the alternative.
//!
//! - [`Rbm`], [`Visible`]: the model — energy, conditionals, free energy, sampling,
//!   monitoring; [`Rbm::train`] with [`CdOptions`]: CD-k and persistent CD, with momentum
//!   and weight decay.
//! - [`Dbn`]: greedy layer-wise pretraining and conversion to a [`crate::model::Sequential`]
//!   ([`sigmoid_stack`], [`load_stack`]).
//! - Autoencoders: networks trained to reproduce their input through a narrower (or
//!   corrupted) code. Bengio et al. (2007) showed that stacking them greedily, like the
//!   RBMs of a DBN, initializes a deep network about as well; denoising autoencoders
//!   (Vincent et al. 2008) close most of the remaining gap. Here an autoencoder is an
//!   ordinary `Sequential` ([`dense_autoencoder`], [`conv_autoencoder`]) trained with the
//!   normal fit loop on its own inputs ([`reconstruction_dataset`]) — binary cross-entropy
//!   against pixel intensities in `[0, 1]`, fused with the final sigmoid.
//!   [`stacked_autoencoders`] pretrains layer by layer, [`sae_classifier`] unrolls.
//! - [`GenerativeDbn`]: the DBN as a generative model of images and labels (label units
//!   in the top-level associative memory), fine-tuned by the up-down algorithm
//!   ([`GenerativeDbn::up_down`]) and sampled for a chosen class.
//! - [`pictures`]: learned filters, samples and reconstructions as PNG grids.
//! - [`Plan`]: the model names [`NAMES`] (`dbn`, `sae`, `autoencoder`, `conv-autoencoder`)
//!   for `strata train`.
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
mod updown;

pub use autoencoder::{
    AutoencoderOptions, Encoder, conv_autoencoder, dense_autoencoder, reconstruction_dataset, reconstructs_input, sae_classifier,
    stacked_autoencoders,
};
pub use cd::{CdOptions, RbmEpoch, RbmGradient};
pub use dbn::{Dbn, load_stack, sigmoid_stack};
pub use plan::{CdSettings, NAMES, Plan, PlanKind, PretrainReport, PretrainSettings, Pretrained};
pub use rbm::{Rbm, Visible};
pub use updown::{DirectedLayer, GenerativeDbn, UpDownEpoch, UpDownOptions};
