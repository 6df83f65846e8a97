//! Files on disk: tensors as safetensors, and atomic writes (a crash never leaves a
//! half-written file behind), TensorBoard event files (`tensorboard`). What a saved model is lives with the model
//! (`model::save_model`); this module only reads and writes bytes safely.

mod atomic;
pub mod tensorboard;
mod tensors;

pub use atomic::{create_dir, write_atomic};
pub use tensors::{load_tensors, save_tensors};
