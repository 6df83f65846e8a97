//! `strata inspect`: pictures of what a trained classifier does on its test data — any
//! layer's filters and feature maps, the most confidently misclassified images, saliency
//! maps, the penultimate layer in 2-D, the confusion matrix beside per-class figures, ROC.

use super::output::print_json;
use super::train_flags::DataFlags;
use clap::Args;
use std::path::{Path, PathBuf};
use strata::data::formats::LoadOptions;
use strata::experiment::load_for_eval_with;
use strata::inspect::{InspectOptions, Inspection, inspect};
use strata::model::SavedModel;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The model.safetensors written by `strata train` (model.json beside it), or an .onnx file.
    #[arg(long)]
    model_file: PathBuf,
    /// The data the model was trained on (its test part is used): a dataset name or
    /// directory, an .npz file, or the .csv/.arff table (its held-out rows).
    #[arg(long)]
    data: String,
    /// Folder for the pictures (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The layer whose filters and feature maps are drawn: its name in `strata summary`
    /// (conv2d_3) or its position from 1 (default: the first layer with weights).
    #[arg(long, value_name = "NAME|INDEX")]
    layer: Option<String>,
    /// Misclassified test images in the grid (most confident first).
    #[arg(long, default_value_t = 24, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=200))]
    mistakes: usize,
    /// Test images with a saliency map.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=64))]
    saliency: usize,
    /// Test samples in the embedding plot (the first ones).
    #[arg(long, default_value_t = 2000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=20000))]
    embedding_samples: usize,
    /// Pixels per weight in the filter grid (1 to 64).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    scale: usize,
    /// For a folder of pictures without train/ and test/: the fraction held out in training.
    #[arg(long, default_value_t = 0.2)]
    test_split: f32,
    #[command(flatten)]
    images: DataFlags,
    #[command(flatten)]
    normalize: super::normalize::NormalizeFlag,
    /// Print a JSON summary (pictures, per-class figures) as the last line of stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: InspectArgs) -> anyhow::Result<()> {
    let opts = InspectOptions {
        layer: a.layer.clone(),
        mistakes: a.mistakes,
        saliency: a.saliency,
        embedding_samples: a.embedding_samples,
        scale: a.scale,
    };
    let mut saved = strata::onnx::load_model(&a.model_file)?;
    a.normalize.apply(&a.model_file, &mut saved.meta)?;
    let images = a.images.options(a.test_split, saved.meta.seed)?;
    let found = inspect_model(&saved, &a.data, &images, &opts, &a.out)?;
    println!(
        "{}: test accuracy {:.4}, test loss {:.4} on {} samples",
        saved.meta.name, found.report.accuracy, found.loss, found.samples
    );
    print!("{}", found.report.to_table());
    for p in &found.pictures {
        println!("wrote {} ({})", p.path.display(), p.caption);
    }
    if a.json {
        print_json(&serde_json::to_value(&found)?);
    }
    Ok(())
}

/// The test part of `data` as the model reads it (before its standardization), and the
/// pictures of `saved` drawn from it into `out`.
pub(crate) fn inspect_model(
    saved: &SavedModel,
    data: &str,
    images: &LoadOptions,
    opts: &InspectOptions,
    out: &Path,
) -> anyhow::Result<Inspection> {
    anyhow::ensure!(saved.meta.target_scaling.is_none(), "{} is a regression model: inspect draws classifiers", saved.meta.name);
    anyhow::ensure!(
        !strata::pretrain::reconstructs_input(&saved.model),
        "{} reconstructs its input (an autoencoder): inspect draws classifiers",
        saved.meta.name
    );
    // The pictures show the images as they are; the network gets them standardized.
    let mut raw_meta = saved.meta.clone();
    raw_meta.standardize = None;
    let (test, note) = load_for_eval_with(data, &raw_meta, images)?;
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    Ok(inspect(&saved.model, &saved.meta, &test, opts, out)?)
}
