//! Residual networks (He et al. 2016): torchvision's ResNet-18/34/50 and the CIFAR-style
//! ResNet-20 of the benchmarks.

use super::blocks::{basic_block, bottleneck, conv_bn_relu};
use crate::model::Sequential;
use crate::nn::{Block, Dense, GlobalAvgPool2d, MaxPool2d};

/// Which residual block a ResNet stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3x3 convolutions (ResNet-18/34).
    Basic,
    /// 1x1, 3x3, 1x1 with four-fold expansion (ResNet-50 and deeper).
    Bottleneck,
}

/// Blocks per stage for the ImageNet ResNets.
pub fn resnet_config(depth: usize) -> Option<(BlockKind, [usize; 4])> {
    match depth {
        18 => Some((BlockKind::Basic, [2, 2, 2, 2])),
        34 => Some((BlockKind::Basic, [3, 4, 6, 3])),
        50 => Some((BlockKind::Bottleneck, [3, 4, 6, 3])),
        101 => Some((BlockKind::Bottleneck, [3, 4, 23, 3])),
        152 => Some((BlockKind::Bottleneck, [3, 8, 36, 3])),
        _ => None,
    }
}

/// An ImageNet ResNet as torchvision defines it: a 7x7/2 convolution with batch norm and
/// ReLU, a 3x3/2 max-pool, four stages of 64, 128, 256 and 512 channels (stride 2 at the
/// first block of stages 2-4), global average pooling and one dense layer. ResNet-18, 34
/// and 50 have 11,689,512, 21,797,672 and 25,557,032 parameters at 3x224x224 and 1000
/// classes.
///
/// `small` (28x28 inputs): a 3x3/1 stem convolution and no max-pool, so the stages see 28,
/// 14, 7 and 4 pixels (as the CIFAR variants do) instead of the stem dividing by four.
pub fn resnet(depth: usize, kind: BlockKind, stages: [usize; 4], classes: usize, small: bool) -> Sequential {
    let mut m = Sequential::new().name(format!("resnet{depth}"));
    if small {
        m = m.add(Block::new(conv_bn_relu(64, 3, 1, 1, 1e-5)));
    } else {
        m = m.add(Block::new(conv_bn_relu(64, 7, 2, 3, 1e-5))).add(MaxPool2d::new(3).stride(2).padding(1));
    }
    let mut channels = 64;
    for (stage, &blocks) in stages.iter().enumerate() {
        let width = 64 << stage;
        for b in 0..blocks {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            match kind {
                BlockKind::Basic => {
                    m = m.add(basic_block(channels, width, stride));
                    channels = width;
                }
                BlockKind::Bottleneck => {
                    m = m.add(bottleneck(channels, width, stride));
                    channels = 4 * width;
                }
            }
        }
    }
    m.add(GlobalAvgPool2d).add(Dense::new(classes))
}

/// ResNet-20 for small images (He et al. 2016, section 4.2; workload W5): a 3x3
/// convolution to 16 channels with batch norm and ReLU, three stages of three basic
/// blocks with 16, 32 and 64 channels (stride 2 and a 1x1 projection shortcut at the
/// start of stages 2 and 3), global average pooling, one dense layer. 272,186 parameters
/// at 1x28x28 and 10 classes.
pub fn resnet20(classes: usize) -> Sequential {
    cifar_resnet(20, classes).unwrap_or_default()
}

/// The CIFAR ResNets of He et al. 2016, section 4.2, of `depth` = 6n + 2 layers (20, 32,
/// 44, 56, 110): [`resnet20`]'s design with n basic blocks per stage. `None` for a depth
/// that is not 6n + 2 with n >= 1.
pub fn cifar_resnet(depth: usize, classes: usize) -> Option<Sequential> {
    if depth < 8 || !(depth - 2).is_multiple_of(6) {
        return None;
    }
    let n = (depth - 2) / 6;
    let mut m = Sequential::new().name(format!("resnet{depth}")).add(Block::new(conv_bn_relu(16, 3, 1, 1, 1e-5)));
    let mut channels = 16;
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        for b in 0..n {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            m = m.add(basic_block(channels, width, stride));
            channels = width;
        }
    }
    Some(m.add(GlobalAvgPool2d).add(Dense::new(classes)))
}
