//! Every layer: output shapes, parameter counts, and behaviour checked against hand-computed
//! or reference values.

use strata::autograd::Tape;
use strata::nn::{Activation, ActivationLayer, Dense, Dropout, Flatten, ForwardCtx, Layer, LayerSpec, Maxout};
use strata::{Rng, Tensor};

fn forward(layer: &dyn Layer, x: Tensor, training: bool, seed: u64) -> Tensor {
    let tape = Tape::new();
    let mut rng = Rng::seeded(seed);
    let mut ctx = ForwardCtx { tape: &tape, training, rng: &mut rng };
    layer.forward(&tape.input(x), &mut ctx).unwrap().into_value()
}

#[test]
fn dense_shapes_params_and_values() {
    let mut rng = Rng::seeded(1);
    let mut d = Dense::new(3).input_dim(4);
    assert_eq!(d.build(&[4], &mut rng).unwrap(), vec![3]);
    assert_eq!(d.params().iter().map(|p| p.value.numel()).sum::<usize>(), 4 * 3 + 3);
    assert_eq!(d.macs(&[4]), 12);
    // y = x W + b against a hand loop
    let x = Tensor::rand_normal(&[5, 4], 0.0, 1.0, &mut rng);
    let y = forward(&d, x.clone(), true, 0);
    assert_eq!(y.shape(), &[5, 3]);
    let w = d.weight().unwrap().value.data().to_vec();
    for n in 0..5 {
        for j in 0..3 {
            let want: f32 = (0..4).map(|k| x.data()[n * 4 + k] * w[k * 3 + j]).sum();
            assert!((y.data()[n * 3 + j] - want).abs() < 1e-5);
        }
    }
    // wrong declared input is an error naming both shapes
    let mut bad = Dense::new(3).input_dim(5);
    let err = bad.build(&[4], &mut rng).unwrap_err().to_string();
    assert!(err.contains("[5]") && err.contains("[4]"), "{err}");
    // applies to the last axis of higher-rank input
    let mut seq = Dense::new(2);
    assert_eq!(seq.build(&[7, 4], &mut rng).unwrap(), vec![7, 2]);
    assert_eq!(forward(&seq, Tensor::zeros(&[3, 7, 4]), false, 0).shape(), &[3, 7, 2]);
}

#[test]
fn dense_with_softmax_outputs_probabilities_and_logits_on_request() {
    let mut rng = Rng::seeded(2);
    let mut d = Dense::new(4).activation(Activation::Softmax);
    d.build(&[3], &mut rng).unwrap();
    let y = forward(&d, Tensor::rand_normal(&[2, 3], 0.0, 1.0, &mut rng), false, 0);
    for row in y.data().chunks(4) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert_eq!(d.output_activation(), Some(Activation::Softmax));
}

#[test]
fn activations_match_their_definitions() {
    let x = Tensor::from_vec(vec![-2.0, -0.5, 0.0, 0.5, 2.0], &[1, 5]).unwrap();
    let cases: Vec<(Activation, fn(f32) -> f32)> = vec![
        (Activation::Relu, |v| v.max(0.0)),
        (Activation::Sigmoid, |v| 1.0 / (1.0 + (-v).exp())),
        (Activation::Tanh, |v| v.tanh()),
        (Activation::LeakyRelu(0.1), |v| if v > 0.0 { v } else { 0.1 * v }),
        (Activation::Elu(1.0), |v| if v > 0.0 { v } else { v.exp() - 1.0 }),
        (Activation::Linear, |v| v),
    ];
    for (a, f) in cases {
        let mut layer = ActivationLayer(a);
        assert_eq!(layer.build(&[5], &mut Rng::seeded(0)).unwrap(), vec![5]);
        let y = forward(&layer, x.clone(), true, 0);
        for (got, &v) in y.data().iter().zip(x.data()) {
            assert!((got - f(v)).abs() < 1e-6, "{a}: f({v}) = {got}");
        }
    }
}

#[test]
fn dropout_drops_at_the_rate_and_keeps_the_expectation() {
    let mut d = Dropout::new(0.3);
    assert_eq!(d.build(&[1000], &mut Rng::seeded(0)).unwrap(), vec![1000]);
    let x = Tensor::ones(&[10, 1000]);
    let y = forward(&d, x.clone(), true, 7);
    let zeros = y.data().iter().filter(|&&v| v == 0.0).count() as f32 / 10_000.0;
    assert!((zeros - 0.3).abs() < 0.02, "dropped {zeros}");
    assert!(y.data().iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    assert!((y.mean_all() - 1.0).abs() < 0.03, "inverted dropout keeps E[y] = x");
    // eval mode is the identity; the same seed gives the same mask
    assert_eq!(forward(&d, x.clone(), false, 7), x);
    assert_eq!(forward(&d, x.clone(), true, 7), y);
    assert!(Dropout::new(1.0).build(&[3], &mut Rng::seeded(0)).is_err());
}

#[test]
fn flatten_and_maxout_shapes() {
    let mut f = Flatten;
    assert_eq!(f.build(&[3, 4, 5], &mut Rng::seeded(0)).unwrap(), vec![60]);
    assert_eq!(forward(&f, Tensor::zeros(&[2, 3, 4, 5]), false, 0).shape(), &[2, 60]);

    let mut m = Maxout::new(4, 3);
    assert_eq!(m.build(&[6], &mut Rng::seeded(0)).unwrap(), vec![4]);
    assert_eq!(m.params().iter().map(|p| p.value.numel()).sum::<usize>(), 6 * 12 + 12);
    let x = Tensor::rand_normal(&[2, 6], 0.0, 1.0, &mut Rng::seeded(1));
    let y = forward(&m, x.clone(), false, 0);
    assert_eq!(y.shape(), &[2, 4]);
    // each output is the max of its 3 linear pieces
    let w = m.params()[0].value.clone();
    let z = x.matmul(&w).unwrap();
    for n in 0..2 {
        for u in 0..4 {
            let best = (0..3).map(|p| z.data()[n * 12 + u * 3 + p]).fold(f32::NEG_INFINITY, f32::max);
            assert!((y.data()[n * 4 + u] - best).abs() < 1e-5);
        }
    }
    assert!(Maxout::new(4, 3).build(&[2, 3], &mut Rng::seeded(0)).is_err());
}

#[test]
fn specs_rebuild_the_same_layers() {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Flatten),
        Box::new(Dense::new(8).activation(Activation::Elu(0.5))),
        Box::new(Dropout::new(0.25)),
        Box::new(Maxout::new(2, 2)),
        Box::new(ActivationLayer(Activation::Softmax)),
    ];
    for l in &layers {
        let spec = l.spec();
        let json = serde_json::to_string(&spec).unwrap();
        let back: LayerSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.to_layer().spec(), spec);
    }
}
