//! Normalization kernels (batch norm, local response normalization) against their
//! loop-by-loop references, on random shapes.

use proptest::prelude::*;
use strata_core::tensor::batchnorm::{
    batch_norm_backward, batch_norm_backward_reference, batch_norm_train, batch_norm_train_reference,
};
use strata_core::tensor::lrn::{LrnParams, lrn_backward, lrn_backward_reference, lrn_forward, lrn_reference};
use strata_core::{Rng, Tensor};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random ranks 2..=4 and sizes, including a single sample and single-pixel planes.
    #[test]
    fn batch_norm_matches_reference(n in 1usize..5, c in 1usize..6, hw in prop::collection::vec(1usize..6, 0..=2), seed in 0u64..1000) {
        let mut shape = vec![n, c];
        shape.extend(&hw);
        prop_assume!(n * hw.iter().product::<usize>() >= 2);
        let mut rng = Rng::seeded(seed);
        let x = Tensor::rand_normal(&shape, -3.0, 1.5, &mut rng);
        let gamma: Vec<f32> = (0..c).map(|_| rng.uniform_range(0.5, 2.0)).collect();
        let beta: Vec<f32> = (0..c).map(|_| rng.normal(0.0, 1.0)).collect();
        let fast = batch_norm_train(&x, &gamma, &beta, 1e-5).unwrap();
        let slow = batch_norm_train_reference(&x, &gamma, &beta, 1e-5).unwrap();
        prop_assert!(fast.out.max_abs_diff(&slow.out).unwrap() < 1e-4);
        let dy = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
        let (dx, dg, db) = batch_norm_backward(&dy, &x, &fast.mean, &gamma, &fast.inv_std, None, true).unwrap();
        let (rdx, rdg, rdb) = batch_norm_backward_reference(&x, &dy, &gamma, 1e-5).unwrap();
        // dx scales with 1/std, which is large when a channel's values nearly coincide
        let tol = 1e-3 * (1.0 + rdx.data().iter().fold(0.0f32, |m, v| m.max(v.abs())));
        prop_assert!(dx.unwrap().max_abs_diff(&rdx).unwrap() < tol);
        prop_assert!(dg.iter().zip(&rdg).chain(db.iter().zip(&rdb)).all(|(a, b)| (a - b).abs() < 1e-3 * (1.0 + b.abs())));
    }

    #[test]
    fn lrn_matches_reference(n in 1usize..3, c in 1usize..9, hw in prop::collection::vec(1usize..5, 0..=2),
                             size in 1usize..8, beta in prop::sample::select(vec![0.5f32, 0.75, 1.1]), seed in 0u64..1000) {
        let mut shape = vec![n, c];
        shape.extend(&hw);
        let p = LrnParams { size, alpha: 0.7, beta, k: 1.5 };
        let mut rng = Rng::seeded(seed);
        let x = Tensor::rand_normal(&shape, 0.0, 2.0, &mut rng);
        let (out, scale) = lrn_forward(&x, p).unwrap();
        prop_assert!(out.max_abs_diff(&lrn_reference(&x, p).unwrap()).unwrap() < 1e-5);
        let g = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
        let dx = lrn_backward(&x, &out, &scale, &g, p).unwrap();
        prop_assert!(dx.max_abs_diff(&lrn_backward_reference(&x, &g, p).unwrap()).unwrap() < 1e-4);
    }
}
