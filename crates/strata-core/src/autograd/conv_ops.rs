//! Forward side of the convolutional ops: conv2d and pooling (kernels in
//! `tensor::conv` / `tensor::pool`).

use super::recorded_op::Op;
use super::tape::Var;
use crate::tensor::conv::{Algorithm, Conv2dGeom};
use crate::tensor::pool::{PoolGeom, PoolKind, pool2d_forward};
use crate::{Result, Tensor};

impl Var {
    /// 2-D convolution of self [N, C, H, W] with w [O, C/groups, KH, KW] and optional bias
    /// `[O]`; `pad` is (top, bottom, left, right). The kernel is [`Algorithm::choose`]'s for
    /// this geometry; the backward pass runs the same algorithm.
    pub fn conv2d(
        &self,
        w: &Var,
        b: Option<&Var>,
        stride: (usize, usize),
        pad: (usize, usize, usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Var> {
        self.check_conv2d_operands(w, b)?;
        let geom = Conv2dGeom::new(self.shape(), w.shape(), stride, pad, dilation, groups)?;
        self.conv2d_by(w, b, geom, Algorithm::choose(&geom))
    }

    /// [`Var::conv2d`] by a given `algorithm` (for a caller that chose already, e.g. a layer
    /// that chose once from its per-sample shape), forward and backward. Errors if the
    /// algorithm does not support this geometry ([`Algorithm::supports`]).
    #[allow(clippy::too_many_arguments)] // conv2d's arguments and the algorithm
    pub fn conv2d_with(
        &self,
        w: &Var,
        b: Option<&Var>,
        stride: (usize, usize),
        pad: (usize, usize, usize, usize),
        dilation: (usize, usize),
        groups: usize,
        algorithm: Algorithm,
    ) -> Result<Var> {
        self.check_conv2d_operands(w, b)?;
        let geom = Conv2dGeom::new(self.shape(), w.shape(), stride, pad, dilation, groups)?;
        if !algorithm.supports(&geom) {
            return Err(crate::Error::invalid("conv2d algorithm", format!("{algorithm} does not support {geom}")));
        }
        self.conv2d_by(w, b, geom, algorithm)
    }

    /// Same tape for every operand, and a bias of one value per output channel.
    fn check_conv2d_operands(&self, w: &Var, b: Option<&Var>) -> Result<()> {
        self.check_tape(w, "conv2d")?;
        if let Some(b) = b {
            self.check_tape(b, "conv2d")?;
            if b.shape() != [w.shape().first().copied().unwrap_or(0)] {
                return Err(crate::Error::ShapeMismatch {
                    op: "conv2d bias",
                    left: w.shape().to_vec(),
                    right: b.shape().to_vec(),
                });
            }
        }
        Ok(())
    }

    /// The convolution `geom` by `algorithm` (which supports it), recorded with the
    /// algorithm for the backward pass.
    fn conv2d_by(&self, w: &Var, b: Option<&Var>, geom: Conv2dGeom, algorithm: Algorithm) -> Result<Var> {
        let out = algorithm.forward(&geom, self.value.data(), w.value.data(), b.map(|b| b.value.data()));
        let value = Tensor::from_vec(out, &geom.out_shape())?;
        let bn = b.and_then(|b| b.node);
        let needs = self.node.is_some() || w.node.is_some() || bn.is_some();
        let tracked = [Some(self), Some(w), b].into_iter().flatten().find(|v| v.node.is_some()).unwrap_or(self);
        Ok(tracked.tape.record(value, needs, || Op::Conv2d {
            x: self.node,
            w: w.node,
            b: bn,
            x_val: self.value.clone(),
            w_val: w.value.clone(),
            geom,
            algorithm,
        }))
    }

    /// 2-D pooling of self [N, C, H, W] with a `kernel` window, `stride` and symmetric
    /// `pad` (rows, columns).
    pub fn pool2d(&self, kind: PoolKind, kernel: (usize, usize), stride: (usize, usize), pad: (usize, usize)) -> Result<Var> {
        let geom = PoolGeom::new(self.shape(), kernel, stride, pad)?;
        let (out, winners) = pool2d_forward(&geom, kind, self.value.data());
        let value = Tensor::from_vec(out, &geom.out_shape())?;
        let x = self.node;
        Ok(self.tape.record(value.clone(), x.is_some(), || Op::Pool2d {
            x,
            // Only L2 pooling's gradient needs the input and output values.
            x_val: if kind == PoolKind::L2 { self.value.clone() } else { Tensor::zeros(&[0]) },
            out: if kind == PoolKind::L2 { value } else { Tensor::zeros(&[0]) },
            winners,
            geom,
            kind,
        }))
    }

    /// Mean over the spatial axes: [N, C, H, W] -> [N, C] (Network-in-Network's global
    /// average pooling).
    pub fn global_avg_pool(&self) -> Result<Var> {
        let s = self.shape();
        if s.len() != 4 {
            return Err(crate::Error::bad_shape("global_avg_pool", s, "input must be [N, C, H, W]"));
        }
        let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
        self.reshape(&[n, c, hw])?.mean(2, false)
    }
}
