//! ChannelMaxout: maxout for convolutional networks (Goodfellow et al. 2013, section 2:
//! "in a convolutional network, a maxout feature map is constructed by taking the maximum
//! across k affine feature maps"). Per-sample input [C, H, W] -> output [C / pieces, H, W]:
//! output map g is the elementwise maximum of input maps g*pieces .. (g+1)*pieces, so a
//! convolution with `units * pieces` filters followed by this layer is a maxout
//! convolution. No parameters of its own.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// A [`ChannelMaxout`] layer's configuration, as written in spec files
/// (`type = "channel_maxout"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "conv2d"
/// filters = 32        # 16 maxout maps of 2 pieces each
/// kernel = 3
///
/// [[layers]]
/// type = "channel_maxout"
/// pieces = 2
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMaxoutConfig {
    /// Consecutive input maps per output map, of which the largest wins (required).
    pub pieces: usize,
}

/// Maxout over groups of `pieces` consecutive channels.
///
/// ```
/// use strata::nn::{ChannelMaxout, Layer};
/// use strata::Rng;
/// let mut layer = ChannelMaxout::new(3);
/// assert_eq!(layer.build(&[12, 5, 5], &mut Rng::seeded(1)).unwrap(), vec![4, 5, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct ChannelMaxout {
    config: ChannelMaxoutConfig,
}

impl ChannelMaxout {
    /// Maxout over groups of `pieces` channels.
    pub fn new(pieces: usize) -> ChannelMaxout {
        ChannelMaxout::from_config(ChannelMaxoutConfig { pieces })
    }
    /// A layer with this configuration.
    pub fn from_config(config: ChannelMaxoutConfig) -> ChannelMaxout {
        ChannelMaxout { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &ChannelMaxoutConfig {
        &self.config
    }
    /// (groups, pieces, H, W) for a per-sample input, checked.
    fn groups(&self, input: &[usize]) -> Result<(usize, usize, usize, usize)> {
        let [c, h, w] = *input else {
            return Err(Error::bad_shape("ChannelMaxout", input, "needs [C, H, W] input per sample"));
        };
        let p = self.config.pieces;
        if p == 0 || c % p != 0 {
            return Err(Error::bad_shape(
                "ChannelMaxout",
                input,
                format!(
                    "{c} channels do not split into groups of {p} pieces (pieces must be at least 1 and divide the channels)"
                ),
            ));
        }
        Ok((c / p, p, h, w))
    }
}

impl Layer for ChannelMaxout {
    fn kind(&self) -> &'static str {
        "ChannelMaxout"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        let (g, _, h, w) = self.groups(input)?;
        Ok(vec![g, h, w])
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let n = x.shape().first().copied().unwrap_or(0);
        let (g, p, h, w) = self.groups(&x.shape()[1.min(x.shape().len())..])?;
        // [N, G, P, H*W]: the max over the pieces axis keeps [N, G, H*W]
        x.reshape(&[n, g, p, h * w])?.max(2, false)?.reshape(&[n, g, h, w])
    }
    fn macs(&self, input: &[usize]) -> u64 {
        // comparisons, reported for completeness
        input.iter().product::<usize>() as u64
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::ChannelMaxout(self.config.clone())
    }
}
