//! The reusable blocks the deep architectures are assembled from, each as the paper (or
//! the reference implementation the parameter counts come from) defines it.

use crate::layers;
use crate::nn::{Activation::Relu, ActivationLayer, BatchNorm, Block, Concat, Conv2d, Init, Layer, MaxPool2d, Residual};

/// Boxed layers, the form composite layers take.
pub type Layers = Vec<Box<dyn Layer>>;

/// A convolution without bias (the batch norm after it has its own shift) followed by
/// batch norm with `eps`: torchvision's `conv + BatchNorm2d`. He-normal initialization.
pub fn conv_bn(filters: usize, kernel: usize, stride: usize, padding: usize, eps: f32) -> Layers {
    layers![
        Conv2d::new(filters, kernel).stride(stride).padding(padding).use_bias(false).init(Init::HeNormal),
        BatchNorm::new().eps(eps),
    ]
}

/// [`conv_bn`] then ReLU (GoogLeNet's `BasicConv2d`, ResNet's stem).
pub fn conv_bn_relu(filters: usize, kernel: usize, stride: usize, padding: usize, eps: f32) -> Layers {
    let mut l = conv_bn(filters, kernel, stride, padding, eps);
    l.push(Box::new(ActivationLayer::new(Relu)));
    l
}

/// VGG's block (Simonyan & Zisserman 2014): `convs` 3x3 convolutions with padding 1 and
/// ReLU, then (if `pool`) a 2x2 max-pool that halves the resolution.
pub fn vgg_block(convs: usize, filters: usize, pool: bool) -> Block {
    let mut l: Layers =
        (0..convs).map(|_| Box::new(Conv2d::new(filters, 3).padding(1).activation(Relu)) as Box<dyn Layer>).collect();
    if pool {
        l.push(Box::new(MaxPool2d::new(2)));
    }
    Block::new(l)
}

/// NiN's block (Lin et al. 2013): a convolution, then two 1x1 convolutions (a small MLP
/// slid over every pixel), each with ReLU.
pub fn nin_block(filters: usize, kernel: usize, stride: usize, padding: usize) -> Block {
    Block::new(layers![
        Conv2d::new(filters, kernel).stride(stride).padding(padding).activation(Relu),
        Conv2d::new(filters, 1).activation(Relu),
        Conv2d::new(filters, 1).activation(Relu),
    ])
}

/// GoogLeNet's Inception block (Szegedy et al. 2014), as torchvision builds it: four
/// branches of conv+BN+ReLU units (batch-norm eps 0.001) joined along the channels —
/// 1x1 (`c1`); 1x1 reduce then 3x3 (`c3`); 1x1 reduce then a second 3x3 (`c5`: the paper
/// has 5x5 here, torchvision 3x3, and its parameter count is the reference); 3x3
/// max-pool then 1x1 projection (`pool_proj`).
pub fn inception(c1: usize, c3: (usize, usize), c5: (usize, usize), pool_proj: usize) -> Concat {
    let unit = |f, k, p| conv_bn_relu(f, k, 1, p, 1e-3);
    let chain = |a: Layers, b: Layers| a.into_iter().chain(b).collect::<Layers>();
    let mut pool: Layers = layers![MaxPool2d::new(3).stride(1).padding(1)];
    pool.extend(unit(pool_proj, 1, 0));
    Concat::new(vec![unit(c1, 1, 0), chain(unit(c3.0, 1, 0), unit(c3.1, 3, 1)), chain(unit(c5.0, 1, 0), unit(c5.1, 3, 1)), pool])
}

/// The projection shortcut of a residual block whose shape changes: a strided 1x1
/// convolution and batch norm.
fn projection(filters: usize, stride: usize) -> Layers {
    conv_bn(filters, 1, stride, 0, 1e-5)
}

/// ResNet's basic block: 3x3 conv (stride `stride`) + BN + ReLU, 3x3 conv + BN, added to
/// the input (projected when `stride` or the channel count changes), then ReLU.
pub fn basic_block(in_channels: usize, filters: usize, stride: usize) -> Residual {
    let mut body = conv_bn_relu(filters, 3, stride, 1, 1e-5);
    body.extend(conv_bn(filters, 3, 1, 1, 1e-5));
    let r = Residual::new(body);
    if stride != 1 || in_channels != filters { r.shortcut(projection(filters, stride)) } else { r }
}

/// ResNet's bottleneck block (ResNet-50 and deeper): 1x1 conv down to `width` channels,
/// 3x3 conv (stride `stride`, as torchvision's "v1.5"), 1x1 conv up to `4 * width`, each
/// with BN (ReLU after the first two); shortcut and final ReLU as in [`basic_block`].
pub fn bottleneck(in_channels: usize, width: usize, stride: usize) -> Residual {
    let out = 4 * width;
    let mut body = conv_bn_relu(width, 1, 1, 0, 1e-5);
    body.extend(conv_bn_relu(width, 3, stride, 1, 1e-5));
    body.extend(conv_bn(out, 1, 1, 0, 1e-5));
    let r = Residual::new(body);
    if stride != 1 || in_channels != out { r.shortcut(projection(out, stride)) } else { r }
}
