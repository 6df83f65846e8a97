use strata_core::autograd::gradcheck::check_gradients;
use strata_core::{Rng, Tensor};

#[test]
fn linear_relu_softmax_ce_gradients_match_finite_differences() {
    let mut rng = Rng::seeded(1);
    let x = Tensor::rand_normal(&[4, 5], 0.0, 1.0, &mut rng);
    let w = Tensor::rand_normal(&[5, 3], 0.0, 1.0, &mut rng);
    let b = Tensor::rand_normal(&[3], 0.0, 1.0, &mut rng);
    let r = check_gradients(
        |v| v[0].linear(&v[1], Some(&v[2]))?.tanh().softmax_cross_entropy(&[0, 2, 1, 2]),
        &[x, w, b],
        1e-3,
        1e-3,
        1e-2,
    )
    .unwrap();
    assert!(r.worst_ratio <= 1.0);
}
