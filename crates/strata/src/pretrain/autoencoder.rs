//! Autoencoder models (dense, convolutional, denoising) and greedy stacked-autoencoder
//! pretraining (see the `pretrain` module docs).

use super::dbn::sigmoid_stack;
use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::model::{FitOptions, History, Sequential};
use crate::nn::{Activation, ActivationLayer, Conv2d, Dense, Flatten, MaxPool2d, Noise, Unflatten, Upsample2d};
use crate::optim::Adam;
use crate::{Error, Result, Tensor};

/// A dense autoencoder for per-sample `input` shape: optional input corruption, `Flatten`,
/// sigmoid encoder layers `hidden`, the mirrored sigmoid decoder, and a linear layer back to
/// the input width, reshaped to `input` and squashed by a sigmoid (left out in training so
/// the loss fuses it). Output shape = input shape.
///
/// ```
/// use strata::pretrain::dense_autoencoder;
/// let mut ae = dense_autoencoder(&[1, 28, 28], &[256], None);
/// ae.build(&[1, 28, 28]).unwrap();
/// assert_eq!(ae.output_shape(), Some(&[1, 28, 28][..]));
/// ```
pub fn dense_autoencoder(input: &[usize], hidden: &[usize], noise: Option<Noise>) -> Sequential {
    let width: usize = input.iter().product();
    let mut m = Sequential::new().name("autoencoder");
    if let Some(n) = noise {
        m = m.add(n);
    }
    m = m.add(Flatten);
    for &h in hidden.iter().chain(hidden.iter().rev().skip(1)) {
        m = m.add(Dense::new(h).activation(Activation::Sigmoid));
    }
    m.add(Dense::new(width)).add(Unflatten::new(input)).add(ActivationLayer::new(Activation::Sigmoid))
}

/// A convolutional autoencoder for `[C, H, W]` inputs with H and W divisible by 4:
///
/// ```text
/// encoder  conv 3x3 x16 relu, maxpool 2, conv 3x3 x8 relu, maxpool 2    -> [8, H/4, W/4]
/// decoder  conv 3x3 x8 relu, upsample 2, conv 3x3 x16 relu, upsample 2, conv 3x3 xC, sigmoid
/// ```
/// ("same" padding throughout). The code is 8 H W / 16 values: 392 for 28x28, half the input.
/// `noise`, if given, corrupts the input first (a denoising autoencoder).
///
/// Errors: `input` is not `[C, H, W]`, or H or W is not divisible by 4.
pub fn conv_autoencoder(input: &[usize], noise: Option<Noise>) -> Result<Sequential> {
    let &[c, h, w] = input else {
        return Err(Error::invalid("model", format!("conv-autoencoder needs image input [C, H, W], the data has {input:?}")));
    };
    if h % 4 != 0 || w % 4 != 0 {
        return Err(Error::invalid("model", format!("conv-autoencoder needs H and W divisible by 4, not {h}x{w}")));
    }
    let conv = |f: usize| Conv2d::new(f, 3).padding_same().activation(Activation::Relu);
    let mut m = Sequential::new().name("conv-autoencoder");
    if let Some(n) = noise {
        m = m.add(n);
    }
    Ok(m.add(conv(16))
        .add(MaxPool2d::new(2))
        .add(conv(8))
        .add(MaxPool2d::new(2))
        .add(conv(8))
        .add(Upsample2d::new(2))
        .add(conv(16))
        .add(Upsample2d::new(2))
        .add(Conv2d::new(c, 3).padding_same())
        .add(ActivationLayer::new(Activation::Sigmoid)))
}

/// `inputs` as both input and target ([`Target::Values`]): the dataset an autoencoder
/// trains on.
pub fn reconstruction_dataset(inputs: &Tensor) -> Result<Dataset> {
    Dataset::new(inputs.clone(), Target::Values(inputs.clone()))
}

/// One encoder layer: `(weight [in, out], bias [out])`.
pub type Encoder = (Tensor, Tensor);

/// Settings for [`stacked_autoencoders`].
#[derive(Clone, Debug)]
pub struct AutoencoderOptions {
    /// Epochs per layer (default 1).
    pub epochs: usize,
    /// Rows per step (default 100).
    pub batch_size: usize,
    /// Adam's learning rate (default 1e-3).
    pub lr: f32,
    /// Corrupt each layer's input, making a stacked *denoising* autoencoder (default
    /// `Noise::mask(0.25)`: each input zeroed with probability 0.25).
    pub noise: Option<Noise>,
    /// Seed of layer 0's initialization and shuffles; layer l uses `seed + l` (default 0).
    pub seed: u64,
    /// Stop each epoch after this many steps (quick experiments; default `None`).
    pub max_steps_per_epoch: Option<usize>,
}

impl Default for AutoencoderOptions {
    fn default() -> Self {
        AutoencoderOptions {
            epochs: 1,
            batch_size: 100,
            lr: 1e-3,
            noise: Some(Noise::mask(0.25)),
            seed: 0,
            max_steps_per_epoch: None,
        }
    }
}

/// Greedy layer-wise pretraining with autoencoders (Bengio et al. 2007): layer l is the
/// encoder of a one-hidden-layer sigmoid autoencoder trained to reconstruct layer l-1's
/// codes (the data, for l = 0, values in `[0, 1]`). Returns each encoder's
/// `(weight [in, out], bias [out])` — ready for [`load_stack`](super::load_stack) — and
/// each autoencoder's training history.
///
/// Errors: no hidden layer or one of size 0, and training errors (e.g. a loss that
/// becomes non-finite).
pub fn stacked_autoencoders(data: &Tensor, hidden: &[usize], opts: &AutoencoderOptions) -> Result<(Vec<Encoder>, Vec<History>)> {
    if hidden.is_empty() || hidden.contains(&0) {
        return Err(Error::invalid("autoencoder sizes", format!("{hidden:?}: needs at least one non-empty hidden layer")));
    }
    let n = data.shape().first().copied().unwrap_or(0);
    let mut x = data.reshape(&[n, data.numel() / n.max(1)])?;
    let (mut layers, mut histories) = (Vec::new(), Vec::new());
    for (l, &h) in hidden.iter().enumerate() {
        let v = x.shape()[1];
        let mut ae = Sequential::new().seed(opts.seed.wrapping_add(l as u64));
        if let Some(noise) = opts.noise {
            ae = ae.add(noise);
        }
        let encoder = ae.layers().len();
        ae = ae.add(Dense::new(h).activation(Activation::Sigmoid)).add(Dense::new(v).activation(Activation::Sigmoid));
        ae.compile(Adam::new(opts.lr), Loss::BinaryCrossEntropy, &[]);
        let mut fit = FitOptions::epochs(opts.epochs).batch_size(opts.batch_size).silent();
        fit.max_steps_per_epoch = opts.max_steps_per_epoch;
        histories.push(ae.fit(&reconstruction_dataset(&x)?, fit)?);
        let params = ae.layers()[encoder].params();
        layers.push((params[0].value.clone(), params[1].value.clone()));
        if l + 1 < hidden.len() {
            x = ae.activations(&x, encoder)?;
        }
    }
    Ok((layers, histories))
}

/// The deep sigmoid classifier initialized by stacked autoencoders: [`sigmoid_stack`] with
/// the encoders `layers` (from [`stacked_autoencoders`]) loaded, built for `input_shape`
/// and a fresh output layer of `classes` units initialized from `seed`.
///
/// Errors: the encoders do not fit `input_shape` or each other.
pub fn sae_classifier(input_shape: &[usize], layers: &[Encoder], classes: usize, seed: u64) -> Result<Sequential> {
    let hidden: Vec<usize> = layers.iter().map(|(w, _)| w.shape()[1]).collect();
    let mut model = sigmoid_stack("sae", &hidden, classes).seed(seed);
    model.build(input_shape)?;
    let refs: Vec<(&Tensor, &Tensor)> = layers.iter().map(|(w, b)| (w, b)).collect();
    super::dbn::load_stack(&mut model, &refs, None)?;
    Ok(model)
}

/// True for a model that maps its input to something of the same shape under a loss other
/// than softmax cross-entropy: an autoencoder, scored on reconstructing its input.
pub fn reconstructs_input(model: &Sequential) -> bool {
    model.is_built()
        && model.known_input_shape() == model.output_shape()
        && model.loss().is_some_and(|l| l != Loss::SoftmaxCrossEntropy)
}

/// The first layer that has a weight matrix, with its index: what filter pictures show.
pub(super) fn first_weights(model: &Sequential) -> Option<(usize, &Tensor)> {
    model.layers().iter().enumerate().find_map(|(i, l)| l.params().first().map(|p| (i, &p.value)))
}
