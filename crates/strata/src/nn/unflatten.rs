//! `Unflatten`: the inverse of `Flatten`, giving flat features a per-sample shape again
//! (a dense decoder's 784 outputs back to a [1, 28, 28] image).

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng};

/// An [`Unflatten`] layer's configuration, as written in spec files
/// (`type = "unflatten"`) and saved models.
///
/// ```toml
/// [[layers]]
/// type = "unflatten"
/// shape = [1, 28, 28]
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnflattenConfig {
    /// The per-sample output shape; its sizes multiply to the input width (required).
    pub shape: Vec<usize>,
}

/// `[N, d] -> [N, ...shape]` where the sizes of `shape` multiply to d.
#[derive(Clone, Debug)]
pub struct Unflatten {
    config: UnflattenConfig,
}

impl Unflatten {
    /// Flat features to the per-sample `shape`.
    pub fn new(shape: &[usize]) -> Unflatten {
        Unflatten::from_config(UnflattenConfig { shape: shape.to_vec() })
    }
    /// A layer with this configuration.
    pub fn from_config(config: UnflattenConfig) -> Unflatten {
        Unflatten { config }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &UnflattenConfig {
        &self.config
    }
}

impl Layer for Unflatten {
    fn kind(&self) -> &'static str {
        "Unflatten"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        let shape = &self.config.shape;
        if shape.is_empty() || input.iter().product::<usize>() != shape.iter().product::<usize>() {
            return Err(Error::ShapeMismatch { op: "Unflatten", left: input.to_vec(), right: shape.clone() });
        }
        Ok(shape.clone())
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let mut s = vec![x.shape().first().copied().unwrap_or(0)];
        s.extend(&self.config.shape);
        x.reshape(&s)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Unflatten(self.config.clone())
    }
}
