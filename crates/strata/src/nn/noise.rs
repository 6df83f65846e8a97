//! `Noise`: corrupts the input in training mode only — the "denoising" of a denoising
//! autoencoder (Vincent et al. 2008), which must then reconstruct the clean input from a
//! corrupted one and so cannot just learn the identity.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng, Tensor};
use std::str::FromStr;

/// The corruption.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Masking noise: each input set to 0 with probability `amount` (no rescaling, unlike
    /// dropout: the network must fill the gaps, not average over them).
    Mask,
    /// Additive Gaussian noise of standard deviation `amount`.
    Gaussian,
}

/// A [`Noise`] layer's configuration, as written in spec files (`type = "noise"`) and saved
/// models.
///
/// ```toml
/// [[layers]]
/// type = "noise"
/// noise = "mask"
/// amount = 0.25
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// The corruption, `"mask"` or `"gaussian"` (required).
    pub noise: NoiseKind,
    /// The masking probability in [0, 1), or the Gaussian's standard deviation (required).
    pub amount: f32,
}

/// Input corruption in training mode; identity in eval mode. Parses from `mask:0.25` or
/// `gaussian:0.3`.
///
/// ```
/// use strata::nn::Noise;
/// let n: Noise = "mask:0.3".parse().unwrap();
/// assert_eq!(n, Noise::mask(0.3));
/// assert!("blur:1".parse::<Noise>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    config: NoiseConfig,
}

impl Noise {
    /// Masking noise: each input zeroed with probability `p`.
    pub fn mask(p: f32) -> Noise {
        Noise::from_config(NoiseConfig { noise: NoiseKind::Mask, amount: p })
    }
    /// Additive Gaussian noise of standard deviation `std`.
    pub fn gaussian(std: f32) -> Noise {
        Noise::from_config(NoiseConfig { noise: NoiseKind::Gaussian, amount: std })
    }
    /// The corruption with this configuration.
    pub fn from_config(config: NoiseConfig) -> Noise {
        Noise { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &NoiseConfig {
        &self.config
    }
    /// Which corruption.
    pub fn noise_kind(&self) -> NoiseKind {
        self.config.noise
    }
    /// The masking probability, or the Gaussian's standard deviation.
    pub fn amount(&self) -> f32 {
        self.config.amount
    }
    fn check(&self) -> Result<()> {
        let NoiseConfig { noise, amount } = self.config;
        let ok = match noise {
            NoiseKind::Mask => (0.0..1.0).contains(&amount),
            NoiseKind::Gaussian => amount >= 0.0 && amount.is_finite(),
        };
        if ok { Ok(()) } else { Err(Error::invalid("noise", format!("{noise:?} amount {amount} out of range"))) }
    }
    /// Corrupts a plain tensor (outside a model), drawing from `rng`.
    pub fn corrupt(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        self.check()?;
        let amount = self.amount();
        let data = match self.noise_kind() {
            NoiseKind::Mask => x.data().iter().map(|&v| if rng.uniform() < amount { 0.0 } else { v }).collect(),
            NoiseKind::Gaussian => x.data().iter().map(|&v| v + rng.normal(0.0, amount)).collect(),
        };
        Tensor::from_vec(data, x.shape())
    }
}

impl FromStr for Noise {
    type Err = Error;
    fn from_str(s: &str) -> Result<Noise> {
        let bad = || Error::invalid("noise", format!("'{s}' (expected mask:P or gaussian:STD)"));
        let (kind, amount) = s.split_once(':').ok_or_else(bad)?;
        let amount: f32 = amount.trim().parse().map_err(|_| bad())?;
        let n = match kind.trim() {
            "mask" | "masking" => Noise::mask(amount),
            "gaussian" | "normal" => Noise::gaussian(amount),
            _ => return Err(bad()),
        };
        n.check()?;
        Ok(n)
    }
}

impl Layer for Noise {
    fn kind(&self) -> &'static str {
        "Noise"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.check()?;
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let NoiseConfig { noise, amount } = self.config;
        if !ctx.training || amount == 0.0 {
            return Ok(x.clone());
        }
        let rng = ctx.rng()?;
        match noise {
            NoiseKind::Mask => {
                let keep: Vec<f32> = (0..x.value().numel()).map(|_| (rng.uniform() >= amount) as u8 as f32).collect();
                x.mul_const(Tensor::from_vec(keep, x.shape())?)
            }
            NoiseKind::Gaussian => {
                let mut e = vec![0.0; x.value().numel()];
                rng.fill_normal(&mut e, 0.0, amount);
                x.add(&x.constant(Tensor::from_vec(e, x.shape())?))
            }
        }
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Noise(self.config)
    }
}
