//! `strata filters`: a layer's learned kernels as an image grid (the first layer with
//! weights unless `--layer` names another), and optionally one input's activation maps
//! after that layer.

use clap::Args;
use std::path::PathBuf;
use strata::inspect::{draw_feature_maps, draw_filters, layer_index, layer_name};
use strata::onnx::load_model;

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// The model.safetensors written by `strata train`, or an .onnx file to import.
    #[arg(long)]
    model_file: PathBuf,
    /// Where to write the filter grid (PNG).
    #[arg(long)]
    out: PathBuf,
    /// The layer to draw: its name in `strata summary` (conv2d_3) or its position from 1
    /// (default: the first layer with weights).
    #[arg(long, value_name = "NAME|INDEX")]
    layer: Option<String>,
    /// Also draw this image's activation maps after the layer (PNG/JPEG/PGM or an IDX
    /// file, whose first image is used); written next to --out as NAME-maps.png.
    #[arg(long)]
    feature_maps: Option<PathBuf>,
    /// Pixels per weight (1 to 64).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    scale: usize,
    #[command(flatten)]
    normalize: super::normalize::NormalizeFlag,
}

pub fn run(a: FiltersArgs) -> anyhow::Result<()> {
    let mut saved = load_model(&a.model_file)?;
    a.normalize.apply(&a.model_file, &mut saved.meta)?;
    let model = &saved.model;
    let index = layer_index(model, a.layer.as_deref()).map_err(|e| anyhow::anyhow!("invalid --layer: {e}"))?;
    let layer = &model.layers()[index];
    let n = draw_filters(model, index, &saved.meta.input_shape, &a.out, a.scale)?;
    println!("wrote {} ({n} filters of layer {} {})", a.out.display(), index + 1, layer.kind());

    if let Some(img) = &a.feature_maps {
        let mut x = strata::data::images::read_images(img, &saved.meta.input_shape)?;
        if x.shape()[0] > 1 {
            x = x.slice(0, 0, 1)?;
        }
        if let Some(s) = &saved.meta.standardize {
            s.apply(&mut x)?;
        }
        let out = a.out.with_file_name(format!("{}-maps.png", a.out.file_stem().and_then(|s| s.to_str()).unwrap_or("filters")));
        let n = draw_feature_maps(model, index, &x, &out, (a.scale / 2).max(2))?;
        println!("wrote {} ({n} activation maps of {})", out.display(), layer_name(layer.kind(), index));
    }
    Ok(())
}
