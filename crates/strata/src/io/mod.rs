//! Saving and loading: weights as safetensors, the model description as JSON beside them,
//! every file written atomically (a crash never leaves a half-written model behind).

mod atomic;
mod model_file;
mod spec;
mod tensors;

pub use atomic::write_atomic;
pub use model_file::{ModelMeta, SavedModel, description_path, load_model, model_meta, read_meta, save_model, save_model_meta};
pub use spec::{ModelSpec, Recipe};
pub use tensors::{load_tensors, save_tensors};
