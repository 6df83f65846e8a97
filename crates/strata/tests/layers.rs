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
    type Definition = (Activation, fn(f32) -> f32);
    let cases: Vec<Definition> = vec![
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

#[test]
fn conv_and_pool_layer_shapes() {
    use strata::nn::{AvgPool2d, Conv2d, GlobalAvgPool2d, L2Pool2d, MaxPool2d};
    let mut rng = Rng::seeded(0);
    // (layer, input, expected output, expected params)
    type Case = (Box<dyn Layer>, Vec<usize>, Vec<usize>, usize);
    let mut cases: Vec<Case> = vec![
        (Box::new(Conv2d::new(6, 5).padding(2)), vec![1, 28, 28], vec![6, 28, 28], 6 * 25 + 6),
        (Box::new(Conv2d::new(16, 5)), vec![6, 14, 14], vec![16, 10, 10], 16 * 150 + 16),
        (Box::new(Conv2d::new(96, 11).stride(4).padding(2)), vec![3, 224, 224], vec![96, 55, 55], 96 * 363 + 96),
        (Box::new(Conv2d::new(8, 3).padding_same().stride(2)), vec![3, 9, 9], vec![8, 5, 5], 8 * 27 + 8),
        (Box::new(Conv2d::new(4, 1).use_bias(false)), vec![3, 5, 5], vec![4, 5, 5], 12),
        (Box::new(Conv2d::new(4, 3).kernel_size((1, 3)).dilation(2)), vec![2, 6, 8], vec![4, 6, 4], 4 * 6 + 4),
        (Box::new(Conv2d::new(6, 3).groups(2)), vec![4, 5, 5], vec![6, 3, 3], 6 * 2 * 9 + 6),
        (Box::new(MaxPool2d::new(2)), vec![6, 28, 28], vec![6, 14, 14], 0),
        (Box::new(MaxPool2d::new(3).stride(2)), vec![96, 55, 55], vec![96, 27, 27], 0),
        (Box::new(AvgPool2d::new(2)), vec![6, 28, 28], vec![6, 14, 14], 0),
        (Box::new(L2Pool2d::new(2).stride(1)), vec![2, 4, 4], vec![2, 3, 3], 0),
        (Box::new(GlobalAvgPool2d), vec![10, 6, 6], vec![10], 0),
    ];
    for (layer, input, want, params) in cases.iter_mut() {
        assert_eq!(&layer.build(input, &mut rng).unwrap(), want, "{}", layer.kind());
        assert_eq!(layer.params().iter().map(|p| p.value.numel()).sum::<usize>(), *params, "{}", layer.kind());
        let mut batch = vec![2];
        batch.extend(input.iter());
        let y = forward(layer.as_ref(), Tensor::rand_normal(&batch, 0.0, 1.0, &mut rng), true, 0);
        assert_eq!(&y.shape()[1..], want.as_slice());
        // the spec rebuilds an identical layer
        let spec = layer.spec();
        let back: LayerSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }
    // impossible shapes are errors, not panics
    assert!(Conv2d::new(4, 7).build(&[1, 5, 5], &mut rng).is_err());
    assert!(Conv2d::new(4, 3).groups(3).build(&[4, 5, 5], &mut rng).is_err());
    assert!(MaxPool2d::new(2).build(&[10], &mut rng).is_err());
}

#[test]
fn spec_file_accepts_conv_layers() {
    let text = r#"
        [[layers]]
        type = "conv2d"
        filters = 4
        kernel = 3
        padding = "same"
        activation = "relu"
        [[layers]]
        type = "pool2d"
        pool = "max"
        window = 2
        [[layers]]
        type = "conv2d"
        filters = 2
        kernel = [1, 3]
        stride = [1, 2]
        [[layers]]
        type = "global_avg_pool2d"
    "#;
    let spec = strata::zoo::ModelSpec::parse(text, std::path::Path::new("t.toml")).unwrap();
    let mut m = strata::model::Sequential::from_specs(&spec.layers);
    m.build(&[1, 8, 8]).unwrap();
    assert_eq!(m.output_shape().unwrap(), &[2]);
}
