//! `Unflatten`: the inverse of `Flatten`, giving flat features a per-sample shape again
//! (a dense decoder's 784 outputs back to a [1, 28, 28] image).

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::Var;
use crate::{Error, Result, Rng};

/// `[N, d] -> [N, ...shape]` where the sizes of `shape` multiply to d.
#[derive(Clone, Debug)]
pub struct Unflatten {
    shape: Vec<usize>,
}

impl Unflatten {
    pub fn new(shape: &[usize]) -> Unflatten {
        Unflatten { shape: shape.to_vec() }
    }
}

impl Layer for Unflatten {
    fn kind(&self) -> &'static str {
        "Unflatten"
    }
    fn build(&mut self, input: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if self.shape.is_empty() || input.iter().product::<usize>() != self.shape.iter().product::<usize>() {
            return Err(Error::ShapeMismatch { op: "Unflatten", left: input.to_vec(), right: self.shape.clone() });
        }
        Ok(self.shape.clone())
    }
    fn forward(&self, x: &Var, _ctx: &mut ForwardCtx) -> Result<Var> {
        let mut s = vec![x.shape().first().copied().unwrap_or(0)];
        s.extend(&self.shape);
        x.reshape(&s)
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Unflatten { shape: self.shape.clone() }
    }
}
