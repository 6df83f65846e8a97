//! The ops a tape records: for each, its inputs (`None` where the input is a constant)
//! and exactly what its gradient rule needs saved from the forward pass.

use super::tape::NodeId;
use crate::Tensor;
use crate::tensor::BinaryOp;
use crate::tensor::conv::{Algorithm, Conv2dGeom};
use crate::tensor::pool::{PoolGeom, PoolKind};

type In = Option<NodeId>;

pub(crate) enum Op {
    /// A parameter or an input that wants its gradient.
    Leaf,

    // ---- elementwise (broadcasting binary ops keep the operand shapes to un-broadcast)
    Add {
        a: In,
        b: In,
        a_shape: Vec<usize>,
        b_shape: Vec<usize>,
    },
    Sub {
        a: In,
        b: In,
        a_shape: Vec<usize>,
        b_shape: Vec<usize>,
    },
    Mul {
        a: In,
        b: In,
        a_val: Tensor,
        b_val: Tensor,
    },
    Div {
        a: In,
        b: In,
        a_val: Tensor,
        b_val: Tensor,
    },
    /// max/min of two tensors: gradient goes to the selected operand.
    Select {
        a: In,
        b: In,
        a_val: Tensor,
        b_val: Tensor,
        op: BinaryOp,
    },
    /// `x * c` for a constant scalar (also negation, c = -1).
    Scale {
        x: In,
        c: f32,
    },
    /// `x * mask` for a constant tensor (dropout).
    MulConst {
        x: In,
        mask: Tensor,
    },
    /// `x + c` for a constant scalar: gradient passes through unchanged.
    Identity {
        x: In,
    },
    Exp {
        x: In,
        out: Tensor,
    },
    Log {
        x: In,
        x_val: Tensor,
    },
    Sqrt {
        x: In,
        out: Tensor,
    },
    Abs {
        x: In,
        x_val: Tensor,
    },
    Powf {
        x: In,
        x_val: Tensor,
        p: f32,
    },

    // ---- activations (saved output or input, whichever the derivative is cheaper from)
    Sigmoid {
        x: In,
        out: Tensor,
    },
    Tanh {
        x: In,
        out: Tensor,
    },
    Relu {
        x: In,
        out: Tensor,
    },
    LeakyRelu {
        x: In,
        x_val: Tensor,
        alpha: f32,
    },
    Elu {
        x: In,
        x_val: Tensor,
        out: Tensor,
        alpha: f32,
    },
    /// Softmax over the last axis.
    Softmax {
        x: In,
        out: Tensor,
    },
    /// Log-softmax over the last axis.
    LogSoftmax {
        x: In,
        out: Tensor,
    },
    /// Maxout: max over `pieces` consecutive features; `winners` holds the chosen input index
    /// for each output element.
    Maxout {
        x: In,
        in_shape: Vec<usize>,
        winners: Vec<u32>,
    },

    // ---- products
    MatMul {
        a: In,
        b: In,
        a_val: Tensor,
        b_val: Tensor,
    },
    /// `x @ w + b`, x [N, in], w [in, out], b `[out]`.
    Linear {
        x: In,
        w: In,
        b: In,
        x_val: Tensor,
        w_val: Tensor,
    },

    // ---- reductions
    SumAxis {
        x: In,
        axis: usize,
        in_shape: Vec<usize>,
    },
    SumAll {
        x: In,
        in_shape: Vec<usize>,
    },
    MaxAxis {
        x: In,
        axis: usize,
        in_shape: Vec<usize>,
        winners: Vec<usize>,
    },

    // ---- layout
    Reshape {
        x: In,
        in_shape: Vec<usize>,
    },
    Permute {
        x: In,
        perm: Vec<usize>,
    },
    Slice {
        x: In,
        axis: usize,
        start: usize,
        in_shape: Vec<usize>,
    },
    Concat {
        parts: Vec<(In, usize)>,
        axis: usize,
    },
    GatherRows {
        x: In,
        indices: Vec<usize>,
        in_shape: Vec<usize>,
    },

    // ---- losses (fused and numerically stable; each returns the batch mean)
    /// Softmax + cross-entropy on logits [N, C] with class labels.
    SoftmaxCrossEntropy {
        logits: In,
        probs: Tensor,
        labels: Vec<u32>,
    },
    /// Mean squared error against a constant target.
    Mse {
        pred: In,
        diff: Tensor,
    },
    /// Binary cross-entropy on probabilities (clamped away from 0 and 1).
    Bce {
        pred: In,
        pred_val: Tensor,
        target: Tensor,
    },
    /// Binary cross-entropy on logits (sigmoid folded in).
    BceWithLogits {
        logits: In,
        probs: Tensor,
        target: Tensor,
    },

    // ---- convolutional networks
    /// 2-D convolution, x [N, C, H, W], w [O, C/groups, KH, KW], b `[O]`.
    Conv2d {
        x: In,
        w: In,
        b: In,
        x_val: Tensor,
        w_val: Tensor,
        geom: Conv2dGeom,
        /// The algorithm the forward pass ran; the backward pass runs the same one.
        algorithm: Algorithm,
    },
    /// 2-D pooling; `winners` for max pooling, `out` for L2 pooling.
    Pool2d {
        x: In,
        x_val: Tensor,
        out: Tensor,
        winners: Vec<u32>,
        geom: PoolGeom,
        kind: PoolKind,
    },
    // ---- normalization (kernels in tensor::batchnorm and tensor::lrn)
    /// Training-mode batch norm over axis 1 of x [N, C, ...]; `x_val` is the input,
    /// `mean` and `inv_std` `[C]` the batch's mean and `1 / sqrt(var + eps)`, `gamma_val` `[C]`
    /// the scale; `relu_beta` `[C]` the shift when a ReLU was fused into the output.
    BatchNorm {
        x: In,
        gamma: In,
        beta: In,
        x_val: Tensor,
        mean: Tensor,
        inv_std: Tensor,
        gamma_val: Tensor,
        relu_beta: Option<Tensor>,
    },
    /// Local response normalization across channels; `scale` is `k + alpha/n * window sum of x^2`.
    Lrn {
        x: In,
        x_val: Tensor,
        out: Tensor,
        scale: Tensor,
        params: crate::tensor::lrn::LrnParams,
    },
    // ---- recurrent layers (fused: a whole sequence's forward, and its BPTT, in one op)
    /// An RNN/LSTM/GRU pass over a sequence; see `recurrent.rs`.
    Recurrent(Box<super::recurrent::RecurrentRecord>),
    /// Nearest-neighbour upsampling of x [N, C, H, W] by `factor` (rows, columns).
    Upsample2d {
        x: In,
        factor: (usize, usize),
        in_shape: Vec<usize>,
    },
    // ---- residual networks (kernels in tensor::fused)
    /// `relu(a + b)`, same shapes; `out` is the result (its sign masks the gradient).
    AddRelu {
        a: In,
        b: In,
        out: Tensor,
    },
}
