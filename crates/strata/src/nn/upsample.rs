//! `Upsample2d`: nearest-neighbour upsampling, the decoder's inverse of pooling.
//!
//! A convolutional autoencoder shrinks its maps with pooling and must grow them back. A
//! transposed convolution learns the upsampling; nearest-neighbour copying followed by an
//! ordinary convolution does the same job without the checkerboard artefacts of strided
//! transposed convolutions (Odena et al. 2016), and has no parameters of its own.

use super::conv::Pair;
use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng};

/// Repeats every value of a [C, H, W] input into a `factor` block: [C, H fh, W fw].
///
/// ```
/// use strata::nn::{Layer, Upsample2d};
/// let mut up = Upsample2d::new(2);
/// assert_eq!(up.build(&[8, 7, 7], &mut strata::Rng::seeded(0)).unwrap(), vec![8, 14, 14]);
/// ```
#[derive(Clone, Debug)]
pub struct Upsample2d {
    config: Upsample2dConfig,
}

/// An [`Upsample2d`] layer's configuration, as written in spec files
/// (`type = "upsample2d"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "upsample2d"
/// factor = 2
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upsample2dConfig {
    /// How many copies of each value along each axis, `2` or `[rows, columns]` (required).
    pub factor: Pair,
}

impl Upsample2d {
    /// Repeats each value `factor` times along each axis (one size or (rows, columns)).
    pub fn new(factor: impl Into<Pair>) -> Upsample2d {
        Upsample2d::from_config(Upsample2dConfig { factor: factor.into() })
    }
    /// A layer with this configuration.
    pub fn from_config(config: Upsample2dConfig) -> Upsample2d {
        Upsample2d { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &Upsample2dConfig {
        &self.config
    }
}

impl Layer for Upsample2d {
    fn kind(&self) -> &'static str {
        "Upsample2d"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        let &[c, h, w] = input else {
            return Err(Error::bad_shape("Upsample2d", input, "needs image input [C, H, W]"));
        };
        let (fh, fw) = self.config.factor.get();
        if fh == 0 || fw == 0 {
            return Err(Error::invalid("Upsample2d factor", "must be at least 1"));
        }
        Ok(vec![c, h * fh, w * fw])
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        x.upsample2d(self.config.factor.get())
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Upsample2d(self.config.clone())
    }
}
