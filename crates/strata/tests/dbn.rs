//! RBMs and deep belief nets: contrastive divergence against the exact log-likelihood
//! gradient of a tiny RBM (every state enumerated), training curves, sampling from a toy
//! distribution, the DBN -> Sequential conversion, and the Fashion-MNIST acceptance run.

use strata::data::normalize::Standardizer;
use strata::pretrain::{CdOptions, Dbn, Plan, PlanKind, Rbm, Visible};
use strata::{Rng, Tensor};

/// The exact gradient of the mean log-likelihood of `data` [N, V] (W, then b, then c):
/// `<x h'>_data - <x h'>_model`, the model term summed over all 2^V visible states with
/// `P(x) = exp(-F(x)) / Z` and the hidden units marginalized analytically.
fn exact_gradient(rbm: &Rbm, data: &Tensor) -> Vec<f64> {
    let (v, h) = (rbm.visible_units(), rbm.hidden_units());
    let stats = |x: &Tensor, weights: &[f64]| -> Vec<f64> {
        let p = rbm.hidden_probs(x).unwrap();
        let mut g = vec![0.0f64; v * h + v + h];
        for (r, &wt) in weights.iter().enumerate() {
            let (xr, pr) = (&x.data()[r * v..(r + 1) * v], &p.data()[r * h..(r + 1) * h]);
            for j in 0..v {
                for i in 0..h {
                    g[j * h + i] += wt * (xr[j] * pr[i]) as f64;
                }
                g[v * h + j] += wt * xr[j] as f64;
            }
            for i in 0..h {
                g[v * h + v + i] += wt * pr[i] as f64;
            }
        }
        g
    };
    let n = data.shape()[0];
    let positive = stats(data, &vec![1.0 / n as f64; n]);
    let states = Tensor::from_vec(rbm.all_visible_states().unwrap(), &[1 << v, v]).unwrap();
    let log_z = rbm.log_partition_exact().unwrap() as f64;
    let probs: Vec<f64> = rbm.free_energy(&states).unwrap().iter().map(|&f| (-(f as f64) - log_z).exp()).collect();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-4, "probabilities sum to 1");
    let negative = stats(&states, &probs);
    positive.iter().zip(&negative).map(|(p, q)| p - q).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn random_rbm(v: usize, h: usize, seed: u64) -> Rbm {
    let mut rng = Rng::seeded(seed);
    let mut rbm = Rbm::new(v, h, Visible::Bernoulli, &mut rng);
    rbm.w = Tensor::rand_normal(&[v, h], 0.0, 1.0, &mut rng);
    rbm.b_visible = Tensor::rand_normal(&[v], 0.0, 0.5, &mut rng);
    rbm.c_hidden = Tensor::rand_normal(&[h], 0.0, 0.5, &mut rng);
    rbm
}

fn patterns(rows: &[&[f32]], repeat: usize) -> Tensor {
    let v = rows[0].len();
    let data: Vec<f32> = (0..repeat).flat_map(|_| rows.iter().flat_map(|r| r.iter().copied())).collect();
    Tensor::from_vec(data, &[rows.len() * repeat, v]).unwrap()
}

#[test]
fn cd1_follows_the_exact_log_likelihood_gradient() {
    let data = patterns(&[&[1., 1., 0., 0.], &[0., 0., 1., 1.], &[1., 0., 1., 0.], &[1., 1., 1., 0.]], 1);
    let mut cosines = Vec::new();
    for seed in 0..5 {
        let rbm = random_rbm(4, 3, seed);
        let exact = exact_gradient(&rbm, &data);
        // The expected CD-1 update, averaged over many chains.
        let mut rng = Rng::seeded(100 + seed);
        let mut mean = vec![0.0f64; exact.len()];
        let reps = 3000;
        for _ in 0..reps {
            let g = rbm.cd_gradient(&data, 1, true, &mut rng).unwrap();
            for (m, v) in mean.iter_mut().zip(g.w.iter().chain(&g.b).chain(&g.c)) {
                *m += *v as f64 / reps as f64;
            }
        }
        let c = cosine(&mean, &exact);
        // CD-10 should point even closer (its bias shrinks with k).
        let mut mean10 = vec![0.0f64; exact.len()];
        for _ in 0..reps / 3 {
            let g = rbm.cd_gradient(&data, 10, true, &mut rng).unwrap();
            for (m, v) in mean10.iter_mut().zip(g.w.iter().chain(&g.b).chain(&g.c)) {
                *m += *v as f64 / (reps / 3) as f64;
            }
        }
        let c10 = cosine(&mean10, &exact);
        eprintln!("seed {seed}: cos(CD-1, exact) = {c:.3}, cos(CD-10, exact) = {c10:.3}");
        assert!(c > 0.3, "CD-1 points away from the gradient: cosine {c}");
        assert!(c10 > 0.8, "CD-10 cosine {c10}");
        cosines.push(c);
    }
    let avg = cosines.iter().sum::<f64>() / cosines.len() as f64;
    assert!(avg > 0.5, "average cosine {avg}");
}

#[test]
fn cd_and_pcd_training_raise_the_exact_likelihood() {
    let data = patterns(&[&[1., 1., 1., 0., 0., 0.], &[0., 0., 0., 1., 1., 1.], &[1., 0., 1., 0., 1., 0.]], 20);
    // PCD's persistent chains lag behind a fast-moving model: it wants a smaller step than
    // CD here (at lr 0.05 its chains got stuck in one mode and the likelihood fell back).
    for (persistent, lr) in [(false, 0.05), (true, 0.02)] {
        let (momentum, seed) = (0.5, 1);
        let mut rbm = Rbm::new(6, 8, Visible::Bernoulli, &mut Rng::seeded(seed));
        let before = rbm.log_likelihood_exact(&data).unwrap();
        let opts = CdOptions {
            epochs: 150,
            batch_size: 10,
            lr,
            momentum,
            persistent,
            monitor_samples: 60,
            seed,
            ..CdOptions::default()
        };
        let records = rbm.train(&data, &opts, |_| {}).unwrap();
        let after = rbm.log_likelihood_exact(&data).unwrap();
        eprintln!("persistent {persistent}, lr {lr}: log-likelihood {before:.3} -> {after:.3}");
        // The best possible is log(1/3) = -1.10 per sample; uniform is 6 log(1/2) = -4.16.
        // (Measured -1.8 for both; the final iterate of stochastic training varies.)
        assert!(after > -2.5 && after > before + 1.5, "log-likelihood {before} -> {after}");
        let pll = (records[0].pseudo_log_likelihood.unwrap(), records.last().unwrap().pseudo_log_likelihood.unwrap());
        assert!(pll.1 > pll.0, "pseudo-log-likelihood {pll:?}");
    }
}

/// 4x4 images of one horizontal or vertical bar.
fn bars(n: usize, seed: u64) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let mut data = vec![0.0; n * 16];
    for img in data.chunks_exact_mut(16) {
        let k = rng.below(4);
        let vertical = rng.below(2) == 1;
        for t in 0..4 {
            img[if vertical { t * 4 + k } else { k * 4 + t }] = 1.0;
        }
    }
    Tensor::from_vec(data, &[n, 16]).unwrap()
}

#[test]
fn reconstruction_error_falls_during_training() {
    let data = bars(400, 1);
    let mut rbm = Rbm::new(16, 12, Visible::Bernoulli, &mut Rng::seeded(1));
    let initial = rbm.reconstruction_error(&data).unwrap();
    let opts = CdOptions { epochs: 30, batch_size: 20, lr: 0.1, monitor_samples: 400, seed: 1, ..CdOptions::default() };
    let records = rbm.train(&data, &opts, |_| {}).unwrap();
    let errors: Vec<f32> = records.iter().map(|r| r.reconstruction_error.unwrap()).collect();
    eprintln!("reconstruction error: initial {initial:.3}, epochs {:?}", &errors[..5]);
    assert!(errors[0] < initial);
    assert!(*errors.last().unwrap() < 0.4 * errors[0], "{errors:?}");
    // Gaussian visible units on real-valued data (two clusters, standardized).
    let mut rng = Rng::seeded(3);
    let centers = [[1.5f32, -1.0, 0.5, 1.0], [-1.5, 1.0, -0.5, -1.0]];
    let real: Vec<f32> = (0..400).flat_map(|i| centers[i % 2].map(|c| c + rng.normal(0.0, 0.3))).collect();
    let real = Tensor::from_vec(real, &[400, 4]).unwrap();
    let mut g = Rbm::new(4, 8, Visible::Gaussian, &mut Rng::seeded(4));
    let before = g.reconstruction_error(&real).unwrap();
    let opts = CdOptions { epochs: 40, batch_size: 20, lr: 0.01, monitor_samples: 400, seed: 4, ..CdOptions::default() };
    let recs = g.train(&real, &opts, |_| {}).unwrap();
    let after = recs.last().unwrap().reconstruction_error.unwrap();
    eprintln!("gaussian RBM reconstruction error {before:.3} -> {after:.3}");
    assert!(after < 0.5 * before, "{before} -> {after}");
    assert!(recs[0].pseudo_log_likelihood.is_none());
}

/// Index of a 0/1 row among the 2^V states (bit j = unit j).
fn state_index(x: &[f32]) -> usize {
    x.iter().enumerate().map(|(j, &b)| ((b > 0.5) as usize) << j).sum()
}

fn total_variation(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 2.0
}

#[test]
fn gibbs_samples_reproduce_the_training_distribution() {
    // Two noisy prototypes, 60% / 40%: 1100 and 0011 with each bit flipped at 10-20%.
    // (Exact complements without noise would be learned too, but a Gibbs chain started at
    // random could then never cross from one mode to the other: sampling would report the
    // basins' sizes, not the model.)
    let mut rng = Rng::seeded(1);
    let rows: Vec<f32> = (0..600)
        .flat_map(|i| {
            let p: [f32; 4] = if i % 5 < 3 { [0.9, 0.8, 0.2, 0.1] } else { [0.1, 0.2, 0.8, 0.9] };
            p.map(|p| (rng.uniform() < p) as u8 as f32)
        })
        .collect();
    let data = Tensor::from_vec(rows, &[600, 4]).unwrap();
    let mut empirical = vec![0.0f64; 16];
    data.data().chunks_exact(4).for_each(|r| empirical[state_index(r)] += 1.0 / 600.0);
    let mut rbm = Rbm::new(4, 8, Visible::Bernoulli, &mut Rng::seeded(8));
    let opts =
        CdOptions { epochs: 100, batch_size: 10, lr: 0.05, momentum: 0.5, monitor_samples: 0, seed: 8, ..CdOptions::default() };
    rbm.train(&data, &opts, |_| {}).unwrap();
    let states = Tensor::from_vec(rbm.all_visible_states().unwrap(), &[16, 4]).unwrap();
    let log_z = rbm.log_partition_exact().unwrap();
    let model: Vec<f64> = rbm.free_energy(&states).unwrap().iter().map(|f| (-f - log_z).exp() as f64).collect();

    let chains = 4000;
    let means = rbm.sample(chains, 1000, &mut Rng::seeded(9)).unwrap();
    let mut draw = Rng::seeded(10);
    let mut sampled = vec![0.0f64; 16];
    for m in means.data().chunks_exact(4) {
        let x: Vec<f32> = m.iter().map(|&p| (draw.uniform() < p) as u8 as f32).collect();
        sampled[state_index(&x)] += 1.0 / chains as f64;
    }
    let (tv_model, tv_data) = (total_variation(&sampled, &model), total_variation(&sampled, &empirical));
    // Share of samples nearer the first prototype (first half has more bits on).
    let first = |p: &[f64]| (0..16usize).filter(|s| (s & 3).count_ones() > (s >> 2).count_ones()).map(|s| p[s]).sum::<f64>();
    eprintln!(
        "TV(samples, model) {tv_model:.3}, TV(samples, data) {tv_data:.3}; prototype-1 share: samples {:.3}, data {:.3}",
        first(&sampled),
        first(&empirical)
    );
    assert!(tv_model < 0.05, "the Gibbs sampler does not sample the model: TV {tv_model}");
    assert!(tv_data < 0.12, "samples differ from the training distribution: TV {tv_data}");
    assert!((first(&sampled) - first(&empirical)).abs() < 0.06);
}

#[test]
fn dbn_unrolls_into_an_equivalent_sequential() {
    let data = bars(200, 2).reshape(&[200, 1, 4, 4]).unwrap();
    let opts = CdOptions { epochs: 2, batch_size: 20, monitor_samples: 50, seed: 3, ..CdOptions::default() };
    let mut calls = 0;
    let (dbn, hist) = Dbn::pretrain(&data, &[8, 6, 5], Visible::Bernoulli, &opts, |_, _| calls += 1).unwrap();
    assert_eq!((calls, hist.len()), (6, 3));
    assert_eq!(dbn.sizes(), vec![16, 8, 6, 5]);
    let x = data.slice(0, 0, 7).unwrap();
    let top = dbn.up(&x).unwrap();
    let model = dbn.to_sequential(&[1, 4, 4], 3, None, 1).unwrap();
    assert_eq!(model.output_shape(), Some(&[3][..]));
    // layers: Flatten, Dense x3 (sigmoid), Dense(3): the last hidden layer is index 3
    let h = model.activations(&x, 3).unwrap();
    assert!(h.max_abs_diff(&top).unwrap() < 1e-5, "unrolled net differs from the upward pass");
    // Fed standardized inputs, the folded first layer computes the same thing.
    let s = Standardizer::new(0.3, 0.4);
    let folded = dbn.to_sequential(&[1, 4, 4], 3, Some(&s), 1).unwrap();
    let hs = folded.activations(&s.transform(&x).unwrap(), 3).unwrap();
    assert!(hs.max_abs_diff(&top).unwrap() < 1e-4, "standardization folded wrongly");
    // Down and sample produce visible-shaped values in [0, 1].
    let r = dbn.reconstruct(&x).unwrap();
    assert_eq!(r.shape(), &[7, 16]);
    let s = dbn.sample(None, 5, 20, &mut Rng::seeded(1)).unwrap();
    assert_eq!(s.shape(), &[5, 16]);
    assert!(s.data().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn model_names_parse_with_sizes() {
    let p = Plan::parse("dbn").unwrap().unwrap();
    assert_eq!(p.kind, PlanKind::Dbn { hidden: vec![500, 500, 2000] });
    let mut c = p.choose(&[1, 28, 28], 10, 1, None).unwrap();
    assert_eq!(c.model.num_params(), 784 * 500 + 500 + 500 * 500 + 500 + 500 * 2000 + 2000 + 2000 * 10 + 10);
    assert_eq!(c.model.summary().unwrap().layers.len(), 5);
    // a leading input width is dropped
    let p = Plan::parse("dbn:784-100-50").unwrap().unwrap();
    assert_eq!(p.choose(&[1, 28, 28], 10, 1, None).unwrap().model.num_params(), 784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10);
    assert!(Plan::parse("mlp").unwrap().is_none());
    assert!(Plan::parse("dbn:500-x").is_err());
    assert!(Plan::parse("dbn:0").is_err());
    assert!(Plan::parse("autoencoder:64").unwrap().unwrap().reconstruction());
    assert!(strata::zoo::choose("conv-autoencoder", &[784], 10, 1).is_err());
    assert!(strata::zoo::choose("sae:64", &[1, 28, 28], 10, 1).is_ok());
}
