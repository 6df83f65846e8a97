//! Every layer: output shapes, parameter counts, and behaviour checked against hand-computed
//! or reference values.

use strata::autograd::Tape;
use strata::nn::{Activation, ActivationLayer, Dense, Dropout, Flatten, ForwardCtx, Layer, LayerSpec, Maxout};
use strata::{Rng, Tensor};

fn forward(layer: &dyn Layer, x: Tensor, training: bool, seed: u64) -> Tensor {
    let tape = Tape::new();
    let mut rng = Rng::seeded(seed);
    let mut ctx = ForwardCtx::new(&tape, training, &mut rng);
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
        let mut layer = ActivationLayer::new(a);
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
        Box::new(ActivationLayer::new(Activation::Softmax)),
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

// ---- layer descriptions (spec files, saved models)

/// Layer objects as `model.json` files written before each layer owned its configuration
/// (copied from files saved by that version): they must keep loading, and writing them
/// again must give the same text.
const SAVED_LAYERS: &[&str] = &[
    r#"{"type":"dense","units":128,"activation":"relu","use_bias":true}"#,
    r#"{"type":"dense","units":10,"activation":"softmax","use_bias":false,"init":"he_normal","input_dim":784}"#,
    r#"{"type":"activation","activation":"leaky_relu:0.2"}"#,
    r#"{"type":"dropout","rate":0.25}"#,
    r#"{"type":"flatten"}"#,
    r#"{"type":"maxout","units":4,"pieces":3}"#,
    r#"{"type":"conv2d","filters":16,"kernel":3,"stride":1,"padding":"same","dilation":1,"groups":1,"use_bias":true,"activation":"relu"}"#,
    r#"{"type":"conv2d","filters":6,"kernel":5,"stride":1,"padding":2,"dilation":1,"groups":1,"use_bias":true,"activation":"tanh"}"#,
    r#"{"type":"conv2d","filters":8,"kernel":[1,3],"stride":[1,2],"padding":[0,1],"dilation":2,"groups":2,"use_bias":false,"activation":"linear","init":"glorot_normal"}"#,
    r#"{"type":"pool2d","pool":"max","window":2,"padding":0}"#,
    r#"{"type":"pool2d","pool":"avg","window":3,"stride":2,"padding":1}"#,
    r#"{"type":"pool2d","pool":"l2","window":[2,3],"stride":[1,2],"padding":0}"#,
    r#"{"type":"global_avg_pool2d"}"#,
    r#"{"type":"batch_norm","momentum":0.1,"eps":0.00001}"#,
    r#"{"type":"batch_norm","momentum":0.01,"eps":0.001}"#,
    r#"{"type":"local_response_norm","size":5,"alpha":0.0001,"beta":0.75,"k":2.0}"#,
    r#"{"type":"rnn","units":8,"activation":"tanh","layers":1,"bidirectional":false,"return_sequences":false}"#,
    r#"{"type":"rnn","units":8,"activation":"relu","layers":2,"bidirectional":true,"return_sequences":true}"#,
    r#"{"type":"lstm","units":32,"layers":1,"bidirectional":false,"return_sequences":true,"peephole":true}"#,
    r#"{"type":"gru","units":16,"layers":2,"bidirectional":true,"return_sequences":false}"#,
    r#"{"type":"embedding","vocab":100,"dim":8}"#,
    r#"{"type":"upsample2d","factor":2}"#,
    r#"{"type":"upsample2d","factor":[2,3]}"#,
    r#"{"type":"unflatten","shape":[1,28,28]}"#,
    r#"{"type":"noise","noise":"mask","amount":0.25}"#,
    r#"{"type":"noise","noise":"gaussian","amount":0.1}"#,
    r#"{"type":"residual","body":[{"type":"conv2d","filters":32,"kernel":3,"stride":2,"padding":1,"dilation":1,"groups":1,"use_bias":false,"activation":"linear"},{"type":"batch_norm","momentum":0.1,"eps":0.00001}],"shortcut":[{"type":"conv2d","filters":32,"kernel":1,"stride":2,"padding":"valid","dilation":1,"groups":1,"use_bias":false,"activation":"linear"},{"type":"batch_norm","momentum":0.1,"eps":0.00001}],"activation":"relu"}"#,
    r#"{"type":"residual","body":[{"type":"conv2d","filters":8,"kernel":3,"stride":1,"padding":1,"dilation":1,"groups":1,"use_bias":true,"activation":"linear"}],"activation":"linear"}"#,
    r#"{"type":"concat","branches":[[{"type":"conv2d","filters":8,"kernel":1,"stride":1,"padding":"valid","dilation":1,"groups":1,"use_bias":true,"activation":"relu"}],[],[{"type":"pool2d","pool":"max","window":3,"stride":1,"padding":1},{"type":"conv2d","filters":4,"kernel":1,"stride":1,"padding":"valid","dilation":1,"groups":1,"use_bias":true,"activation":"linear"}]]}"#,
    r#"{"type":"block","layers":[{"type":"conv2d","filters":64,"kernel":3,"stride":1,"padding":1,"dilation":1,"groups":1,"use_bias":true,"activation":"relu"},{"type":"pool2d","pool":"max","window":2,"padding":0}]}"#,
];

#[test]
fn saved_model_layer_lists_still_load_and_write_the_same_json() {
    for text in SAVED_LAYERS {
        let spec: LayerSpec = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(serde_json::to_string(&spec).unwrap(), *text);
        assert_eq!(spec.to_layer().spec(), spec, "{text}");
    }
    // The `layers` list of a model.json, as a whole.
    let list = format!("[{}]", SAVED_LAYERS.join(","));
    let specs: Vec<LayerSpec> = serde_json::from_str(&list).unwrap();
    assert_eq!(specs.len(), SAVED_LAYERS.len());
    assert_eq!(serde_json::to_string(&specs).unwrap(), list);
    // A model made from them builds and describes itself in the same words.
    let composites = [specs[26].clone(), specs[28].clone(), specs[29].clone()]; // residual, concat, block
    let mut model = strata::model::Sequential::from_specs(&composites);
    model.build(&[16, 8, 8]).unwrap();
    assert_eq!(model.output_shape(), Some(&[64, 2, 2][..]));
    assert_eq!(model.specs(), composites);
    // Unknown fields are still refused, in plain and nested layers, and so are unknown types.
    for bad in [
        r#"{"type":"dense","units":3,"unit":4}"#,
        r#"{"type":"flatten","units":3}"#,
        r#"{"type":"block","layers":[{"type":"conv2d","filters":1,"kernel":1,"padding":"same","pading":1}]}"#,
        r#"{"type":"dense2","units":3}"#,
        r#"{"units":3}"#,
    ] {
        assert!(serde_json::from_str::<LayerSpec>(bad).is_err(), "{bad}");
    }
}

/// One description of every layer type, with fields away from their defaults.
fn one_of_each_kind() -> Vec<LayerSpec> {
    use strata::nn::PoolKind;
    use strata::nn::conv::{Padding, PaddingMode, Pair};
    use strata::nn::recurrent::RnnActivation;
    use strata::nn::*;
    let conv = |filters, kernel: usize| LayerSpec::from(Conv2dConfig::new(filters, kernel));
    vec![
        DenseConfig {
            activation: Activation::Tanh,
            use_bias: false,
            init: Some(Init::HeNormal),
            input_dim: Some(3),
            ..DenseConfig::new(4)
        }
        .into(),
        ActivationConfig { activation: Activation::Elu(0.5) }.into(),
        DropoutConfig { rate: 0.3 }.into(),
        FlattenConfig {}.into(),
        MaxoutConfig { units: 3, pieces: 2 }.into(),
        Conv2dConfig {
            stride: Pair::PerAxis([1, 2]),
            padding: Padding::Named(PaddingMode::Same),
            dilation: Pair::Same(2),
            groups: 2,
            use_bias: false,
            activation: Activation::Relu,
            init: Some(Init::GlorotNormal),
            ..Conv2dConfig::new(8, (3, 5))
        }
        .into(),
        Pool2dConfig { pool: PoolKind::L2, window: Pair::Same(3), stride: Some(Pair::Same(2)), padding: Pair::PerAxis([1, 0]) }
            .into(),
        GlobalAvgPool2dConfig {}.into(),
        BatchNormConfig { momentum: 0.01, eps: 1e-3 }.into(),
        LocalResponseNormConfig { size: 5, alpha: 2e-4, beta: 0.5, k: 2.0 }.into(),
        RnnConfig { units: 8, activation: RnnActivation::Relu, layers: 2, bidirectional: true, return_sequences: true }.into(),
        LstmConfig { units: 8, layers: 1, bidirectional: false, return_sequences: true, peephole: true }.into(),
        GruConfig { units: 8, layers: 3, bidirectional: true, return_sequences: false }.into(),
        EmbeddingConfig { vocab: 50, dim: 4, channels_first: false }.into(),
        Upsample2dConfig { factor: Pair::PerAxis([2, 3]) }.into(),
        UnflattenConfig { shape: vec![1, 4, 4] }.into(),
        LocallyConnected2dConfig {
            stride: Pair::Same(2),
            padding: Padding::Explicit(Pair::Same(1)),
            use_bias: false,
            activation: Activation::Relu,
            init: Some(Init::HeNormal),
            ..LocallyConnected2dConfig::new(4, (3, 2))
        }
        .into(),
        NoiseConfig { noise: NoiseKind::Gaussian, amount: 0.2 }.into(),
        ResidualConfig { body: vec![conv(4, 3)], shortcut: vec![conv(4, 1)], activation: Activation::Linear }.into(),
        ConcatConfig { branches: vec![vec![conv(2, 1)], vec![], vec![conv(3, 3), FlattenConfig {}.into()]] }.into(),
        BlockConfig { layers: vec![conv(2, 1), BatchNormConfig::default().into()] }.into(),
        ChannelMaxoutConfig { pieces: 3 }.into(),
        SparseConv2dConfig {
            table: vec![vec![0, 1], vec![1, 2]],
            kernel: Pair::PerAxis([3, 5]),
            use_bias: false,
            activation: Activation::ScaledTanh,
        }
        .into(),
        Subsampling2dConfig { window: 3, activation: Activation::ScaledTanh }.into(),
        RbfConfig { units: 7 }.into(),
        AuxClassifierConfig { weight: 0.5, head: vec![GlobalAvgPool2dConfig {}.into(), DenseConfig::new(3).into()] }.into(),
    ]
}

#[test]
fn every_layer_type_round_trips_through_its_layer() {
    let specs = one_of_each_kind();
    let covered: std::collections::BTreeSet<&str> = specs.iter().map(|s| s.variant()).collect();
    let all: std::collections::BTreeSet<&str> = LayerSpec::VARIANTS.iter().copied().collect();
    assert_eq!(covered, all, "one_of_each_kind must hold every registered layer type");
    for spec in &specs {
        assert_eq!(&spec.to_layer().spec(), spec, "{}", spec.variant());
        let json = serde_json::to_string(spec).unwrap();
        assert_eq!(&serde_json::from_str::<LayerSpec>(&json).unwrap(), spec, "{json}");
        let toml = toml::to_string(spec).unwrap();
        assert_eq!(&toml::from_str::<LayerSpec>(&toml).unwrap(), spec, "{toml}");
    }
}

#[test]
fn details_list_the_fields_away_from_their_defaults() {
    use strata::nn::{BatchNorm, Conv2d, GlobalAvgPool2d, Residual};
    let details = |l: &dyn Layer| l.details();
    let conv = Conv2d::new(16, 3).padding(1).use_bias(false).activation(Activation::Relu);
    assert_eq!(details(&conv).as_deref(), Some("filters=16 kernel=3 padding=1 use_bias=false activation=relu"));
    let odd = Conv2d::new(8, 1).kernel_size((1, 3)).padding_same().stride(2);
    assert_eq!(details(&odd).as_deref(), Some("filters=8 kernel=[1,3] stride=2 padding=same"));
    assert_eq!(details(&Dense::new(10).activation(Activation::Softmax)).as_deref(), Some("units=10 activation=softmax"));
    assert_eq!(details(&BatchNorm::new().momentum(0.01)).as_deref(), Some("momentum=0.01"));
    assert_eq!(details(&ActivationLayer::new(Activation::LeakyRelu(0.2))).as_deref(), Some("activation=leaky_relu:0.2"));
    assert_eq!(details(&BatchNorm::new()), None);
    assert_eq!(details(&Flatten), None);
    assert_eq!(details(&GlobalAvgPool2d), None);
    // a composite shows its own fields, not its layers (summary lists those as rows)
    let block = Residual::new(vec![Box::new(Conv2d::new(4, 3).padding(1))]);
    assert_eq!(details(&block), None);
    assert_eq!(details(&block.activation(Activation::Linear)).as_deref(), Some("activation=linear"));
}

#[test]
fn conv2d_remembers_its_algorithm_and_computes_what_conv2d_does() {
    use strata::autograd::Var;
    use strata::nn::Conv2d;
    use strata::nn::conv::Algorithm;
    use strata_core::tensor::conv::Conv2dGeom;
    let mut rng = Rng::seeded(3);
    // (layer, per-sample input, padding): LeNet's first layer, and ResNet's 16 -> 16 on 28x28.
    let cases = [(Conv2d::new(6, 5).padding(2), [1, 28, 28], 2), (Conv2d::new(16, 3).padding(1), [16, 28, 28], 1)];
    for (mut layer, input, pad) in cases {
        assert_eq!(layer.algorithm(), None);
        layer.build(&input, &mut rng).unwrap();
        let [c, h, w] = input;
        let k = layer.weight().unwrap().value.shape().to_vec();
        let geom = Conv2dGeom::new(&[1, c, h, w], &k, (1, 1), (pad, pad, pad, pad), (1, 1), 1).unwrap();
        let chosen = Algorithm::choose(&geom);
        assert_eq!(layer.algorithm(), Some(chosen), "{input:?}");
        // The layer's forward and backward against plain `Var::conv2d`, on the built shape and
        // on another one (where the layer chooses again instead of failing).
        for size in [h, 8] {
            let x = Tensor::rand_normal(&[2, c, size, size], 0.0, 1.0, &mut rng);
            let dy = Tensor::rand_normal(&[2, k[0], size, size], 0.0, 1.0, &mut rng);
            let run = |conv: &dyn Fn(&Var, &Tape) -> Var| {
                let tape = Tape::new();
                let xv = tape.input_with_grad(x.clone());
                let y = conv(&xv, &tape);
                let loss = y.mul(&tape.input(dy.clone())).unwrap().sum_all().unwrap();
                let (grads, dx) = loss.backward_inputs(&[&xv]).unwrap();
                let dparams: Vec<Tensor> = layer.params().iter().map(|p| grads.get(p).unwrap().clone()).collect();
                (y.into_value(), dx[0].clone().unwrap(), dparams)
            };
            let by_layer = run(&|xv, tape| {
                let mut rng = Rng::seeded(0);
                let mut ctx = ForwardCtx::train(tape, &mut rng);
                layer.forward(xv, &mut ctx).unwrap()
            });
            let plain = run(&|xv, tape| {
                let p = layer.params();
                let (w, b) = (tape.param(p[0]), tape.param(p[1]));
                xv.conv2d(&w, Some(&b), (1, 1), (pad, pad, pad, pad), (1, 1), 1).unwrap()
            });
            let what = format!("{input:?} on {size}x{size}");
            assert!(by_layer.0.max_abs_diff(&plain.0).unwrap() < 1e-5, "{what}: forward");
            assert!(by_layer.1.max_abs_diff(&plain.1).unwrap() < 1e-5, "{what}: dx");
            for (a, b) in by_layer.2.iter().zip(&plain.2) {
                assert!(a.max_abs_diff(b).unwrap() < 1e-4, "{what}: parameter gradient");
            }
        }
        // Still the choice for the built shape.
        assert_eq!(layer.algorithm(), Some(chosen));
    }
}

mod locally_connected {
    use super::forward;
    use strata::autograd::Tape;
    use strata::autograd::gradcheck::check_gradients;
    use strata::nn::{Activation, Conv2d, ForwardCtx, Layer, LocallyConnected2d};
    use strata::{Rng, Tensor};

    /// y[n, o, oy, ox] = b[o, p] + sum over c, ky, kx of w[o, (c, ky, kx), p] x[n, c, iy, ix]
    /// with p = oy * OW + ox, iy = oy * stride + ky - pad: the definition, loop by loop.
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, k: usize, stride: usize, pad: usize) -> Tensor {
        let (&[n, c, h, wd], &[o, _, p]) = (x.shape(), w.shape()) else { unreachable!() };
        let oh = (h + 2 * pad - k) / stride + 1;
        let ow = (wd + 2 * pad - k) / stride + 1;
        assert_eq!(oh * ow, p);
        let mut y = vec![0.0f32; n * o * p];
        for ni in 0..n {
            for oi in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let pi = oy * ow + ox;
                        let mut s = b.data()[oi * p + pi];
                        for ci in 0..c {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (iy, ix) =
                                        ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xv = x.data()[((ni * c + ci) * h + iy as usize) * wd + ix as usize];
                                    s += w.data()[(oi * c * k * k + (ci * k + ky) * k + kx) * p + pi] * xv;
                                }
                            }
                        }
                        y[(ni * o + oi) * p + pi] = s;
                    }
                }
            }
        }
        Tensor::from_vec(y, &[n, o, oh, ow]).unwrap()
    }

    #[test]
    fn shapes_params_macs_and_values_against_the_definition() {
        let mut rng = Rng::seeded(4);
        let mut l = LocallyConnected2d::new(3, 3).stride(2).padding(1);
        assert_eq!(l.build(&[2, 7, 6], &mut rng).unwrap(), vec![3, 4, 3]);
        let (k, p) = (2 * 3 * 3, 4 * 3);
        assert_eq!(l.params()[0].value.shape(), &[3, k, p]);
        assert_eq!(l.params()[1].value.shape(), &[3, p]);
        assert_eq!(l.macs(&[2, 7, 6]), (3 * k * p) as u64);
        // a non-zero bias, so the bias path is checked too
        l.params_mut()[1].value = Tensor::rand_normal(&[3, p], 0.0, 1.0, &mut rng);
        let x = Tensor::rand_normal(&[2, 2, 7, 6], 0.0, 1.0, &mut rng);
        let y = forward(&l, x.clone(), false, 0);
        let want = reference(&x, &l.params()[0].value, &l.params()[1].value, 3, 2, 1);
        assert!(y.max_abs_diff(&want).unwrap() < 1e-4);
        // one filter per position: unlike a convolution, shifting the input does not shift the output
        assert!(LocallyConnected2d::new(1, 3).build(&[1, 2, 2], &mut rng).is_err(), "a kernel larger than the input");
        assert!(LocallyConnected2d::new(0, 3).build(&[1, 5, 5], &mut rng).is_err());
        assert!(LocallyConnected2d::new(2, 3).build(&[25], &mut rng).is_err(), "needs [C, H, W]");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::seeded(5);
        let mut l = LocallyConnected2d::new(2, 2).stride(1).activation(Activation::Tanh);
        l.build(&[2, 4, 3], &mut rng).unwrap();
        let x = Tensor::rand_normal(&[2, 2, 4, 3], 0.0, 1.0, &mut rng);
        let input = check_gradients(
            |v| {
                let mut ctx = ForwardCtx::eval(v[0].tape());
                l.forward(&v[0], &mut ctx)
            },
            std::slice::from_ref(&x),
            1e-2,
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(input.worst_ratio <= 1.0, "input gradient: {input:?}");
        // the weights and the bias, element by element, against sum(layer(x) * r)
        let r = Tensor::rand_uniform(&[2, 2, 3, 2], 0.5, 1.5, &mut Rng::seeded(6));
        let loss = |l: &LocallyConnected2d| {
            let tape = Tape::new();
            let mut ctx = ForwardCtx::eval(&tape);
            let y = l.forward(&tape.input(x.clone()), &mut ctx).unwrap();
            let s = y.mul(&tape.input(r.clone())).unwrap().sum_all().unwrap();
            let grads = s.backward().unwrap();
            (s.value().item().unwrap(), l.params().iter().map(|p| grads.get(p).unwrap().clone()).collect::<Vec<_>>())
        };
        let (_, analytic) = loss(&l);
        for (pi, g) in analytic.iter().enumerate() {
            for j in 0..g.numel() {
                let orig = l.params()[pi].value.data()[j];
                l.params_mut()[pi].value.data_mut()[j] = orig + 1e-2;
                let plus = loss(&l).0;
                l.params_mut()[pi].value.data_mut()[j] = orig - 1e-2;
                let minus = loss(&l).0;
                l.params_mut()[pi].value.data_mut()[j] = orig;
                let numeric = (plus - minus) / 2e-2;
                assert!(
                    (g.data()[j] - numeric).abs() < 2e-2 * (1.0 + numeric.abs()),
                    "param {pi}[{j}]: {} vs {numeric}",
                    g.data()[j]
                );
            }
        }
    }

    #[test]
    fn a_convolutions_activation_is_applied_once() {
        // tanh(conv(x)), not tanh(tanh(conv(x))): the same weights with and without tanh
        let mut rng = Rng::seeded(8);
        let mut plain = Conv2d::new(2, 3);
        plain.build(&[1, 5, 5], &mut rng).unwrap();
        let mut squashed = Conv2d::new(2, 3).activation(Activation::Tanh);
        squashed.build(&[1, 5, 5], &mut rng).unwrap();
        squashed.params_mut()[0].value = plain.params()[0].value.clone();
        squashed.params_mut()[1].value = plain.params()[1].value.clone();
        let x = Tensor::rand_normal(&[2, 1, 5, 5], 0.0, 2.0, &mut rng);
        let want: Vec<f32> = forward(&plain, x.clone(), false, 0).data().iter().map(|v| v.tanh()).collect();
        let got = forward(&squashed, x, false, 0);
        assert!(got.data().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5));
    }
}
