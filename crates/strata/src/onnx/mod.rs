//! ONNX: saved strata models written as ONNX files, to run in onnxruntime and other
//! engines ([`export_file`]); ONNX files (PyTorch's, Keras', strata's own) read as strata
//! models that evaluate, train and export again ([`import_file`]; [`load_model`] reads either
//! kind of file).
//!
//! The exported graph takes what strata's datasets hold — images as float32 NCHW with
//! pixels in `[0, 1]`, any batch size — and does the rest of strata's preprocessing itself
//! (standardization; a table's scaling), so the same inputs give the same logits. The class
//! names and the preprocessing are written in the model's `metadata_props`
//! (`strata.class_names`, `strata.preprocessing`).
//!
//! ```no_run
//! use strata::onnx::{ExportOptions, export_file};
//! export_file("runs/lenet5/model.safetensors".as_ref(), "lenet5.onnx".as_ref(), &ExportOptions::default())?;
//! # Ok::<(), strata::Error>(())
//! ```

mod export;
mod graph;
mod import;
pub mod proto;
mod recurrent;

pub use export::{DEFAULT_OPSET, ExportOptions, MAX_OPSET, MIN_OPSET, to_onnx, to_onnx_bytes};
pub use import::{SUPPORTED_OPS, import_bytes, import_file, is_onnx_path, normalize_from_str};

use crate::{Error, Result};
use std::path::Path;

/// Exports the model saved at `model_file` to `out` (written atomically). Errors are one
/// line naming the file: the model file when it cannot be read or a layer has no exact
/// ONNX form, the output file when it cannot be written.
pub fn export_file(model_file: &Path, out: &Path, options: &ExportOptions) -> Result<()> {
    options.check()?;
    let saved = load_model(model_file)?;
    let bytes = to_onnx_bytes(&saved, options).map_err(|e| match e {
        Error::Invalid { .. } => e,
        other => Error::data(model_file, format!("cannot export to ONNX: {other}")),
    })?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::io::create_dir(dir)?;
    }
    crate::io::write_atomic(out, &bytes)
}

/// Loads a saved strata model, or imports an ONNX file (`.onnx`, see [`import_file`]): what
/// every `--model-file` accepts. The model layer's own `load_model` reads strata's files only
/// (ONNX sits above it).
pub fn load_model(path: &Path) -> Result<crate::model::SavedModel> {
    if is_onnx_path(path) { import_file(path) } else { crate::model::load_model(path) }
}
