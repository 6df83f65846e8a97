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

/// `backward_streaming` hands every parameter's gradient over once, the last layer's
/// first, each equal to what `backward` returns, and a parameter recorded twice after the
/// pass.
#[test]
fn streaming_backward_hands_over_final_gradients_last_layer_first() {
    use strata_core::autograd::{Param, Tape};
    let mut rng = Rng::seeded(2);
    let x = Tensor::rand_normal(&[4, 5], 0.0, 1.0, &mut rng);
    let p = |name: &str, shape: &[usize], rng: &mut Rng| Param::new(name, Tensor::rand_normal(shape, 0.0, 1.0, rng));
    let (w1, b1, w2, b2) =
        (p("w1", &[5, 6], &mut rng), p("b1", &[6], &mut rng), p("w2", &[6, 3], &mut rng), p("b2", &[3], &mut rng));
    let tied = p("tied", &[3], &mut rng);
    let loss = |tape: &Tape| {
        let h = tape.input(x.clone()).linear(&tape.param(&w1), Some(&tape.param(&b1))).unwrap().relu();
        let y = h.linear(&tape.param(&w2), Some(&tape.param(&b2))).unwrap().tanh();
        // `tied` enters twice, on two leaves.
        let y = y.add(&tape.param(&tied)).unwrap().mul(&tape.param(&tied)).unwrap();
        y.softmax_cross_entropy(&[0, 2, 1, 2]).unwrap()
    };
    let reference = loss(&Tape::new()).backward().unwrap();
    let mut order = Vec::new();
    let streamed = loss(&Tape::new())
        .backward_streaming(&mut |id, g| {
            order.push(id);
            assert_eq!(Some(g.data()), reference.get_by_id(id).map(|r| r.data()), "gradient handed over is final");
            Ok(())
        })
        .unwrap();
    assert_eq!(order, vec![b2.id(), w2.id(), b1.id(), w1.id(), tied.id()]);
    for param in [&w1, &b1, &w2, &b2, &tied] {
        assert_eq!(streamed.get(param).unwrap().data(), reference.get(param).unwrap().data());
    }
}
