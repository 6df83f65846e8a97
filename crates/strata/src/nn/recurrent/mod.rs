//! Recurrent layers: simple RNN (tanh or ReLU), LSTM (optionally with peephole
//! connections) and GRU; stacked and/or bidirectional; returning the last hidden state or
//! the whole sequence; with an initial state in and the final state out (stateful use:
//! truncated BPTT over long texts, generation one token at a time) and per-sample lengths
//! (padded batches).
//!
//! Each layer and direction is ONE fused tape op (`Var::recurrent`, kernels in
//! `tensor::recurrent`); `reference.rs` holds the step-by-step version it is tested against.
//!
//! Input is [N, T, F]: T steps of F features. An image batch [N, C, H, W] is read row by row
//! as T = H steps of C*W features (the lectures' "each image is 28 steps of 28 features").
//!
//! ```
//! use strata::nn::{Dense, Lstm};
//! use strata::model::Sequential;
//! let mut model = Sequential::new().add(Lstm::new(16)).add(Dense::new(10));
//! model.build(&[1, 28, 28]).unwrap();
//! assert_eq!(model.output_shape(), Some(&[10][..]));
//! ```

mod config;
mod reference;

pub use config::{GruConfig, LstmConfig, RecurrentConfig, RnnActivation, RnnConfig};
pub use reference::recurrent_reference;

use super::{ForwardCtx, Init, Layer, LayerSpec};
use crate::autograd::{FinalState, Param, RecurrentOptions, RecurrentWeights, Tape, Var};
pub use crate::tensor::recurrent::Cell;
use crate::{Error, Result, Rng, Tensor};

/// Which implementation runs a stack: the fused kernels, or the step-by-step reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The fused kernels of strata-core (training and inference).
    Fused,
    /// Step by step with general ops: the definition the fused kernels are tested against.
    Reference,
}

/// The state of every (layer, direction) of a stack, index `layer * directions + direction`,
/// each [N, units]. `c` is empty except for an LSTM.
#[derive(Clone, Debug, Default)]
pub struct RecurrentState {
    /// Hidden states `[N, units]`.
    pub h: Vec<Tensor>,
    /// Cell states `[N, units]` (LSTM only).
    pub c: Vec<Tensor>,
}

impl RecurrentState {
    /// As constants on `tape` (no gradient flows into a carried state).
    pub fn to_vars(&self, tape: &Tape) -> StateVars {
        StateVars {
            h: self.h.iter().map(|t| tape.input(t.clone())).collect(),
            c: self.c.iter().map(|t| tape.input(t.clone())).collect(),
        }
    }
    /// Keeps only the samples `rows` (e.g. when a batch shrinks).
    pub fn rows(&self, rows: &[usize]) -> Result<RecurrentState> {
        let pick = |v: &Vec<Tensor>| v.iter().map(|t| t.gather_rows(rows)).collect::<Result<Vec<_>>>();
        Ok(RecurrentState { h: pick(&self.h)?, c: pick(&self.c)? })
    }
}

/// An initial state on the tape (gradients can flow into it), laid out as [`RecurrentState`].
#[derive(Clone, Debug)]
pub struct StateVars {
    /// Hidden states `[N, units]`.
    pub h: Vec<Var>,
    /// Cell states `[N, units]` (LSTM only).
    pub c: Vec<Var>,
}

/// Runs a whole stack on `x` [N, T, F] with the weights of each (layer, direction) in
/// order. The core of [`Recurrent`], open so tests can feed weights as plain variables.
pub fn run_stack(
    cfg: &RecurrentConfig,
    x: &Var,
    weights: &[RecurrentWeights],
    initial: Option<&StateVars>,
    lengths: Option<&[usize]>,
    kernel: Kernel,
) -> Result<(Var, RecurrentState)> {
    let dirs = cfg.directions();
    let op = cfg.cell.name();
    if weights.len() != cfg.layers * dirs {
        return Err(Error::invalid(op, format!("{} weight sets for {} layers x {dirs} directions", weights.len(), cfg.layers)));
    }
    let lstm = cfg.cell == Cell::Lstm;
    if let Some(s) = initial
        && (s.h.len() != weights.len() || s.c.len() != if lstm { weights.len() } else { 0 })
    {
        return Err(Error::invalid(
            op,
            format!("initial state has {} h and {} c entries for {} passes", s.h.len(), s.c.len(), weights.len()),
        ));
    }
    let mut state = RecurrentState::default();
    let mut input = x.clone();
    for l in 0..cfg.layers {
        let last = l + 1 == cfg.layers;
        let mut outs = Vec::with_capacity(dirs);
        for d in 0..dirs {
            let i = l * dirs + d;
            let opts = RecurrentOptions {
                reverse: d == 1,
                return_sequences: !last || cfg.return_sequences,
                lengths: lengths.map(|l| l.to_vec()),
            };
            let h0 = initial.map(|s| &s.h[i]);
            let c0 = initial.and_then(|s| s.c.get(i));
            let (y, fin): (Var, FinalState) = match kernel {
                Kernel::Fused => input.recurrent(cfg.cell, &weights[i], h0, c0, &opts)?,
                Kernel::Reference => recurrent_reference(&input, cfg.cell, &weights[i], h0, c0, &opts)?,
            };
            state.h.push(fin.h);
            state.c.extend(fin.c);
            outs.push(y);
        }
        input = if dirs == 1 {
            outs.pop().unwrap_or(input)
        } else {
            let axis = outs[0].shape().len() - 1;
            Var::concat(&[&outs[0], &outs[1]], axis)?
        };
    }
    Ok((input, state))
}

/// The parameters of one direction of one layer.
#[derive(Clone, Debug)]
struct PassParams {
    w_ih: Param,
    w_hh: Param,
    bias: Param,
    bias_hh: Option<Param>,
    peep: Option<Param>,
}

/// A recurrent layer (stack). Make one with [`Rnn`], [`Lstm`] or [`Gru`].
#[derive(Clone, Debug)]
pub struct Recurrent {
    config: RecurrentConfig,
    /// Input features the parameters were built for.
    features: Option<usize>,
    passes: Vec<PassParams>,
}

/// Simple (Elman) recurrent layers: `h_t = phi(x_t W_ih + h_{t-1} W_hh + b)`.
pub struct Rnn;
/// Long short-term memory layers.
pub struct Lstm;
/// Gated recurrent unit layers.
pub struct Gru;

impl Rnn {
    /// tanh units.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(units: usize) -> Recurrent {
        Recurrent::new(Cell::RnnTanh, units)
    }
    /// ReLU units (Le et al. 2015 pair these with an identity-like recurrent init).
    pub fn relu(units: usize) -> Recurrent {
        Recurrent::new(Cell::RnnRelu, units)
    }
}
impl Lstm {
    /// `units` LSTM units.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(units: usize) -> Recurrent {
        Recurrent::new(Cell::Lstm, units)
    }
}
impl Gru {
    /// `units` GRU units.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(units: usize) -> Recurrent {
        Recurrent::new(Cell::Gru, units)
    }
}

/// A square matrix with orthonormal rows (Gram-Schmidt on Gaussian rows): repeated
/// multiplication by it neither shrinks nor grows a vector, the best start against
/// vanishing and exploding gradients (Saxe et al. 2014).
fn orthogonal(n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut m = vec![0.0f64; n * n];
    for i in 0..n {
        loop {
            for v in &mut m[i * n..(i + 1) * n] {
                *v = rng.normal(0.0, 1.0) as f64;
            }
            for j in 0..i {
                let dot: f64 = (0..n).map(|k| m[i * n + k] * m[j * n + k]).sum();
                for k in 0..n {
                    m[i * n + k] -= dot * m[j * n + k];
                }
            }
            let norm = m[i * n..(i + 1) * n].iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 1e-6 {
                m[i * n..(i + 1) * n].iter_mut().for_each(|v| *v /= norm);
                break;
            }
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

impl Recurrent {
    /// `units` hidden units of `cell`; one layer, one direction, final state out.
    pub fn new(cell: Cell, units: usize) -> Recurrent {
        Recurrent::from_config(RecurrentConfig::new(cell, units))
    }
    /// An unbuilt stack with this configuration, or with that of a spec-file form
    /// ([`RnnConfig`], [`LstmConfig`], [`GruConfig`]).
    pub fn from_config(config: impl Into<RecurrentConfig>) -> Recurrent {
        Recurrent { config: config.into(), features: None, passes: Vec::new() }
    }
    /// Stacks `n` layers.
    pub fn layers(mut self, n: usize) -> Self {
        self.config.layers = n;
        self
    }
    /// Runs each layer forward and backward in time, joining the two states (`[N, 2 units]`).
    pub fn bidirectional(mut self, yes: bool) -> Self {
        self.config.bidirectional = yes;
        self
    }
    /// Output every step's state [N, T, D*units] instead of the final one.
    pub fn return_sequences(mut self, yes: bool) -> Self {
        self.config.return_sequences = yes;
        self
    }
    /// LSTM peephole connections (an error at build time for other cells).
    pub fn peephole(mut self, yes: bool) -> Self {
        self.config.peephole = yes;
        self
    }
    /// The configuration (what [`Layer::spec`] saves, as an `rnn`, `lstm` or `gru`).
    pub fn config(&self) -> &RecurrentConfig {
        &self.config
    }

    /// Per-sample input shape [T, F], or [C, T, W] read as T steps of C*W features.
    fn steps_features(&self, input: &[usize]) -> Result<(usize, usize)> {
        match *input {
            [t, f] => Ok((t, f)),
            [c, t, w] => Ok((t, c * w)),
            _ => Err(Error::bad_shape(self.kind(), input, "needs per-sample input [steps, features] or [channels, rows, cols]")),
        }
    }

    /// [N, T, F] as is; [N, C, T, W] -> [N, T, C*W].
    fn as_sequence(&self, x: &Var) -> Result<Var> {
        match *x.shape() {
            [_, _, _] => Ok(x.clone()),
            [n, 1, t, w] => x.reshape(&[n, t, w]),
            [n, c, t, w] => x.permute(&[0, 2, 1, 3])?.reshape(&[n, t, c * w]),
            _ => Err(Error::bad_shape(
                self.kind(),
                x.shape(),
                "needs input [batch, steps, features] or [batch, channels, rows, cols]",
            )),
        }
    }

    /// The forward pass from an optional initial state (`None`: zeros) over samples of
    /// optional `lengths`; returns the output and the final state of every layer/direction.
    pub fn forward_with_state(
        &self,
        x: &Var,
        initial: Option<&StateVars>,
        lengths: Option<&[usize]>,
        ctx: &mut ForwardCtx,
    ) -> Result<(Var, RecurrentState)> {
        if self.passes.is_empty() {
            return Err(Error::Model(format!("{} used before build", self.kind())));
        }
        let vars: Vec<[Option<Var>; 5]> = self
            .passes
            .iter()
            .map(|p| {
                [
                    Some(ctx.param(&p.w_ih)),
                    Some(ctx.param(&p.w_hh)),
                    Some(ctx.param(&p.bias)),
                    p.bias_hh.as_ref().map(|b| ctx.param(b)),
                    p.peep.as_ref().map(|b| ctx.param(b)),
                ]
            })
            .collect();
        let weights: Vec<RecurrentWeights> = vars
            .iter()
            .map(|[a, b, c, d, e]| -> Result<RecurrentWeights> {
                let missing = || Error::Model("recurrent weights missing".into());
                Ok(RecurrentWeights {
                    w_ih: a.as_ref().ok_or_else(missing)?,
                    w_hh: b.as_ref().ok_or_else(missing)?,
                    bias: c.as_ref().ok_or_else(missing)?,
                    bias_hh: d.as_ref(),
                    peep: e.as_ref(),
                })
            })
            .collect::<Result<_>>()?;
        run_stack(&self.config, &self.as_sequence(x)?, &weights, initial, lengths, Kernel::Fused)
    }

    /// A zero state for a batch of `n` samples.
    pub fn zero_state(&self, n: usize) -> RecurrentState {
        let passes = self.config.layers * self.config.directions();
        let z = Tensor::zeros(&[n, self.config.units]);
        RecurrentState {
            h: vec![z.clone(); passes],
            c: if self.config.cell == Cell::Lstm { vec![z; passes] } else { Vec::new() },
        }
    }
}

impl Layer for Recurrent {
    fn kind(&self) -> &'static str {
        match self.config.cell {
            Cell::RnnTanh | Cell::RnnRelu => "RNN",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let (t, f) = self.steps_features(input)?;
        let RecurrentConfig { cell, units: h, layers, peephole, .. } = self.config;
        if h == 0 || layers == 0 {
            return Err(Error::invalid(self.kind(), "units and layers must be at least 1"));
        }
        if peephole && cell != Cell::Lstm {
            return Err(Error::invalid(self.kind(), "only an LSTM has peephole connections"));
        }
        let dirs = self.config.directions();
        if self.features != Some(f) {
            let g = cell.gates();
            // Every pass's weights at once (input and recurrent), before any is allocated.
            let widest_input = f.max(dirs.saturating_mul(h)).saturating_add(h);
            super::init::check_weights(&[layers, dirs, widest_input, g, h])?;
            self.passes.clear();
            for l in 0..layers {
                let fan_in = if l == 0 { f } else { dirs * h };
                for d in 0..dirs {
                    let suffix = format!("l{l}{}", if d == 1 { "_reverse" } else { "" });
                    let w_ih = Init::GlorotUniform.tensor(&[fan_in, g * h], fan_in, g * h, rng)?;
                    // w_hh: an orthogonal block per gate, so a step starts norm-preserving
                    let mut w_hh = vec![0.0; h * g * h];
                    for k in 0..g {
                        let q = orthogonal(h, rng);
                        for i in 0..h {
                            w_hh[i * g * h + k * h..i * g * h + (k + 1) * h].copy_from_slice(&q[i * h..(i + 1) * h]);
                        }
                    }
                    let mut bias = vec![0.0; g * h];
                    if cell == Cell::Lstm {
                        // forget gate open at the start: memories decay slowly until the
                        // network learns to forget (Jozefowicz et al. 2015)
                        bias[h..2 * h].fill(1.0);
                    }
                    self.passes.push(PassParams {
                        w_ih: Param::new(format!("weight_ih_{suffix}"), w_ih),
                        w_hh: Param::new(format!("weight_hh_{suffix}"), Tensor::from_vec(w_hh, &[h, g * h])?),
                        bias: Param::new(format!("bias_{suffix}"), Tensor::from_vec(bias, &[g * h])?),
                        bias_hh: (cell == Cell::Gru).then(|| Param::new(format!("bias_hh_{suffix}"), Tensor::zeros(&[g * h]))),
                        peep: peephole.then(|| Param::new(format!("peephole_{suffix}"), Tensor::zeros(&[3, h]))),
                    });
                }
            }
            self.features = Some(f);
        }
        Ok(if self.config.return_sequences { vec![t, dirs * h] } else { vec![dirs * h] })
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        Ok(self.forward_with_state(x, None, None, ctx)?.0)
    }
    fn params(&self) -> Vec<&Param> {
        self.passes
            .iter()
            .flat_map(|p| {
                [Some(&p.w_ih), Some(&p.w_hh), Some(&p.bias), p.bias_hh.as_ref(), p.peep.as_ref()].into_iter().flatten()
            })
            .collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.passes
            .iter_mut()
            .flat_map(|p| {
                [Some(&mut p.w_ih), Some(&mut p.w_hh), Some(&mut p.bias), p.bias_hh.as_mut(), p.peep.as_mut()]
                    .into_iter()
                    .flatten()
            })
            .collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        let Ok((t, f)) = self.steps_features(input) else {
            return 0;
        };
        let (h, dirs) = (self.config.units, self.config.directions());
        let gh = self.config.cell.gates() * h;
        (0..self.config.layers).map(|l| (dirs * t * (if l == 0 { f } else { dirs * h } + h) * gh) as u64).sum()
    }
    fn spec(&self) -> LayerSpec {
        self.config.spec()
    }
}
