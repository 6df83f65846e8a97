//! Pictures with captions under each: misclassified test images with their true and
//! predicted labels, inputs beside their saliency maps.

use super::tiles::Tile;
use super::{e, render};
use crate::{Error, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// One picture of a captioned grid.
pub struct Captioned<'a> {
    /// The image (1 plane: gray, 3: RGB), stretched from its own min..max.
    pub tile: Tile<'a>,
    /// Draw a one-plane image as a heat map (black, red, yellow, white) instead of gray.
    pub heat: bool,
    /// Lines of text under the picture.
    pub caption: Vec<String>,
}

const CAPTION_SIZE: u32 = 14;

fn text_width(s: &str, size: u32) -> u32 {
    (s.chars().count() as f32 * size as f32 * 0.6).ceil() as u32
}

/// The "hot" colour map: 0 black, then red, yellow, white at 1.
fn heat(v: f32) -> RGBColor {
    let v = v.clamp(0.0, 1.0) * 3.0;
    let c = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    RGBColor(c(v), c(v - 1.0), c(v - 2.0))
}

/// Writes `pictures` in rows of `columns` (each value a `scale`×`scale` block), a caption
/// under each and `title` above, to `path`.
pub fn captioned_grid_png(pictures: &[Captioned], columns: usize, scale: usize, title: &str, path: &Path) -> Result<()> {
    let first = pictures.first().ok_or_else(|| Error::invalid("captioned grid", "no pictures to draw"))?;
    let (th, tw) = (first.tile.height, first.tile.width);
    for p in pictures {
        let t = &p.tile;
        if t.height != th || t.width != tw || !(t.channels == 1 || t.channels == 3) || t.values.len() != t.channels * th * tw {
            return Err(Error::invalid("captioned grid", "pictures differ in size or are not 1 or 3 planes"));
        }
    }
    let s = scale.clamp(1, 32) as u32;
    let lines = pictures.iter().map(|p| p.caption.len()).max().unwrap_or(0) as u32;
    let longest = pictures.iter().flat_map(|p| p.caption.iter()).map(|c| text_width(c, CAPTION_SIZE)).max().unwrap_or(0);
    let cell_w = (tw as u32 * s).max(longest) + 16;
    let cell_h = th as u32 * s + lines * (CAPTION_SIZE + 4) + 16;
    let cols = columns.clamp(1, pictures.len()) as u32;
    let rows = pictures.len().div_ceil(cols as usize) as u32;
    let top = 48u32;
    let w = (cols * cell_w + 16).max(text_width(title, 20) + 40);
    let h = top + rows * cell_h + 8;
    if w > 16_384 || h > 16_384 {
        return Err(Error::invalid("captioned grid", format!("{} pictures make an image of {w}x{h} pixels", pictures.len())));
    }
    render(path, (w, h), |root| {
        let center = |size: u32| TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw_text(title, &center(20), (w as i32 / 2, 14)).map_err(e)?;
        for (i, p) in pictures.iter().enumerate() {
            let (col, row) = (i as u32 % cols, i as u32 / cols);
            let x0 = 8 + col * cell_w + (cell_w - tw as u32 * s) / 2;
            let y0 = top + row * cell_h;
            let t = &p.tile;
            let (lo, hi) = t.values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let span = if hi > lo { hi - lo } else { 1.0 };
            for y in 0..th {
                for x in 0..tw {
                    let at = |c: usize| (t.values[(c.min(t.channels - 1) * th + y) * tw + x] - lo) / span;
                    let color = if p.heat && t.channels == 1 {
                        heat(at(0))
                    } else {
                        let b = |c: usize| (at(c).clamp(0.0, 1.0) * 255.0).round() as u8;
                        RGBColor(b(0), b(1), b(2))
                    };
                    let (px, py) = ((x0 + x as u32 * s) as i32, (y0 + y as u32 * s) as i32);
                    root.draw(&Rectangle::new([(px, py), (px + s as i32, py + s as i32)], color.filled())).map_err(e)?;
                }
            }
            let mid = (8 + col * cell_w + cell_w / 2) as i32;
            for (k, line) in p.caption.iter().enumerate() {
                let y = (y0 + th as u32 * s + 4 + k as u32 * (CAPTION_SIZE + 4)) as i32;
                root.draw_text(line, &center(CAPTION_SIZE), (mid, y)).map_err(e)?;
            }
        }
        Ok(())
    })
}
