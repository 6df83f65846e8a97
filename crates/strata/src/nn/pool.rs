//! Pooling layers: max, min, average and L2 pooling over windows, and global average
//! pooling.

use super::conv::Pair;
use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::tensor::pool::PoolGeom;
/// Which pooling function (from strata-core): max, average or L2.
pub use crate::tensor::pool::PoolKind;
use crate::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// A [`Pool2d`] layer's configuration, as written in spec files (`type = "pool2d"`) and
/// saved models.
///
/// ```toml
/// [[layers]]
/// type = "pool2d"
/// pool = "max"
/// window = 3
/// stride = 2
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2dConfig {
    /// `"max"`, `"avg"`, `"l2"` or `"min"` (required).
    pub pool: PoolKind,
    /// Window size, `2` or `[rows, columns]` (required).
    pub window: Pair,
    /// Step between windows; default (absent): the window (non-overlapping pooling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<Pair>,
    /// Padding on every side; default 0.
    #[serde(default = "zero")]
    pub padding: Pair,
}

fn zero() -> Pair {
    Pair::Same(0)
}

/// A pooling layer over [C, H, W] inputs. Build one with [`MaxPool2d::new`],
/// [`AvgPool2d::new`], [`L2Pool2d::new`] or [`MinPool2d::new`].
#[derive(Clone, Debug)]
pub struct Pool2d {
    config: Pool2dConfig,
}

/// Max pooling (the stride defaults to the window: non-overlapping).
pub struct MaxPool2d;
/// Average pooling (LeNet-5's subsampling).
pub struct AvgPool2d;
/// L2 pooling: the square root of the sum of squares in each window.
pub struct L2Pool2d;
/// Min pooling: each window's smallest value (padded cells never win).
pub struct MinPool2d;

impl MaxPool2d {
    /// Max pooling over square windows of `window`, stride `window`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::Max, window)
    }
}
impl AvgPool2d {
    /// Average pooling over square windows of `window`, stride `window`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::Avg, window)
    }
}
impl L2Pool2d {
    /// L2 pooling over square windows of `window`, stride `window`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::L2, window)
    }
}

impl MinPool2d {
    /// Min pooling over square windows of `window`, stride `window`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::Min, window)
    }
}

impl Pool2d {
    /// `kind` pooling over square windows of `window`, stride `window`, no padding.
    pub fn new(kind: PoolKind, window: usize) -> Pool2d {
        Pool2d::from_config(Pool2dConfig { pool: kind, window: Pair::Same(window), stride: None, padding: zero() })
    }
    /// A layer with this configuration.
    pub fn from_config(config: Pool2dConfig) -> Pool2d {
        Pool2d { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &Pool2dConfig {
        &self.config
    }
    /// A rectangular window.
    pub fn window(mut self, w: impl Into<Pair>) -> Self {
        self.config.window = w.into();
        self
    }
    /// Overlapping pooling (AlexNet: window 3, stride 2).
    pub fn stride(mut self, s: impl Into<Pair>) -> Self {
        self.config.stride = Some(s.into());
        self
    }
    /// Padding on every side, one size or (rows, columns).
    pub fn padding(mut self, p: impl Into<Pair>) -> Self {
        self.config.padding = p.into();
        self
    }
    fn geom(&self, input: &[usize]) -> Result<PoolGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("Pool2d", input, "needs [C, H, W] input per sample"));
        };
        let Pool2dConfig { window, stride, padding, .. } = self.config;
        PoolGeom::new(&[1, c, h, w], window.get(), stride.unwrap_or(window).get(), padding.get())
    }
}

impl Layer for Pool2d {
    fn kind(&self) -> &'static str {
        match self.config.pool {
            PoolKind::Max => "MaxPool2d",
            PoolKind::Avg => "AvgPool2d",
            PoolKind::L2 => "L2Pool2d",
            PoolKind::Min => "MinPool2d",
        }
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        let g = self.geom(input)?;
        Ok(vec![g.c, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let g = self.geom(&x.shape()[1.min(x.shape().len())..])?;
        x.pool2d(self.config.pool, (g.kh, g.kw), g.stride, g.pad)
    }
    fn macs(&self, input: &[usize]) -> u64 {
        // Comparisons/additions rather than multiplies; reported for completeness.
        self.geom(input).map(|g| (g.c * g.oh * g.ow * g.kh * g.kw) as u64).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Pool2d(self.config.clone())
    }
}

/// A [`GlobalAvgPool2d`] layer's configuration: nothing to configure
/// (`type = "global_avg_pool2d"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalAvgPool2dConfig {}

/// Global average pooling: [C, H, W] -> `[C]`, the mean of each channel (Network in Network).
/// A unit struct: its configuration is empty, so there is nothing for it to hold.
#[derive(Clone, Debug, Default)]
pub struct GlobalAvgPool2d;

impl GlobalAvgPool2d {
    /// The layer (its configuration is empty).
    pub fn from_config(_config: GlobalAvgPool2dConfig) -> GlobalAvgPool2d {
        GlobalAvgPool2d
    }
    /// The (empty) configuration.
    pub fn config(&self) -> &GlobalAvgPool2dConfig {
        &GlobalAvgPool2dConfig {}
    }
}

impl Layer for GlobalAvgPool2d {
    fn kind(&self) -> &'static str {
        "GlobalAvgPool2d"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        match input {
            [c, _, _] => Ok(vec![*c]),
            _ => Err(Error::bad_shape("GlobalAvgPool2d", input, "needs [C, H, W] input per sample")),
        }
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        x.global_avg_pool()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::GlobalAvgPool2d(GlobalAvgPool2dConfig {})
    }
}
