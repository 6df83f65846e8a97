//! Pictures: image grids of filters and feature maps (tiles); PNG charts for experiments:
//! learning curves, confusion matrices (with per-class figures), ROC curves, 2-D embeddings,
//! captioned picture grids (misclassified images, saliency maps), and comparison charts of
//! experiments (several panels of named lines).
//!
//! Drawn with `plotters` into an RGB buffer and encoded with `image`; text uses DejaVu Sans
//! embedded in the binary (the `dejavu` crate), so labels render the same on any machine
//! without system fonts. Files are written atomically.

mod captioned;
mod confusion;
mod curves;
mod embedding;
mod lines;
mod roc;
pub mod tiles;

pub use captioned::{Captioned, captioned_grid_png};
pub use confusion::{confusion_png, confusion_report_png};
pub use curves::curves_png;
pub use embedding::embedding_png;
pub use lines::{Legend, LineChart, Panel, Series, lines_png};
pub use roc::roc_png;

use crate::io::write_atomic;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Registers the embedded font under plotters' "sans-serif" family (once per process).
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Colours of successive series (Tableau 10, readable on white; distinct for 10 classes).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws with `draw` on a white `w`×`h` canvas and writes it to `path` as PNG.
pub(crate) fn render(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    register_fonts();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| Error::data(path, format!("cannot draw: {e}")))?;
        draw(&root).map_err(|e| Error::data(path, format!("cannot draw: {e}")))?;
        root.present().map_err(|e| Error::data(path, format!("cannot draw: {e}")))?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| Error::data(path, "image buffer has the wrong size"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).map_err(|e| Error::data(path, format!("cannot encode PNG: {e}")))?;
    write_atomic(path, png.get_ref())
}

/// Turns any displayable drawing error into a `String` (for `?` inside `render`).
pub(crate) fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}
