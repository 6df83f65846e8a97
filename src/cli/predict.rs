//! `strata predict`: classes of the images in an IDX file or an image file (PNG, JPEG, PGM).

use super::common::print_json;
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use strata::Tensor;
use strata::experiment::load_learner;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The model.safetensors written by `strata train`.
    #[arg(long)]
    model_file: PathBuf,
    /// An IDX images file (e.g. t10k-images-idx3-ubyte.gz), an image file, or (for a model
    /// trained on a table) a .csv/.arff file of rows.
    input: PathBuf,
    /// Show the K most likely classes per image.
    #[arg(long, default_value_t = 1)]
    top: usize,
    /// Print at most this many predictions (all go into the JSON).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print the predictions as JSON on the last line.
    #[arg(long)]
    json: bool,
}

/// Images as [N, C, H, W] in [0, 1], resized to the model's input if it is an image file.
pub fn read_inputs(path: &Path, shape: &[usize]) -> anyhow::Result<Tensor> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let is_image = matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "pgm" | "ppm" | "pnm");
    if !is_image {
        let arr = strata::data::idx::read_idx(path)?;
        let dims = arr.dims.clone();
        let per: usize = shape.iter().product();
        let n = dims.first().copied().unwrap_or(0);
        // Bytes are pixels: scale to [0, 1] as training did.
        let scale = if matches!(arr.data, strata::data::idx::IdxData::U8(_)) { 1.0 / 255.0 } else { 1.0 };
        let values: Vec<f32> = arr.data.to_f32().into_iter().map(|v| v * scale).collect();
        if n == 0 || values.len() != n * per {
            anyhow::bail!(
                "{}: images of shape {:?} do not fit the model input {:?}",
                path.display(),
                &dims[1.min(dims.len())..],
                shape
            );
        }
        let mut full = vec![n];
        full.extend(shape);
        return Ok(Tensor::from_vec(values, &full)?);
    }
    let img = image::open(path).with_context(|| format!("{}: cannot read image", path.display()))?;
    let (c, h, w) = match shape {
        [c, h, w] => (*c, *h, *w),
        [f] => (1, 1, *f),
        _ => anyhow::bail!("the model input {shape:?} is not an image"),
    };
    let img = img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle);
    let data: Vec<f32> = if c == 1 {
        img.to_luma8().pixels().map(|p| p.0[0] as f32 / 255.0).collect()
    } else {
        let rgb = img.to_rgb8();
        (0..c).flat_map(|ch| rgb.pixels().map(move |p| p.0[ch.min(2)] as f32 / 255.0).collect::<Vec<_>>()).collect()
    };
    let mut full = vec![1];
    full.extend(shape);
    Ok(Tensor::from_vec(data, &full)?)
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let (mut model, meta) = load_learner(&a.model_file)?;
    let x = if strata::data::tabular::is_tabular_path(&a.input.to_string_lossy()) {
        super::data::table_inputs(&a.input, &meta)?
    } else {
        let mut x = read_inputs(&a.input, &meta.input_shape)?;
        if let Some(s) = &meta.standardize {
            s.apply(&mut x)?;
        }
        x
    };
    let probs = model.predict_proba(&x)?;
    let c = probs.shape()[1];
    let name = |k: usize| meta.class_names.as_ref().and_then(|n| n.get(k).cloned()).unwrap_or_else(|| k.to_string());
    let mut rows = Vec::new();
    for (i, row) in probs.data().chunks_exact(c).enumerate() {
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&p, &q| row[q].total_cmp(&row[p]));
        let top: Vec<(usize, f32)> = order.iter().take(a.top.max(1)).map(|&k| (k, row[k])).collect();
        if i < a.limit {
            let shown: Vec<String> = top.iter().map(|&(k, p)| format!("{} ({:.3})", name(k), p)).collect();
            println!("{i}: {}", shown.join(", "));
        }
        rows.push(serde_json::json!({
            "index": i,
            "class": top[0].0,
            "name": name(top[0].0),
            "probability": top[0].1,
        }));
    }
    if rows.len() > a.limit {
        println!("... {} more", rows.len() - a.limit);
    }
    if a.json {
        print_json(&serde_json::json!({ "predictions": rows }));
    }
    Ok(())
}
