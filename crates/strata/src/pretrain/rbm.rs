//! The restricted Boltzmann machine [`Rbm`] (its docs give the energy and conditionals):
//! free energy, Gibbs sampling and the quantities used to monitor training.
//!
//! Batches are row-major `[N, V]` / `[N, H]` slices; every product goes through
//! `crate::tensor::gemm`. Training (contrastive divergence) is in `cd.rs`.

use crate::tensor::gemm;
use crate::{Error, Result, Rng, Tensor};

/// The kind of visible unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visible {
    /// Binary units (or intensities in `[0, 1]` read as probabilities, as for MNIST pixels).
    Bernoulli,
    /// Real-valued units with unit variance: standardize the data before training.
    Gaussian,
}

/// A restricted Boltzmann machine with `V` visible and `H` hidden units.
///
/// For binary visible units x and binary hidden units h (a Bernoulli-Bernoulli RBM):
///
/// ```text
/// E(x, h)        = -b'x - c'h - h'W'x          W is [V, H]: W[j, i] joins visible j, hidden i
/// P(h_i = 1 | x) = sigma(c_i + sum_j x_j W[j, i])        (the hidden units are independent given x)
/// P(x_j = 1 | h) = sigma(b_j + sum_i W[j, i] h_i)        (and the visible ones given h)
/// F(x)           = -log sum_h exp(-E(x, h)) = -b'x - sum_i softplus(c_i + (x W)_i)
/// P(x)           = exp(-F(x)) / Z
/// ```
///
/// With Gaussian visible units of unit variance (real-valued data, standardized first) the
/// energy's visible term becomes `sum_j (x_j - b_j)^2 / 2`, so `x | h ~ N(b + W h, I)` and
/// `F(x) = sum_j (x_j - b_j)^2 / 2 - sum_i softplus(c_i + (x W)_i)`; the hidden conditional
/// is unchanged.
///
/// Methods that take a batch accept any shape `[N, ...]` whose samples hold V values (H for
/// hidden states); any other shape is an error.
///
/// ```
/// use strata::pretrain::{Rbm, Visible};
/// use strata::{Rng, Tensor};
/// let rbm = Rbm::new(6, 4, Visible::Bernoulli, &mut Rng::seeded(1));
/// let x = Tensor::from_vec(vec![1., 0., 1., 0., 1., 0.], &[1, 6]).unwrap();
/// let h = rbm.hidden_probs(&x).unwrap();
/// assert_eq!(h.shape(), &[1, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct Rbm {
    /// Weights `[V, H]`, laid out like a [`crate::nn::Dense`] weight `[in, out]`, so the
    /// upward pass is a dense layer.
    pub w: Tensor,
    /// Visible biases `[V]`.
    pub b_visible: Tensor,
    /// Hidden biases `[H]`.
    pub c_hidden: Tensor,
    /// The kind of the visible units.
    pub visible: Visible,
    /// The last `label_units` visible units form one softmax group — a class label, one-hot —
    /// as in the top-level associative memory of a DBN that models images and labels
    /// jointly (Hinton, Osindero & Teh 2006). 0 (the default): no label units.
    pub label_units: usize,
}

/// Logistic sigmoid, stable for large |x|.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Sigmoid of every value, split across threads for large batches (a CD step on a
/// 100 x 2000 layer evaluates 600,000 exponentials).
fn sigmoid_inplace(x: &mut [f32]) {
    crate::tensor::parallel::chunks_mut(x, |_, c| c.iter_mut().for_each(|v| *v = sigmoid(*v)));
}

/// `log(1 + e^x)`, stable for large |x|.
#[inline]
pub(crate) fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `out = rows of bias + a @ w` (or `a @ w'` with `trans_w`): `a` `[n, k]`, result `[n, len(bias)]`.
pub(crate) fn affine(a: &[f32], n: usize, k: usize, w: &[f32], trans_w: bool, bias: &[f32]) -> Vec<f32> {
    let m = bias.len();
    let mut out = Vec::with_capacity(n * m);
    for _ in 0..n {
        out.extend_from_slice(bias);
    }
    gemm(n, m, k, a, false, w, trans_w, &mut out, true);
    out
}

/// Replaces each probability by a 0/1 draw from it.
pub(crate) fn bernoulli_inplace(p: &mut [f32], rng: &mut Rng) {
    for v in p.iter_mut() {
        *v = (rng.uniform() < *v) as u8 as f32;
    }
}

/// Softmax of a group of units, in place.
pub(crate) fn softmax_inplace(x: &mut [f32]) {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    x.iter_mut().for_each(|v| {
        *v = (*v - m).exp();
        s += *v;
    });
    x.iter_mut().for_each(|v| *v /= s);
}

/// Replaces probabilities that sum to 1 by a one-hot draw from them.
pub(crate) fn one_hot_draw(p: &mut [f32], rng: &mut Rng) {
    let u = rng.uniform();
    let mut acc = 0.0;
    let mut pick = p.len().saturating_sub(1);
    for (i, &q) in p.iter().enumerate() {
        acc += q;
        if u < acc {
            pick = i;
            break;
        }
    }
    p.iter_mut().enumerate().for_each(|(i, v)| *v = (i == pick) as u8 as f32);
}

impl Rbm {
    /// Small random weights N(0, 0.01^2) and zero biases (Hinton's practical guide).
    pub fn new(visible_units: usize, hidden_units: usize, visible: Visible, rng: &mut Rng) -> Rbm {
        Rbm {
            w: Tensor::rand_normal(&[visible_units, hidden_units], 0.0, 0.01, rng),
            b_visible: Tensor::zeros(&[visible_units]),
            c_hidden: Tensor::zeros(&[hidden_units]),
            visible,
            label_units: 0,
        }
    }
    /// Number of visible units V.
    pub fn visible_units(&self) -> usize {
        self.w.shape()[0]
    }
    /// Number of hidden units H.
    pub fn hidden_units(&self) -> usize {
        self.w.shape()[1]
    }

    /// Checks that `x` is a batch of visible vectors and returns its row count. Any shape
    /// `[N, ...]` whose sample holds V values is accepted (images are flattened).
    pub(crate) fn rows(&self, x: &Tensor, units: usize, what: &'static str) -> Result<usize> {
        let n = x.shape().first().copied().unwrap_or(0);
        if x.rank() < 2 || n * units != x.numel() {
            return Err(Error::ShapeMismatch { op: what, left: x.shape().to_vec(), right: vec![n, units] });
        }
        Ok(n)
    }

    /// `P(h = 1 | x)` for a batch `x` `[N, V]`: `sigma(c + x W)`, `[N, H]`.
    pub fn hidden_probs(&self, x: &Tensor) -> Result<Tensor> {
        let n = self.rows(x, self.visible_units(), "rbm hidden_probs")?;
        let p = self.hidden_probs_raw(x.data(), n);
        Tensor::from_vec(p, &[n, self.hidden_units()])
    }
    pub(crate) fn hidden_probs_raw(&self, x: &[f32], n: usize) -> Vec<f32> {
        let mut p = affine(x, n, self.visible_units(), self.w.data(), false, self.c_hidden.data());
        sigmoid_inplace(&mut p);
        p
    }

    /// The mean of the visible units given hidden states `h` `[N, H]`: `sigma(b + h W')` for
    /// Bernoulli units, `b + h W'` for Gaussian ones. `[N, V]`.
    pub fn visible_mean(&self, h: &Tensor) -> Result<Tensor> {
        let n = self.rows(h, self.hidden_units(), "rbm visible_mean")?;
        Tensor::from_vec(self.visible_mean_raw(h.data(), n), &[n, self.visible_units()])
    }
    pub(crate) fn visible_mean_raw(&self, h: &[f32], n: usize) -> Vec<f32> {
        let mut m = affine(h, n, self.hidden_units(), self.w.data(), true, self.b_visible.data());
        let (v, k) = (self.visible_units(), self.label_units);
        if self.visible == Visible::Bernoulli {
            if k == 0 {
                sigmoid_inplace(&mut m);
            } else {
                for row in m.chunks_exact_mut(v) {
                    let (bits, labels) = row.split_at_mut(v - k);
                    bits.iter_mut().for_each(|x| *x = sigmoid(*x));
                    softmax_inplace(labels);
                }
            }
        }
        m
    }
    /// Draws visible states from their means: 0/1 for Bernoulli units, `mean + N(0, 1)` for
    /// Gaussian ones.
    pub(crate) fn sample_visible_inplace(&self, mean: &mut [f32], rng: &mut Rng) {
        let (v, k) = (self.visible_units(), self.label_units);
        match self.visible {
            Visible::Bernoulli if k == 0 => bernoulli_inplace(mean, rng),
            Visible::Bernoulli => {
                for row in mean.chunks_exact_mut(v) {
                    let (bits, labels) = row.split_at_mut(v - k);
                    bernoulli_inplace(bits, rng);
                    one_hot_draw(labels, rng);
                }
            }
            Visible::Gaussian => mean.iter_mut().for_each(|v| *v += rng.normal(0.0, 1.0)),
        }
    }

    /// Free energy `F(x)` of each row of `x` `[N, V]` (see [`Rbm`]); `P(x) ∝ e^-F(x)`.
    pub fn free_energy(&self, x: &Tensor) -> Result<Vec<f32>> {
        let n = self.rows(x, self.visible_units(), "rbm free_energy")?;
        Ok(self.free_energy_raw(x.data(), n))
    }
    pub(crate) fn free_energy_raw(&self, x: &[f32], n: usize) -> Vec<f32> {
        let (v, h) = (self.visible_units(), self.hidden_units());
        let pre = affine(x, n, v, self.w.data(), false, self.c_hidden.data());
        let b = self.b_visible.data();
        (0..n)
            .map(|r| {
                let row = &x[r * v..(r + 1) * v];
                let visible_term: f32 = match self.visible {
                    Visible::Bernoulli => -row.iter().zip(b).map(|(x, b)| x * b).sum::<f32>(),
                    Visible::Gaussian => row.iter().zip(b).map(|(x, b)| 0.5 * (x - b) * (x - b)).sum(),
                };
                visible_term - pre[r * h..(r + 1) * h].iter().map(|&a| softplus(a)).sum::<f32>()
            })
            .collect()
    }

    /// Energy `E(x, h)` of one joint configuration.
    ///
    /// Errors: `x` does not hold V values or `h` does not hold H.
    pub fn energy(&self, x: &[f32], h: &[f32]) -> Result<f32> {
        let (v, hu) = (self.visible_units(), self.hidden_units());
        if x.len() != v || h.len() != hu {
            return Err(Error::ShapeMismatch { op: "rbm energy", left: vec![x.len(), h.len()], right: vec![v, hu] });
        }
        let (w, b, c) = (self.w.data(), self.b_visible.data(), self.c_hidden.data());
        let mut e = -h.iter().zip(c).map(|(h, c)| h * c).sum::<f32>();
        e += match self.visible {
            Visible::Bernoulli => -x.iter().zip(b).map(|(x, b)| x * b).sum::<f32>(),
            Visible::Gaussian => x.iter().zip(b).map(|(x, b)| 0.5 * (x - b) * (x - b)).sum(),
        };
        for (j, &xj) in x.iter().enumerate() {
            e -= xj * w[j * hu..(j + 1) * hu].iter().zip(h).map(|(w, h)| w * h).sum::<f32>();
        }
        Ok(e)
    }

    /// `x -> P(h|x) -> mean of x given those probabilities`: the deterministic
    /// reconstruction the reconstruction error measures. `[N, V]`.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        let n = self.rows(x, self.visible_units(), "rbm reconstruct")?;
        let h = self.hidden_probs_raw(x.data(), n);
        Tensor::from_vec(self.visible_mean_raw(&h, n), &[n, self.visible_units()])
    }

    /// Mean over the rows of `x` of the squared reconstruction error summed over the visible
    /// units, `||x - reconstruct(x)||^2`. It is not the objective CD follows, but it is cheap
    /// and falls while learning works (it says nothing about the quality of the model's
    /// samples; the pseudo-log-likelihood is the better yardstick).
    pub fn reconstruction_error(&self, x: &Tensor) -> Result<f32> {
        let r = self.reconstruct(x)?;
        let n = x.shape()[0].max(1);
        let sq: f64 = x.data().iter().zip(r.data()).map(|(a, b)| ((a - b) * (a - b)) as f64).sum();
        Ok((sq / n as f64) as f32)
    }

    /// Stochastic pseudo-log-likelihood per sample, for Bernoulli units: for each row one
    /// visible unit j is chosen at random and
    /// `PLL(x) ≈ V · log P(x_j | x_-j) = V · log sigma(F(x̃) - F(x))`, where x̃ is x with bit j
    /// flipped. This is an unbiased estimate of the sum over all j (the exact sum costs V
    /// free-energy evaluations per sample). Inputs in (0, 1) are rounded to bits first.
    /// Higher is better; its maximum is 0.
    ///
    /// Errors: Gaussian visible units.
    pub fn pseudo_log_likelihood(&self, x: &Tensor, rng: &mut Rng) -> Result<f32> {
        if self.visible != Visible::Bernoulli {
            return Err(Error::invalid("pseudo-log-likelihood", "defined here for Bernoulli visible units only"));
        }
        let v = self.visible_units();
        let n = self.rows(x, v, "rbm pseudo_log_likelihood")?;
        if n == 0 {
            return Ok(0.0);
        }
        let bits: Vec<f32> = x.data().iter().map(|&p| (p >= 0.5) as u8 as f32).collect();
        let mut flipped = bits.clone();
        for r in 0..n {
            let j = r * v + rng.below(v);
            flipped[j] = 1.0 - flipped[j];
        }
        let (f, ff) = (self.free_energy_raw(&bits, n), self.free_energy_raw(&flipped, n));
        // log sigma(d) = -softplus(-d)
        let total: f64 = f.iter().zip(&ff).map(|(a, b)| -(softplus(-(b - a))) as f64).sum();
        Ok((v as f64 * total / n as f64) as f32)
    }

    /// Runs `steps` rounds of block Gibbs sampling (`h ~ P(h|x)`, `x ~ P(x|h)`) from the
    /// visible states `start` `[N, V]`; returns the visible *means* of the last round (smoother
    /// pictures than 0/1 draws; the chain itself runs on sampled states).
    pub fn gibbs_sample(&self, start: &Tensor, steps: usize, rng: &mut Rng) -> Result<Tensor> {
        let v = self.visible_units();
        let n = self.rows(start, v, "rbm gibbs_sample")?;
        let mut x = start.data().to_vec();
        let mut mean = x.clone();
        for _ in 0..steps {
            let mut h = self.hidden_probs_raw(&x, n);
            bernoulli_inplace(&mut h, rng);
            mean = self.visible_mean_raw(&h, n);
            x = mean.clone();
            self.sample_visible_inplace(&mut x, rng);
        }
        Tensor::from_vec(mean, &[n, v])
    }

    /// `n` samples from the model: Gibbs chains started from random visible states (uniform
    /// bits, or N(0, 1) for Gaussian units), run for `steps` rounds.
    pub fn sample(&self, n: usize, steps: usize, rng: &mut Rng) -> Result<Tensor> {
        let v = self.visible_units();
        let start: Vec<f32> = match self.visible {
            Visible::Bernoulli => (0..n * v).map(|_| (rng.uniform() < 0.5) as u8 as f32).collect(),
            Visible::Gaussian => (0..n * v).map(|_| rng.normal(0.0, 1.0)).collect(),
        };
        self.gibbs_sample(&Tensor::from_vec(start, &[n, v])?, steps, rng)
    }

    /// `log Z`, by enumerating every visible configuration (Bernoulli units, V <= 20 only):
    /// `Z = sum_x exp(-F(x))`. For tests and tiny models.
    ///
    /// Errors: Gaussian visible units, or V > 20.
    pub fn log_partition_exact(&self) -> Result<f32> {
        let states = self.all_visible_states()?;
        let f = self.free_energy_raw(&states, 1 << self.visible_units());
        let m = f.iter().map(|f| -f).fold(f32::NEG_INFINITY, f32::max);
        let s: f64 = f.iter().map(|f| ((-f - m) as f64).exp()).sum();
        Ok(m + s.ln() as f32)
    }

    /// Every visible configuration as rows `[2^V, V]`, row `s` holding the bits of `s`
    /// (bit j of s is unit j).
    ///
    /// Errors: Gaussian visible units, or V > 20.
    pub fn all_visible_states(&self) -> Result<Vec<f32>> {
        let v = self.visible_units();
        if self.visible != Visible::Bernoulli || v > 20 {
            return Err(Error::invalid("exact enumeration", format!("needs Bernoulli units and V <= 20 (V = {v})")));
        }
        Ok((0..1usize << v).flat_map(|s| (0..v).map(move |j| ((s >> j) & 1) as f32)).collect())
    }

    /// Mean exact log-likelihood `log P(x)` of the rows of `x`.
    ///
    /// Errors: as for [`Rbm::log_partition_exact`].
    pub fn log_likelihood_exact(&self, x: &Tensor) -> Result<f32> {
        let log_z = self.log_partition_exact()?;
        let f = self.free_energy(x)?;
        Ok(-f.iter().sum::<f32>() / f.len().max(1) as f32 - log_z)
    }
}
