//! ROC curves: one line per curve with its AUC in the legend, and the chance diagonal.

use super::{PALETTE, e, render};
use crate::Result;
use crate::metrics::RocCurve;
use plotters::prelude::*;
use std::path::Path;

/// Writes the ROC `curves` (label, curve) to `path` (700×650).
pub fn roc_png(curves: &[(String, RocCurve)], title: &str, path: &Path) -> Result<()> {
    render(path, (700, 650), |root| {
        let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0f64, 0.0..1.0f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], grey.stroke_width(1)))
            .map_err(e)?
            .label("chance (AUC = 0.5)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
        for (i, (label, c)) in curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = c.fpr.iter().copied().zip(c.tpr.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(e)?
                .label(format!("{label} (AUC = {:.3})", c.auc()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        Ok(())
    })
}
