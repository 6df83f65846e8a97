//! Comparison charts: a grid of panels, each with named line series (solid or dashed,
//! with or without point markers) and optionally logarithmic axes. The experiments of
//! `strata lab` draw their figures with it.

use super::{PALETTE, e, render};
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// One line of a [`Panel`].
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// `(x, y)` points in drawing order; non-finite points are left out.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette (so related series share a colour).
    pub colour: usize,
    /// Dashed instead of solid (e.g. training beside a solid test curve).
    pub dashed: bool,
    /// A dot at every point (for sparse x values such as depths).
    pub markers: bool,
}

impl Series {
    /// A solid line in palette colour `colour`.
    pub fn new(label: impl Into<String>, colour: usize, points: Vec<(f64, f64)>) -> Series {
        Series { label: label.into(), points, colour, dashed: false, markers: false }
    }
    /// Draws it dashed.
    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }
    /// Marks every point.
    pub fn markers(mut self) -> Series {
        self.markers = true;
        self
    }
}

/// Where a panel's legend sits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Legend {
    /// Top right (falling curves such as losses).
    #[default]
    UpperRight,
    /// Bottom right (rising curves such as accuracies).
    LowerRight,
    /// Top left.
    UpperLeft,
    /// Bottom left.
    LowerLeft,
}

/// One chart of the grid.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// The caption above it.
    pub title: String,
    /// The x axis' description.
    pub x_label: String,
    /// The y axis' description.
    pub y_label: String,
    /// Logarithmic x axis (labels at powers of ten).
    pub log_x: bool,
    /// Logarithmic y axis (labels at powers of ten; points at or below zero left out).
    pub log_y: bool,
    /// Fixed y range; default: the data's, padded.
    pub y_range: Option<(f64, f64)>,
    /// Where the legend sits.
    pub legend: Legend,
    /// The lines.
    pub series: Vec<Series>,
}

/// A titled grid of panels, `columns` wide.
#[derive(Clone, Debug, Default)]
pub struct LineChart {
    /// The title over all panels.
    pub title: String,
    /// Panels per row (at least 1).
    pub columns: usize,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
}

/// Width and height of one panel in pixels.
const PANEL: (u32, u32) = (620, 460);

/// Writes `chart` as PNG to `path`.
///
/// ```no_run
/// use strata::plot::{LineChart, Panel, Series, lines_png};
/// let panel = Panel {
///     title: "XOR".into(),
///     x_label: "hidden layers".into(),
///     y_label: "accuracy".into(),
///     series: vec![Series::new("sigmoid", 0, vec![(2.0, 1.0), (10.0, 0.5)]).markers()],
///     ..Panel::default()
/// };
/// let chart = LineChart { title: "depth".into(), columns: 1, panels: vec![panel] };
/// lines_png(&chart, std::path::Path::new("xor.png")).unwrap();
/// ```
pub fn lines_png(chart: &LineChart, path: &Path) -> Result<()> {
    if chart.panels.is_empty() {
        return Err(Error::invalid("chart", "has no panels"));
    }
    let columns = chart.columns.clamp(1, chart.panels.len());
    let rows = chart.panels.len().div_ceil(columns);
    let size = (PANEL.0 * columns as u32, PANEL.1 * rows as u32 + 50);
    render(path, size, |root| {
        // A long title over a narrow chart gets a smaller font rather than clipped ends
        // (DejaVu Sans averages about 0.6 em per character).
        let fit = (size.0 as f64 / (0.6 * chart.title.chars().count().max(1) as f64)).floor() as u32;
        let root = root.titled(&chart.title, ("sans-serif", fit.clamp(12, 24))).map_err(e)?;
        let areas = root.split_evenly((rows, columns));
        for (area, panel) in areas.iter().zip(&chart.panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    })
}

/// log10 of `v` when the axis is logarithmic (None for v <= 0), else `v`.
fn axis_value(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log { (v > 0.0).then(|| v.log10()) } else { Some(v) }
}

/// The range of `values`, padded by 5% (and at least `min_pad`), or (0, 1) when empty.
fn padded_range(values: impl Iterator<Item = f64>, min_pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(min_pad);
    (lo - pad, hi + pad)
}

/// A tick label: on a log axis, the power of ten at whole exponents and nothing between.
fn tick_label(v: f64, log: bool) -> String {
    if !log {
        return if v.abs() >= 1000.0 || (v.fract().abs() < 1e-9 && v.abs() >= 1.0) {
            format!("{v:.0}")
        } else {
            let s = format!("{v:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
    }
    if (v - v.round()).abs() > 1e-6 {
        return String::new();
    }
    let p = v.round() as i32;
    match p {
        0..=3 => format!("{}", 10i64.pow(p as u32)),
        4..=5 => format!("{}k", 10i64.pow(p as u32 - 3)),
        _ => format!("1e{p}"),
    }
}

fn draw_panel(area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, panel: &Panel) -> std::result::Result<(), String> {
    let series: Vec<(usize, Vec<(f64, f64)>)> = panel
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let pts =
                s.points.iter().filter_map(|&(x, y)| Some((axis_value(x, panel.log_x)?, axis_value(y, panel.log_y)?))).collect();
            (i, pts)
        })
        .collect();
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let (mut x0, mut x1) = padded_range(xs, 0.0);
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let (y0, y1) = match panel.y_range {
        Some((a, b)) => (axis_value(a, panel.log_y).unwrap_or(0.0), axis_value(b, panel.log_y).unwrap_or(1.0)),
        None => padded_range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)), 1e-3),
    };
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .caption(&panel.title, ("sans-serif", 19))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let (log_x, log_y) = (panel.log_x, panel.log_y);
    let x_fmt = move |v: &f64| tick_label(*v, log_x);
    let y_fmt = move |v: &f64| tick_label(*v, log_y);
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(e)?;
    for (i, points) in &series {
        let s = &panel.series[*i];
        if points.is_empty() {
            continue;
        }
        let colour = PALETTE[s.colour % PALETTE.len()];
        // Marked series are sparse and often coincide: earlier ones are drawn wider, so a
        // line hidden under a later one still shows at its edges.
        let width = if s.markers { 2 + (series.len() - 1 - i).min(3) as u32 } else { 2 };
        let style = colour.stroke_width(width);
        let dashed = s.dashed;
        // Legend marks are drawn relative to the legend entry's position: two segments,
        // with a gap between them for a dashed line.
        let gap = if dashed { 6 } else { 0 };
        let legend = move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (10 - gap / 2, 0)], style)
                + PathElement::new(vec![(10 + gap / 2, 0), (20, 0)], style)
        };
        let drawn = if s.dashed {
            chart.draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style)).map_err(e)?
        } else {
            chart.draw_series(LineSeries::new(points.iter().copied(), style)).map_err(e)?
        };
        drawn.label(s.label.as_str()).legend(legend);
        if s.markers {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, width + 2, colour.filled()))).map_err(e)?;
        }
    }
    let position = match panel.legend {
        Legend::UpperRight => SeriesLabelPosition::UpperRight,
        Legend::LowerRight => SeriesLabelPosition::LowerRight,
        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
    };
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_label_whole_powers_only() {
        assert_eq!(tick_label(2.0, true), "100");
        assert_eq!(tick_label(4.0, true), "10k");
        assert_eq!(tick_label(2.5, true), "");
        assert_eq!(tick_label(-3.0, true), "1e-3");
        assert_eq!(tick_label(0.25, false), "0.25");
        assert_eq!(tick_label(10.0, false), "10");
    }

    #[test]
    fn log_axes_drop_non_positive_values() {
        assert_eq!(axis_value(100.0, true), Some(2.0));
        assert_eq!(axis_value(0.0, true), None);
        assert_eq!(axis_value(0.0, false), Some(0.0));
        assert_eq!(axis_value(f64::NAN, false), None);
    }

    #[test]
    fn writes_a_png_of_the_grid_size() {
        let dir = std::env::temp_dir().join(format!("strata-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("chart.png");
        let panel = |log| Panel {
            title: "p".into(),
            log_x: log,
            series: vec![Series::new("a", 0, vec![(1.0, 0.5), (100.0, 0.9)]).markers(), Series::new("b", 1, vec![]).dashed()],
            ..Panel::default()
        };
        let chart = LineChart { title: "t".into(), columns: 2, panels: vec![panel(true), panel(false), panel(true)] };
        lines_png(&chart, &path).unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (2 * PANEL.0, 2 * PANEL.1 + 50));
        assert!(lines_png(&LineChart::default(), &path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
