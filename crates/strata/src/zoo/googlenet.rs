//! GoogLeNet (Inception v1).

use super::blocks::{conv_bn_relu, inception};
use crate::model::Sequential;
use crate::nn::{
    Activation::Relu, AuxClassifier, AvgPool2d, Block, Dense, Dropout, Flatten, GlobalAvgPool2d, Layer, MaxPool2d, Pool2d,
};

/// A 3x3 max-pool with stride 2 and padding 1. torchvision pools with `ceil_mode`; padding
/// 1 gives the same output sizes on GoogLeNet's maps (112, 56, 28 -> 56, 28, 14), as in
/// the lectures' (d2l) version.
fn pool() -> Pool2d {
    MaxPool2d::new(3).stride(2).padding(1)
}

/// GoogLeNet (Szegedy et al. 2014) as torchvision defines it, without the auxiliary
/// classifiers: every convolution is conv (no bias) + batch norm (eps 0.001) + ReLU; nine
/// Inception blocks; global average pooling, dropout 0.2, one dense layer. 6,624,904
/// parameters at 3x224x224 and 1000 classes.
///
/// `small` (28x28 inputs): the 7x7/2 stem convolution becomes 3x3/1 and the max-pool
/// after it goes, so the maps are 28, 14, 7 and 4 pixels instead of 56, 28, 14 and 7.
pub fn googlenet(classes: usize, small: bool) -> Sequential {
    build(classes, small, None)
}

/// GoogLeNet with its two auxiliary classifiers (Szegedy et al. 2014, section 5), otherwise
/// [`googlenet`]'s torchvision definition (so its "5x5" branches are 3x3) with the paper's
/// dropout of 0.4 before the last layer. Each head, on the outputs of inception (4a) and
/// (4d): a 5x5/3 average pool (4x4 maps), a 1x1 convolution to 128 channels with batch norm
/// and ReLU (torchvision's `BasicConv2d`), a 1024-unit ReLU layer, dropout 0.7 and a linear
/// classifier. Their losses count 0.3 each in training (`--aux-weight`); inference skips
/// them. 13,004,888 parameters at 3x224x224 and 1000 classes, torchvision's count with
/// `aux_logits=True`.
///
/// `input_side`: the input's (height, width), from which the heads' pooling is sized so
/// their maps are 4x4 at any input (on (4a)'s 14x14 maps at 224 pixels: the paper's 5x5
/// window with stride 3; torchvision's adaptive pooling gives the same sizes and count).
pub fn googlenet_aux(classes: usize, small: bool, input_side: (usize, usize)) -> Sequential {
    // the stem and three 3x3/2 padded pools (two on small inputs) before (4a)
    let halve = |n: usize| n.saturating_sub(1) / 2 + 1;
    let at_4a = |n: usize| if small { halve(halve(n)) } else { halve(halve(halve(halve(n)))) };
    build(classes, small, Some((at_4a(input_side.0), at_4a(input_side.1))))
}

/// An auxiliary head for (h, w) maps: average-pooled to 4x4 (or to 1x1 below 4 pixels).
fn aux_head(classes: usize, (h, w): (usize, usize)) -> AuxClassifier {
    // window side - 3 * stride with stride side / 4: four windows that cover the map
    let fit = |n: usize| if n >= 4 { (n - 3 * (n / 4), n / 4) } else { (n.max(1), 1) };
    let ((wh, sh), (ww, sw)) = (fit(h), fit(w));
    let mut head: Vec<Box<dyn Layer>> = vec![Box::new(AvgPool2d::new(1).window((wh, ww)).stride((sh, sw)))];
    head.extend(conv_bn_relu(128, 1, 1, 0, 1e-3));
    head.push(Box::new(Flatten));
    head.push(Box::new(Dense::new(1024).activation(Relu)));
    head.push(Box::new(Dropout::new(0.7)));
    head.push(Box::new(Dense::new(classes)));
    AuxClassifier::new(head)
}

/// GoogLeNet, with auxiliary heads on (4a)'s `aux` side when given.
fn build(classes: usize, small: bool, aux: Option<(usize, usize)>) -> Sequential {
    let mut m = Sequential::new().name(if aux.is_some() { "googlenet-aux" } else { "googlenet" });
    if small {
        m = m.add(Block::new(conv_bn_relu(64, 3, 1, 1, 1e-3)));
    } else {
        m = m.add(Block::new(conv_bn_relu(64, 7, 2, 3, 1e-3))).add(pool());
    }
    let mut stem2 = conv_bn_relu(64, 1, 1, 0, 1e-3);
    stem2.extend(conv_bn_relu(192, 3, 1, 1, 1e-3));
    m = m.add(Block::new(stem2)).add(pool());
    m = m.add(inception(64, (96, 128), (16, 32), 32)).add(inception(128, (128, 192), (32, 96), 64)).add(pool());
    for (i, (c1, c3, c5, p)) in [
        (192, (96, 208), (16, 48), 64),
        (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64),
        (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128),
    ]
    .into_iter()
    .enumerate()
    {
        m = m.add(inception(c1, c3, c5, p));
        // the side heads read (4a) and (4d)
        if let (Some(side), 0 | 3) = (aux, i) {
            m = m.add(aux_head(classes, side));
        }
    }
    // torchvision: 2x2/2 (ceil mode) from 14 to 7; on 7x7 maps the 3x3/2 padded pool gives 4.
    let last_pool: Box<dyn Layer> = if small { Box::new(pool()) } else { Box::new(MaxPool2d::new(2)) };
    m.push(last_pool);
    m.add(inception(256, (160, 320), (32, 128), 128))
        .add(inception(384, (192, 384), (48, 128), 128))
        .add(GlobalAvgPool2d)
        .add(Dropout::new(if aux.is_some() { 0.4 } else { 0.2 }))
        .add(Dense::new(classes))
}
