//! ONNX `RNN`, `LSTM` and `GRU` weights as strata's: the inverse of the exporter's layout
//! (see `onnx/recurrent.rs`). ONNX stacks the gates in rows, `W` [D, G*H, F] and `R`
//! [D, G*H, H] in the order LSTM (i, o, f, c), GRU (z, r, h); strata keeps `w_ih` [F, G*H]
//! and `w_hh` [H, G*H] with the gates in column blocks, LSTM (i, f, g, o), GRU (r, z, n).
//!
//! Biases: an LSTM's or RNN's input and recurrent biases are always added together, so
//! strata's one `bias` is their sum (the same function). A GRU's recurrent bias of the
//! candidate sits inside the reset gate's product (`linear_before_reset = 1`, PyTorch's
//! GRU and strata's), so it stays separate: `bias_hh`. A GRU with `linear_before_reset =
//! 0` computes another function, and is refused by the caller.

use crate::Tensor;
use crate::nn::recurrent::Cell;
use std::collections::HashMap;

/// For each ONNX gate block, the strata gate block it holds (the exporter's table).
fn gate_order(cell: Cell) -> &'static [usize] {
    match cell {
        Cell::RnnTanh | Cell::RnnRelu => &[0],
        Cell::Lstm => &[0, 3, 1, 2],
        Cell::Gru => &[1, 0, 2],
    }
}

/// `m` [G*H, cols] of direction `d` in a [D, G*H, cols] tensor -> strata's [cols, G*H]
/// with the gate blocks in strata's order.
fn untranspose(m: &[f32], d: usize, h: usize, cols: usize, order: &[usize]) -> Vec<f32> {
    let g = order.len();
    let base = d * g * h * cols;
    let mut out = vec![0.0; cols * g * h];
    for (k, &sg) in order.iter().enumerate() {
        for j in 0..h {
            let row = &m[base + (k * h + j) * cols..base + (k * h + j + 1) * cols];
            for (c, &v) in row.iter().enumerate() {
                out[c * g * h + sg * h + j] = v;
            }
        }
    }
    out
}

/// `v` [G*H] in ONNX gate order -> strata's.
fn reorder(v: &[f32], h: usize, order: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for (k, &sg) in order.iter().enumerate() {
        out[sg * h..(sg + 1) * h].copy_from_slice(&v[k * h..(k + 1) * h]);
    }
    out
}

/// The ONNX weights of one node, as given.
pub(super) struct OnnxWeights<'a> {
    /// `W` [D, G*H, F].
    pub w: &'a [f32],
    /// `R` [D, G*H, H].
    pub r: &'a [f32],
    /// `B` [D, 2*G*H], if given.
    pub b: Option<&'a [f32]>,
    /// `P` [D, 3*H] (LSTM peepholes), if given.
    pub p: Option<&'a [f32]>,
}

/// strata's tensors for a one-layer stack of `cell` with `h` units, `dirs` directions and
/// `f` input features, by parameter name.
pub(super) fn strata_tensors(
    cell: Cell,
    h: usize,
    dirs: usize,
    f: usize,
    onnx: &OnnxWeights,
) -> crate::Result<HashMap<String, Tensor>> {
    let order = gate_order(cell);
    let g = order.len();
    let mut out = HashMap::new();
    for d in 0..dirs {
        let suffix = format!("l0{}", if d == 1 { "_reverse" } else { "" });
        out.insert(format!("weight_ih_{suffix}"), Tensor::from_vec(untranspose(onnx.w, d, h, f, order), &[f, g * h])?);
        out.insert(format!("weight_hh_{suffix}"), Tensor::from_vec(untranspose(onnx.r, d, h, h, order), &[h, g * h])?);
        let zeros = vec![0.0; 2 * g * h];
        let b = onnx.b.map(|b| &b[d * 2 * g * h..(d + 1) * 2 * g * h]).unwrap_or(&zeros);
        let (wb, rb) = (reorder(&b[..g * h], h, order), reorder(&b[g * h..], h, order));
        if cell == Cell::Gru {
            out.insert(format!("bias_{suffix}"), Tensor::from_vec(wb, &[g * h])?);
            out.insert(format!("bias_hh_{suffix}"), Tensor::from_vec(rb, &[g * h])?);
        } else {
            let sum = wb.iter().zip(&rb).map(|(a, b)| a + b).collect();
            out.insert(format!("bias_{suffix}"), Tensor::from_vec(sum, &[g * h])?);
        }
        if let Some(p) = onnx.p {
            // ONNX's rows (i, o, f) -> strata's (i, f, o)
            let p = reorder(&p[d * 3 * h..(d + 1) * 3 * h], h, &[0, 2, 1]);
            out.insert(format!("peephole_{suffix}"), Tensor::from_vec(p, &[3, h])?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_blocks_come_back_in_strata_order() {
        // LSTM, 1 unit, 1 feature: ONNX rows (i, o, f, c) = 1, 2, 3, 4 -> strata (i, f, g, o)
        let w = [1.0, 2.0, 3.0, 4.0];
        let r = [5.0, 6.0, 7.0, 8.0];
        let b = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let t = strata_tensors(Cell::Lstm, 1, 1, 1, &OnnxWeights { w: &w, r: &r, b: Some(&b), p: None }).unwrap();
        assert_eq!(t["weight_ih_l0"].data(), &[1.0, 3.0, 4.0, 2.0]);
        assert_eq!(t["weight_hh_l0"].data(), &[5.0, 7.0, 8.0, 6.0]);
        assert_eq!(t["bias_l0"].data(), &[1.5; 4]);
        // GRU: ONNX (z, r, h) -> strata (r, z, n), biases kept apart
        let w = [1.0, 2.0, 3.0];
        let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let t = strata_tensors(Cell::Gru, 1, 1, 1, &OnnxWeights { w: &w, r: &w, b: Some(&b), p: None }).unwrap();
        assert_eq!(t["weight_ih_l0"].data(), &[2.0, 1.0, 3.0]);
        assert_eq!(t["bias_l0"].data(), &[2.0, 1.0, 3.0]);
        assert_eq!(t["bias_hh_l0"].data(), &[5.0, 4.0, 6.0]);
    }
}
