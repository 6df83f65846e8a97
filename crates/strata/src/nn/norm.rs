//! Normalization layers: batch normalization and local response normalization.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::tensor::lrn::LrnParams;
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// A [`BatchNorm`] layer's configuration, as written in spec files (`type = "batch_norm"`)
/// and saved models. The defaults are PyTorch's.
///
/// ```toml
/// [[layers]]
/// type = "batch_norm"
/// momentum = 0.01
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormConfig {
    /// Weight of the newest batch in the running statistics, in [0, 1]; default 0.1.
    #[serde(default = "default_momentum")]
    pub momentum: f32,
    /// Added to the variance before the square root, > 0; default 1e-5.
    #[serde(default = "default_eps")]
    pub eps: f32,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig { momentum: default_momentum(), eps: default_eps() }
    }
}

/// A [`LocalResponseNorm`] layer's configuration, as written in spec files
/// (`type = "local_response_norm"`) and saved models. The defaults are PyTorch's.
///
/// ```toml
/// [[layers]]
/// type = "local_response_norm"
/// size = 5
/// k = 2.0
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalResponseNormConfig {
    /// Channels in the window around each channel (required).
    pub size: usize,
    /// Scale of the sum of squares (divided by `size`); default 1e-4.
    #[serde(default = "default_lrn_alpha")]
    pub alpha: f32,
    /// Exponent; default 0.75.
    #[serde(default = "default_lrn_beta")]
    pub beta: f32,
    /// Added before the exponent, > 0; default 1.
    #[serde(default = "default_lrn_k")]
    pub k: f32,
}

fn default_momentum() -> f32 {
    0.1
}
fn default_eps() -> f32 {
    1e-5
}
fn default_lrn_alpha() -> f32 {
    1e-4
}
fn default_lrn_beta() -> f32 {
    0.75
}
fn default_lrn_k() -> f32 {
    1.0
}

/// Running estimates of each channel's mean and variance, used in eval mode.
#[derive(Clone, Debug)]
struct RunningStats {
    mean: Tensor,
    var: Tensor,
}

/// Batch normalization over the channel axis: for `[N, C]` input (after a dense layer,
/// "1-D") and `[N, C, H, W]` images ("2-D"). The number of channels `C` is the first axis of
/// the per-sample shape, found at build time.
///
/// In training mode each channel is normalized with its batch mean and variance, and the
/// running statistics move toward them: `running = (1 - momentum) running + momentum
/// batch`, with the unbiased batch variance (PyTorch's semantics; momentum 0.1, eps 1e-5).
/// In eval mode the running statistics are used, so a prediction does not depend on the
/// rest of its batch. `gamma` (ones) and `beta` (zeros) are learned.
///
/// ```
/// use strata::nn::{BatchNorm, Layer};
/// use strata::Rng;
/// let mut bn = BatchNorm::new().momentum(0.01);
/// assert_eq!(bn.build(&[16, 8, 8], &mut Rng::seeded(0)).unwrap(), vec![16, 8, 8]);
/// assert_eq!(bn.channels(), Some(16));
/// assert_eq!(bn.buffers().len(), 2); // running_mean, running_var
/// ```
#[derive(Debug)]
pub struct BatchNorm {
    config: BatchNormConfig,
    gamma: Option<Param>,
    beta: Option<Param>,
    /// Updated by `forward` (which takes `&self`, as layers run on shared references);
    /// a `Mutex` rather than a `RefCell` because layers must be `Send`.
    running: Mutex<Option<RunningStats>>,
}

impl Clone for BatchNorm {
    fn clone(&self) -> BatchNorm {
        BatchNorm {
            config: self.config.clone(),
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            running: Mutex::new(self.stats()),
        }
    }
}

impl Default for BatchNorm {
    fn default() -> Self {
        BatchNorm::new()
    }
}

impl BatchNorm {
    /// Momentum 0.1 and eps 1e-5 (PyTorch's defaults).
    pub fn new() -> BatchNorm {
        BatchNorm::from_config(BatchNormConfig::default())
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: BatchNormConfig) -> BatchNorm {
        BatchNorm { config, gamma: None, beta: None, running: Mutex::new(None) }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &BatchNormConfig {
        &self.config
    }
    /// Weight of the newest batch in the running statistics, in [0, 1].
    pub fn momentum(mut self, m: f32) -> Self {
        self.config.momentum = m;
        self
    }
    /// Added to the variance before the square root, > 0.
    pub fn eps(mut self, eps: f32) -> Self {
        self.config.eps = eps;
        self
    }
    /// Number of channels, once built.
    pub fn channels(&self) -> Option<usize> {
        self.gamma.as_ref().map(|g| g.value.numel())
    }
    /// The learned scale `[C]`, once built.
    pub fn gamma(&self) -> Option<&Param> {
        self.gamma.as_ref()
    }
    /// The learned shift `[C]`, once built.
    pub fn beta(&self) -> Option<&Param> {
        self.beta.as_ref()
    }
    /// Running mean `[C]`, once built.
    pub fn running_mean(&self) -> Option<Tensor> {
        self.stats().map(|s| s.mean)
    }
    /// Running (unbiased) variance `[C]`, once built.
    pub fn running_var(&self) -> Option<Tensor> {
        self.stats().map(|s| s.var)
    }

    fn stats(&self) -> Option<RunningStats> {
        // A poisoned lock only means a panic elsewhere; the statistics are still whole.
        self.running.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Training-mode forward with the batch's statistics (and a ReLU in the same pass when
    /// `relu`); updates the running averages.
    fn forward_train(&self, x: &Var, gamma: &Var, beta: &Var, relu: bool) -> Result<Var> {
        let (y, mean, var) = if relu {
            x.batch_norm_relu_train(gamma, beta, self.config.eps)?
        } else {
            x.batch_norm_train(gamma, beta, self.config.eps)?
        };
        self.update_running(&mean, &var, x.value().numel() / mean.numel().max(1));
        Ok(y)
    }
    fn update_running(&self, batch_mean: &Tensor, batch_var: &Tensor, per_channel: usize) {
        let m = self.config.momentum;
        // Unbiased variance for the running estimate, as PyTorch does.
        let unbias = per_channel as f32 / (per_channel.max(2) - 1) as f32;
        let mut guard = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = guard.as_mut() {
            s.mean.data_mut().iter_mut().zip(batch_mean.data()).for_each(|(r, &b)| *r = (1.0 - m) * *r + m * b);
            s.var.data_mut().iter_mut().zip(batch_var.data()).for_each(|(r, &b)| *r = (1.0 - m) * *r + m * b * unbias);
        }
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        "BatchNorm"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if input.is_empty() || input.len() > 3 {
            return Err(Error::bad_shape("BatchNorm", input, "needs per-sample input [C] or [C, H, W]"));
        }
        let BatchNormConfig { momentum, eps } = self.config;
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::invalid("BatchNorm momentum", format!("{momentum} is not in [0, 1]")));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(Error::invalid("BatchNorm eps", format!("{eps} must be positive")));
        }
        let c = input[0];
        if self.channels() != Some(c) {
            self.gamma = Some(Param::new("gamma", Tensor::ones(&[c])));
            self.beta = Some(Param::new("beta", Tensor::zeros(&[c])));
            let fresh = RunningStats { mean: Tensor::zeros(&[c]), var: Tensor::ones(&[c]) };
            *self.running.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        }
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (Some(gamma), Some(beta)) = (&self.gamma, &self.beta) else {
            return Err(Error::Model("BatchNorm used before build".into()));
        };
        let (gamma, beta) = (ctx.param(gamma), ctx.param(beta));
        if ctx.training {
            self.forward_train(x, &gamma, &beta, false)
        } else {
            let s = self.stats().ok_or_else(|| Error::Model("BatchNorm used before build".into()))?;
            x.batch_norm_eval(&gamma, &beta, &s.mean, &s.var, self.config.eps)
        }
    }
    fn forward_relu(&self, x: &Var, ctx: &mut ForwardCtx) -> Option<Result<Var>> {
        let (Some(gamma), Some(beta)) = (&self.gamma, &self.beta) else {
            return None;
        };
        if !ctx.training {
            return None;
        }
        let (gamma, beta) = (ctx.param(gamma), ctx.param(beta));
        Some(self.forward_train(x, &gamma, &beta, true))
    }
    fn params(&self) -> Vec<&Param> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        match self.stats() {
            Some(s) => vec![("running_mean", s.mean), ("running_var", s.var)],
            None => Vec::new(),
        }
    }
    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        let c = self.channels().ok_or_else(|| Error::Model("BatchNorm: set_buffer before build".into()))?;
        if value.shape() != [c] {
            return Err(Error::ShapeMismatch { op: "BatchNorm set_buffer", left: vec![c], right: value.shape().to_vec() });
        }
        let stats = self.running.get_mut().unwrap_or_else(|e| e.into_inner());
        let s = stats.as_mut().ok_or_else(|| Error::Model("BatchNorm: set_buffer before build".into()))?;
        match name {
            "running_mean" => s.mean = value,
            "running_var" => s.var = value,
            _ => return Err(Error::Model(format!("BatchNorm has no buffer '{name}'"))),
        }
        Ok(())
    }
    /// One multiply-add per element (the normalization folds into a scale and shift).
    fn macs(&self, input: &[usize]) -> u64 {
        input.iter().product::<usize>() as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::BatchNorm(self.config.clone())
    }
}

/// Local response normalization across channels (AlexNet), PyTorch's semantics:
/// `b_c = a_c / (k + alpha/size * sum of a^2 over the size channels around c)^beta`.
/// Defaults alpha 1e-4, beta 0.75, k 1; no parameters.
///
/// ```
/// use strata::nn::{Layer, LocalResponseNorm};
/// use strata::Rng;
/// let mut lrn = LocalResponseNorm::new(5).k(2.0);
/// assert_eq!(lrn.build(&[96, 55, 55], &mut Rng::seeded(0)).unwrap(), vec![96, 55, 55]);
/// ```
#[derive(Clone, Debug)]
pub struct LocalResponseNorm {
    config: LocalResponseNormConfig,
}

impl LocalResponseNorm {
    /// A window of `size` channels, with alpha 1e-4, beta 0.75, k 1.
    pub fn new(size: usize) -> LocalResponseNorm {
        LocalResponseNorm::from_config(LocalResponseNormConfig {
            size,
            alpha: default_lrn_alpha(),
            beta: default_lrn_beta(),
            k: default_lrn_k(),
        })
    }
    /// A layer with this configuration.
    pub fn from_config(config: LocalResponseNormConfig) -> LocalResponseNorm {
        LocalResponseNorm { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &LocalResponseNormConfig {
        &self.config
    }
    /// Scale of the sum of squares (divided by the window size).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.config.alpha = alpha;
        self
    }
    /// Exponent.
    pub fn beta(mut self, beta: f32) -> Self {
        self.config.beta = beta;
        self
    }
    /// Added before the exponent, > 0.
    pub fn k(mut self, k: f32) -> Self {
        self.config.k = k;
        self
    }
    /// The configuration as the kernel's parameters.
    pub fn settings(&self) -> LrnParams {
        let LocalResponseNormConfig { size, alpha, beta, k } = self.config;
        LrnParams { size, alpha, beta, k }
    }
}

impl Layer for LocalResponseNorm {
    fn kind(&self) -> &'static str {
        "LocalResponseNorm"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if input.is_empty() {
            return Err(Error::bad_shape("LocalResponseNorm", input, "needs per-sample input [C, ...]"));
        }
        self.settings().check()?;
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let LocalResponseNormConfig { size, alpha, beta, k } = self.config;
        x.local_response_norm(size, alpha, beta, k)
    }
    /// About one multiply-add per element per channel of the window.
    fn macs(&self, input: &[usize]) -> u64 {
        (input.iter().product::<usize>() * self.config.size) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::LocalResponseNorm(self.config.clone())
    }
}
