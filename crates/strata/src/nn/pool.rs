//! Pooling layers: max, average and L2 pooling over windows, and global average pooling.

use super::conv::Pair;
use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::tensor::pool::{PoolGeom, PoolKind};
use crate::{Error, Result, Rng};

/// A pooling layer over [C, H, W] inputs. Build one with [`MaxPool2d::new`],
/// [`AvgPool2d::new`] or [`L2Pool2d::new`].
#[derive(Clone, Debug)]
pub struct Pool2d {
    kind: PoolKind,
    window: Pair,
    stride: Option<Pair>,
    padding: Pair,
}

/// Max pooling (the stride defaults to the window: non-overlapping).
pub struct MaxPool2d;
/// Average pooling (LeNet-5's subsampling).
pub struct AvgPool2d;
/// L2 pooling: the square root of the sum of squares in each window.
pub struct L2Pool2d;

impl MaxPool2d {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::Max, window)
    }
}
impl AvgPool2d {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::Avg, window)
    }
}
impl L2Pool2d {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(window: usize) -> Pool2d {
        Pool2d::new(PoolKind::L2, window)
    }
}

impl Pool2d {
    pub fn new(kind: PoolKind, window: usize) -> Pool2d {
        Pool2d { kind, window: Pair::Same(window), stride: None, padding: Pair::Same(0) }
    }
    /// A rectangular window.
    pub fn window(mut self, w: impl Into<Pair>) -> Self {
        self.window = w.into();
        self
    }
    /// Overlapping pooling (AlexNet: window 3, stride 2).
    pub fn stride(mut self, s: impl Into<Pair>) -> Self {
        self.stride = Some(s.into());
        self
    }
    pub fn padding(mut self, p: impl Into<Pair>) -> Self {
        self.padding = p.into();
        self
    }
    fn geom(&self, input: &[usize]) -> Result<PoolGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("Pool2d", input, "needs [C, H, W] input per sample"));
        };
        PoolGeom::new(&[1, c, h, w], self.window.get(), self.stride.unwrap_or(self.window).get(), self.padding.get())
    }
}

impl Layer for Pool2d {
    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "MaxPool2d",
            PoolKind::Avg => "AvgPool2d",
            PoolKind::L2 => "L2Pool2d",
        }
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        let g = self.geom(input)?;
        Ok(vec![g.c, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let g = self.geom(&x.shape()[1.min(x.shape().len())..])?;
        x.pool2d(self.kind, (g.kh, g.kw), g.stride, g.pad)
    }
    fn macs(&self, input: &[usize]) -> u64 {
        // Comparisons/additions rather than multiplies; reported for completeness.
        self.geom(input).map(|g| (g.c * g.oh * g.ow * g.kh * g.kw) as u64).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Pool2d { pool: self.kind, window: self.window, stride: self.stride, padding: self.padding }
    }
}

/// Global average pooling: [C, H, W] -> [C], the mean of each channel (Network in Network).
#[derive(Clone, Debug, Default)]
pub struct GlobalAvgPool2d;

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
        LayerSpec::GlobalAvgPool2d
    }
}
