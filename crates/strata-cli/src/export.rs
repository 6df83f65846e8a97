//! `strata export`: a saved model as an ONNX file.

use clap::Args;
use std::path::PathBuf;
use strata::onnx::{DEFAULT_OPSET, ExportOptions, export_file};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model.safetensors written by `strata train`.
    #[arg(long)]
    model_file: PathBuf,
    /// The ONNX file to write (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// ONNX operator set version (13 to 21).
    #[arg(long, default_value_t = DEFAULT_OPSET)]
    opset: i64,
    /// End the graph with a softmax (class probabilities) instead of the logits.
    #[arg(long)]
    softmax: bool,
}

pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    export_file(&a.model_file, &a.out, &ExportOptions { opset: a.opset, softmax: a.softmax })?;
    println!("wrote {} (opset {}, output {})", a.out.display(), a.opset, if a.softmax { "probabilities" } else { "logits" });
    Ok(())
}
