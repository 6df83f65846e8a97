//! One layer's pictures: its learned weights (filters) and the feature maps an input makes
//! at its output. Any layer, named as `strata summary` names it or by its position.

use crate::model::Sequential;
use crate::plot::tiles::{GridStyle, Tile, grid_png, save_grid};
use crate::{Error, Result, Tensor};
use std::path::Path;

/// The index (0-based) of the layer `spec` names: `conv2d_3` (the names of `strata summary`,
/// kind and 1-based position), or a 1-based position `3`. `None` picks the first layer with
/// weights.
///
/// ```
/// use strata::prelude::*;
/// let mut m = Sequential::new().add(Conv2d::new(4, 3)).add(Flatten).add(Dense::new(2));
/// m.build(&[1, 8, 8]).unwrap();
/// assert_eq!(strata::inspect::layer_index(&m, Some("dense_3")).unwrap(), 2);
/// assert_eq!(strata::inspect::layer_index(&m, Some("1")).unwrap(), 0);
/// assert_eq!(strata::inspect::layer_index(&m, None).unwrap(), 0);
/// assert!(strata::inspect::layer_index(&m, Some("conv2d_2")).is_err());
/// ```
pub fn layer_index(model: &Sequential, spec: Option<&str>) -> Result<usize> {
    let layers = model.layers();
    let names: Vec<String> = layers.iter().enumerate().map(|(i, l)| layer_name(l.kind(), i)).collect();
    let Some(spec) = spec else {
        return layers
            .iter()
            .position(|l| !l.params().is_empty())
            .ok_or_else(|| Error::invalid("layer", "the model has no layer with weights"));
    };
    if let Ok(k) = spec.parse::<usize>() {
        return match k {
            1.. if k <= layers.len() => Ok(k - 1),
            _ => Err(Error::invalid("layer", format!("{k}: the model has layers 1 to {}", layers.len()))),
        };
    }
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(spec))
        .ok_or_else(|| Error::invalid("layer", format!("'{spec}' is not a layer of the model ({})", names.join(", "))))
}

/// The name `strata summary` gives layer `index` (0-based) of kind `kind`: `conv2d_1`.
pub fn layer_name(kind: &str, index: usize) -> String {
    format!("{}_{}", kind.to_ascii_lowercase(), index + 1)
}

/// Draws layer `index`'s weights as a grid to `path` and returns how many tiles it drew:
/// a convolution's kernels (one tile per filter, RGB when it reads 3 channels; one per
/// filter and input channel, the first 8 channels, otherwise), a dense layer's units as
/// input-shaped pictures when it reads the model's images, else its weight matrix as one
/// picture (units down, inputs across).
///
/// Errors: the layer has no weights, or weights that are not a matrix or a kernel bank.
pub fn draw_filters(model: &Sequential, index: usize, input_shape: &[usize], path: &Path, scale: usize) -> Result<usize> {
    let (png, n) = filters_png(model, index, input_shape, scale).map_err(|e| match e {
        Error::Data { reason, .. } => Error::data(path, reason),
        other => other,
    })?;
    crate::io::write_atomic(path, &png)?;
    Ok(n)
}

/// [`draw_filters`]'s picture as PNG bytes, and its tile count.
pub fn filters_png(model: &Sequential, index: usize, input_shape: &[usize], scale: usize) -> Result<(Vec<u8>, usize)> {
    let layer = model.layers().get(index).ok_or_else(|| Error::invalid("layer", format!("no layer {}", index + 1)))?;
    let what = || format!("layer {} ({})", layer_name(layer.kind(), index), layer.kind());
    let params = layer.params();
    let w = &params.first().ok_or_else(|| Error::invalid("layer", format!("{} has no weights to draw", what())))?.value;
    let style = GridStyle { scale: scale.max(1), ..GridStyle::default() };
    match *w.shape() {
        [o, c, kh, kw] => {
            let per = c * kh * kw;
            let tiles: Vec<Tile> = if c == 3 || c == 1 {
                (0..o).map(|i| Tile { values: &w.data()[i * per..(i + 1) * per], channels: c, height: kh, width: kw }).collect()
            } else {
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
            // Rows of 8 input channels per filter read as one filter per row.
            let columns = if c > 3 { c.min(8) } else { 0 };
            Ok((grid_png(&tiles, GridStyle { columns, ..style })?, tiles.len()))
        }
        [input, units] => {
            let (c, h, wd) = match input_shape {
                [c, h, w] if index == 0 && c * h * w == input && (*c == 1 || *c == 3) => (*c, *h, *w),
                _ => {
                    // The weight matrix, units down and inputs across, at a scale that fits.
                    let t: Vec<f32> =
                        (0..units).flat_map(|u| (0..input).map(move |i| (i, u))).map(|(i, u)| w.data()[i * units + u]).collect();
                    let fit = (4096 / input.max(units)).clamp(1, 8);
                    let tile = Tile { values: &t, channels: 1, height: units, width: input };
                    return Ok((grid_png(&[tile], GridStyle { scale: fit.min(style.scale), ..style })?, 1));
                }
            };
            let cols: Vec<Vec<f32>> = (0..units).map(|u| (0..input).map(|i| w.data()[i * units + u]).collect()).collect();
            let tiles: Vec<Tile> = cols.iter().map(|v| Tile { values: v, channels: c, height: h, width: wd }).collect();
            Ok((grid_png(&tiles, GridStyle { scale: (scale / 4).max(1), ..style })?, tiles.len()))
        }
        ref other => Err(Error::invalid("layer", format!("{} has weights of shape {other:?}, which cannot be drawn", what()))),
    }
}

/// Draws the output of layer `index` for one preprocessed input `x` `[1, ...]` to `path`:
/// one gray tile per channel of a `[C, H, W]` output, one strip of values otherwise.
/// Returns the number of tiles.
pub fn draw_feature_maps(model: &Sequential, index: usize, x: &Tensor, path: &Path, scale: usize) -> Result<usize> {
    let maps = model.activations(x, index)?;
    let style = GridStyle { scale: scale.max(1), ..GridStyle::default() };
    let tiles: Vec<Tile> = match *maps.shape() {
        [1, c, h, w] => {
            (0..c).map(|i| Tile { values: &maps.data()[i * h * w..(i + 1) * h * w], channels: 1, height: h, width: w }).collect()
        }
        [1, n] => {
            // A vector: rows of at most 32 values.
            let width = n.min(32);
            if n % width != 0 {
                let mut padded = maps.data().to_vec();
                padded.resize(n.div_ceil(width) * width, 0.0);
                let t = Tile { values: &padded, channels: 1, height: n.div_ceil(width), width };
                save_grid(path, &[t], style)?;
                return Ok(1);
            }
            vec![Tile { values: maps.data(), channels: 1, height: n / width, width }]
        }
        ref s => return Err(Error::bad_shape("feature maps", s, "is neither [1, C, H, W] nor [1, N]")),
    };
    save_grid(path, &tiles, style)?;
    Ok(tiles.len())
}
