//! `--normalize MEAN/STD`: the input standardization an imported ONNX network was trained
//! with (imported networks otherwise receive pixels in [0, 1], torchvision's `ToTensor`).

use clap::Args;
use std::path::Path;
use strata::model::ModelMeta;

/// The `--normalize` flag of the commands that read a model file.
#[derive(Args, Clone, Debug, Default)]
pub struct NormalizeFlag {
    /// For an imported .onnx network trained on standardized pixels: MEAN/STD, one value or
    /// one per channel (0.2860/0.3530, 0.485,0.456,0.406/0.229,0.224,0.225); without it the
    /// network receives pixels in [0, 1].
    #[arg(long, value_name = "MEAN/STD")]
    pub normalize: Option<String>,
}

impl NormalizeFlag {
    /// The standardization for a model of `input_shape`, if the flag was given.
    pub fn standardizer(&self, input_shape: &[usize]) -> anyhow::Result<Option<strata::data::normalize::Standardizer>> {
        let channels = if input_shape.len() == 3 { input_shape[0] } else { 1 };
        Ok(self.normalize.as_deref().map(|s| strata::onnx::normalize_from_str(s, channels)).transpose()?)
    }

    /// Sets the standardization of the model read from `file`: only an imported network
    /// takes one, and only when its graph does not standardize already.
    pub fn apply(&self, file: &Path, meta: &mut ModelMeta) -> anyhow::Result<()> {
        let Some(s) = self.standardizer(&meta.input_shape)? else { return Ok(()) };
        anyhow::ensure!(
            strata::onnx::is_onnx_path(file),
            "invalid --normalize: {} is a strata model, which carries its own standardization (--normalize is for imported .onnx networks)",
            file.display()
        );
        anyhow::ensure!(
            meta.standardize.is_none(),
            "invalid --normalize: {} standardizes its input in its graph already",
            file.display()
        );
        meta.standardize = Some(s);
        Ok(())
    }
}
