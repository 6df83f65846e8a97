//! Rbf: LeNet-5's output layer of Euclidean radial basis function units (LeCun et al. 1998,
//! section II-B, equation 7): `y_i = sum_j (x_j - w_ij)^2`, the squared distance from the
//! input to class i's centre. The layer outputs the negated distances, so the nearest
//! centre has the largest score and softmax cross-entropy on them is the paper's
//! discriminative criterion (equation 9) without its constant "rubbish class" term
//! `e^-j`. Per-sample input `[F]` -> `[units]`.
//!
//! The paper's centres are fixed 7x12 bitmaps of the ASCII characters (+1/-1), drawn in its
//! figure 3 but not published as data; here they start as random +1/-1 codes and are
//! learned. Computed from ops the tape already has, `-(|x|^2 - 2 x.w + |w|^2)`; gradients
//! checked against finite differences in tests/layers.rs.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// An [`Rbf`] layer's configuration, as written in spec files (`type = "rbf"`) and saved
/// models.
///
/// ```toml
/// [[layers]]
/// type = "rbf"
/// units = 10
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbfConfig {
    /// Output units, one centre each (required).
    pub units: usize,
}

/// Negated squared Euclidean distances to `units` learned centres: parameter `centres`
/// `[units, F]`.
///
/// ```
/// use strata::nn::{Layer, Rbf};
/// use strata::Rng;
/// let mut out = Rbf::new(10);
/// assert_eq!(out.build(&[84], &mut Rng::seeded(1)).unwrap(), vec![10]);
/// assert_eq!(out.params()[0].value.shape(), &[10, 84]);
/// ```
#[derive(Clone, Debug)]
pub struct Rbf {
    config: RbfConfig,
    centres: Option<Param>,
}

impl Rbf {
    /// `units` radial basis function units.
    pub fn new(units: usize) -> Rbf {
        Rbf::from_config(RbfConfig { units })
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: RbfConfig) -> Rbf {
        Rbf { config, centres: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &RbfConfig {
        &self.config
    }
}

impl Layer for Rbf {
    fn kind(&self) -> &'static str {
        "Rbf"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let &[f] = input else {
            return Err(Error::bad_shape("Rbf", input, "needs flat input (add Flatten first)"));
        };
        let units = self.config.units;
        if units == 0 {
            return Err(Error::invalid("Rbf units", "must be at least 1"));
        }
        if self.centres.as_ref().map(|c| c.value.shape() != [units, f]).unwrap_or(true) {
            // +1/-1 codes, as the paper's bitmaps, within reach of the scaled tanh's range
            let codes = (0..units * f).map(|_| if rng.uniform() < 0.5 { -1.0 } else { 1.0 }).collect();
            self.centres = Some(Param::new("centres", Tensor::from_vec(codes, &[units, f])?));
        }
        Ok(vec![units])
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let Some(c) = &self.centres else {
            return Err(Error::Model("Rbf used before build".into()));
        };
        if x.shape().len() != 2 || x.shape()[1] != c.value.shape()[1] {
            return Err(Error::ShapeMismatch { op: "Rbf input", left: x.shape().to_vec(), right: c.value.shape().to_vec() });
        }
        let c = ctx.param(c);
        let xx = x.square().sum(1, true)?; // [N, 1]
        let cc = c.square().sum(1, false)?.reshape(&[1, self.config.units])?; // [1, units]
        let xc = x.matmul(&c.t()?)?; // [N, units]
        // -(|x|^2 - 2 x.c + |c|^2)
        xc.scale(2.0).sub(&xx)?.sub(&cc)
    }
    fn params(&self) -> Vec<&Param> {
        self.centres.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.centres.iter_mut().collect()
    }
    fn macs(&self, input: &[usize]) -> u64 {
        (input.iter().product::<usize>() * self.config.units) as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Rbf(self.config.clone())
    }
}
