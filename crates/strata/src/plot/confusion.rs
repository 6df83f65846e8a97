//! A confusion matrix as a heat map: true class down, predicted class across, the count in
//! each cell, class names on both axes (column names turn vertical when they do not fit).

use super::{e, render};
use crate::Result;
use crate::metrics::ConfusionMatrix;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Rough width in pixels of `s` in DejaVu Sans at `size` (for the layout, before drawing).
fn text_width(s: &str, size: u32) -> u32 {
    (s.chars().count() as f32 * size as f32 * 0.62).ceil() as u32
}

/// Writes the heat map of `m` to `path`; `names` label the classes.
pub fn confusion_png(m: &ConfusionMatrix, names: Option<&[String]>, title: &str, path: &Path) -> Result<()> {
    let n = m.classes().max(1);
    let name = |c: usize| names.and_then(|v| v.get(c).cloned()).unwrap_or_else(|| c.to_string());
    let (label_size, axis_size) = (15u32, 17u32);
    let longest = (0..n).map(|c| text_width(&name(c), label_size)).max().unwrap_or(10);
    let cell = (640 / n as u32).clamp(36, 130);
    let vertical = longest + 8 > cell;
    let row_labels = longest + 14;
    let col_labels = if vertical { longest + 14 } else { label_size + 14 };
    let (left, top) = (axis_size + 24 + row_labels, 56);
    let side = cell * n as u32;
    let w = (left + side + 30).max(text_width(title, 22) + 40);
    let h = top + side + col_labels + axis_size + 30;
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let count_size = (cell / 3).clamp(10, 24);
    render(path, (w, h), |root| {
        let center = |size: u32| TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text(title, &center(22), (w as i32 / 2, 24)).map_err(e)?;
        let (x0, y0, c) = (left as i32, top as i32, cell as i32);
        for (t, row) in m.counts.iter().enumerate() {
            for (p, &v) in row.iter().enumerate() {
                let (x, y) = (x0 + p as i32 * c, y0 + t as i32 * c);
                let shade = v as f64 / max;
                let fill = RGBColor((247.0 - 239.0 * shade) as u8, (251.0 - 203.0 * shade) as u8, (255.0 - 148.0 * shade) as u8);
                root.draw(&Rectangle::new([(x, y), (x + c, y + c)], fill.filled())).map_err(e)?;
                root.draw(&Rectangle::new([(x, y), (x + c, y + c)], RGBColor(200, 200, 200).stroke_width(1))).map_err(e)?;
                let ink = if shade > 0.55 { WHITE } else { BLACK };
                root.draw_text(&v.to_string(), &center(count_size).color(&ink), (x + c / 2, y + c / 2)).map_err(e)?;
            }
        }
        let right = TextStyle::from(("sans-serif", label_size).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for k in 0..n {
            let mid = y0 + k as i32 * c + c / 2;
            root.draw_text(&name(k), &right, (x0 - 8, mid)).map_err(e)?;
            let x = x0 + k as i32 * c + c / 2;
            let below = y0 + side as i32 + 8;
            if vertical {
                let style = TextStyle::from(("sans-serif", label_size).into_font().transform(FontTransform::Rotate270))
                    .pos(Pos::new(HPos::Right, VPos::Center));
                root.draw_text(&name(k), &style, (x, below)).map_err(e)?;
            } else {
                let style = TextStyle::from(("sans-serif", label_size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
                root.draw_text(&name(k), &style, (x, below)).map_err(e)?;
            }
        }
        let axis = y0 + side as i32 + col_labels as i32 + axis_size as i32 / 2 + 4;
        root.draw_text("predicted class", &center(axis_size), (x0 + side as i32 / 2, axis)).map_err(e)?;
        let vertical_axis = TextStyle::from(("sans-serif", axis_size).into_font().transform(FontTransform::Rotate270))
            .pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text("true class", &vertical_axis, (axis_size as i32 / 2 + 8, y0 + side as i32 / 2)).map_err(e)?;
        Ok(())
    })
}
