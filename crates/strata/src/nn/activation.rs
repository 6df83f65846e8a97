//! Activation functions, usable inside a layer (`Dense::activation`) or as a layer.

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng};
use std::fmt;
use std::str::FromStr;

/// A nonlinearity. In spec files: `"relu"`, `"leaky_relu"` / `"leaky_relu:0.2"`,
/// `"elu"` / `"elu:1.0"`, `"sigmoid"`, `"tanh"`, `"scaled_tanh"`, `"softmax"`, `"linear"`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Activation {
    /// The identity.
    Linear,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// LeCun et al. 1998's squashing function `1.7159 tanh(2x/3)` (appendix A): f(±1) = ±1,
    /// and the second derivative is largest at ±1, the targets it is trained towards.
    ScaledTanh,
    /// `max(0, x)`.
    Relu,
    /// `x` for x > 0, `alpha x` otherwise.
    LeakyRelu(f32),
    /// `x` for x > 0, `alpha (e^x - 1)` otherwise.
    Elu(f32),
    /// Over the last axis.
    Softmax,
}

/// (A, S) of LeCun's scaled tanh `A tanh(S x)`: A = 1.7159, S = 2/3.
pub const SCALED_TANH: (f32, f32) = (1.7159, 2.0 / 3.0);

impl Activation {
    /// Applies the function on the tape.
    pub fn apply(self, x: &Var) -> Result<Var> {
        Ok(match self {
            Activation::Linear => x.clone(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::ScaledTanh => x.scale(SCALED_TANH.1).tanh().scale(SCALED_TANH.0),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(a) => x.leaky_relu(a),
            Activation::Elu(a) => x.elu(a),
            Activation::Softmax => x.softmax()?,
        })
    }
    /// True for the ReLU family, whose layers default to He initialization.
    pub fn is_rectifier(self) -> bool {
        matches!(self, Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_))
    }
    /// True for the squashing outputs a loss can fuse (softmax, sigmoid).
    pub fn is_output_squash(self) -> bool {
        matches!(self, Activation::Softmax | Activation::Sigmoid)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Activation::Linear => "linear".to_string(),
            Activation::Sigmoid => "sigmoid".to_string(),
            Activation::Tanh => "tanh".to_string(),
            Activation::ScaledTanh => "scaled_tanh".to_string(),
            Activation::Relu => "relu".to_string(),
            Activation::LeakyRelu(a) => format!("leaky_relu:{a}"),
            Activation::Elu(a) => format!("elu:{a}"),
            Activation::Softmax => "softmax".to_string(),
        };
        f.pad(&s)
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let alpha = |default: f32| -> Result<f32> {
            arg.map_or(Ok(default), |a| {
                a.trim().parse().map_err(|_| Error::invalid("activation", format!("'{s}': '{a}' is not a number")))
            })
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "linear" | "identity" | "none" => Activation::Linear,
            "sigmoid" | "logistic" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "scaled_tanh" | "lecun_tanh" => Activation::ScaledTanh,
            "relu" => Activation::Relu,
            "leaky_relu" | "leakyrelu" => Activation::LeakyRelu(alpha(0.01)?),
            "elu" => Activation::Elu(alpha(1.0)?),
            "softmax" => Activation::Softmax,
            other => {
                return Err(Error::invalid(
                    "activation",
                    format!(
                        "unknown '{other}' (expected linear, sigmoid, tanh, scaled_tanh, relu, leaky_relu[:alpha], elu[:alpha], softmax)"
                    ),
                ));
            }
        })
    }
}

impl TryFrom<String> for Activation {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Activation> for String {
    fn from(a: Activation) -> String {
        a.to_string()
    }
}

/// An [`ActivationLayer`]'s configuration, as written in spec files
/// (`type = "activation"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "activation"
/// activation = "leaky_relu:0.2"
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationConfig {
    /// The function (required).
    pub activation: Activation,
}

/// An activation function as a layer of its own.
///
/// ```
/// use strata::nn::{Activation, ActivationLayer};
/// let layer = ActivationLayer::new(Activation::Relu);
/// assert_eq!(layer.activation(), Activation::Relu);
/// ```
#[derive(Clone, Debug)]
pub struct ActivationLayer {
    config: ActivationConfig,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> ActivationLayer {
        ActivationLayer::from_config(ActivationConfig { activation })
    }
    /// A layer with this configuration.
    pub fn from_config(config: ActivationConfig) -> ActivationLayer {
        ActivationLayer { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &ActivationConfig {
        &self.config
    }
    /// The function this layer applies.
    pub fn activation(&self) -> Activation {
        self.config.activation
    }
}

impl Layer for ActivationLayer {
    fn kind(&self) -> &'static str {
        "Activation"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        self.activation().apply(x)
    }
    fn forward_logits(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        if self.activation().is_output_squash() { Ok(x.clone()) } else { self.forward(x, ctx) }
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation()).filter(|a| a.is_output_squash())
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Activation(self.config.clone())
    }
    fn as_activation(&self) -> Option<Activation> {
        Some(self.activation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["relu", "sigmoid", "tanh", "softmax", "linear", "leaky_relu:0.2", "elu:1"] {
            let a: Activation = s.parse().unwrap();
            assert_eq!(a.to_string().parse::<Activation>().unwrap(), a);
        }
        assert_eq!("leaky_relu".parse::<Activation>().unwrap(), Activation::LeakyRelu(0.01));
        let err = "swish".parse::<Activation>().unwrap_err().to_string();
        assert!(err.contains("swish"), "{err}");
    }
}
