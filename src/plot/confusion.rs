//! A confusion matrix as a heat map: true class down, predicted class across, the count in
//! each cell, class names on both axes.

use super::{e, render};
use crate::Result;
use crate::metrics::ConfusionMatrix;
use plotters::prelude::*;
use std::path::Path;

/// Writes the heat map of `m` to `path`; `names` label the classes.
pub fn confusion_png(m: &ConfusionMatrix, names: Option<&[String]>, title: &str, path: &Path) -> Result<()> {
    let n = m.classes().max(1);
    let name = |c: usize| names.and_then(|v| v.get(c).cloned()).unwrap_or_else(|| c.to_string());
    let longest = (0..n).map(|c| name(c).chars().count()).max().unwrap_or(1);
    let cell = (560 / n as u32).clamp(28, 120);
    let label_area = (longest as u32 * 9 + 30).clamp(60, 260);
    let side = cell * n as u32;
    let (w, h) = (side + label_area + 80, side + 150);
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let font = ((cell / 3).clamp(9, 22)) as i32;
    render(path, (w, h), |root| {
        let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0..n, 0..n)
            .map_err(e)?;
        let xs = |v: &usize| if *v < n { name(*v) } else { String::new() };
        let ys = |v: &usize| if *v < n { name(n - 1 - *v) } else { String::new() };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n + 1)
            .y_labels(n + 1)
            .x_label_formatter(&xs)
            .y_label_formatter(&ys)
            .x_desc("predicted class")
            .y_desc("true class")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .x_label_offset(cell as i32 / 2)
            .y_label_offset(-(cell as i32) / 2)
            .draw()
            .map_err(e)?;
        for (t, row) in m.counts.iter().enumerate() {
            for (p, &v) in row.iter().enumerate() {
                let y = n - 1 - t;
                let shade = v as f64 / max;
                let color = RGBColor(
                    (247.0 - 239.0 * shade) as u8,
                    (251.0 - 203.0 * shade) as u8,
                    (255.0 - 148.0 * shade) as u8,
                );
                chart
                    .draw_series(std::iter::once(Rectangle::new([(p, y), (p + 1, y + 1)], color.filled())))
                    .map_err(e)?;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(p, y), (p + 1, y + 1)],
                        RGBColor(200, 200, 200).stroke_width(1),
                    )))
                    .map_err(e)?;
                let text_color = if shade > 0.55 { WHITE } else { BLACK };
                let (cx, cy) = chart.backend_coord(&(p, y + 1));
                let style = TextStyle::from(("sans-serif", font).into_font()).color(&text_color).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                );
                root.draw_text(&v.to_string(), &style, (cx + cell as i32 / 2, cy + cell as i32 / 2)).map_err(e)?;
            }
        }
        Ok(())
    })
}
