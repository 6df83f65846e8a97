//! `summary()`: per layer, its output shape, parameters, multiply-accumulates and
//! configuration.

use super::sequential::Sequential;
use crate::nn::Layer;
use crate::{Error, Result};
use serde::Serialize;
use std::fmt;

/// One row of a model summary.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    /// `conv2d_1` for the model's own layers (kind and position), the path within the parent
    /// (`body.0`) for sub-layers.
    pub name: String,
    /// The layer type, e.g. "Conv2d".
    pub kind: String,
    /// Per-sample output shape.
    pub output_shape: Vec<usize>,
    /// Trainable parameters of the layer.
    pub params: usize,
    /// Multiply-accumulates per sample.
    pub macs: u64,
    /// 0 for the model's own layers; 1 and more for the sub-layers of composite layers
    /// (residual, concat, block), listed right after their parent and included in its
    /// params and MACs (totals count depth 0 only).
    #[serde(default)]
    pub depth: usize,
    /// The layer's configuration in one line ([`Layer::details`]), e.g. `filters=16
    /// kernel=3 padding=1 algorithm=winograd-f4x4`; absent when there is nothing to show.
    /// The table shows it only in its alternate form (`{:#}`, `strata summary --verbose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// A model's layers with their sizes, and totals. `{}` prints the table; `{:#}` adds each
/// layer's configuration ([`SummaryRow::details`]) as a last column.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The model's name.
    pub model: String,
    /// Per-sample input shape.
    pub input_shape: Vec<usize>,
    /// The model's layers in order, each followed by the rows of its sub-layers.
    pub layers: Vec<SummaryRow>,
    /// Parameters of the whole model.
    pub params: usize,
    /// Multiply-accumulates per sample of the whole model.
    pub macs: u64,
}

impl Sequential {
    /// The summary table; the model must be built (declared input shape or after `build`).
    pub fn summary(&mut self) -> Result<Summary> {
        self.build_if_declared()?;
        let input = self
            .known_input_shape()
            .map(|s| s.to_vec())
            .filter(|_| self.is_built())
            .ok_or_else(|| Error::Model("summary needs the input shape: declare it or build the model first".into()))?;
        let mut shape = input.clone();
        let mut rows = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let out = self.shapes[i].clone();
            rows.push(SummaryRow {
                name: format!("{}_{}", layer.kind().to_ascii_lowercase(), i + 1),
                kind: layer.kind().to_string(),
                output_shape: out.clone(),
                params: layer.params().iter().map(|p| p.value.numel()).sum(),
                macs: layer.macs(&shape),
                depth: 0,
                details: layer.details(),
            });
            push_children(layer.as_ref(), 1, &mut rows);
            shape = out;
        }
        let top = rows.iter().filter(|r| r.depth == 0);
        Ok(Summary {
            model: self.model_name().to_string(),
            input_shape: input,
            params: top.clone().map(|r| r.params).sum(),
            macs: top.map(|r| r.macs).sum(),
            layers: rows,
        })
    }
}

/// Rows for the sub-layers of a composite layer, depth first.
fn push_children(layer: &dyn Layer, depth: usize, rows: &mut Vec<SummaryRow>) {
    for c in layer.children() {
        rows.push(SummaryRow {
            name: c.path.clone(),
            kind: c.layer.kind().to_string(),
            output_shape: c.output.clone(),
            params: c.layer.params().iter().map(|p| p.value.numel()).sum(),
            macs: c.layer.macs(&c.input),
            depth,
            details: c.layer.details(),
        });
        push_children(c.layer, depth + 1, rows);
    }
}

/// `1234567` -> `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |s: &[usize]| format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
        writeln!(f, "Model: {}   input {}", self.model, shape(&self.input_shape))?;
        // The alternate form adds the details column; the plain table stays as it was.
        let verbose = f.alternate();
        let details = |d: &str| if verbose { format!("  {d}") } else { String::new() };
        writeln!(f, "{:<22} {:<20} {:>14} {:>16}{}", "Layer (type)", "Output shape", "Params", "MACs", details("Details"))?;
        writeln!(f, "{}", "-".repeat(75))?;
        for r in &self.layers {
            writeln!(
                f,
                "{:<22} {:<20} {:>14} {:>16}{}",
                format!("{}{} ({})", "  ".repeat(r.depth), r.name, r.kind),
                shape(&r.output_shape),
                thousands(r.params as u64),
                thousands(r.macs),
                details(r.details.as_deref().unwrap_or("")).trim_end()
            )?;
        }
        writeln!(f, "{}", "-".repeat(75))?;
        writeln!(f, "Total params: {}", thousands(self.params as u64))?;
        write!(f, "Total MACs per sample: {}", thousands(self.macs))
    }
}
