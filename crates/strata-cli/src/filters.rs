//! `strata filters`: the first layer's learned kernels as an image grid, and optionally one
//! input's activation maps after that layer.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::onnx::load_model;
use strata::plot::tiles::{GridStyle, Tile, save_grid};

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// The model.safetensors written by `strata train`, or an .onnx file to import.
    #[arg(long)]
    model_file: PathBuf,
    /// Where to write the filter grid (PNG).
    #[arg(long)]
    out: PathBuf,
    /// Also draw this image's activation maps after the first layer (PNG/JPEG/PGM or an IDX
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
    let (index, layer) =
        model.layers().iter().enumerate().find(|(_, l)| !l.params().is_empty()).context("the model has no layer with weights")?;
    let w = layer.params()[0].value.clone();
    let style = GridStyle { scale: a.scale.max(1), ..GridStyle::default() };
    let n = match w.shape() {
        // Conv2d: [O, C, KH, KW] -> O tiles of C channels (drawn gray, or RGB for 3)
        &[o, c, kh, kw] => {
            let per = c * kh * kw;
            let tiles: Vec<Tile> = if c == 3 || c == 1 {
                (0..o).map(|i| Tile { values: &w.data()[i * per..(i + 1) * per], channels: c, height: kh, width: kw }).collect()
            } else {
                // Many input channels: one gray tile per (filter, channel) pair, first 8 channels.
                (0..o)
                    .flat_map(|i| (0..c.min(8)).map(move |ch| (i, ch)))
                    .map(|(i, ch)| Tile {
                        values: &w.data()[i * per + ch * kh * kw..i * per + (ch + 1) * kh * kw],
                        channels: 1,
                        height: kh,
                        width: kw,
                    })
                    .collect()
            };
            save_grid(&a.out, &tiles, style)?;
            tiles.len()
        }
        // Dense on images: [in, out] -> each unit's incoming weights as an input-shaped tile
        &[input, units] => {
            let shape = &saved.meta.input_shape;
            let (c, h, wd) = match shape.as_slice() {
                [c, h, w] if c * h * w == input => (*c, *h, *w),
                _ => (1, 1, input),
            };
            let cols: Vec<Vec<f32>> = (0..units).map(|u| (0..input).map(|i| w.data()[i * units + u]).collect()).collect();
            let tiles: Vec<Tile> = cols.iter().map(|v| Tile { values: v, channels: c.min(3), height: h, width: wd }).collect();
            save_grid(&a.out, &tiles, GridStyle { scale: (a.scale / 4).max(1), ..style })?;
            tiles.len()
        }
        other => anyhow::bail!("layer {} ({}) has weights of shape {other:?}, which cannot be drawn", index + 1, layer.kind()),
    };
    println!("wrote {} ({n} filters of layer {} {})", a.out.display(), index + 1, layer.kind());

    if let Some(img) = &a.feature_maps {
        let mut x = strata::data::images::read_images(img, &saved.meta.input_shape)?;
        if x.shape()[0] > 1 {
            x = x.slice(0, 0, 1)?;
        }
        if let Some(s) = &saved.meta.standardize {
            s.apply(&mut x)?;
        }
        let maps = model.activations(&x, index)?;
        let out = a.out.with_file_name(format!("{}-maps.png", a.out.file_stem().and_then(|s| s.to_str()).unwrap_or("filters")));
        let tiles: Vec<Tile> = match maps.shape() {
            &[1, c, h, w] => (0..c)
                .map(|i| Tile { values: &maps.data()[i * h * w..(i + 1) * h * w], channels: 1, height: h, width: w })
                .collect(),
            s => anyhow::bail!("layer {} output {s:?} is not a set of maps", index + 1),
        };
        save_grid(&out, &tiles, GridStyle { scale: (a.scale / 2).max(2), ..style })?;
        println!("wrote {} ({} activation maps)", out.display(), tiles.len());
    }
    Ok(())
}
