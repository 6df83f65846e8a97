//! The first deep convolutional networks of the lectures: AlexNet, ZFNet, VGG, NiN. Each takes
//! `small` to fit 28x28-sized inputs (see `zoo::deep` for when it is chosen).

use super::blocks::{Layers, nin_block, vgg_block};
use crate::model::Sequential;
use crate::nn::{Activation::Relu, Block, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool2d, Layer, LocalResponseNorm, MaxPool2d};

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

/// AlexNet as the paper defines it (Krizhevsky, Sutskever & Hinton 2012, section 3.5 and
/// figure 2): 96-256-384-384-256 channels; the second, fourth and fifth convolutions in two
/// groups (one per GPU: each half of the kernels sees only its half of the input maps), the
/// third convolution and the dense layers across both; ReLU; local response normalization
/// (k 2, n 5, alpha 1e-4, beta 0.75) after the first two convolutions, each followed by a
/// 3x3/2 max-pool, as is the fifth; 4096-4096 dense layers with dropout 0.5. The paper's
/// 224x224 input with an 11x11/4 convolution gives 55x55 maps only with 227 pixels or a
/// padding of 2 (the paper's figure is off by three pixels): padding 2 here, as
/// torchvision. 60,965,224 parameters at 3x224x224 and 1000 classes, Caffe's
/// `bvlc_alexnet` count.
///
/// `small` (28x28 inputs): the first convolution is 3x3 with stride 1 and padding 1.
pub fn alexnet_2012(classes: usize, small: bool) -> Sequential {
    let stem = if small { Conv2d::new(96, 3).padding(1) } else { Conv2d::new(96, 11).stride(4).padding(2) };
    let lrn = || LocalResponseNorm::new(5).alpha(1e-4).beta(0.75).k(2.0);
    let pool = || MaxPool2d::new(3).stride(2);
    let m = Sequential::new()
        .name("alexnet-2012")
        .add(stem.activation(Relu))
        .add(lrn())
        .add(pool())
        .add(Conv2d::new(256, 5).padding(2).groups(2).activation(Relu))
        .add(lrn())
        .add(pool())
        .add(Conv2d::new(384, 3).padding(1).activation(Relu))
        .add(Conv2d::new(384, 3).padding(1).groups(2).activation(Relu))
        .add(Conv2d::new(256, 3).padding(1).groups(2).activation(Relu))
        .add(pool());
    classifier(m, classes, true)
}

/// ZFNet (Zeiler & Fergus 2013, figure 3): AlexNet with a 7x7 stride-2 first layer (96
/// maps, 110x110 at 224x224 input) and a stride-2 5x5 second layer (256 maps), 384-384-256
/// channels after, no channel groups; contrast normalization across maps (LRN, as AlexNet's)
/// after the first two layers, each followed by a 3x3/2 max-pool (padded by 1 so the sizes
/// are the figure's 55 and 13), a last 3x3/2 max-pool to 6x6, and 4096-4096 dense layers
/// with dropout 0.5. 62,357,608 parameters at 3x224x224 and 1000 classes (the paper gives
/// no total; this is the sum over figure 3's layers).
///
/// `small` (28x28 inputs): the first two convolutions keep stride 1 (3x3 padding 1 and 5x5
/// padding 2) and the pools are unpadded, so the maps are 28, 13, 6 and 2 pixels.
pub fn zfnet(classes: usize, small: bool) -> Sequential {
    let (c1, c2, pad) = if small {
        (Conv2d::new(96, 3).padding(1), Conv2d::new(256, 5).padding(2), 0)
    } else {
        (Conv2d::new(96, 7).stride(2).padding(1), Conv2d::new(256, 5).stride(2), 1)
    };
    let lrn = || LocalResponseNorm::new(5).alpha(1e-4).beta(0.75).k(2.0);
    let m = Sequential::new()
        .name("zfnet")
        .add(c1.activation(Relu))
        .add(MaxPool2d::new(3).stride(2).padding(pad))
        .add(lrn())
        .add(c2.activation(Relu))
        .add(MaxPool2d::new(3).stride(2).padding(pad))
        .add(lrn())
        .add(Conv2d::new(384, 3).padding(1).activation(Relu))
        .add(Conv2d::new(384, 3).padding(1).activation(Relu))
        .add(Conv2d::new(256, 3).padding(1).activation(Relu))
        .add(MaxPool2d::new(3).stride(2));
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

/// VGG-11/13/16/19 (Simonyan & Zisserman 2014), configurations A, B, D and E without batch
/// norm, as torchvision: five VGG blocks, then 4096-4096 ReLU layers with dropout.
/// 132,863,336 / 133,047,848 / 138,357,544 / 143,667,240 parameters at 3x224x224 and 1000
/// classes.
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

/// VGG configuration A-LRN (`vgg11-lrn`, the paper's table 1): configuration A with local
/// response normalization after the first convolution (the paper uses AlexNet's: k 2, n 5,
/// alpha 1e-4, beta 0.75; section 4.1 found it does not help). LRN has no parameters, so
/// the count is VGG-11's, 132,863,336.
pub fn vgg_a_lrn(classes: usize, small: bool) -> Sequential {
    let lrn = LocalResponseNorm::new(5).alpha(1e-4).beta(0.75).k(2.0);
    let mut m =
        Sequential::new().name("vgg11-lrn").add(Conv2d::new(64, 3).padding(1).activation(Relu)).add(lrn).add(MaxPool2d::new(2));
    for (i, (n, filters)) in [(1, 128), (2, 256), (2, 512), (2, 512)].into_iter().enumerate() {
        m = m.add(vgg_block(n, filters, !small || i < 2));
    }
    classifier(m, classes, false)
}

/// VGG configuration C (`vgg16-c`, the paper's table 1): 16 weight layers, configuration B
/// (VGG-13) with a third convolution in each of the last three blocks that is 1x1 (a linear
/// map of the channels followed by ReLU). 133,638,952 parameters at 3x224x224 and 1000
/// classes (the paper's table 2: 134 million).
pub fn vgg_c(classes: usize, small: bool) -> Sequential {
    let mut m = Sequential::new().name("vgg16-c");
    for (i, filters) in [64, 128, 256, 512, 512].into_iter().enumerate() {
        let mut block: Layers =
            (0..2).map(|_| Box::new(Conv2d::new(filters, 3).padding(1).activation(Relu)) as Box<dyn Layer>).collect();
        if i >= 2 {
            block.push(Box::new(Conv2d::new(filters, 1).activation(Relu)));
        }
        if !small || i < 3 {
            block.push(Box::new(MaxPool2d::new(2)));
        }
        m = m.add(Block::new(block));
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
