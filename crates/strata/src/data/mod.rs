//! Data: files → [`Dataset`] → mini-batches.
//!
//! - [`Dataset`], [`Target`], [`Batch`]: samples in memory, splits, seeded shuffled batching.
//! - [`Augment`]: random crops, flips, translations and rotations of training images.
//! - [`idx`]: the IDX format of MNIST-style datasets (raw or gzip).
//! - [`mnist`]: any MNIST-format directory, and dataset names such as `fashion-mnist`.
//! - [`images`]: picture or IDX files handed to a trained model.
//! - [`normalize`]: standardization and min-max scaling of inputs.
//! - [`csv`], [`arff`], [`tabular`]: tables of numeric and categorical columns → datasets,
//!   with per-feature [`tabular::Scaling`] fitted on training rows.
//! - [`split`]: train/validation/test splits, k-fold and stratified k-fold.

pub mod arff;
mod augment;
pub mod csv;
mod dataset;
pub mod idx;
pub mod images;
pub mod mnist;
pub mod normalize;
mod scaling;
pub mod split;
pub mod tabular;

pub use augment::Augment;
pub use dataset::{Batch, Dataset, MAX_CLASSES, Target};
