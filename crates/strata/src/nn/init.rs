//! Weight initializers. Each keeps the variance of activations roughly constant from layer
//! to layer, which is what lets deep networks start learning at all.

use crate::{Error, Result, Rng, Tensor};
use std::str::FromStr;

/// How a weight tensor is filled. `fan_in`/`fan_out` are the inputs/outputs per unit
/// (for a conv kernel: channels x kernel area).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// All zeros (for biases; weights need asymmetry to learn).
    Zeros,
    /// Glorot/Xavier uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
    GlorotUniform,
    /// Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)).
    GlorotNormal,
    /// He/Kaiming uniform: U(-l, l), l = sqrt(6 / fan_in).
    HeUniform,
    /// He/Kaiming normal: N(0, 2 / fan_in).
    HeNormal,
    /// PyTorch's default for linear and conv layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    TorchDefault,
}

impl Init {
    /// A tensor of `shape` drawn by this scheme for a layer with `fan_in` inputs and `fan_out`
    /// outputs per unit; an error (naming the shape) when it is too large to allocate.
    pub fn tensor(self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Result<Tensor> {
        check_weights(shape)?;
        let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        Ok(match self {
            Init::Zeros => Tensor::zeros(shape),
            Init::GlorotUniform => {
                let l = (6.0 / (fi + fo)).sqrt();
                Tensor::rand_uniform(shape, -l, l, rng)
            }
            Init::GlorotNormal => Tensor::rand_normal(shape, 0.0, (2.0 / (fi + fo)).sqrt(), rng),
            Init::HeUniform => {
                let l = (6.0 / fi).sqrt();
                Tensor::rand_uniform(shape, -l, l, rng)
            }
            Init::HeNormal => Tensor::rand_normal(shape, 0.0, (2.0 / fi).sqrt(), rng),
            Init::TorchDefault => {
                let l = 1.0 / fi.sqrt();
                Tensor::rand_uniform(shape, -l, l, rng)
            }
        })
    }
}

/// Refuses a weight tensor of `shape` before it is allocated when its size passes
/// [`memory::MAX_ELEMENTS`](crate::memory::MAX_ELEMENTS) or the available memory (sizes come
/// from spec files, saved descriptions and flags).
pub(crate) fn check_weights(shape: &[usize]) -> Result<()> {
    let n = crate::memory::checked_element_count("weights", shape)?;
    crate::memory::ensure_fits(&format!("a weight tensor {shape:?}"), n as u64 * 4)
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Init::Zeros => "zeros",
            Init::GlorotUniform => "glorot_uniform",
            Init::GlorotNormal => "glorot_normal",
            Init::HeUniform => "he_uniform",
            Init::HeNormal => "he_normal",
            Init::TorchDefault => "torch_default",
        })
    }
}

impl FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "zeros" | "zero" => Init::Zeros,
            "glorot_uniform" | "xavier_uniform" => Init::GlorotUniform,
            "glorot_normal" | "xavier_normal" => Init::GlorotNormal,
            "he_uniform" | "kaiming_uniform" => Init::HeUniform,
            "he_normal" | "kaiming_normal" => Init::HeNormal,
            "torch_default" | "torch" => Init::TorchDefault,
            other => {
                return Err(Error::invalid(
                    "initializer",
                    format!(
                        "unknown '{other}' (expected zeros, glorot_uniform, glorot_normal, he_uniform, he_normal, torch_default)"
                    ),
                ));
            }
        })
    }
}

impl TryFrom<String> for Init {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(i: Init) -> String {
        i.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variance(t: &Tensor) -> f32 {
        let m = t.mean_all();
        t.data().iter().map(|v| (v - m) * (v - m)).sum::<f32>() / t.numel() as f32
    }

    #[test]
    fn variances_match_their_formulas() {
        let mut rng = Rng::seeded(5);
        let (fi, fo) = (300, 200);
        let shape = [fi, fo];
        let cases = [
            (Init::GlorotUniform, 2.0 / (fi + fo) as f32),
            (Init::GlorotNormal, 2.0 / (fi + fo) as f32),
            (Init::HeUniform, 2.0 / fi as f32),
            (Init::HeNormal, 2.0 / fi as f32),
            (Init::TorchDefault, 1.0 / (3.0 * fi as f32)),
        ];
        for (init, want) in cases {
            let v = variance(&init.tensor(&shape, fi, fo, &mut rng).unwrap());
            assert!((v / want - 1.0).abs() < 0.05, "{init}: variance {v} vs {want}");
        }
        assert_eq!(Init::Zeros.tensor(&shape, fi, fo, &mut rng).unwrap().sum_all(), 0.0);
    }

    #[test]
    fn same_seed_same_weights() {
        let a = Init::HeNormal.tensor(&[10, 10], 10, 10, &mut Rng::seeded(3)).unwrap();
        let b = Init::HeNormal.tensor(&[10, 10], 10, 10, &mut Rng::seeded(3)).unwrap();
        assert_eq!(a, b);
        assert!("bogus".parse::<Init>().is_err());
    }
}
