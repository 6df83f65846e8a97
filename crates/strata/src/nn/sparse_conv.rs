//! SparseConv2d: a convolution in which each output map reads only the input maps a
//! connection table lists — LeNet-5's C3 (LeCun et al. 1998, table I), where "a
//! non-complete connection scheme keeps the number of connections within reasonable bounds
//! [and] forces a break of symmetry in the network". Per-sample input [C, H, W] -> output
//! [O, H - KH + 1, W - KW + 1] (stride 1, no padding, as C3).
//!
//! Computed from ops the tape already has: output maps with the same number of inputs that
//! follow each other form a run; a run's input maps are gathered (channel slices joined in
//! table order) and convolved with `groups` = the run's length, so every output map sees
//! exactly its own inputs. Its gradient is the tape's, checked against finite differences in
//! tests/layers.rs.

use super::conv::Pair;
use super::spec::{linear, yes};
use super::{Activation, ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// LeNet-5's table I: for each of C3's 16 maps, the S2 maps it reads (six read three
/// neighbouring maps, six read four neighbouring, three read four non-neighbouring, one
/// reads all six). 1,516 parameters with 5x5 kernels and biases, as the paper counts.
pub const LENET5_C3_TABLE: [&[usize]; 16] = [
    &[0, 1, 2],
    &[1, 2, 3],
    &[2, 3, 4],
    &[3, 4, 5],
    &[0, 4, 5],
    &[0, 1, 5],
    &[0, 1, 2, 3],
    &[1, 2, 3, 4],
    &[2, 3, 4, 5],
    &[0, 3, 4, 5],
    &[0, 1, 4, 5],
    &[0, 1, 2, 5],
    &[0, 1, 3, 4],
    &[1, 2, 4, 5],
    &[0, 2, 3, 5],
    &[0, 1, 2, 3, 4, 5],
];

/// A [`SparseConv2d`] layer's configuration, as written in spec files
/// (`type = "sparse_conv2d"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "sparse_conv2d"
/// table = [[0, 1, 2], [1, 2, 3], [0, 1, 2, 3]]   # output map j reads input maps table[j]
/// kernel = 5
/// activation = "scaled_tanh"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparseConv2dConfig {
    /// For each output map, the input maps it reads (required; one row per output map).
    pub table: Vec<Vec<usize>>,
    /// Kernel size, `5` or `[height, width]` (required).
    pub kernel: Pair,
    /// Whether to add a learned bias per output map; default `true`.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Applied to the output; default `"linear"`.
    #[serde(default = "linear")]
    pub activation: Activation,
}

/// A convolution with a connection table: weight `[connections, KH, KW]` (one kernel per
/// listed (output, input) pair, in table order), bias `[O]`.
///
/// ```
/// use strata::nn::{Layer, SparseConv2d, LENET5_C3_TABLE};
/// use strata::Rng;
/// let mut c3 = SparseConv2d::new(&LENET5_C3_TABLE, 5);
/// assert_eq!(c3.build(&[6, 14, 14], &mut Rng::seeded(1)).unwrap(), vec![16, 10, 10]);
/// let params: usize = c3.params().iter().map(|p| p.value.numel()).sum();
/// assert_eq!(params, 1_516); // LeCun et al. 1998: "C3 has 1,516 trainable parameters"
/// ```
#[derive(Clone, Debug)]
pub struct SparseConv2d {
    config: SparseConv2dConfig,
    weight: Option<Param>,
    bias: Option<Param>,
}

/// Output maps `start..start + count`, each reading `inputs` maps: one grouped convolution.
struct Run {
    start: usize,
    count: usize,
    inputs: usize,
    /// Offset of the run's first kernel in the weight.
    offset: usize,
}

impl SparseConv2d {
    /// Output map j reads input maps `table[j]`, square `kernel`; bias, linear.
    pub fn new(table: &[&[usize]], kernel: usize) -> SparseConv2d {
        SparseConv2d::from_config(SparseConv2dConfig {
            table: table.iter().map(|r| r.to_vec()).collect(),
            kernel: Pair::Same(kernel),
            use_bias: true,
            activation: linear(),
        })
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: SparseConv2dConfig) -> SparseConv2d {
        SparseConv2d { config, weight: None, bias: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &SparseConv2dConfig {
        &self.config
    }
    /// The function applied to the output.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }

    /// Checks the table against a per-sample input and returns the output shape.
    fn check(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("SparseConv2d", input, "needs [C, H, W] input per sample"));
        };
        let (kh, kw) = self.config.kernel.get();
        if kh == 0 || kw == 0 || kh > h || kw > w {
            return Err(Error::bad_shape("SparseConv2d", input, format!("a {kh}x{kw} kernel does not fit")));
        }
        let table = &self.config.table;
        if table.is_empty() {
            return Err(Error::invalid("SparseConv2d table", "needs at least one output map"));
        }
        for (j, row) in table.iter().enumerate() {
            if row.is_empty() {
                return Err(Error::invalid("SparseConv2d table", format!("output map {j} reads no input map")));
            }
            if let Some(&bad) = row.iter().find(|&&i| i >= c) {
                return Err(Error::invalid(
                    "SparseConv2d table",
                    format!("output map {j} reads input map {bad}, but the input has {c} maps"),
                ));
            }
            if (1..row.len()).any(|a| row[..a].contains(&row[a])) {
                return Err(Error::invalid("SparseConv2d table", format!("output map {j} lists an input map twice")));
            }
        }
        Ok(vec![table.len(), h - kh + 1, w - kw + 1])
    }

    /// Consecutive output maps with equal input counts.
    fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        let mut offset = 0;
        for (j, row) in self.config.table.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.inputs == row.len() => r.count += 1,
                _ => runs.push(Run { start: j, count: 1, inputs: row.len(), offset }),
            }
            offset += row.len();
        }
        runs
    }

    /// The input maps a run reads, in table order, as one tensor: neighbouring indices are
    /// sliced together.
    fn gather(&self, x: &Var, run: &Run) -> Result<Var> {
        let indices: Vec<usize> = self.config.table[run.start..run.start + run.count].iter().flatten().copied().collect();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < indices.len() {
            let mut end = i + 1;
            while end < indices.len() && indices[end] == indices[end - 1] + 1 {
                end += 1;
            }
            parts.push(x.slice(1, indices[i], indices[end - 1] + 1)?);
            i = end;
        }
        let refs: Vec<&Var> = parts.iter().collect();
        Var::concat(&refs, 1)
    }
}

impl Layer for SparseConv2d {
    fn kind(&self) -> &'static str {
        "SparseConv2d"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let out = self.check(input)?;
        let (kh, kw) = self.config.kernel.get();
        let connections: usize = self.config.table.iter().map(Vec::len).sum();
        let shape = [connections, kh, kw];
        if self.weight.as_ref().map(|w| w.value.shape() != shape).unwrap_or(true) {
            // LeCun et al. 1998, appendix C: uniform in +-2.4 / fan-in, the fan-in being the
            // map's own connections
            let mut data = Vec::with_capacity(connections * kh * kw);
            for row in &self.config.table {
                let bound = 2.4 / (row.len() * kh * kw) as f32;
                data.extend((0..row.len() * kh * kw).map(|_| rng.uniform_range(-bound, bound)));
            }
            self.weight = Some(Param::new("weight", Tensor::from_vec(data, &shape)?));
            self.bias = self.config.use_bias.then(|| Param::new("bias", Tensor::zeros(&[self.config.table.len()])));
        }
        Ok(out)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let y = self.forward_logits(x, ctx)?;
        let activation = self.config.activation;
        if activation.is_output_squash() { activation.apply(&y) } else { Ok(y) }
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let Some(w) = &self.weight else {
            return Err(Error::Model("SparseConv2d used before build".into()));
        };
        self.check(&x.shape()[1.min(x.shape().len())..])?;
        let (kh, kw) = self.config.kernel.get();
        let (w, b) = (ctx.param(w), self.bias.as_ref().map(|b| ctx.param(b)));
        let mut outs = Vec::new();
        for run in self.runs() {
            let xs = self.gather(x, &run)?;
            let wr = w.slice(0, run.offset, run.offset + run.count * run.inputs)?.reshape(&[run.count, run.inputs, kh, kw])?;
            let br = b.as_ref().map(|b| b.slice(0, run.start, run.start + run.count)).transpose()?;
            outs.push(xs.conv2d(&wr, br.as_ref(), (1, 1), (0, 0, 0, 0), (1, 1), run.count)?);
        }
        let y = if outs.len() == 1 { outs.remove(0) } else { Var::concat(&outs.iter().collect::<Vec<_>>(), 1)? };
        let activation = self.config.activation;
        if activation.is_output_squash() { Ok(y) } else { activation.apply(&y) }
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.config.activation).filter(|a| a.is_output_squash())
    }
    fn params(&self) -> Vec<&Param> {
        self.weight.iter().chain(self.bias.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        let (kh, kw) = self.config.kernel.get();
        let connections: usize = self.config.table.iter().map(Vec::len).sum();
        self.check(input).map(|o| (connections * kh * kw * o[1] * o[2]) as u64).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::SparseConv2d(self.config.clone())
    }
}

/// The dense kernel `[O, C, KH, KW]` equal to a sparse one: zeros where the table has no
/// connection (what an ONNX `Conv` computes the same way).
pub(crate) fn dense_kernel(config: &SparseConv2dConfig, channels: usize, weight: &Tensor) -> Result<Tensor> {
    let (kh, kw) = config.kernel.get();
    let taps = kh * kw;
    let o = config.table.len();
    let mut dense = vec![0.0; o * channels * taps];
    let mut k = 0;
    for (j, row) in config.table.iter().enumerate() {
        for &i in row {
            let src = weight
                .data()
                .get(k * taps..(k + 1) * taps)
                .ok_or_else(|| Error::Model("SparseConv2d weight too short".into()))?;
            dense[(j * channels + i) * taps..(j * channels + i + 1) * taps].copy_from_slice(src);
            k += 1;
        }
    }
    Tensor::from_vec(dense, &[o, channels, kh, kw])
}
