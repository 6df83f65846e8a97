//! The DBN as a generative model of images and their labels (Hinton, Osindero & Teh 2006):
//! [`GenerativeDbn`] — directed layers with separate recognition (upward) and generative
//! (downward) weights below an undirected top-level associative memory that joins the
//! penultimate features with the label units — trained greedily, fine-tuned by the
//! up-down (contrastive wake-sleep) algorithm, sampled for a chosen class.

use super::cd::{CdOptions, RbmEpoch};
use super::dbn::Dbn;
use super::rbm::{Rbm, Visible, affine, bernoulli_inplace, sigmoid};
use crate::model::Sequential;
use crate::tensor::gemm;
use crate::{Error, Result, Rng, Tensor};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// One directed layer below the top: visible units `V` (the layer below) and hidden `H`.
#[derive(Clone, Debug)]
pub struct DirectedLayer {
    /// Recognition weights `[V, H]`: `P(h = 1 | v) = sigma(c + v R)`.
    pub recognition: Tensor,
    /// Recognition (hidden) biases `[H]`.
    pub recognition_bias: Tensor,
    /// Generative weights `[V, H]` (used transposed): the mean of `v` given `h` is
    /// `sigma(b + h G')` (or `b + h G'` for Gaussian data units).
    pub generative: Tensor,
    /// Generative (visible) biases `[V]`.
    pub generative_bias: Tensor,
}

/// A deep belief net with label units at the top, as in Hinton, Osindero & Teh (2006):
///
/// ```text
///   [ penultimate features | labels (softmax) ]  <->  top hidden units     undirected: an RBM
///              ^ recognition   | generative                                 directed layers,
///            ...              ...                                           weights untied by
///              ^               v                                            up-down fine-tuning
///                  data (pixels)
/// ```
///
/// After greedy training ([`GenerativeDbn::pretrain`]) recognition and generative weights
/// are tied (equal); [`GenerativeDbn::up_down`] then fine-tunes them separately.
#[derive(Clone, Debug)]
pub struct GenerativeDbn {
    /// The directed layers, bottom up (may be empty: then the top RBM sees the data).
    pub layers: Vec<DirectedLayer>,
    /// The top-level associative memory; its last `label_units` visible units are the
    /// labels.
    pub top: Rbm,
    /// The kind of the data units (the bottom layer's generative conditional).
    pub visible: Visible,
}

/// Settings of [`GenerativeDbn::up_down`].
#[derive(Clone, Debug)]
pub struct UpDownOptions {
    /// Passes over the data (default 1).
    pub epochs: usize,
    /// Rows per update (default 100).
    pub batch_size: usize,
    /// Learning rate of every weight (default 0.01; the paper used 0.01 too).
    pub lr: f32,
    /// Gibbs steps in the top-level memory per update (default 3; the paper raised it from 3
    /// to 10 over training).
    pub k: usize,
    /// Stop each epoch after this many updates (default `None`).
    pub max_batches_per_epoch: Option<usize>,
    /// Rows used to report the figures after each epoch (default 1000).
    pub monitor_samples: usize,
    /// Seed of shuffles and samples (default 0).
    pub seed: u64,
}

impl Default for UpDownOptions {
    fn default() -> Self {
        UpDownOptions { epochs: 1, batch_size: 100, lr: 0.01, k: 3, max_batches_per_epoch: None, monitor_samples: 1000, seed: 0 }
    }
}

/// What one epoch of up-down fine-tuning measured on the monitoring rows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UpDownEpoch {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// See [`GenerativeDbn::generative_reconstruction_error`].
    pub reconstruction_error: f32,
    /// See [`GenerativeDbn::classify`].
    pub accuracy: f32,
    /// Wall-clock time of the updates.
    pub seconds: f64,
    /// Training rows per second.
    pub samples_per_sec: f64,
}

fn flat(x: &Tensor) -> Result<(usize, usize)> {
    let n = x.shape().first().copied().unwrap_or(0);
    Ok((n, x.numel() / n.max(1)))
}

fn one_hot(labels: &[usize], k: usize) -> Vec<f32> {
    let mut y = vec![0.0; labels.len() * k];
    labels.iter().enumerate().for_each(|(r, &l)| y[r * k + l] = 1.0);
    y
}

/// `[n, a]` and `[n, b]` rows side by side: `[n, a + b]`.
fn join(x: &[f32], a: usize, y: &[f32], b: usize) -> Vec<f32> {
    x.chunks_exact(a.max(1)).zip(y.chunks_exact(b.max(1))).flat_map(|(p, q)| p.iter().chain(q).copied()).collect()
}

fn sigmoid_all(mut x: Vec<f32>) -> Vec<f32> {
    x.iter_mut().for_each(|v| *v = sigmoid(*v));
    x
}

fn col_mean(x: &[f32], width: usize) -> Vec<f32> {
    let rows = (x.len() / width.max(1)).max(1);
    let mut s = vec![0.0f32; width];
    x.chunks_exact(width).for_each(|r| s.iter_mut().zip(r).for_each(|(s, v)| *s += v));
    s.iter_mut().for_each(|s| *s /= rows as f32);
    s
}

impl DirectedLayer {
    fn tied(rbm: &Rbm) -> DirectedLayer {
        DirectedLayer {
            recognition: rbm.w.clone(),
            recognition_bias: rbm.c_hidden.clone(),
            generative: rbm.w.clone(),
            generative_bias: rbm.b_visible.clone(),
        }
    }
    fn units(&self) -> (usize, usize) {
        (self.recognition.shape()[0], self.recognition.shape()[1])
    }
    /// `P(h = 1 | v)` for `n` rows.
    fn up(&self, v: &[f32], n: usize) -> Vec<f32> {
        let (vu, _) = self.units();
        sigmoid_all(affine(v, n, vu, self.recognition.data(), false, self.recognition_bias.data()))
    }
    /// The mean of `v` given `h` (`linear` for Gaussian data units).
    fn down(&self, h: &[f32], n: usize, linear: bool) -> Vec<f32> {
        let (_, hu) = self.units();
        let m = affine(h, n, hu, self.generative.data(), true, self.generative_bias.data());
        if linear { m } else { sigmoid_all(m) }
    }
}

impl GenerativeDbn {
    /// Greedy training: the RBMs of `hidden[..last]` as in [`Dbn::pretrain`] on `data`, then
    /// the top RBM (`hidden[last]` hidden units) on the penultimate layer's probabilities
    /// joined with the one-hot `labels` (`classes` label units). `on_epoch(layer, record)`
    /// reports progress.
    ///
    /// Errors: a label of `classes` or more, a label count that differs from the rows, and
    /// those of [`Dbn::pretrain`].
    pub fn pretrain(
        data: &Tensor,
        labels: &[usize],
        classes: usize,
        hidden: &[usize],
        visible: Visible,
        opts: &CdOptions,
        mut on_epoch: impl FnMut(usize, &RbmEpoch),
    ) -> Result<GenerativeDbn> {
        let (n, _) = flat(data)?;
        if labels.len() != n {
            return Err(Error::invalid("DBN labels", format!("{} labels for {n} samples", labels.len())));
        }
        if classes < 2 || labels.iter().any(|&l| l >= classes) {
            return Err(Error::invalid("DBN labels", format!("need labels below {classes} (at least 2 classes)")));
        }
        if hidden.is_empty() || hidden.contains(&0) {
            return Err(Error::invalid("DBN sizes", format!("{hidden:?}: needs at least one non-empty hidden layer")));
        }
        let (below, top_units) = (&hidden[..hidden.len() - 1], hidden[hidden.len() - 1]);
        let (mut layers, mut pen) = (Vec::new(), data.reshape(&[n, data.numel() / n.max(1)])?);
        if !below.is_empty() {
            let (dbn, _) = Dbn::pretrain(data, below, visible, opts, &mut on_epoch)?;
            pen = dbn.up(data)?;
            layers = dbn.rbms.iter().map(DirectedLayer::tied).collect();
        }
        let p = pen.shape()[1];
        let joint = Tensor::from_vec(join(pen.data(), p, &one_hot(labels, classes), classes), &[n, p + classes])?;
        let mut rng = Rng::seeded(opts.seed.wrapping_add(below.len() as u64));
        let kind = if below.is_empty() { visible } else { Visible::Bernoulli };
        let mut top = Rbm::new(p + classes, top_units, kind, &mut rng);
        top.label_units = classes;
        let top_opts = CdOptions { seed: opts.seed.wrapping_add(below.len() as u64), ..opts.clone() };
        top.train(&joint, &top_opts, |r| on_epoch(below.len(), r))?;
        Ok(GenerativeDbn { layers, top, visible })
    }

    /// Number of label units (classes).
    pub fn classes(&self) -> usize {
        self.top.label_units
    }
    /// Data units `V`.
    pub fn visible_units(&self) -> usize {
        self.layers.first().map_or(self.top.visible_units() - self.classes(), |l| l.units().0)
    }
    fn penultimate_units(&self) -> usize {
        self.top.visible_units() - self.classes()
    }
    /// Layer sizes from the data up to the top hidden layer, e.g. `[784, 500, 500, 2000]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.visible_units()];
        s.extend(self.layers.iter().map(|l| l.units().1));
        s.push(self.top.hidden_units());
        s
    }

    /// The recognition pass, mean-field: the penultimate features `[N, P]` of `x` `[N, ...]`.
    pub fn up(&self, x: &Tensor) -> Result<Tensor> {
        let (n, v) = flat(x)?;
        if v != self.visible_units() {
            return Err(Error::ShapeMismatch { op: "dbn up", left: x.shape().to_vec(), right: vec![n, self.visible_units()] });
        }
        let mut h = x.data().to_vec();
        for l in &self.layers {
            h = l.up(&h, n);
        }
        Tensor::from_vec(h, &[n, self.penultimate_units()])
    }

    /// The generative pass, mean-field: data means `[N, V]` from penultimate states `[N, P]`.
    pub fn down(&self, pen: &Tensor) -> Result<Tensor> {
        let (n, _) = flat(pen)?;
        let mut x = pen.data().to_vec();
        for (i, l) in self.layers.iter().enumerate().rev() {
            x = l.down(&x, n, i == 0 && self.visible == Visible::Gaussian);
        }
        Tensor::from_vec(x, &[n, self.visible_units()])
    }

    /// Log-probabilities of every label given the penultimate features, exactly:
    /// `log P(y | pen) = -F(pen, y) - log sum_y' exp(-F(pen, y'))` with the top RBM's free
    /// energy F. `[N, classes]`.
    fn label_log_probs(&self, pen: &[f32], n: usize) -> Vec<f32> {
        let (p, k) = (self.penultimate_units(), self.classes());
        let mut out = Vec::with_capacity(n * k);
        let mut rows = Vec::with_capacity(n * k * (p + k));
        for r in 0..n {
            for y in 0..k {
                rows.extend_from_slice(&pen[r * p..(r + 1) * p]);
                rows.extend((0..k).map(|j| (j == y) as u8 as f32));
            }
        }
        let f = self.top.free_energy_raw(&rows, n * k);
        for r in f.chunks_exact(k) {
            let m = r.iter().map(|f| -f).fold(f32::NEG_INFINITY, f32::max);
            let z = m + r.iter().map(|f| (-f - m).exp()).sum::<f32>().ln();
            out.extend(r.iter().map(|f| -f - z));
        }
        out
    }

    /// The DBN's own classification of `x`: the label with the lowest free energy in the top
    /// RBM, given the recognition pass's penultimate features.
    pub fn classify(&self, x: &Tensor) -> Result<Vec<usize>> {
        let pen = self.up(x)?;
        let n = pen.shape()[0];
        let k = self.classes();
        let lp = self.label_log_probs(pen.data(), n);
        Ok(lp.chunks_exact(k).map(|r| (0..k).fold(0, |b, j| if r[j] > r[b] { j } else { b })).collect())
    }

    /// The generative model's reconstruction error, a proxy of its log-likelihood: the mean
    /// over rows of `||x - x̂||²`, where x̂ goes up the recognition path to the penultimate
    /// features, through the top-level memory with the true label clamped (pen -> top hidden
    /// probabilities -> pen means), and down the generative path (all mean-field).
    ///
    /// Errors: `x` does not fit, or a label count that differs from its rows.
    pub fn generative_reconstruction_error(&self, x: &Tensor, labels: &[usize]) -> Result<f32> {
        let pen = self.up(x)?;
        let n = pen.shape()[0];
        if labels.len() != n {
            return Err(Error::invalid("DBN labels", format!("{} labels for {n} samples", labels.len())));
        }
        let (p, k) = (self.penultimate_units(), self.classes());
        let v = join(pen.data(), p, &one_hot(labels, k), k);
        let h = self.top.hidden_probs_raw(&v, n);
        let vm = self.top.visible_mean_raw(&h, n);
        let pen_mean: Vec<f32> = vm.chunks_exact(p + k).flat_map(|r| r[..p].to_vec()).collect();
        let r = self.down(&Tensor::from_vec(pen_mean, &[n, p])?)?;
        let sq: f64 = x.data().iter().zip(r.data()).map(|(a, b)| ((a - b) * (a - b)) as f64).sum();
        Ok((sq / n.max(1) as f64) as f32)
    }

    /// Up-down fine-tuning (the contrastive wake-sleep algorithm of Hinton, Osindero & Teh
    /// 2006, their appendix B) on `data` with `labels`. Per batch:
    ///
    /// - **up (wake)**: sample states up the recognition weights; the generative weights learn
    ///   to reconstruct each layer's states from the states above:
    ///   `G += lr s_below_err' s_above` with `err = s_below - mean(s_below | s_above)`;
    /// - **top**: CD-k in the associative memory, from the wake penultimate states and the
    ///   true label;
    /// - **down (sleep)**: from the top chain's final penultimate states, sample down the
    ///   generative weights; the recognition weights learn to infer each layer's sleep
    ///   states from the states below.
    ///
    /// `on_epoch` receives each epoch's figures (on the first `monitor_samples` rows).
    ///
    /// Errors: label count or data width that do not fit, zero batch size or k, a learning
    /// rate that is not positive, weights that become non-finite.
    pub fn up_down(
        &mut self,
        data: &Tensor,
        labels: &[usize],
        opts: &UpDownOptions,
        mut on_epoch: impl FnMut(&UpDownEpoch),
    ) -> Result<Vec<UpDownEpoch>> {
        let (total, v) = flat(data)?;
        if v != self.visible_units() || labels.len() != total || total == 0 {
            return Err(Error::invalid(
                "up-down data",
                format!(
                    "{total} rows of {v} values with {} labels (the DBN takes {} values)",
                    labels.len(),
                    self.visible_units()
                ),
            ));
        }
        if labels.iter().any(|&l| l >= self.classes()) {
            return Err(Error::invalid("up-down labels", format!("a label is not below {}", self.classes())));
        }
        if opts.batch_size == 0 || opts.k == 0 || !(opts.lr > 0.0 && opts.lr.is_finite()) {
            return Err(Error::invalid("up-down options", "batch size, k and the learning rate must be positive"));
        }
        let mut rng = Rng::seeded(opts.seed);
        let monitor_rows = opts.monitor_samples.min(total);
        let monitor = data.reshape(&[total, v])?.slice(0, 0, monitor_rows)?;
        let monitor_labels = &labels[..monitor_rows];
        let x = data.data();
        let mut records = Vec::new();
        let mut buf = Vec::with_capacity(opts.batch_size * v);
        for epoch in 1..=opts.epochs {
            let start = Instant::now();
            let mut seen = 0;
            for (b, idx) in rng.permutation(total).chunks(opts.batch_size).enumerate() {
                if opts.max_batches_per_epoch.is_some_and(|m| b >= m) {
                    break;
                }
                buf.clear();
                idx.iter().for_each(|&i| buf.extend_from_slice(&x[i * v..(i + 1) * v]));
                let ys: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
                self.up_down_step(&buf, &ys, opts, &mut rng);
                seen += idx.len();
            }
            let seconds = start.elapsed().as_secs_f64();
            let err = self.generative_reconstruction_error(&monitor, monitor_labels)?;
            if !err.is_finite() || !self.top.w.all_finite() {
                return Err(Error::invalid(
                    "up-down fine-tuning",
                    format!("the weights became non-finite in epoch {epoch} (try a smaller learning rate)"),
                ));
            }
            let predicted = self.classify(&monitor)?;
            let right = predicted.iter().zip(monitor_labels).filter(|(a, b)| a == b).count();
            let record = UpDownEpoch {
                epoch,
                reconstruction_error: err,
                accuracy: right as f32 / monitor_rows.max(1) as f32,
                seconds,
                samples_per_sec: seen as f64 / seconds.max(1e-9),
            };
            on_epoch(&record);
            records.push(record);
        }
        Ok(records)
    }

    /// One up-down update on the batch `x` `[n, V]` with labels `ys`.
    fn up_down_step(&mut self, x: &[f32], ys: &[usize], opts: &UpDownOptions, rng: &mut Rng) {
        let n = ys.len();
        let lr = opts.lr / n as f32;
        let (p, k) = (self.penultimate_units(), self.classes());
        // Up: wake states, s[0] the data as it is (probabilities), sampled above.
        let mut wake = vec![x.to_vec()];
        for l in &self.layers {
            let mut s = l.up(wake.last().map_or(x, |s| s), n);
            bernoulli_inplace(&mut s, rng);
            wake.push(s);
        }
        // Top: CD-k from the wake penultimate states and the true labels; the chain's last
        // (sampled) state is where the sleep phase starts.
        let mut chain = join(&wake[wake.len() - 1], p, &one_hot(ys, k), k);
        let v0 = chain.clone();
        let g = self.top.cd_gradient_raw(&v0, n, opts.k, true, Some(&mut chain), rng);
        let sleep_top: Vec<f32> =
            if self.layers.is_empty() { Vec::new() } else { chain.chunks_exact(p + k).flat_map(|r| r[..p].to_vec()).collect() };
        apply_rbm_gradient(&mut self.top, &g, opts.lr);
        // Down: sleep states from the top's negative penultimate states.
        let layers = self.layers.len();
        let mut sleep = vec![Vec::new(); layers + 1];
        sleep[layers] = sleep_top;
        for i in (0..layers).rev() {
            let linear = i == 0 && self.visible == Visible::Gaussian;
            let mut s = self.layers[i].down(&sleep[i + 1], n, linear);
            if i > 0 {
                bernoulli_inplace(&mut s, rng);
            }
            sleep[i] = s;
        }
        // Generative weights: predict each wake layer from the wake layer above.
        for i in 0..layers {
            let linear = i == 0 && self.visible == Visible::Gaussian;
            let (vu, hu) = self.layers[i].units();
            let pred = self.layers[i].down(&wake[i + 1], n, linear);
            let err: Vec<f32> = wake[i].iter().zip(&pred).map(|(s, q)| s - q).collect();
            let scaled: Vec<f32> = err.iter().map(|e| lr * e).collect();
            let l = &mut self.layers[i];
            gemm(vu, hu, n, &scaled, true, &wake[i + 1], false, l.generative.data_mut(), true);
            l.generative_bias.data_mut().iter_mut().zip(col_mean(&err, vu)).for_each(|(b, e)| *b += opts.lr * e);
        }
        // Recognition weights: predict each sleep layer from the sleep layer below.
        for i in 0..layers {
            let (vu, hu) = self.layers[i].units();
            let pred = self.layers[i].up(&sleep[i], n);
            let err: Vec<f32> = sleep[i + 1].iter().zip(&pred).map(|(s, q)| s - q).collect();
            let scaled: Vec<f32> = err.iter().map(|e| lr * e).collect();
            let l = &mut self.layers[i];
            gemm(vu, hu, n, &sleep[i], true, &scaled, false, l.recognition.data_mut(), true);
            l.recognition_bias.data_mut().iter_mut().zip(col_mean(&err, hu)).for_each(|(c, e)| *c += opts.lr * e);
        }
    }

    /// `n` samples of class `class`: a Gibbs chain in the top-level memory with the label
    /// units clamped to the class, started from random penultimate bits and run for `steps`
    /// rounds, then one generative pass down (mean-field). Returns the data means `[n, V]`.
    ///
    /// Errors: a class that is not below [`GenerativeDbn::classes`].
    pub fn sample_class(&self, class: usize, n: usize, steps: usize, rng: &mut Rng) -> Result<Tensor> {
        let (p, k) = (self.penultimate_units(), self.classes());
        if class >= k {
            return Err(Error::invalid("class", format!("{class} is not below the DBN's {k} classes")));
        }
        let label = one_hot(&vec![class; n], k);
        let mut pen: Vec<f32> = (0..n * p).map(|_| (rng.uniform() < 0.5) as u8 as f32).collect();
        let mut pen_mean = pen.clone();
        for _ in 0..steps.max(1) {
            let mut h = self.top.hidden_probs_raw(&join(&pen, p, &label, k), n);
            bernoulli_inplace(&mut h, rng);
            let vm = self.top.visible_mean_raw(&h, n);
            pen_mean = vm.chunks_exact(p + k).flat_map(|r| r[..p].to_vec()).collect();
            pen.clone_from(&pen_mean);
            if self.top.visible == Visible::Bernoulli {
                bernoulli_inplace(&mut pen, rng);
            } else {
                pen.iter_mut().for_each(|v| *v += rng.normal(0.0, 1.0));
            }
        }
        self.down(&Tensor::from_vec(pen_mean, &[n, p])?)
    }

    /// The feed-forward classifier that approximates the DBN: one sigmoid `Dense` layer per
    /// directed layer (recognition weights), one for the top hidden units (the memory's
    /// weights from the penultimate features), and an output `Dense` whose logits are the
    /// label units' input from the top hidden units' mean-field values,
    /// `b_y + sum_i W[y, i] h_i`. Exact classification needs the free energy
    /// ([`GenerativeDbn::classify`]); this is its mean-field approximation, which backprop
    /// can fine-tune further. `model` must be [`super::sigmoid_stack`]-shaped and built.
    ///
    /// Errors: as for [`super::load_stack`].
    pub fn load_into(&self, model: &mut Sequential, standardized: Option<&crate::data::normalize::Standardizer>) -> Result<()> {
        let (p, k, h) = (self.penultimate_units(), self.classes(), self.top.hidden_units());
        let top_w = Tensor::from_vec(self.top.w.data()[..p * h].to_vec(), &[p, h])?;
        let mut pairs: Vec<(&Tensor, &Tensor)> = self.layers.iter().map(|l| (&l.recognition, &l.recognition_bias)).collect();
        pairs.push((&top_w, &self.top.c_hidden));
        super::dbn::load_stack(model, &pairs, standardized)?;
        // the output layer: weight [H, K] = the label rows of W, transposed; bias = label biases
        let out = model
            .layers
            .iter_mut()
            .rev()
            .find(|l| matches!(l.spec(), crate::nn::LayerSpec::Dense(_)))
            .ok_or_else(|| Error::Model("the model has no output layer".into()))?;
        let mut params = out.params_mut();
        if params.len() != 2 || params[0].value.shape() != [h, k] {
            return Err(Error::Model(format!("the output layer must be a Dense {h} -> {k} to take the DBN's label weights")));
        }
        let w = self.top.w.data();
        params[0].value = Tensor::from_vec((0..h).flat_map(|i| (0..k).map(move |y| w[(p + y) * h + i])).collect(), &[h, k])?;
        params[1].value = Tensor::from_vec(self.top.b_visible.data()[p..].to_vec(), &[k])?;
        Ok(())
    }

    /// Writes the generative DBN as safetensors (`layer{i}.{recognition,recognition_bias,
    /// generative,generative_bias}`, `top.{w,b,c}`; the class count and data unit kind as
    /// metadata).
    ///
    /// Errors: the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut t = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            t.push((format!("layer{i}.recognition"), l.recognition.clone()));
            t.push((format!("layer{i}.recognition_bias"), l.recognition_bias.clone()));
            t.push((format!("layer{i}.generative"), l.generative.clone()));
            t.push((format!("layer{i}.generative_bias"), l.generative_bias.clone()));
        }
        t.push(("top.w".into(), self.top.w.clone()));
        t.push(("top.b".into(), self.top.b_visible.clone()));
        t.push(("top.c".into(), self.top.c_hidden.clone()));
        let kind = |v: Visible| if v == Visible::Gaussian { "gaussian" } else { "bernoulli" };
        let meta = HashMap::from([
            ("strata.generative_dbn".to_string(), "1".to_string()),
            ("classes".to_string(), self.classes().to_string()),
            ("layers".to_string(), self.layers.len().to_string()),
            ("visible".to_string(), kind(self.visible).to_string()),
            ("top_visible".to_string(), kind(self.top.visible).to_string()),
        ]);
        crate::io::save_tensors(path, &t, Some(meta))
    }

    /// Reads what [`GenerativeDbn::save`] wrote.
    ///
    /// Errors: the file is missing or corrupt, or not a generative DBN.
    pub fn load(path: &Path) -> Result<GenerativeDbn> {
        let bad = |why: &str| Error::data(path, format!("not a generative DBN file ({why})"));
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|_| bad("no safetensors header"))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if meta.get("strata.generative_dbn").is_none() {
            return Err(bad(
                "it has no strata.generative_dbn metadata; write one with strata train --model dbn --finetune up-down",
            ));
        }
        let num = |key: &str| meta.get(key).and_then(|v| v.parse::<usize>().ok()).ok_or_else(|| bad(key));
        let kind = |key: &str| {
            if meta.get(key).map(String::as_str) == Some("gaussian") { Visible::Gaussian } else { Visible::Bernoulli }
        };
        let (classes, layers) = (num("classes")?, num("layers")?);
        let mut tensors: HashMap<String, Tensor> = crate::io::load_tensors(path)?.into_iter().collect();
        let mut take = |name: String| tensors.remove(&name).ok_or_else(|| bad(&format!("missing {name}")));
        let mut directed = Vec::new();
        for i in 0..layers {
            directed.push(DirectedLayer {
                recognition: take(format!("layer{i}.recognition"))?,
                recognition_bias: take(format!("layer{i}.recognition_bias"))?,
                generative: take(format!("layer{i}.generative"))?,
                generative_bias: take(format!("layer{i}.generative_bias"))?,
            });
        }
        let top = Rbm {
            w: take("top.w".into())?,
            b_visible: take("top.b".into())?,
            c_hidden: take("top.c".into())?,
            visible: kind("top_visible"),
            label_units: classes,
        };
        let (v, h) = (top.w.shape().first().copied().unwrap_or(0), top.w.shape().get(1).copied().unwrap_or(0));
        if top.w.rank() != 2 || top.b_visible.numel() != v || top.c_hidden.numel() != h || classes >= v || classes < 2 {
            return Err(bad("the top layer's shapes do not agree"));
        }
        let mut below = v - classes;
        for l in directed.iter().rev() {
            let (lv, lh) = (l.recognition.shape()[0], l.recognition.shape().get(1).copied().unwrap_or(0));
            if l.recognition.rank() != 2
                || lh != below
                || l.generative.shape() != l.recognition.shape()
                || l.recognition_bias.numel() != lh
                || l.generative_bias.numel() != lv
            {
                return Err(bad("the directed layers' shapes do not agree"));
            }
            below = lv;
        }
        Ok(GenerativeDbn { layers: directed, top, visible: kind("visible") })
    }
}

/// Plain gradient ascent on an RBM (no momentum: up-down fine-tuning uses a small rate).
fn apply_rbm_gradient(rbm: &mut Rbm, g: &super::cd::RbmGradient, lr: f32) {
    rbm.w.data_mut().iter_mut().zip(&g.w).for_each(|(w, d)| *w += lr * d);
    rbm.b_visible.data_mut().iter_mut().zip(&g.b).for_each(|(b, d)| *b += lr * d);
    rbm.c_hidden.data_mut().iter_mut().zip(&g.c).for_each(|(c, d)| *c += lr * d);
}
