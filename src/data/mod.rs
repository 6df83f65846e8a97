//! Data: files → [`Dataset`] → mini-batches.
//!
//! - `idx`: the IDX format of MNIST-style datasets (raw or gzip).
//! - `mnist`: any MNIST-format directory, and dataset names such as `fashion-mnist`.
//! - `dataset`: an in-memory dataset, splits, and seeded shuffled batching.
//! - `normalize`: scaling and standardization.
//! - `augment`: random crops, flips, translations and rotations of training images.

pub mod dataset;
pub mod idx;
pub mod mnist;
pub mod normalize;

pub use dataset::{Batch, Dataset, Target};
pub mod augment;
pub use augment::Augment;
