//! Data: files → [`Dataset`] → mini-batches.
//!
//! - [`Dataset`], [`Target`], [`Batch`]: samples in memory, splits, seeded shuffled batching.
//! - [`Augment`]: random crops, flips, translations and rotations of training images.
//! - [`idx`]: the IDX format of MNIST-style datasets (raw or gzip).
//! - [`mnist`]: any MNIST-format directory, and dataset names such as `fashion-mnist`.
//! - [`cifar`], [`numpy`], [`image_folder`]: CIFAR binary batches, NumPy `.npy`/`.npz`
//!   arrays, folders of pictures by class; [`formats::load`] picks the format of `--data`.
//! - [`images`]: picture or IDX files handed to a trained model.
//! - [`normalize`]: standardization and min-max scaling of inputs.
//! - [`csv`], [`arff`], [`tabular`]: tables of numeric and categorical columns → datasets,
//!   with per-feature [`tabular::Scaling`] fitted on training rows.
//! - [`split`]: train/validation/test splits, k-fold and stratified k-fold.
//! - [`stream`]: pictures read from disk batch by batch when they exceed the cache budget.

pub mod arff;
mod augment;
pub mod cifar;
pub mod csv;
mod dataset;
pub mod formats;
pub mod idx;
pub mod image_folder;
pub mod images;
pub mod mnist;
pub mod normalize;
pub mod numpy;
mod scaling;
pub mod split;
pub mod stream;
pub mod tabular;

pub use augment::Augment;
pub use dataset::{Batch, Dataset, MAX_CLASSES, Target};
