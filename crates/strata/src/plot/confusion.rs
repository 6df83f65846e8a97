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
    let layout = Layout::of(m, names, title);
    render(path, (layout.w, layout.h), |root| draw_matrix(root, m, names, title, &layout))
}

/// The heat map of `m` with, to its right, each class's precision, recall, F1 and support
/// and their macro and weighted averages (the figures a confusion matrix is read for).
pub fn confusion_report_png(m: &ConfusionMatrix, names: Option<&[String]>, title: &str, path: &Path) -> Result<()> {
    let layout = Layout::of(m, names, title);
    let report = m.report(names);
    let label_w =
        report.classes.iter().map(|r| text_width(&r.class, 15)).chain([text_width("weighted avg", 15)]).max().unwrap_or(60);
    let columns = ["precision", "recall", "F1", "support"];
    let col_w = text_width("precision", 15) + 16;
    let table_w = label_w + 24 + col_w * columns.len() as u32 + 20;
    let row_h = 24u32;
    let rows = report.classes.len() as u32 + 4;
    let h = layout.h.max(layout.top + row_h * rows + 20);
    render(path, (layout.w + table_w, h), |root| {
        let (left, right) = root.split_horizontally(layout.w);
        draw_matrix(&left, m, names, title, &layout)?;
        let font = |bold: bool| {
            let f = ("sans-serif", 15).into_font();
            TextStyle::from(if bold { f.style(FontStyle::Bold) } else { f })
        };
        let x_label = 10i32;
        let col_x = |k: usize| (10 + label_w + 24 + col_w * (k as u32 + 1)) as i32 - 10;
        let mut y = layout.top as i32 + row_h as i32 / 2;
        let right_anchor = |bold: bool| font(bold).pos(Pos::new(HPos::Right, VPos::Center));
        let left_anchor = |bold: bool| font(bold).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, c) in columns.iter().enumerate() {
            right.draw_text(c, &right_anchor(true), (col_x(k), y)).map_err(e)?;
        }
        let line = |y: i32| PathElement::new(vec![(x_label, y), (col_x(columns.len() - 1), y)], RGBColor(150, 150, 150));
        right.draw(&line(y + row_h as i32 / 2)).map_err(e)?;
        let row = |y: i32, r: &crate::metrics::ClassReport, bold: bool| -> std::result::Result<(), String> {
            right.draw_text(&r.class, &left_anchor(bold), (x_label, y)).map_err(e)?;
            let cells =
                [format!("{:.3}", r.precision), format!("{:.3}", r.recall), format!("{:.3}", r.f1), r.support.to_string()];
            for (k, v) in cells.iter().enumerate() {
                right.draw_text(v, &right_anchor(bold), (col_x(k), y)).map_err(e)?;
            }
            Ok(())
        };
        for r in &report.classes {
            y += row_h as i32;
            row(y, r, false)?;
        }
        right.draw(&line(y + row_h as i32 / 2)).map_err(e)?;
        y += row_h as i32;
        right.draw_text("accuracy", &left_anchor(true), (x_label, y)).map_err(e)?;
        right.draw_text(&format!("{:.3}", report.accuracy), &right_anchor(true), (col_x(2), y)).map_err(e)?;
        right.draw_text(&m.total().to_string(), &right_anchor(true), (col_x(3), y)).map_err(e)?;
        y += row_h as i32;
        row(y, &report.macro_avg, true)?;
        y += row_h as i32;
        row(y, &report.weighted_avg, true)
    })
}

/// Sizes of the heat map's parts, from the class names and the title.
struct Layout {
    w: u32,
    h: u32,
    left: u32,
    top: u32,
    cell: u32,
    vertical: bool,
    col_labels: u32,
    label_size: u32,
    axis_size: u32,
}

impl Layout {
    fn of(m: &ConfusionMatrix, names: Option<&[String]>, title: &str) -> Layout {
        let n = m.classes().max(1);
        let (label_size, axis_size) = (15u32, 17u32);
        let longest = (0..n).map(|c| text_width(&class_name(names, c), label_size)).max().unwrap_or(10);
        let cell = (640 / n as u32).clamp(36, 130);
        let vertical = longest + 8 > cell;
        let row_labels = longest + 14;
        let col_labels = if vertical { longest + 14 } else { label_size + 14 };
        let (left, top) = (axis_size + 24 + row_labels, 56);
        let side = cell * n as u32;
        let w = (left + side + 30).max(text_width(title, 22) + 40);
        let h = top + side + col_labels + axis_size + 30;
        Layout { w, h, left, top, cell, vertical, col_labels, label_size, axis_size }
    }
}

fn class_name(names: Option<&[String]>, c: usize) -> String {
    names.and_then(|v| v.get(c).cloned()).unwrap_or_else(|| c.to_string())
}

/// Draws the heat map of `m` laid out by `l` on `root`.
fn draw_matrix<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    m: &ConfusionMatrix,
    names: Option<&[String]>,
    title: &str,
    l: &Layout,
) -> std::result::Result<(), String> {
    let n = m.classes().max(1);
    let name = |c: usize| class_name(names, c);
    let (label_size, axis_size, left, top, cell, vertical, col_labels, w) =
        (l.label_size, l.axis_size, l.left, l.top, l.cell, l.vertical, l.col_labels, l.w);
    let side = cell * n as u32;
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let count_size = (cell / 3).clamp(10, 24);
    {
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
    }
}
