//! A 2-D embedding of samples (e.g. the penultimate layer projected by PCA): one dot per
//! sample, coloured by class, with a legend naming the classes.

use super::{PALETTE, e, render};
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// Writes a scatter of `points` coloured by `classes` (same length) to `path` (900×700);
/// `names` label the classes in the legend, `axes` the two axes.
pub fn embedding_png(
    points: &[(f32, f32)],
    classes: &[usize],
    names: Option<&[String]>,
    axes: (&str, &str),
    title: &str,
    path: &Path,
) -> Result<()> {
    let range = |f: &dyn Fn(&(f32, f32)) -> f32| {
        let (lo, hi) = points
            .iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if lo < hi { (lo as f64, hi as f64) } else { (-1.0, 1.0) }
    };
    let ((x0, x1), (y0, y1)) = (range(&|p| p.0), range(&|p| p.1));
    let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.05);
    let count = classes.iter().copied().max().map_or(0, |m| m + 1);
    render(path, (900, 700), |root| {
        let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
        // The legend goes in a column of its own, so it never hides dots.
        let (plot, legend) = root.split_horizontally(720);
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        for c in 0..count {
            let color = PALETTE[c % PALETTE.len()];
            let dots = points.iter().zip(classes).filter(|(_, k)| **k == c).map(|(p, _)| (p.0 as f64, p.1 as f64));
            chart.draw_series(dots.map(|p| Circle::new(p, 2, color.mix(0.75).filled()))).map_err(e)?;
        }
        let style = TextStyle::from(("sans-serif", 15).into_font());
        for c in 0..count {
            let y = 40 + 26 * c as i32;
            let color = PALETTE[c % PALETTE.len()];
            legend.draw(&Circle::new((14, y), 6, color.filled())).map_err(e)?;
            let name = names.and_then(|n| n.get(c).cloned()).unwrap_or_else(|| format!("class {c}"));
            legend.draw_text(&name, &style, (28, y - 8)).map_err(e)?;
        }
        Ok(())
    })
}
