//! Data: files → [`Dataset`] → mini-batches.
//!
//! - `idx`: the IDX format of MNIST-style datasets (raw or gzip).
//! - `mnist`: any MNIST-format directory, and dataset names such as `fashion-mnist`.
//! - `dataset`: an in-memory dataset, splits, and seeded shuffled batching.
//! - `normalize`: scaling and standardization.
//! - `augment`: random crops, flips, translations and rotations of training images.
//! - `csv`, `arff`, `tabular`: tables of numeric and categorical columns → datasets.
//! - `scaling`: per-feature scaling fitted on training rows, with missing values.
//! - `split`: train/validation/test splits, k-fold and stratified k-fold.

pub mod arff;
pub mod csv;
pub mod dataset;
pub mod idx;
pub mod images;
pub mod mnist;
pub mod normalize;
pub mod scaling;
pub mod split;
pub mod tabular;

pub use dataset::{Batch, Dataset, Target};
pub mod augment;
pub use augment::Augment;
