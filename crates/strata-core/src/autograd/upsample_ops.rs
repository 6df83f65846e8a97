//! Forward side of nearest-neighbour upsampling (kernel in `tensor::upsample`); the
//! decoder half of a convolutional autoencoder grows its maps back with it.

use super::recorded_op::Op;
use super::tape::Var;
use crate::tensor::upsample::{upsample2d_forward, upsample2d_shape};
use crate::{Result, Tensor};

impl Var {
    /// Nearest-neighbour upsampling of self [N, C, H, W] by `factor` (rows, columns):
    /// every value becomes a factor.0 x factor.1 block.
    pub fn upsample2d(&self, factor: (usize, usize)) -> Result<Var> {
        let out_shape = upsample2d_shape(self.shape(), factor)?;
        let s = self.shape();
        let out = upsample2d_forward(self.value.data(), s[0] * s[1], s[2], s[3], factor);
        let value = Tensor::from_vec(out, &out_shape)?;
        let x = self.node;
        Ok(self.tape.record(value, x.is_some(), || Op::Upsample2d { x, factor, in_shape: s.to_vec() }))
    }
}
