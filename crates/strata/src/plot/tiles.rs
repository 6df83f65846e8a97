//! Image grids: many small grayscale (or RGB) tiles side by side — learned filters, feature
//! maps, RBM weights, generated samples — written as one PNG.

use crate::{Error, Result};
use std::path::Path;

/// One tile: `channels` planes of `height` x `width` values (1 plane: gray, 3: RGB).
pub struct Tile<'a> {
    /// The values, plane after plane (`[channels, height, width]`), any range (scaled per tile).
    pub values: &'a [f32],
    /// Planes: 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Rows per plane.
    pub height: usize,
    /// Columns per plane.
    pub width: usize,
}

/// Layout and scaling of a grid.
#[derive(Clone, Copy, Debug)]
pub struct GridStyle {
    /// Each value becomes a `scale` x `scale` block of pixels.
    pub scale: usize,
    /// Pixels between tiles.
    pub gap: usize,
    /// Tiles per row (0: as square as possible).
    pub columns: usize,
    /// Stretch each tile's own min..max to black..white (otherwise one range for all).
    pub per_tile_contrast: bool,
}

impl Default for GridStyle {
    fn default() -> Self {
        GridStyle { scale: 8, gap: 2, columns: 0, per_tile_contrast: true }
    }
}

fn range(values: &[f32]) -> (f32, f32) {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if hi > lo { (lo, hi) } else { (lo, lo + 1.0) }
}

/// The largest side of a grid image, in pixels: more is unviewable and, at three bytes a
/// pixel, a needless allocation.
const MAX_SIDE: usize = 16_384;

/// Draws `tiles` in a grid and writes a PNG (atomically) to `path`.
pub fn save_grid(path: &Path, tiles: &[Tile], style: GridStyle) -> Result<()> {
    let bytes = grid_png(tiles, style).map_err(|e| match e {
        Error::Data { reason, .. } => Error::data(path, reason),
        other => other,
    })?;
    crate::io::write_atomic(path, &bytes)
}

/// Draws `tiles` in a grid and encodes it as PNG (for files, TensorBoard images, HTML).
pub fn grid_png(tiles: &[Tile], style: GridStyle) -> Result<Vec<u8>> {
    let first = tiles.first().ok_or_else(|| Error::invalid("image grid", "no tiles to draw"))?;
    let (th, tw, tc) = (first.height, first.width, first.channels);
    if tiles.iter().any(|t| t.height != th || t.width != tw || t.channels != tc || t.values.len() != tc * th * tw) {
        return Err(Error::invalid("image grid", "tiles differ in size"));
    }
    if tc != 1 && tc != 3 {
        return Err(Error::invalid("image grid", format!("{tc} channels cannot be drawn (1 or 3)")));
    }
    let cols = if style.columns > 0 { style.columns } else { (tiles.len() as f64).sqrt().ceil() as usize };
    let rows = tiles.len().div_ceil(cols);
    let s = style.scale.max(1);
    let side = |n: usize, t: usize| n.checked_mul(t.checked_mul(s)?.checked_add(style.gap)?)?.checked_add(style.gap);
    let (img_w, img_h) = match (side(cols, tw), side(rows, th)) {
        (Some(w), Some(h)) if w <= MAX_SIDE && h <= MAX_SIDE => (w, h),
        _ => {
            let reason = format!("{} tiles of {th}x{tw} at {s} pixels per value exceed {MAX_SIDE} pixels a side", tiles.len());
            return Err(Error::invalid("image grid", reason));
        }
    };
    let (cell_w, cell_h) = (tw * s + style.gap, th * s + style.gap);
    let mut img = image::RgbImage::from_pixel(img_w as u32, img_h as u32, image::Rgb([64, 64, 64]));
    let global = range(&tiles.iter().flat_map(|t| t.values.iter().copied()).collect::<Vec<_>>());
    for (i, t) in tiles.iter().enumerate() {
        let (lo, hi) = if style.per_tile_contrast { range(t.values) } else { global };
        let (x0, y0) = (style.gap + (i % cols) * cell_w, style.gap + (i / cols) * cell_h);
        for y in 0..th {
            for x in 0..tw {
                let px = |c: usize| {
                    let v = t.values[(c.min(tc - 1) * th + y) * tw + x];
                    (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let rgb = image::Rgb([px(0), px(1), px(2)]);
                for dy in 0..s {
                    for dx in 0..s {
                        img.put_pixel((x0 + x * s + dx) as u32, (y0 + y * s + dy) as u32, rgb);
                    }
                }
            }
        }
    }
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::data("PNG", format!("cannot encode: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_expected_size_and_contrast() {
        let a: Vec<f32> = (0..4).map(|v| v as f32).collect();
        let b = vec![1.0; 4];
        let tiles =
            [Tile { values: &a, channels: 1, height: 2, width: 2 }, Tile { values: &b, channels: 1, height: 2, width: 2 }];
        let dir = std::env::temp_dir().join(format!("strata-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.png");
        save_grid(&path, &tiles, GridStyle { scale: 3, gap: 1, columns: 2, per_tile_contrast: true }).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (2 * 7 + 1, 7 + 1));
        // first tile: top-left value 0 is black, bottom-right value 3 is white
        assert_eq!(img.get_pixel(1, 1).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(1 + 5, 1 + 5).0, [255, 255, 255]);
        std::fs::remove_dir_all(&dir).unwrap();
        let bad = [Tile { values: &a, channels: 2, height: 1, width: 2 }];
        assert!(save_grid(&path, &bad, GridStyle::default()).is_err());
    }
}
