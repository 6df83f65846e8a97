//! Deep belief nets: [`Dbn`], a stack of RBMs trained greedily and unrolled into a
//! feed-forward sigmoid network, and loading pretrained layers into a [`Sequential`].

use super::cd::{CdOptions, RbmEpoch};
use super::rbm::{Rbm, Visible, bernoulli_inplace};
use crate::data::normalize::Standardizer;
use crate::model::Sequential;
use crate::nn::{Activation, Dense, DenseConfig, Flatten, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};

/// A deep belief net (Hinton, Osindero & Teh 2006): a stack of RBMs trained greedily, one
/// layer at a time, each on the hidden activities the layer below produces for the data;
/// then unrolled into a feed-forward sigmoid network for supervised fine-tuning.
///
/// Greedy training is justified by a variational bound: adding a layer, initialized to
/// the transpose of the one below, and training it on the lower layer's hidden activities
/// cannot decrease a lower bound on the data's log-likelihood. In practice the point is an
/// initialization: every hidden layer starts out as a model of the structure in the layer
/// below, instead of random directions that backpropagation must first organize.
#[derive(Clone, Debug)]
pub struct Dbn {
    /// The layers, bottom up: `rbms[0]` models the data, `rbms[l]` the hidden units of
    /// `rbms[l - 1]` (its V is the H of the layer below).
    pub rbms: Vec<Rbm>,
}

impl Dbn {
    /// Greedy layer-wise pretraining on the rows of `data` (`[N, ...]`): an RBM with
    /// `hidden[0]` hidden units on the data (visible units of kind `visible`), then one with
    /// `hidden[1]` units on the first one's hidden probabilities, and so on. Every layer
    /// uses `opts` (its seed offset by the layer index); upper layers always have Bernoulli
    /// visible units. `on_epoch(layer, record)` reports progress (layers counted from 0).
    /// Returns the DBN and each layer's epoch records.
    ///
    /// Errors: no hidden layer or one of size 0, and those of [`Rbm::train`].
    pub fn pretrain(
        data: &Tensor,
        hidden: &[usize],
        visible: Visible,
        opts: &CdOptions,
        mut on_epoch: impl FnMut(usize, &RbmEpoch),
    ) -> Result<(Dbn, Vec<Vec<RbmEpoch>>)> {
        if hidden.is_empty() || hidden.contains(&0) {
            return Err(Error::invalid("DBN sizes", format!("{hidden:?}: needs at least one non-empty hidden layer")));
        }
        let n = data.shape().first().copied().unwrap_or(0);
        let v = data.numel() / n.max(1);
        let mut x = data.reshape(&[n, v])?;
        let mut rbms: Vec<Rbm> = Vec::with_capacity(hidden.len());
        let mut history = Vec::with_capacity(hidden.len());
        let mut rng = Rng::seeded(opts.seed);
        for (l, &h) in hidden.iter().enumerate() {
            let kind = if l == 0 { visible } else { Visible::Bernoulli };
            let mut rbm = Rbm::new(x.shape()[1], h, kind, &mut rng);
            let layer_opts = CdOptions { seed: opts.seed.wrapping_add(l as u64), ..opts.clone() };
            history.push(rbm.train(&x, &layer_opts, |r| on_epoch(l, r))?);
            // The next layer's data: this layer's hidden probabilities (mean-field, less noisy
            // than sampled states). Not needed after the top layer.
            if l + 1 < hidden.len() {
                x = rbm.hidden_probs(&x)?;
            }
            rbms.push(rbm);
        }
        Ok((Dbn { rbms }, history))
    }

    /// Layer sizes from the visible layer up, e.g. `[784, 500, 500, 2000]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self.rbms.first().map(|r| vec![r.visible_units()]).unwrap_or_default();
        s.extend(self.rbms.iter().map(|r| r.hidden_units()));
        s
    }

    /// The deterministic upward pass `x -> P(h1|x) -> P(h2|h1) -> ...`: the top layer's
    /// probabilities `[N, H_top]`. This is what the unrolled network computes before its
    /// classifier.
    pub fn up(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.shape().first().copied().unwrap_or(0);
        let mut h = x.reshape(&[n, x.numel() / n.max(1)])?;
        for rbm in &self.rbms {
            h = rbm.hidden_probs(&h)?;
        }
        Ok(h)
    }

    /// The generative downward pass from top-layer states `[N, H_top]` to the visible means
    /// `[N, V]`, using each RBM's top-down conditional.
    pub fn down(&self, top: &Tensor) -> Result<Tensor> {
        let mut x = top.clone();
        for rbm in self.rbms.iter().rev() {
            x = rbm.visible_mean(&x)?;
        }
        Ok(x)
    }

    /// Up to the top layer and back down: what the whole stack keeps of `x`.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        self.down(&self.up(x)?)
    }

    /// Samples from the DBN as a generative model: `steps` rounds of Gibbs sampling in the
    /// top RBM (the undirected associative memory), then one downward pass. The top chains
    /// start from the upward pass of `start` (e.g. real images: the chain then wanders away
    /// from them) or, with `None`, from random bits; `n` is the number of chains in that case.
    /// Returns the visible means `[N, V]`.
    ///
    /// Errors: a DBN without layers, or `start` not holding V values per sample.
    pub fn sample(&self, start: Option<&Tensor>, n: usize, steps: usize, rng: &mut Rng) -> Result<Tensor> {
        let top = self.rbms.last().ok_or_else(|| Error::Model("the DBN has no layers".into()))?;
        let below = &self.rbms[..self.rbms.len() - 1];
        let mut x = match start {
            Some(s) => {
                let mut h = s.reshape(&[s.shape()[0], s.numel() / s.shape()[0].max(1)])?;
                for rbm in below {
                    h = rbm.hidden_probs(&h)?;
                }
                h
            }
            None => Tensor::rand_uniform(&[n, top.visible_units()], 0.0, 1.0, rng),
        };
        if !below.is_empty() || top.visible == Visible::Bernoulli {
            bernoulli_inplace(x.data_mut(), rng);
        }
        let mut v = top.gibbs_sample(&x, steps, rng)?;
        for rbm in below.iter().rev() {
            v = rbm.visible_mean(&v)?;
        }
        Ok(v)
    }

    /// The unrolled network: `Flatten` (for image inputs), one sigmoid `Dense` layer per RBM
    /// initialized with its recognition weights (`W` `[V, H]`, hidden biases), and a fresh
    /// `Dense(classes)` output layer (logits; pair it with softmax cross-entropy).
    /// `standardized`: see [`load_stack`]; `seed` initializes the output layer.
    ///
    /// Errors: `input_shape` does not hold the first RBM's V values, and those of
    /// [`load_stack`].
    pub fn to_sequential(
        &self,
        input_shape: &[usize],
        classes: usize,
        standardized: Option<&Standardizer>,
        seed: u64,
    ) -> Result<Sequential> {
        let mut model = sigmoid_stack("dbn", &self.sizes()[1..], classes).seed(seed);
        model.build(input_shape)?;
        self.load_into(&mut model, standardized)?;
        Ok(model)
    }

    /// Copies the RBM weights into the first sigmoid `Dense` layers of `model` (built); see
    /// [`load_stack`], whose errors it returns.
    pub fn load_into(&self, model: &mut Sequential, standardized: Option<&Standardizer>) -> Result<()> {
        let layers: Vec<(&Tensor, &Tensor)> = self.rbms.iter().map(|r| (&r.w, &r.c_hidden)).collect();
        load_stack(model, &layers, standardized)
    }
}

/// `Flatten -> Dense(h, sigmoid) for each h in hidden -> Dense(classes)`: the deep sigmoid
/// network the DBN unrolls into (randomly initialized until pretrained weights are loaded),
/// as a model called `name`, not yet built.
pub fn sigmoid_stack(name: &str, hidden: &[usize], classes: usize) -> Sequential {
    let mut m = Sequential::new().name(name).add(Flatten);
    for &h in hidden {
        m = m.add(Dense::new(h).activation(Activation::Sigmoid));
    }
    m.add(Dense::new(classes))
}

/// Loads pretrained `(weight [in, out], bias [out])` pairs into the first `layers.len()`
/// `Dense` layers of a built `model`, which must be sigmoid layers of matching sizes.
///
/// The pretrained first layer saw raw inputs x (pixels in `[0, 1]`); when the model is fed
/// standardized inputs `x' = (x - mean) / std` instead, the standardization is folded into
/// that layer so it computes exactly what it learned: `c + x W = (c + mean' W) + x' (std W)`
/// (row j of W scaled by std_j; mean and std global or per feature).
///
/// Errors: `model` is not built or has fewer `Dense` layers than `layers`, one of those is
/// not a sigmoid layer or its shapes differ from the pretrained pair, or `standardized`
/// does not fit the first layer's inputs.
pub fn load_stack(model: &mut Sequential, layers: &[(&Tensor, &Tensor)], standardized: Option<&Standardizer>) -> Result<()> {
    if !model.is_built() {
        return Err(Error::Model("load_stack needs a built model".into()));
    }
    let dense: Vec<usize> = model
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l.spec(), LayerSpec::Dense(_)))
        .map(|(i, _)| i)
        .take(layers.len())
        .collect();
    if dense.len() < layers.len() {
        return Err(Error::Model(format!("{} pretrained layers but the model has {} dense layers", layers.len(), dense.len())));
    }
    for (l, (&li, (w, c))) in dense.iter().zip(layers).enumerate() {
        let layer: &mut Box<dyn Layer> = &mut model.layers[li];
        if !matches!(layer.spec(), LayerSpec::Dense(DenseConfig { activation: Activation::Sigmoid, .. })) {
            return Err(Error::Model(format!("layer {} must be a sigmoid Dense layer to take RBM weights", li + 1)));
        }
        let mut w = (*w).clone();
        let mut c = (*c).clone();
        if let (0, Some(s)) = (l, standardized) {
            fold_standardizer(&mut w, &mut c, s)?;
        }
        let mut params = layer.params_mut();
        if params.len() != 2 || params[0].value.shape() != w.shape() || params[1].value.shape() != c.shape() {
            return Err(Error::ShapeMismatch {
                op: "load pretrained layer",
                left: params.first().map(|p| p.value.shape().to_vec()).unwrap_or_default(),
                right: w.shape().to_vec(),
            });
        }
        params[0].value = w;
        params[1].value = c;
    }
    Ok(())
}

/// See [`load_stack`]: rewrites `(w, c)` to act on standardized inputs.
fn fold_standardizer(w: &mut Tensor, c: &mut Tensor, s: &Standardizer) -> Result<()> {
    let (v, h) = (w.shape()[0], w.shape()[1]);
    let per = |vals: &[f32], j: usize| if vals.len() == 1 { vals[0] } else { vals[j] };
    if !(s.mean.len() == 1 || s.mean.len() == v) || s.std.len() != s.mean.len() {
        return Err(Error::ShapeMismatch { op: "fold standardizer", left: vec![s.mean.len()], right: vec![v] });
    }
    let wd = w.data_mut();
    let cd = c.data_mut();
    for j in 0..v {
        let (m, sd) = (per(&s.mean, j), per(&s.std, j));
        let row = &mut wd[j * h..(j + 1) * h];
        for (ci, wji) in cd.iter_mut().zip(row.iter_mut()) {
            *ci += m * *wji;
            *wji *= sd;
        }
    }
    Ok(())
}
