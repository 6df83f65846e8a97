//! Fused recurrent kernels (simple RNN, LSTM, GRU): a whole sequence's forward pass in one
//! call, and its whole backpropagation through time in another.
//!
//! Shapes: x is [N, T, F] (batch, time, features); hidden size H; G gates per cell (RNN 1,
//! GRU 3, LSTM 4). Weights are laid out like `Dense` (x @ W): w_ih [F, G*H], w_hh [H, G*H].
//!
//! **Why it is fast.** Samples never interact inside a recurrent layer, so the batch is cut
//! into row chunks (one or more per thread) that run the whole sequence independently: no
//! thread synchronization per time step, only one fork-join per call. Inside a chunk:
//! - the input projections of all T steps are one GEMM ([T*n, F] x [F, G*H]), written onto
//!   the bias;
//! - each step is one GEMM h_{t-1} [n, H] x w_hh [H, G*H] accumulated onto its projection
//!   (all gates at once), then one vectorized pass for the gate nonlinearities;
//! - backward runs the steps in reverse with one GEMM per step (dz [n, G*H] x w_hh^T) and
//!   forms the weight gradients afterwards with one GEMM each over all steps
//!   ([H, T*n] x [T*n, G*H]); dx is one more GEMM.
//!
//! Inside a chunk everything is time-major ([T, n, ...]) so the rows of one step are
//! contiguous. `reverse` runs the sequence from the last step to the first (the backward
//! half of a bidirectional layer); `lengths` gives per-sample sequence lengths: steps past
//! a sample's length leave its state unchanged and output zeros, so the final state is the
//! state at the last valid step (packed-sequence semantics).
//!
//! The kernels are reached through [`Var::recurrent`](crate::autograd::Var::recurrent),
//! which records a whole pass as one tape op; this module exports only [`Cell`].

mod cells;
mod fastmath;
mod pool;

use super::matmul::gemm_serial;
use super::packed_gemm::PackedRhs;
use crate::{Error, Result};
use cells::LstmSaved;
use pool::Buf;
use rayon::prelude::*;

/// A chunk holds at most this many samples, so inference on big batches keeps its working
/// set in cache; training batches are split evenly over the threads.
const MAX_CHUNK_ROWS: usize = 128;
/// Fewer rows than this per chunk are not worth a thread.
const MIN_CHUNK_ROWS: usize = 8;

/// The recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// h = tanh(x W_ih + h W_hh + b).
    RnnTanh,
    /// h = relu(x W_ih + h W_hh + b).
    RnnRelu,
    /// Long short-term memory, gates i, f, g, o (optionally with peephole connections).
    Lstm,
    /// Gated recurrent unit, gates r, z, n (PyTorch's formulation).
    Gru,
}

impl Cell {
    /// Gate blocks per unit (the width of the projections is `gates() * hidden`).
    pub fn gates(self) -> usize {
        match self {
            Cell::RnnTanh | Cell::RnnRelu => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    /// The lowercase name errors use: "rnn_tanh", "rnn_relu", "lstm", "gru".
    pub fn name(self) -> &'static str {
        match self {
            Cell::RnnTanh => "rnn_tanh",
            Cell::RnnRelu => "rnn_relu",
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }
}

/// Sizes of one recurrent pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims {
    /// Samples N.
    pub batch: usize,
    /// Time steps T.
    pub steps: usize,
    /// Input features per step F.
    pub features: usize,
    /// Hidden units H.
    pub hidden: usize,
}

/// The weights of one direction of one layer, as flat row-major slices.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Weights<'a> {
    /// `[F, G*H]`.
    pub w_ih: &'a [f32],
    /// `[H, G*H]`.
    pub w_hh: &'a [f32],
    /// `[G*H]`, added to the input projection.
    pub bias: &'a [f32],
    /// GRU only: `[G*H]`, added to the recurrent projection (the reset gate scales its n part).
    pub bias_hh: Option<&'a [f32]>,
    /// LSTM only, optional: peephole weights `[3, H]` for the input, forget and output gates.
    pub peep: Option<&'a [f32]>,
}

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Config {
    /// Which recurrence.
    pub cell: Cell,
    /// The sizes.
    pub dims: Dims,
    /// Process the sequence from its last step to its first.
    pub reverse: bool,
    /// Per-sample lengths (each at most T); `None` means every sample has T steps.
    pub lengths: Option<Vec<usize>>,
}

impl Config {
    /// The time index processed at step `s`.
    #[inline]
    fn time(&self, s: usize) -> usize {
        if self.reverse { self.dims.steps - 1 - s } else { s }
    }
    /// Whether sample `row` has a value at step `s`.
    #[inline]
    fn valid(&self, row: usize, s: usize) -> bool {
        self.lengths.as_ref().is_none_or(|l| self.time(s) < l[row])
    }

    fn check(&self, w: &Weights, x: &[f32], h0: Option<&[f32]>, c0: Option<&[f32]>) -> Result<()> {
        let Dims { batch: n, steps: t, features: f, hidden: h } = self.dims;
        let gh = self.cell.gates() * h;
        let op = self.cell.name();
        let expect = |what: &str, got: usize, want: usize| -> Result<()> {
            if got == want {
                Ok(())
            } else {
                Err(Error::invalid(op, format!("{what} has {got} values, expected {want} (N={n}, T={t}, F={f}, H={h})")))
            }
        };
        if h == 0 {
            return Err(Error::invalid(op, "hidden size must be at least 1"));
        }
        expect("x", x.len(), n * t * f)?;
        expect("weight_ih", w.w_ih.len(), f * gh)?;
        expect("weight_hh", w.w_hh.len(), h * gh)?;
        expect("bias", w.bias.len(), gh)?;
        match (self.cell, w.bias_hh) {
            (Cell::Gru, Some(b)) => expect("bias_hh", b.len(), gh)?,
            (Cell::Gru, None) => return Err(Error::invalid(op, "a GRU needs bias_hh")),
            (_, Some(_)) => return Err(Error::invalid(op, "only a GRU takes bias_hh")),
            _ => {}
        }
        match (self.cell, w.peep) {
            (Cell::Lstm, Some(p)) => expect("peephole", p.len(), 3 * h)?,
            (_, Some(_)) => return Err(Error::invalid(op, "only an LSTM has peephole weights")),
            _ => {}
        }
        if let Some(h0) = h0 {
            expect("initial h", h0.len(), n * h)?;
        }
        match (self.cell, c0) {
            (Cell::Lstm, Some(c0)) => expect("initial c", c0.len(), n * h)?,
            (_, Some(_)) => return Err(Error::invalid(op, "only an LSTM has a cell state")),
            _ => {}
        }
        if let Some(l) = &self.lengths {
            expect("lengths", l.len(), n)?;
            if let Some(bad) = l.iter().find(|&&v| v > t) {
                return Err(Error::invalid(op, format!("sequence length {bad} exceeds the {t} steps of the input")));
            }
        }
        Ok(())
    }
}

/// Row ranges `(first, count)` the batch is cut into.
fn plan(n: usize) -> Vec<(usize, usize)> {
    let threads = rayon::current_num_threads().max(1);
    let chunks = threads.max(n.div_ceil(MAX_CHUNK_ROWS)).min(n.div_ceil(MIN_CHUNK_ROWS)).max(1);
    let rows = n.div_ceil(chunks).max(1);
    (0..n).step_by(rows).map(|r0| (r0, rows.min(n - r0))).collect()
}

/// Runs `f` on every chunk, in parallel when there are several.
fn each_chunk<T: Send>(plan: &[(usize, usize)], f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    if plan.len() > 1 {
        plan.par_iter().map(|&(r0, nc)| f(r0, nc)).collect()
    } else {
        plan.iter().map(|&(r0, nc)| f(r0, nc)).collect()
    }
}

/// The forward pass of one chunk of rows, time-major, kept for backward.
#[derive(Clone, Debug)]
struct ChunkTrace {
    row0: usize,
    rows: usize,
    /// Inputs in processing order, [T, n, F].
    x: Buf,
    /// Gates after their nonlinearities (RNN: pre-activations), [T, n, G*H].
    gates: Buf,
    /// Hidden states, [T+1, n, H]; index 0 is the initial state.
    hs: Buf,
    /// LSTM cell states, [T+1, n, H].
    cs: Buf,
    /// LSTM: tanh(c_t); GRU: the n part of the recurrent projection. [T, n, H].
    aux: Buf,
}

/// Everything a forward pass computed: its outputs, and what its backward pass needs.
#[derive(Clone, Debug)]
pub(crate) struct Trace {
    cfg: Config,
    chunks: Vec<ChunkTrace>,
}

/// Gradients of one backward pass.
#[derive(Clone, Debug)]
pub(crate) struct Grads {
    /// `[N, T, F]`, when asked for.
    pub dx: Option<Vec<f32>>,
    /// `[F, G*H]`.
    pub dw_ih: Vec<f32>,
    /// `[H, G*H]`.
    pub dw_hh: Vec<f32>,
    /// `[G*H]`.
    pub dbias: Vec<f32>,
    /// GRU: `[G*H]`.
    pub dbias_hh: Option<Vec<f32>>,
    /// LSTM with peepholes: `[3, H]`.
    pub dpeep: Option<Vec<f32>>,
    /// Gradient of the initial hidden state, `[N, H]`.
    pub dh0: Vec<f32>,
    /// LSTM: gradient of the initial cell state, `[N, H]`.
    pub dc0: Option<Vec<f32>>,
}

/// Runs the whole sequence `x` [N, T, F] from the initial states `h0`/`c0` ([N, H]; zeros
/// when `None`).
pub(crate) fn forward(cfg: Config, w: &Weights, x: &[f32], h0: Option<&[f32]>, c0: Option<&[f32]>) -> Result<Trace> {
    cfg.check(w, x, h0, c0)?;
    // w_hh is used at every step of every chunk: packed once
    let w_hh = PackedRhs::new(w.w_hh, cfg.dims.hidden, cfg.cell.gates() * cfg.dims.hidden, false);
    let chunks = each_chunk(&plan(cfg.dims.batch), |r0, nc| forward_chunk(&cfg, w, &w_hh, x, h0, c0, r0, nc));
    Ok(Trace { cfg, chunks })
}

#[allow(clippy::too_many_arguments)]
fn forward_chunk(
    cfg: &Config,
    w: &Weights,
    w_hh: &PackedRhs,
    x: &[f32],
    h0: Option<&[f32]>,
    c0: Option<&[f32]>,
    r0: usize,
    nc: usize,
) -> ChunkTrace {
    let Dims { steps: t, features: f, hidden: h, .. } = cfg.dims;
    let cell = cfg.cell;
    let gh = cell.gates() * h;
    let (lstm, gru) = (cell == Cell::Lstm, cell == Cell::Gru);

    // x rows of this chunk, time-major in processing order: [T, n, F]
    let mut xs = Buf::uninit(t * nc * f);
    for s in 0..t {
        let tt = cfg.time(s);
        for r in 0..nc {
            let src = ((r0 + r) * t + tt) * f;
            xs[(s * nc + r) * f..(s * nc + r + 1) * f].copy_from_slice(&x[src..src + f]);
        }
    }
    // input projections of every step at once, onto the bias: [T*n, F] x [F, G*H]
    let mut gates = Buf::uninit(t * nc * gh);
    gates.chunks_exact_mut(gh).for_each(|row| row.copy_from_slice(w.bias));
    gemm_serial(t * nc, gh, f, &xs, false, w.w_ih, false, &mut gates, true);

    // every row of every step is written below (a masked row copies its previous state)
    let initial = |state: Option<&[f32]>, buf: &mut Buf| match state {
        Some(s) => buf[..nc * h].copy_from_slice(&s[r0 * h..(r0 + nc) * h]),
        None => buf[..nc * h].fill(0.0),
    };
    let mut hs = Buf::uninit((t + 1) * nc * h);
    initial(h0, &mut hs);
    let mut cs = Buf::uninit(if lstm { (t + 1) * nc * h } else { 0 });
    if lstm {
        initial(c0, &mut cs);
    }
    // read back only at valid steps, where it is written
    let mut aux = Buf::uninit(if lstm || gru { t * nc * h } else { 0 });
    let zero_peep;
    let peep = match w.peep {
        Some(p) => p,
        None => {
            zero_peep = vec![0.0; if lstm { 3 * h } else { 0 }];
            &zero_peep
        }
    };
    let mut a = Buf::uninit(if gru { nc * gh } else { 0 });

    for s in 0..t {
        let (done, rest) = hs.split_at_mut((s + 1) * nc * h);
        let (hp, hn) = (&done[s * nc * h..], &mut rest[..nc * h]);
        let z = &mut gates[s * nc * gh..(s + 1) * nc * gh];
        if gru {
            a.chunks_exact_mut(gh).for_each(|row| row.copy_from_slice(w.bias_hh.unwrap_or(&[])));
            w_hh.mul_acc(nc, hp, &mut a);
        } else if s > 0 || h0.is_some() {
            // (a zero initial state adds nothing)
            w_hh.mul_acc(nc, hp, z);
        }
        let (c_done, c_rest) = cs.split_at_mut(if lstm { (s + 1) * nc * h } else { 0 });
        for r in 0..nc {
            let (hp_r, hn_r) = (&hp[r * h..(r + 1) * h], &mut hn[r * h..(r + 1) * h]);
            if !cfg.valid(r0 + r, s) {
                hn_r.copy_from_slice(hp_r);
                if lstm {
                    c_rest[r * h..(r + 1) * h].copy_from_slice(&c_done[(s * nc + r) * h..(s * nc + r + 1) * h]);
                }
                continue;
            }
            let z_r = &mut z[r * gh..(r + 1) * gh];
            match cell {
                Cell::RnnTanh | Cell::RnnRelu => cells::rnn_forward_row(z_r, hn_r, cell == Cell::RnnRelu),
                Cell::Lstm => cells::lstm_forward_row(
                    z_r,
                    &c_done[(s * nc + r) * h..(s * nc + r + 1) * h],
                    &mut c_rest[r * h..(r + 1) * h],
                    &mut aux[(s * nc + r) * h..(s * nc + r + 1) * h],
                    hn_r,
                    peep,
                ),
                Cell::Gru => cells::gru_forward_row(
                    z_r,
                    &a[r * gh..(r + 1) * gh],
                    hp_r,
                    hn_r,
                    &mut aux[(s * nc + r) * h..(s * nc + r + 1) * h],
                ),
            }
        }
    }
    ChunkTrace { row0: r0, rows: nc, x: xs, gates, hs, cs, aux }
}

/// Column sums of a row-major matrix with `width` columns.
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    let mut out = vec![0.0; width];
    for row in m.chunks_exact(width) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
    }
    out
}

/// Gradients of one chunk (weight gradients are partial sums over its rows).
struct ChunkGrads {
    dx: Option<Vec<f32>>,
    dw_ih: Vec<f32>,
    dw_hh: Vec<f32>,
    dbias: Vec<f32>,
    dbias_hh: Option<Vec<f32>>,
    dpeep: Vec<f32>,
    dh0: Vec<f32>,
    dc0: Vec<f32>,
}

impl Trace {
    /// What the forward pass ran.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The output at every time step, [N, T, H] (zeros at steps past a sample's length).
    pub fn sequence(&self) -> Vec<f32> {
        let Dims { batch: n, steps: t, hidden: h, .. } = self.cfg.dims;
        let mut y = vec![0.0; n * t * h];
        for ch in &self.chunks {
            for s in 0..t {
                let tt = self.cfg.time(s);
                for r in 0..ch.rows {
                    if self.cfg.valid(ch.row0 + r, s) {
                        let src = ((s + 1) * ch.rows + r) * h;
                        let dst = ((ch.row0 + r) * t + tt) * h;
                        y[dst..dst + h].copy_from_slice(&ch.hs[src..src + h]);
                    }
                }
            }
        }
        y
    }

    /// The final hidden state, [N, H]: after the last step processed (for a reversed pass,
    /// after time 0); with lengths, the state at each sample's last valid step.
    pub fn last_h(&self) -> Vec<f32> {
        self.last(|ch| &ch.hs)
    }

    /// The final LSTM cell state, [N, H].
    pub fn last_c(&self) -> Option<Vec<f32>> {
        (self.cfg.cell == Cell::Lstm).then(|| self.last(|ch| &ch.cs))
    }

    fn last(&self, which: impl Fn(&ChunkTrace) -> &[f32]) -> Vec<f32> {
        let Dims { batch: n, steps: t, hidden: h, .. } = self.cfg.dims;
        let mut out = vec![0.0; n * h];
        for ch in &self.chunks {
            let src = &which(ch)[t * ch.rows * h..(t + 1) * ch.rows * h];
            out[ch.row0 * h..(ch.row0 + ch.rows) * h].copy_from_slice(src);
        }
        out
    }

    /// Backpropagation through time. `dy` is the gradient of the output sequence [N, T, H]
    /// and/or `dh_last` of the final hidden state [N, H]; `w` must be the weights the
    /// forward pass ran with. dx is computed only when `want_dx`.
    pub fn backward(&self, w: &Weights, dy: Option<&[f32]>, dh_last: Option<&[f32]>, want_dx: bool) -> Result<Grads> {
        let Dims { batch: n, steps: t, features: f, hidden: h } = self.cfg.dims;
        let gh = self.cfg.cell.gates() * h;
        let op = self.cfg.cell.name();
        if dy.is_some_and(|d| d.len() != n * t * h) || dh_last.is_some_and(|d| d.len() != n * h) {
            return Err(Error::invalid(op, format!("output gradient does not match N={n}, T={t}, H={h}")));
        }
        let plan: Vec<(usize, usize)> = self.chunks.iter().map(|c| (c.row0, c.rows)).collect();
        // w_hh^T is used at every step of every chunk: packed once
        let w_hh_t = PackedRhs::new(w.w_hh, gh, h, true);
        let parts = each_chunk(&plan, |r0, _| {
            let ch = self.chunks.iter().find(|c| c.row0 == r0).expect("chunk of the plan");
            self.backward_chunk(w, &w_hh_t, ch, dy, dh_last, want_dx)
        });

        let mut g = Grads {
            dx: want_dx.then(|| vec![0.0; n * t * f]),
            dw_ih: vec![0.0; f * gh],
            dw_hh: vec![0.0; h * gh],
            dbias: vec![0.0; gh],
            dbias_hh: w.bias_hh.map(|_| vec![0.0; gh]),
            dpeep: w.peep.map(|_| vec![0.0; 3 * h]),
            dh0: vec![0.0; n * h],
            dc0: (self.cfg.cell == Cell::Lstm).then(|| vec![0.0; n * h]),
        };
        let add = |acc: &mut [f32], part: &[f32]| acc.iter_mut().zip(part).for_each(|(a, p)| *a += p);
        for (ch, p) in self.chunks.iter().zip(parts) {
            add(&mut g.dw_ih, &p.dw_ih);
            add(&mut g.dw_hh, &p.dw_hh);
            add(&mut g.dbias, &p.dbias);
            if let (Some(acc), Some(part)) = (g.dbias_hh.as_mut(), p.dbias_hh.as_ref()) {
                add(acc, part);
            }
            if let Some(acc) = g.dpeep.as_mut() {
                add(acc, &p.dpeep);
            }
            let rows = ch.row0 * h..(ch.row0 + ch.rows) * h;
            g.dh0[rows.clone()].copy_from_slice(&p.dh0);
            if let Some(dc0) = g.dc0.as_mut() {
                dc0[rows].copy_from_slice(&p.dc0);
            }
            if let (Some(dx), Some(part)) = (g.dx.as_mut(), p.dx.as_ref()) {
                // [T, n, F] in processing order -> [N, T, F]
                for s in 0..t {
                    let tt = self.cfg.time(s);
                    for r in 0..ch.rows {
                        let dst = ((ch.row0 + r) * t + tt) * f;
                        dx[dst..dst + f].copy_from_slice(&part[(s * ch.rows + r) * f..(s * ch.rows + r + 1) * f]);
                    }
                }
            }
        }
        Ok(g)
    }

    fn backward_chunk(
        &self,
        w: &Weights,
        w_hh_t: &PackedRhs,
        ch: &ChunkTrace,
        dy: Option<&[f32]>,
        dh_last: Option<&[f32]>,
        want_dx: bool,
    ) -> ChunkGrads {
        let cfg = &self.cfg;
        let Dims { steps: t, features: f, hidden: h, .. } = cfg.dims;
        let cell = cfg.cell;
        let gh = cell.gates() * h;
        let (lstm, gru) = (cell == Cell::Lstm, cell == Cell::Gru);
        let (r0, nc) = (ch.row0, ch.rows);

        let mut dh = vec![0.0; nc * h];
        if let Some(d) = dh_last {
            dh.copy_from_slice(&d[r0 * h..(r0 + nc) * h]);
        }
        let mut dc = if lstm { vec![0.0; nc * h] } else { Vec::new() };
        // rows past a sample's length are skipped, and must read as zero in the GEMMs
        let scratch = |len| {
            if cfg.lengths.is_some() { Buf::zeroed(len) } else { Buf::uninit(len) }
        };
        let mut dz = scratch(t * nc * gh);
        let mut da = scratch(if gru { t * nc * gh } else { 0 });
        let zero_peep = vec![0.0; if lstm && w.peep.is_none() { 3 * h } else { 0 }];
        let peep = w.peep.unwrap_or(&zero_peep);
        let mut dpeep = vec![0.0; if lstm { 3 * h } else { 0 }];

        for s in (0..t).rev() {
            let tt = cfg.time(s);
            for r in 0..nc {
                if !cfg.valid(r0 + r, s) {
                    continue; // state passed through unchanged: so does its gradient
                }
                let cur = (s * nc + r) * h..(s * nc + r + 1) * h;
                let dh_r = &mut dh[r * h..(r + 1) * h];
                if let Some(dy) = dy {
                    let src = &dy[((r0 + r) * t + tt) * h..((r0 + r) * t + tt + 1) * h];
                    dh_r.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
                let grow = (s * nc + r) * gh..(s * nc + r + 1) * gh;
                let dz_r = &mut dz[grow.clone()];
                match cell {
                    Cell::RnnTanh | Cell::RnnRelu => {
                        let out = &ch.hs[(s + 1) * nc * h + r * h..(s + 1) * nc * h + (r + 1) * h];
                        cells::rnn_backward_row(out, dh_r, dz_r, cell == Cell::RnnRelu)
                    }
                    Cell::Lstm => {
                        let saved = LstmSaved {
                            gates: &ch.gates[grow],
                            c_prev: &ch.cs[cur.clone()],
                            c: &ch.cs[nc * h + cur.start..nc * h + cur.end],
                            tc: &ch.aux[cur],
                        };
                        cells::lstm_backward_row(&saved, dh_r, &mut dc[r * h..(r + 1) * h], dz_r, peep, &mut dpeep)
                    }
                    Cell::Gru => cells::gru_backward_row(
                        &ch.gates[grow.clone()],
                        &ch.aux[cur.clone()],
                        &ch.hs[cur],
                        dh_r,
                        dz_r,
                        &mut da[grow],
                    ),
                }
            }
            // dh_{t-1} += d(recurrent pre-activations) x w_hh^T: [n, G*H] x [G*H, H]
            let rec = if gru { &da } else { &dz };
            w_hh_t.mul_acc(nc, &rec[s * nc * gh..(s + 1) * nc * gh], &mut dh);
        }

        // weight gradients over all steps at once: [F, T*n] x [T*n, G*H], [H, T*n] x [T*n, G*H]
        let mut dw_ih = vec![0.0; f * gh];
        gemm_serial(f, gh, t * nc, &ch.x, true, &dz, false, &mut dw_ih, false);
        let rec = if gru { &da } else { &dz };
        let mut dw_hh = vec![0.0; h * gh];
        gemm_serial(h, gh, t * nc, &ch.hs[..t * nc * h], true, rec, false, &mut dw_hh, false);
        let dx = want_dx.then(|| {
            let mut d = vec![0.0; t * nc * f];
            gemm_serial(t * nc, f, gh, &dz, false, w.w_ih, true, &mut d, false);
            d
        });
        ChunkGrads {
            dx,
            dw_ih,
            dw_hh,
            dbias: column_sums(&dz, gh),
            dbias_hh: gru.then(|| column_sums(&da, gh)),
            dpeep,
            dh0: dh,
            dc0: dc,
        }
    }
}
