//! Learning curves: training and validation loss (left) and accuracy (right) per epoch.

use super::{PALETTE, e, render};
use crate::Result;
use crate::model::History;
use plotters::prelude::*;
use std::path::Path;

type Series = (&'static str, Vec<(f64, f64)>);

fn series(h: &History, f: impl Fn(&crate::model::EpochRecord) -> Option<f32>) -> Vec<(f64, f64)> {
    h.epochs.iter().filter_map(|r| f(r).filter(|v| v.is_finite()).map(|v| (r.epoch as f64, v as f64))).collect()
}

/// Writes `curves.png`-style learning curves of `history` to `path` (1200×500).
///
/// ```no_run
/// # let history = strata::model::History::default();
/// strata::plot::curves_png(&history, "mlp on iris", std::path::Path::new("curves.png")).unwrap();
/// ```
pub fn curves_png(history: &History, title: &str, path: &Path) -> Result<()> {
    let losses: Vec<Series> =
        vec![("training loss", series(history, |r| Some(r.loss))), ("validation loss", series(history, |r| r.val_loss))];
    let accs: Vec<Series> = vec![
        ("training accuracy", series(history, |r| r.accuracy)),
        ("validation accuracy", series(history, |r| r.val_accuracy)),
    ];
    let last = history.epochs.last().map_or(1, |r| r.epoch).max(2) as f64;
    let first = history.epochs.first().map_or(1, |r| r.epoch) as f64;
    render(path, (1200, 500), |root| {
        let root = root.titled(title, ("sans-serif", 24)).map_err(e)?;
        let panels = root.split_evenly((1, 2));
        for (panel, (name, data)) in panels.iter().zip([("loss", &losses), ("accuracy", &accs)]) {
            let values = data.iter().flat_map(|(_, s)| s.iter().map(|p| p.1));
            let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
            let pad = ((hi - lo) * 0.05).max(1e-3);
            let (y0, y1) =
                if name == "accuracy" { ((lo - pad).max(0.0), (hi + pad).min(1.0)) } else { ((lo - pad).max(0.0), hi + pad) };
            let mut chart = ChartBuilder::on(panel)
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .caption(name, ("sans-serif", 20))
                .build_cartesian_2d(first..last, y0..y1)
                .map_err(e)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_desc(name)
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 16))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(e)?;
            for (i, (label, points)) in data.iter().enumerate() {
                if points.is_empty() {
                    continue;
                }
                let color = PALETTE[i];
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                    .map_err(e)?
                    .label(*label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
            let position = if name == "loss" { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight };
            chart
                .configure_series_labels()
                .position(position)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(e)?;
        }
        Ok(())
    })
}
