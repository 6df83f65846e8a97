//! Recurrent stacks as ONNX `RNN`, `LSTM` and `GRU` nodes, one per layer (both directions
//! in one node), with strata's weights laid out as ONNX wants them.
//!
//! strata keeps, per layer and direction, `w_ih` [F, G*H], `w_hh` [H, G*H] and `bias`
//! [G*H] with the gates side by side in columns: LSTM (i, f, g, o), GRU (r, z, n), plus a
//! GRU's `bias_hh` [G*H] and an LSTM's peepholes [3, H] (i, f, o). ONNX wants `W`
//! [D, G*H, F] and `R` [D, G*H, H] (transposed, gates stacked in rows) in the order LSTM
//! (i, o, f, c), GRU (z, r, h), `B` [D, 2*G*H] (input then recurrent biases) and `P`
//! [D, 3*H] (i, o, f). strata's GRU applies the reset gate after the recurrent product
//! (`n = tanh(x W_n + b_n + r * (h R_n + b_hn))`): ONNX's `linear_before_reset = 1`.
//! The time-major ONNX outputs are transposed back to strata's batch-major ones.

use super::graph::{Attr, GraphBuilder};
use crate::nn::recurrent::{Cell, RecurrentConfig};
use crate::{Error, Result, Tensor};
use std::collections::HashMap;

/// For each ONNX gate block, the strata gate block it takes.
fn gate_order(cell: Cell) -> &'static [usize] {
    match cell {
        Cell::RnnTanh | Cell::RnnRelu => &[0],
        Cell::Lstm => &[0, 3, 1, 2],
        Cell::Gru => &[1, 0, 2],
    }
}

/// `m` [rows, G*H] (gates in column blocks) -> [G*H, rows] with the gate blocks reordered.
fn transpose_gates(m: &Tensor, h: usize, order: &[usize]) -> Vec<f32> {
    let (rows, cols) = (m.shape()[0], m.shape()[1]);
    let d = m.data();
    let mut out = Vec::with_capacity(rows * cols);
    for &g in order {
        for j in 0..h {
            let col = g * h + j;
            out.extend((0..rows).map(|r| d[r * cols + col]));
        }
    }
    out
}

/// `v` [G*H] with the gate blocks reordered.
fn reorder(v: &[f32], h: usize, order: &[usize]) -> Vec<f32> {
    order.iter().flat_map(|&g| v[g * h..(g + 1) * h].iter().copied()).collect()
}

/// Emits the stack `cfg` on `x`, per sample `input` ([T, F] or [C, T, W], as strata reads
/// it), with the layer's tensors by name; returns the output value (`[N, D*H]`, or
/// `[N, T, D*H]` with `return_sequences`).
pub(crate) fn emit(
    g: &mut GraphBuilder,
    cfg: &RecurrentConfig,
    params: &HashMap<String, Tensor>,
    x: &str,
    input: &[usize],
    hint: &str,
) -> Result<String> {
    // To time-major [T, N, F].
    let mut seq = match *input {
        [_, _] => g.transpose(x, &[1, 0, 2], &format!("{hint}.time_major")),
        [_, _, _] => {
            let t = g.transpose(x, &[2, 0, 1, 3], &format!("{hint}.time_major"));
            g.reshape(&t, &[0, 0, -1], &format!("{hint}.rows"))
        }
        _ => {
            return Err(Error::Model(format!(
                "{hint}: a recurrent layer needs [steps, features] or [channels, rows, cols] input"
            )));
        }
    };
    let (h, dirs, cell) = (cfg.units, cfg.directions(), cfg.cell);
    let order = gate_order(cell);
    let gates = order.len();
    let get = |name: &str| params.get(name).ok_or_else(|| Error::Model(format!("{hint}: missing tensor '{name}'")));
    let mut out = String::new();
    for l in 0..cfg.layers {
        let (mut w, mut r, mut b, mut p) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut features = 0;
        for d in 0..dirs {
            let suffix = format!("l{l}{}", if d == 1 { "_reverse" } else { "" });
            let w_ih = get(&format!("weight_ih_{suffix}"))?;
            let w_hh = get(&format!("weight_hh_{suffix}"))?;
            let bias = get(&format!("bias_{suffix}"))?;
            features = w_ih.shape()[0];
            w.extend(transpose_gates(w_ih, h, order));
            r.extend(transpose_gates(w_hh, h, order));
            b.extend(reorder(bias.data(), h, order));
            match params.get(&format!("bias_hh_{suffix}")) {
                Some(bh) => b.extend(reorder(bh.data(), h, order)),
                None => b.extend(std::iter::repeat_n(0.0, gates * h)),
            }
            if cfg.peephole {
                // strata's rows (i, f, o) -> ONNX's (i, o, f)
                p.extend(reorder(get(&format!("peephole_{suffix}"))?.data(), h, &[0, 2, 1]));
            }
        }
        let lh = format!("{hint}.l{l}");
        let wn = g.constant(&format!("{lh}.W"), &[dirs, gates * h, features], &w);
        let rn = g.constant(&format!("{lh}.R"), &[dirs, gates * h, h], &r);
        let bn = g.constant(&format!("{lh}.B"), &[dirs, 2 * gates * h], &b);
        let mut inputs = vec![seq.clone(), wn, rn, bn];
        let mut attrs = vec![
            ("hidden_size", Attr::Int(h as i64)),
            ("direction", Attr::Str(if dirs == 2 { "bidirectional" } else { "forward" }.into())),
        ];
        let op = match cell {
            Cell::RnnTanh | Cell::RnnRelu => {
                let f = if cell == Cell::RnnRelu { "Relu" } else { "Tanh" };
                attrs.push(("activations", Attr::Strs(vec![f.into(); dirs])));
                "RNN"
            }
            Cell::Lstm => {
                if cfg.peephole {
                    let pn = g.constant(&format!("{lh}.P"), &[dirs, 3 * h], &p);
                    // sequence_lens, initial_h, initial_c absent
                    inputs.extend([String::new(), String::new(), String::new(), pn]);
                }
                "LSTM"
            }
            Cell::Gru => {
                attrs.push(("linear_before_reset", Attr::Int(1)));
                "GRU"
            }
        };
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let outs = g.node_n(op, &lh, &refs, &attrs, 2);
        let (y, y_h) = (&outs[0], &outs[1]);
        let last = l + 1 == cfg.layers;
        if !last {
            // Y [T, D, N, H] -> [T, N, D*H], the next layer's input
            let t = g.transpose(y, &[0, 2, 1, 3], &format!("{lh}.y"));
            seq = g.reshape(&t, &[0, 0, -1], &format!("{lh}.seq"));
        } else if cfg.return_sequences {
            // Y [T, D, N, H] -> [N, T, D*H]
            let t = g.transpose(y, &[2, 0, 1, 3], &format!("{lh}.y"));
            out = g.reshape(&t, &[0, 0, -1], &format!("{lh}.sequence"));
        } else {
            // Y_h [D, N, H] -> [N, D*H]
            let t = g.transpose(y_h, &[1, 0, 2], &format!("{lh}.y_h"));
            out = g.reshape(&t, &[0, -1], &format!("{lh}.last"));
        }
    }
    Ok(out)
}
