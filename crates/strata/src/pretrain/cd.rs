//! Training an RBM by contrastive divergence (CD-k) or persistent contrastive divergence:
//! [`Rbm::train`] (whose docs give the gradient and the update) and [`Rbm::cd_gradient`].

use super::rbm::{Rbm, Visible, bernoulli_inplace};
use crate::tensor::gemm;
use crate::{Error, Result, Rng, Tensor};
use std::time::Instant;

/// Settings for [`Rbm::train`]; the defaults follow Hinton's practical guide (CD-1,
/// batches of 100, learning rate 0.05, momentum 0.5 then 0.9, weight decay 2e-4).
#[derive(Clone, Debug)]
pub struct CdOptions {
    /// Passes over the data (default 1).
    pub epochs: usize,
    /// Rows per update (default 100).
    pub batch_size: usize,
    /// Learning rate (default 0.05; 0.05 to 0.1 suits Bernoulli units, Gaussian units want
    /// ~0.001-0.01).
    pub lr: f32,
    /// Gibbs steps per update, the k of CD-k (default 1).
    pub k: usize,
    /// Persistent CD: the negative chains carry over between updates (default off).
    pub persistent: bool,
    /// Momentum after the first `momentum_warmup_steps` updates (default 0.9).
    pub momentum: f32,
    /// Momentum during the first updates, while the weights change fast (default 0.5).
    pub initial_momentum: f32,
    /// Updates (counted over all epochs) that use `initial_momentum` (default 300).
    pub momentum_warmup_steps: usize,
    /// L2 weight decay on W (default 2e-4).
    pub weight_decay: f32,
    /// Sample the visible reconstructions (0/1) instead of using their probabilities. The
    /// probabilities give the same expected update with less noise; persistent chains always
    /// sample, since they must remain a Markov chain. Default off.
    pub sample_visible: bool,
    /// Set Bernoulli visible biases to `log(p / (1 - p))` of the data's mean activations
    /// before training (only when they are all zero), so the hidden units need not learn it.
    /// Default on.
    pub init_visible_bias: bool,
    /// Rows of the data used to report the reconstruction error and pseudo-log-likelihood
    /// after each epoch (default 1000; 0: report nothing).
    pub monitor_samples: usize,
    /// Stop each epoch after this many updates (quick experiments; default `None`).
    pub max_batches_per_epoch: Option<usize>,
    /// Seed of the shuffles, samples and initial chains (default 0).
    pub seed: u64,
}

impl Default for CdOptions {
    fn default() -> Self {
        CdOptions {
            epochs: 1,
            batch_size: 100,
            lr: 0.05,
            k: 1,
            persistent: false,
            momentum: 0.9,
            initial_momentum: 0.5,
            momentum_warmup_steps: 300,
            weight_decay: 2e-4,
            sample_visible: false,
            init_visible_bias: true,
            monitor_samples: 1000,
            max_batches_per_epoch: None,
            seed: 0,
        }
    }
}

/// What one epoch of RBM training measured (on the monitoring rows).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RbmEpoch {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// See [`Rbm::reconstruction_error`].
    pub reconstruction_error: Option<f32>,
    /// See [`Rbm::pseudo_log_likelihood`] (Bernoulli units only).
    pub pseudo_log_likelihood: Option<f32>,
    /// Wall-clock time of the epoch's updates (monitoring excluded).
    pub seconds: f64,
    /// Training rows processed per second.
    pub samples_per_sec: f64,
}

/// One CD estimate of the log-likelihood gradient (an ascent direction), averaged over a
/// batch.
#[derive(Clone, Debug)]
pub struct RbmGradient {
    /// For the weights: `V * H` values, row-major like [`Rbm::w`] `[V, H]`.
    pub w: Vec<f32>,
    /// For the visible biases: `V` values.
    pub b: Vec<f32>,
    /// For the hidden biases: `H` values.
    pub c: Vec<f32>,
}

impl Rbm {
    /// The CD-k gradient estimate for the rows of `batch` `[N, V]`, with chains started at the
    /// data. `sample_visible` as in [`CdOptions::sample_visible`].
    ///
    /// Errors: `batch` does not hold V values per row, or `k` is 0.
    pub fn cd_gradient(&self, batch: &Tensor, k: usize, sample_visible: bool, rng: &mut Rng) -> Result<RbmGradient> {
        let n = self.rows(batch, self.visible_units(), "rbm cd_gradient")?;
        if k == 0 {
            return Err(Error::invalid("CD steps k", "must be at least 1"));
        }
        Ok(self.cd_gradient_raw(batch.data(), n, k, sample_visible, None, rng))
    }

    /// CD-k (`chain == None`) or PCD (`chain` holds the persistent visible states, `[M, V]`,
    /// updated in place) gradient for the batch `v0` `[n, V]`.
    pub(crate) fn cd_gradient_raw(
        &self,
        v0: &[f32],
        n: usize,
        k: usize,
        sample_visible: bool,
        chain: Option<&mut Vec<f32>>,
        rng: &mut Rng,
    ) -> RbmGradient {
        let (vu, hu) = (self.visible_units(), self.hidden_units());
        // Positive phase: h enters through its probabilities (the exact expectation).
        let ph0 = self.hidden_probs_raw(v0, n);
        // Negative phase: a Gibbs chain from the data (CD) or from the fantasy particles (PCD).
        let persistent = chain.is_some();
        let (mut h, m) = match &chain {
            Some(c) => (self.hidden_probs_raw(c, c.len() / vu), c.len() / vu),
            None => (ph0.clone(), n),
        };
        bernoulli_inplace(&mut h, rng);
        let (mut vk, mut phk) = (Vec::new(), Vec::new());
        for step in 0..k {
            vk = self.visible_mean_raw(&h, m);
            if sample_visible || persistent {
                self.sample_visible_inplace(&mut vk, rng);
            }
            phk = self.hidden_probs_raw(&vk, m);
            if step + 1 < k {
                h.clone_from(&phk);
                bernoulli_inplace(&mut h, rng);
            }
        }
        if let Some(c) = chain {
            c.clone_from(&vk);
        }
        // dW = v0' ph0 / n - vk' phk / m, as two accumulated products.
        let pos: Vec<f32> = ph0.iter().map(|p| p / n as f32).collect();
        let neg: Vec<f32> = phk.iter().map(|p| -p / m as f32).collect();
        let mut w = vec![0.0; vu * hu];
        gemm(vu, hu, n, v0, true, &pos, false, &mut w, false);
        gemm(vu, hu, m, &vk, true, &neg, false, &mut w, true);
        let col_mean = |x: &[f32], rows: usize, width: usize| -> Vec<f32> {
            let mut s = vec![0.0f32; width];
            for r in x.chunks_exact(width) {
                s.iter_mut().zip(r).for_each(|(s, v)| *s += v);
            }
            s.iter_mut().for_each(|s| *s /= rows.max(1) as f32);
            s
        };
        let b = col_mean(v0, n, vu).iter().zip(col_mean(&vk, m, vu)).map(|(p, q)| p - q).collect();
        let c = col_mean(&ph0, n, hu).iter().zip(col_mean(&phk, m, hu)).map(|(p, q)| p - q).collect();
        RbmGradient { w, b, c }
    }

    /// Trains on the rows of `data` (`[N, ...]`, each sample V values; Bernoulli units want
    /// values in `[0, 1]`) by CD-k, or persistent CD with [`CdOptions::persistent`]. Calls
    /// `on_epoch` after each epoch and returns every epoch's record.
    ///
    /// The gradient of the mean log-likelihood of the data is a difference of two correlations:
    ///
    /// ```text
    /// d log P(x) / dW[j, i] = <x_j h_i>_data - <x_j h_i>_model
    /// d log P(x) / db_j     = <x_j>_data     - <x_j>_model
    /// d log P(x) / dc_i     = <h_i>_data     - <h_i>_model
    /// ```
    ///
    /// The data term is exact (`h` enters through `P(h = 1 | x)`); the model term needs samples
    /// from the model. CD-k takes them from a Gibbs chain started *at the data* and run for only
    /// k steps (Hinton 2002): biased, but low-variance and cheap. Persistent CD (Tieleman 2008)
    /// keeps the chains' state ("fantasy particles") from one update to the next instead of
    /// restarting them at the data, so over training they approach the model distribution.
    ///
    /// Update, with momentum m and L2 weight decay on W only (Hinton's practical guide):
    /// `v <- m v + lr (grad - decay W)`, `W <- W + v`.
    ///
    /// Errors: `data` is empty or does not hold V values per sample; a zero batch size or
    /// k, or a learning rate that is not positive and finite; weights that become
    /// non-finite (the learning rate is too large).
    ///
    /// ```
    /// use strata::pretrain::{CdOptions, Rbm, Visible};
    /// use strata::{Rng, Tensor};
    /// let data = Tensor::from_vec([[1., 1., 0., 0.], [0., 0., 1., 1.]].repeat(50).concat(), &[100, 4]).unwrap();
    /// let mut rbm = Rbm::new(4, 2, Visible::Bernoulli, &mut Rng::seeded(3));
    /// let before = rbm.reconstruction_error(&data).unwrap();
    /// let opts = CdOptions { epochs: 200, batch_size: 10, lr: 0.1, ..CdOptions::default() };
    /// rbm.train(&data, &opts, |_| {}).unwrap();
    /// assert!(rbm.reconstruction_error(&data).unwrap() < before);
    /// ```
    pub fn train(&mut self, data: &Tensor, opts: &CdOptions, mut on_epoch: impl FnMut(&RbmEpoch)) -> Result<Vec<RbmEpoch>> {
        let vu = self.visible_units();
        let total = self.rows(data, vu, "rbm train")?;
        if total == 0 {
            return Err(Error::invalid("RBM training data", "is empty"));
        }
        if opts.batch_size == 0 || opts.k == 0 || !(opts.lr > 0.0 && opts.lr.is_finite()) {
            return Err(Error::invalid("RBM options", "batch size, k and the learning rate must be positive"));
        }
        let x = data.data();
        let mut rng = Rng::seeded(opts.seed);
        if opts.init_visible_bias && self.visible == Visible::Bernoulli && self.b_visible.data().iter().all(|&b| b == 0.0) {
            let mut mean = vec![0.0f64; vu];
            for row in x.chunks_exact(vu) {
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += *v as f64);
            }
            for (b, m) in self.b_visible.data_mut().iter_mut().zip(&mean) {
                let p = (m / total as f64).clamp(0.01, 0.99);
                *b = (p / (1.0 - p)).ln() as f32;
            }
        }
        let monitor_rows = opts.monitor_samples.min(total);
        let monitor = Tensor::from_vec(x[..monitor_rows * vu].to_vec(), &[monitor_rows, vu])?;
        let mut vel = (vec![0.0f32; self.w.numel()], vec![0.0f32; vu], vec![0.0f32; self.hidden_units()]);
        // PCD's fantasy particles start as random data rows.
        let mut chain: Option<Vec<f32>> = opts.persistent.then(|| {
            let m = opts.batch_size.min(total);
            (0..m).flat_map(|_| x[rng.below(total) * vu..][..vu].to_vec()).collect()
        });
        let mut records = Vec::with_capacity(opts.epochs);
        let mut updates = 0usize;
        let mut buf = Vec::with_capacity(opts.batch_size * vu);
        for epoch in 1..=opts.epochs {
            let start = Instant::now();
            let order = rng.permutation(total);
            let mut seen = 0;
            for (b, idx) in order.chunks(opts.batch_size).enumerate() {
                if opts.max_batches_per_epoch.is_some_and(|m| b >= m) {
                    break;
                }
                buf.clear();
                idx.iter().for_each(|&i| buf.extend_from_slice(&x[i * vu..(i + 1) * vu]));
                let g = self.cd_gradient_raw(&buf, idx.len(), opts.k, opts.sample_visible, chain.as_mut(), &mut rng);
                let momentum = if updates < opts.momentum_warmup_steps { opts.initial_momentum } else { opts.momentum };
                self.apply(&g, &mut vel, opts.lr, momentum, opts.weight_decay);
                updates += 1;
                seen += idx.len();
            }
            let seconds = start.elapsed().as_secs_f64();
            let (mut recon, mut pll) = (None, None);
            if monitor_rows > 0 {
                recon = Some(self.reconstruction_error(&monitor)?);
                if self.visible == Visible::Bernoulli {
                    pll = Some(self.pseudo_log_likelihood(&monitor, &mut rng)?);
                }
            }
            if !self.w.all_finite() || recon.is_some_and(|r| !r.is_finite()) {
                return Err(Error::invalid(
                    "RBM training",
                    format!("the weights became non-finite in epoch {epoch} (try a smaller learning rate)"),
                ));
            }
            let record = RbmEpoch {
                epoch,
                reconstruction_error: recon,
                pseudo_log_likelihood: pll,
                seconds,
                samples_per_sec: seen as f64 / seconds.max(1e-9),
            };
            on_epoch(&record);
            records.push(record);
        }
        Ok(records)
    }

    /// One momentum step along the ascent direction `g`, with weight decay on W.
    fn apply(&mut self, g: &RbmGradient, vel: &mut (Vec<f32>, Vec<f32>, Vec<f32>), lr: f32, momentum: f32, decay: f32) {
        for ((w, v), g) in self.w.data_mut().iter_mut().zip(vel.0.iter_mut()).zip(&g.w) {
            *v = momentum * *v + lr * (g - decay * *w);
            *w += *v;
        }
        for (p, (v, g)) in self.b_visible.data_mut().iter_mut().zip(vel.1.iter_mut().zip(&g.b)) {
            *v = momentum * *v + lr * g;
            *p += *v;
        }
        for (p, (v, g)) in self.c_hidden.data_mut().iter_mut().zip(vel.2.iter_mut().zip(&g.c)) {
            *v = momentum * *v + lr * g;
            *p += *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact gradient of the mean log-likelihood by enumerating the 2^V visible states.
    fn exact(rbm: &Rbm, data: &[f32], n: usize) -> Vec<f64> {
        let (v, h) = (rbm.visible_units(), rbm.hidden_units());
        let stats = |x: &[f32], wts: &[f64]| {
            let p = rbm.hidden_probs_raw(x, wts.len());
            let mut g = vec![0.0f64; v * h + v + h];
            for (r, &wt) in wts.iter().enumerate() {
                for j in 0..v {
                    for i in 0..h {
                        g[j * h + i] += wt * (x[r * v + j] * p[r * h + i]) as f64;
                    }
                    g[v * h + j] += wt * x[r * v + j] as f64;
                }
                for i in 0..h {
                    g[v * h + v + i] += wt * p[r * h + i] as f64;
                }
            }
            g
        };
        let states = rbm.all_visible_states().unwrap();
        let log_z = rbm.log_partition_exact().unwrap() as f64;
        let probs: Vec<f64> = rbm.free_energy_raw(&states, 1 << v).iter().map(|&f| (-(f as f64) - log_z).exp()).collect();
        let pos = stats(data, &vec![1.0 / n as f64; n]);
        pos.iter().zip(stats(&states, &probs)).map(|(a, b)| a - b).collect()
    }

    #[test]
    fn pcd_with_a_fixed_model_averages_to_the_exact_gradient() {
        let mut rng = Rng::seeded(3);
        let mut rbm = Rbm::new(4, 3, Visible::Bernoulli, &mut rng);
        rbm.w = Tensor::rand_normal(&[4, 3], 0.0, 1.0, &mut rng);
        let data = [1., 1., 0., 0., 0., 0., 1., 1., 1., 0., 1., 0.];
        let want = exact(&rbm, &data, 3);
        let mut chain: Vec<f32> = (0..4 * 50).map(|_| (rng.uniform() < 0.5) as u8 as f32).collect();
        let mut mean = vec![0.0f64; want.len()];
        let reps = 2000;
        for _ in 0..reps {
            let g = rbm.cd_gradient_raw(&data, 3, 1, false, Some(&mut chain), &mut rng);
            for (m, v) in mean.iter_mut().zip(g.w.iter().chain(&g.b).chain(&g.c)) {
                *m += *v as f64 / reps as f64;
            }
        }
        let dot: f64 = mean.iter().zip(&want).map(|(a, b)| a * b).sum();
        let cos = dot / (mean.iter().map(|a| a * a).sum::<f64>().sqrt() * want.iter().map(|a| a * a).sum::<f64>().sqrt());
        let err = mean.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(cos > 0.98 && err < 0.05, "cosine {cos}, max error {err}: {mean:?} vs {want:?}");
    }
}
