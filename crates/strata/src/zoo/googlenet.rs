//! GoogLeNet (Inception v1).

use super::blocks::{conv_bn_relu, inception};
use crate::model::Sequential;
use crate::nn::{Block, Dense, Dropout, GlobalAvgPool2d, Layer, MaxPool2d, Pool2d};

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
    let mut m = Sequential::new().name("googlenet");
    if small {
        m = m.add(Block::new(conv_bn_relu(64, 3, 1, 1, 1e-3)));
    } else {
        m = m.add(Block::new(conv_bn_relu(64, 7, 2, 3, 1e-3))).add(pool());
    }
    let mut stem2 = conv_bn_relu(64, 1, 1, 0, 1e-3);
    stem2.extend(conv_bn_relu(192, 3, 1, 1, 1e-3));
    m = m.add(Block::new(stem2)).add(pool());
    m = m.add(inception(64, (96, 128), (16, 32), 32)).add(inception(128, (128, 192), (32, 96), 64)).add(pool());
    for (c1, c3, c5, p) in [
        (192, (96, 208), (16, 48), 64),
        (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64),
        (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128),
    ] {
        m = m.add(inception(c1, c3, c5, p));
    }
    // torchvision: 2x2/2 (ceil mode) from 14 to 7; on 7x7 maps the 3x3/2 padded pool gives 4.
    let last_pool: Box<dyn Layer> = if small { Box::new(pool()) } else { Box::new(MaxPool2d::new(2)) };
    m.push(last_pool);
    m.add(inception(256, (160, 320), (32, 128), 128))
        .add(inception(384, (192, 384), (48, 128), 128))
        .add(GlobalAvgPool2d)
        .add(Dropout::new(0.2))
        .add(Dense::new(classes))
}
