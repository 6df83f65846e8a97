//! Forward side of the fused recurrent op: a whole sequence through an RNN, LSTM or GRU
//! cell as ONE tape entry, and its backpropagation through time as one gradient rule.
//! Per-step tape ops would record 10+ ops per step and copy every intermediate; here the
//! kernels of `tensor::recurrent` run the whole sequence and keep exactly what BPTT needs.

use super::recorded_op::Op;
use super::tape::{NodeId, Var};
use crate::tensor::recurrent::{self, Cell, Config, Dims, Trace, Weights};
use crate::{Error, Result, Tensor};

/// The weights of one direction of one recurrent layer, on the tape, with G gates
/// ([`Cell::gates`]: RNN 1, GRU 3, LSTM 4) and H units. Laid out like a dense layer
/// (`x @ W`), gate blocks side by side: LSTM i, f, g, o; GRU r, z, n.
#[derive(Clone, Copy)]
pub struct RecurrentWeights<'a> {
    /// Input-to-hidden weights `[F, G*H]`.
    pub w_ih: &'a Var,
    /// Hidden-to-hidden weights `[H, G*H]`; H is read from this shape.
    pub w_hh: &'a Var,
    /// Bias `[G*H]`, added to the input projection.
    pub bias: &'a Var,
    /// GRU only (required there): bias `[G*H]` of the recurrent projection, whose n block
    /// the reset gate scales (PyTorch's formulation).
    pub bias_hh: Option<&'a Var>,
    /// LSTM only, optional: peephole weights `[3, H]`, the cell state's elementwise weight
    /// in the input, forget and output gates.
    pub peep: Option<&'a Var>,
}

/// How a recurrent pass runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecurrentOptions {
    /// Process the sequence from its last step to its first (backward direction).
    pub reverse: bool,
    /// Output every step's hidden state [N, T, H] instead of the final one [N, H].
    pub return_sequences: bool,
    /// Per-sample lengths for a padded batch (steps past a length are skipped).
    pub lengths: Option<Vec<usize>>,
}

/// The state a recurrent pass ends in, as plain values: carried into the next window of a
/// long sequence (truncated BPTT: no gradient flows across windows) or the next generated
/// token. Each is [N, H].
#[derive(Clone, Debug)]
pub struct FinalState {
    /// The last hidden state `[N, H]` (per sample, at its last valid step).
    pub h: Tensor,
    /// The last LSTM cell state `[N, H]`; `None` for the other cells.
    pub c: Option<Tensor>,
}

/// What the recurrent gradient rule needs: the operands' nodes, the weights, and the
/// forward trace (gates, states) of `tensor::recurrent`.
pub(crate) struct RecurrentRecord {
    /// x, w_ih, w_hh, bias, bias_hh, peep, h0, c0.
    nodes: [Option<NodeId>; 8],
    w_ih: Tensor,
    w_hh: Tensor,
    bias: Tensor,
    bias_hh: Option<Tensor>,
    peep: Option<Tensor>,
    trace: Trace,
    return_sequences: bool,
}

impl RecurrentRecord {
    /// Gradients for each tracked operand, given the gradient `g` of the op's output.
    pub(crate) fn backward(&self, g: &Tensor) -> Result<Vec<(Option<NodeId>, Tensor)>> {
        let w = Weights {
            w_ih: self.w_ih.data(),
            w_hh: self.w_hh.data(),
            bias: self.bias.data(),
            bias_hh: self.bias_hh.as_ref().map(|t| t.data()),
            peep: self.peep.as_ref().map(|t| t.data()),
        };
        let (dy, dh) = if self.return_sequences { (Some(g.data()), None) } else { (None, Some(g.data())) };
        let [x, w_ih, w_hh, bias, bias_hh, peep, h0, c0] = self.nodes;
        let gr = self.trace.backward(&w, dy, dh, x.is_some())?;
        let Dims { batch: n, steps: t, features: f, hidden: h } = self.trace.config().dims;
        let gh = self.trace.config().cell.gates() * h;
        let mut out = Vec::with_capacity(8);
        let mut push = |node: Option<NodeId>, data: Option<Vec<f32>>, shape: &[usize]| -> Result<()> {
            if let (Some(node), Some(data)) = (node, data) {
                out.push((Some(node), Tensor::from_vec(data, shape)?));
            }
            Ok(())
        };
        push(x, gr.dx, &[n, t, f])?;
        push(w_ih, Some(gr.dw_ih), &[f, gh])?;
        push(w_hh, Some(gr.dw_hh), &[h, gh])?;
        push(bias, Some(gr.dbias), &[gh])?;
        push(bias_hh, gr.dbias_hh, &[gh])?;
        push(peep, gr.dpeep, &[3, h])?;
        push(h0, Some(gr.dh0), &[n, h])?;
        push(c0, gr.dc0, &[n, h])?;
        Ok(out)
    }
}

/// Errors unless `v` has shape `want`.
fn expect_shape(op: &'static str, v: &Var, want: &[usize]) -> Result<()> {
    if v.shape() == want { Ok(()) } else { Err(Error::ShapeMismatch { op, left: want.to_vec(), right: v.shape().to_vec() }) }
}

impl Var {
    /// Runs the sequence `self` ([N, T, F]) through a recurrent `cell` from the initial
    /// states `h0`/`c0` ([N, H] each; zeros when `None`; `c0` for an LSTM only). Returns the
    /// output — every step's hidden state [N, T, H] with `return_sequences`, else the final
    /// one [N, H] — and the final state as plain values (for stateful use).
    ///
    /// ```
    /// use strata_core::autograd::{RecurrentOptions, RecurrentWeights, Tape};
    /// use strata_core::tensor::recurrent::Cell;
    /// use strata_core::Tensor;
    /// let tape = Tape::new();
    /// let (f, h) = (3, 2);
    /// let x = tape.input(Tensor::ones(&[1, 5, f]));
    /// let w_ih = tape.input(Tensor::full(&[f, 4 * h], 0.1));
    /// let w_hh = tape.input(Tensor::full(&[h, 4 * h], 0.1));
    /// let bias = tape.input(Tensor::zeros(&[4 * h]));
    /// let w = RecurrentWeights { w_ih: &w_ih, w_hh: &w_hh, bias: &bias, bias_hh: None, peep: None };
    /// let (y, state) = x.recurrent(Cell::Lstm, &w, None, None, &RecurrentOptions::default()).unwrap();
    /// assert_eq!(y.shape(), &[1, h]);
    /// assert_eq!(state.h.data(), y.value().data());
    /// ```
    pub fn recurrent(
        &self,
        cell: Cell,
        w: &RecurrentWeights,
        h0: Option<&Var>,
        c0: Option<&Var>,
        opts: &RecurrentOptions,
    ) -> Result<(Var, FinalState)> {
        let op = cell.name();
        let xs = self.shape();
        if xs.len() != 3 {
            return Err(Error::bad_shape(op, xs, "input must be [batch, time, features]"));
        }
        let (n, t, f) = (xs[0], xs[1], xs[2]);
        let ws = w.w_hh.shape();
        let g = cell.gates();
        if ws.len() != 2 || ws[1] != g * ws[0] || ws[0] == 0 {
            return Err(Error::bad_shape(op, ws, format!("weight_hh must be [H, {g}*H]")));
        }
        let h = ws[0];
        expect_shape(op, w.w_ih, &[f, g * h])?;
        expect_shape(op, w.bias, &[g * h])?;
        match (cell, w.bias_hh) {
            (Cell::Gru, Some(b)) => expect_shape(op, b, &[g * h])?,
            (Cell::Gru, None) => return Err(Error::invalid(op, "a GRU needs bias_hh")),
            (_, Some(_)) => return Err(Error::invalid(op, "only a GRU takes bias_hh")),
            _ => {}
        }
        if let Some(p) = w.peep {
            expect_shape(op, p, &[3, h])?;
        }
        if let Some(h0) = h0 {
            expect_shape(op, h0, &[n, h])?;
        }
        if let Some(c0) = c0 {
            expect_shape(op, c0, &[n, h])?;
        }
        let operands: [Option<&Var>; 8] = [Some(self), Some(w.w_ih), Some(w.w_hh), Some(w.bias), w.bias_hh, w.peep, h0, c0];
        for v in operands.iter().flatten() {
            self.check_tape(v, op)?;
        }

        let cfg = Config {
            cell,
            dims: Dims { batch: n, steps: t, features: f, hidden: h },
            reverse: opts.reverse,
            lengths: opts.lengths.clone(),
        };
        let weights = Weights {
            w_ih: w.w_ih.value.data(),
            w_hh: w.w_hh.value.data(),
            bias: w.bias.value.data(),
            bias_hh: w.bias_hh.map(|b| b.value.data()),
            peep: w.peep.map(|p| p.value.data()),
        };
        let trace = recurrent::forward(cfg, &weights, self.value.data(), h0.map(|v| v.value.data()), c0.map(|v| v.value.data()))?;
        let state = FinalState {
            h: Tensor::from_vec(trace.last_h(), &[n, h])?,
            c: trace.last_c().map(|c| Tensor::from_vec(c, &[n, h])).transpose()?,
        };
        let value = if opts.return_sequences { Tensor::from_vec(trace.sequence(), &[n, t, h])? } else { state.h.clone() };

        let nodes = operands.map(|v| v.and_then(|v| v.node));
        let tracked = operands.iter().flatten().find(|v| v.node.is_some()).copied().unwrap_or(self);
        let needs = nodes.iter().any(|n| n.is_some());
        let out = tracked.tape.record(value, needs, || {
            Op::Recurrent(Box::new(RecurrentRecord {
                nodes,
                w_ih: w.w_ih.value.clone(),
                w_hh: w.w_hh.value.clone(),
                bias: w.bias.value.clone(),
                bias_hh: w.bias_hh.map(|b| b.value.clone()),
                peep: w.peep.map(|p| p.value.clone()),
                trace,
                return_sequences: opts.return_sequences,
            }))
        });
        Ok((out, state))
    }
}
