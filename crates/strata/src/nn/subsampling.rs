//! Subsampling2d: LeNet-5's trainable subsampling (LeCun et al. 1998, section II-B): "the
//! four inputs to a unit in S2 are added, then multiplied by a trainable coefficient, and
//! added to a trainable bias. The result is passed through a sigmoidal function." One
//! coefficient and one bias per map. Per-sample input [C, H, W] -> [C, H / k, W / k] for
//! non-overlapping k x k windows.
//!
//! Computed from ops the tape already has (average pooling, broadcast product and sum); its
//! gradient is checked against finite differences in tests/layers.rs.

use super::spec::linear;
use super::{Activation, ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::tensor::pool::{PoolGeom, PoolKind};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

fn two() -> usize {
    2
}

/// A [`Subsampling2d`] layer's configuration, as written in spec files
/// (`type = "subsampling2d"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "subsampling2d"
/// window = 2
/// activation = "scaled_tanh"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subsampling2dConfig {
    /// Side of the square, non-overlapping window; default 2.
    #[serde(default = "two")]
    pub window: usize,
    /// Applied to the output; default `"linear"`.
    #[serde(default = "linear")]
    pub activation: Activation,
}

/// `activation(coefficient[c] * sum of the window + bias[c])`: parameters `coefficient`
/// and `bias`, `[C]` each.
///
/// ```
/// use strata::nn::{Layer, Subsampling2d};
/// use strata::Rng;
/// let mut s2 = Subsampling2d::new(2);
/// assert_eq!(s2.build(&[6, 28, 28], &mut Rng::seeded(1)).unwrap(), vec![6, 14, 14]);
/// assert_eq!(s2.params().iter().map(|p| p.value.numel()).sum::<usize>(), 12); // as the paper's S2
/// ```
#[derive(Clone, Debug)]
pub struct Subsampling2d {
    config: Subsampling2dConfig,
    coefficient: Option<Param>,
    bias: Option<Param>,
}

impl Subsampling2d {
    /// Non-overlapping `window` x `window` subsampling, linear output.
    pub fn new(window: usize) -> Subsampling2d {
        Subsampling2d::from_config(Subsampling2dConfig { window, activation: linear() })
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: Subsampling2dConfig) -> Subsampling2d {
        Subsampling2d { config, coefficient: None, bias: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &Subsampling2dConfig {
        &self.config
    }
    /// The function applied to the output.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    fn geom(&self, input: &[usize]) -> Result<PoolGeom> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("Subsampling2d", input, "needs [C, H, W] input per sample"));
        };
        let k = self.config.window;
        PoolGeom::new(&[1, c, h, w], (k, k), (k, k), (0, 0))
    }
}

impl Layer for Subsampling2d {
    fn kind(&self) -> &'static str {
        "Subsampling2d"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let g = self.geom(input)?;
        if self.coefficient.as_ref().map(|c| c.value.shape() != [g.c]).unwrap_or(true) {
            // LeCun et al. 1998, appendix C: uniform in +-2.4 / fan-in (the window's cells)
            let bound = 2.4 / (g.kh * g.kw) as f32;
            self.coefficient = Some(Param::new("coefficient", Tensor::rand_uniform(&[g.c], -bound, bound, rng)));
            self.bias = Some(Param::new("bias", Tensor::zeros(&[g.c])));
        }
        Ok(vec![g.c, g.oh, g.ow])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let (Some(c), Some(b)) = (&self.coefficient, &self.bias) else {
            return Err(Error::Model("Subsampling2d used before build".into()));
        };
        let g = self.geom(&x.shape()[1.min(x.shape().len())..])?;
        let sum = x.pool2d(PoolKind::Avg, (g.kh, g.kw), g.stride, g.pad)?.scale((g.kh * g.kw) as f32);
        let per_map = [1, g.c, 1, 1];
        let y = sum.mul(&ctx.param(c).reshape(&per_map)?)?.add(&ctx.param(b).reshape(&per_map)?)?;
        self.config.activation.apply(&y)
    }
    fn params(&self) -> Vec<&Param> {
        self.coefficient.iter().chain(self.bias.iter()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.coefficient.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        self.geom(input).map(|g| (g.c * g.h * g.w) as u64).unwrap_or(0)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Subsampling2d(self.config.clone())
    }
}
