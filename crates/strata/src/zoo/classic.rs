//! The first deep convolutional networks of the lectures: AlexNet, VGG, NiN. Each takes
//! `small` to fit 28x28-sized inputs (see `zoo::deep` for when it is chosen).

use super::blocks::{nin_block, vgg_block};
use crate::model::Sequential;
use crate::nn::{Activation::Relu, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool2d, LocalResponseNorm, MaxPool2d};

/// The classifier head of AlexNet and VGG: two 4096-unit ReLU layers with dropout 0.5.
fn classifier(m: Sequential, classes: usize, dropout_first: bool) -> Sequential {
    let m = m.add(Flatten);
    let m = if dropout_first { m.add(Dropout::new(0.5)) } else { m };
    let m = m.add(Dense::new(4096).activation(Relu));
    let m = m.add(Dropout::new(0.5)).add(Dense::new(4096).activation(Relu));
    let m = if dropout_first { m } else { m.add(Dropout::new(0.5)) };
    m.add(Dense::new(classes))
}

/// AlexNet (Krizhevsky et al. 2012) with torchvision's layer sizes (64-192-384-256-256
/// channels; 61,100,840 parameters at 3x224x224 and 1000 classes) and the paper's local
/// response normalization after the first two convolutions (size 5, alpha 1e-4, beta
/// 0.75, k 2; it has no parameters, so the count is torchvision's). The paper's split
/// into two groups (one per GPU) is left out: it would change the count; `Conv2d::groups`
/// offers it. At 224x224 the features are 6x6, so torchvision's adaptive 6x6 average pool
/// is the identity and is left out.
///
/// `small` (28x28 inputs): the first convolution is 3x3 with stride 1 and padding 1
/// instead of 11x11 with stride 4, so the three 3x3/2 max-pools leave 2x2 maps.
pub fn alexnet(classes: usize, small: bool) -> Sequential {
    let stem = if small { Conv2d::new(64, 3).padding(1) } else { Conv2d::new(64, 11).stride(4).padding(2) };
    let lrn = || LocalResponseNorm::new(5).alpha(1e-4).beta(0.75).k(2.0);
    let pool = || MaxPool2d::new(3).stride(2);
    let m = Sequential::new()
        .name("alexnet")
        .add(stem.activation(Relu))
        .add(lrn())
        .add(pool())
        .add(Conv2d::new(192, 5).padding(2).activation(Relu))
        .add(lrn())
        .add(pool())
        .add(Conv2d::new(384, 3).padding(1).activation(Relu))
        .add(Conv2d::new(256, 3).padding(1).activation(Relu))
        .add(Conv2d::new(256, 3).padding(1).activation(Relu))
        .add(pool());
    classifier(m, classes, true)
}

/// VGG configurations: convolutions per block, for the five blocks of 64, 128, 256, 512
/// and 512 channels.
pub fn vgg_config(depth: usize) -> Option<[usize; 5]> {
    match depth {
        11 => Some([1, 1, 2, 2, 2]),
        13 => Some([2, 2, 2, 2, 2]),
        16 => Some([2, 2, 3, 3, 3]),
        19 => Some([2, 2, 4, 4, 4]),
        _ => None,
    }
}

/// VGG-11/16/19 (Simonyan & Zisserman 2014), configurations A, D and E without batch
/// norm, as torchvision: five VGG blocks, then 4096-4096 ReLU layers with dropout.
/// 132,863,336 / 138,357,544 / 143,667,240 parameters at 3x224x224 and 1000 classes.
///
/// `small` (28x28 inputs): the last two blocks do not pool (five halvings would leave
/// nothing of 28 pixels), so the features are 512x3x3.
pub fn vgg(convs: [usize; 5], classes: usize, small: bool) -> Sequential {
    let depth = convs.iter().sum::<usize>() + 3;
    let mut m = Sequential::new().name(format!("vgg{depth}"));
    for (i, (&n, filters)) in convs.iter().zip([64, 128, 256, 512, 512]).enumerate() {
        m = m.add(vgg_block(n, filters, !small || i < 3));
    }
    classifier(m, classes, false)
}

/// Network in Network (Lin et al. 2013), as in the lectures (d2l): NiN blocks of 96, 256
/// and 384 channels with 3x3/2 max-pools, dropout 0.5, a last NiN block with one channel
/// per class, and global average pooling in place of dense layers.
///
/// `small` (28x28 inputs): the first block's convolution is 3x3 with stride 1 and padding
/// 1 instead of 11x11 with stride 4.
pub fn nin(classes: usize, small: bool) -> Sequential {
    let first = if small { nin_block(96, 3, 1, 1) } else { nin_block(96, 11, 4, 0) };
    let pool = || MaxPool2d::new(3).stride(2);
    Sequential::new()
        .name("nin")
        .add(first)
        .add(pool())
        .add(nin_block(256, 5, 1, 2))
        .add(pool())
        .add(nin_block(384, 3, 1, 1))
        .add(pool())
        .add(Dropout::new(0.5))
        .add(nin_block(classes, 3, 1, 1))
        .add(GlobalAvgPool2d)
}
