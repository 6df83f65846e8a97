//! Normalization: gradients of batch norm and LRN against finite differences, the layers'
//! shapes, running statistics, train/eval behaviour, specs, and save/load of buffers.

use strata::autograd::Tape;
use strata::autograd::gradcheck::check_gradients;
use strata::model::{load_model, save_model};
use strata::nn::{BatchNorm, BatchNormConfig, ForwardCtx, Layer, LayerSpec, LocalResponseNorm, LocalResponseNormConfig};
use strata::prelude::*;

fn forward(layer: &dyn Layer, x: Tensor, training: bool) -> Tensor {
    let tape = Tape::new();
    let mut rng = Rng::seeded(0);
    let mut ctx = ForwardCtx::new(&tape, training, &mut rng);
    layer.forward(&tape.input(x), &mut ctx).unwrap().into_value()
}

/// Per-channel mean and biased variance of x [N, C, ...], in f64.
fn channel_stats(x: &Tensor) -> Vec<(f64, f64)> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let s: usize = x.shape()[2..].iter().product();
    (0..c)
        .map(|ch| {
            let vals: Vec<f64> =
                (0..n).flat_map(|i| (0..s).map(move |j| (i * c + ch) * s + j)).map(|k| x.data()[k] as f64).collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            (m, vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / vals.len() as f64)
        })
        .collect()
}

fn bn_gradcheck(shape: &[usize], seed: u64) {
    let mut rng = Rng::seeded(seed);
    let c = shape[1];
    let x = Tensor::rand_normal(shape, 1.0, 2.0, &mut rng);
    let gamma = Tensor::rand_uniform(&[c], 0.5, 1.5, &mut rng);
    let beta = Tensor::rand_normal(&[c], 0.0, 1.0, &mut rng);
    let r = check_gradients(|v| Ok(v[0].batch_norm_train(&v[1], &v[2], 1e-5)?.0), &[x, gamma, beta], 1e-2, 1e-3, 1e-2)
        .unwrap_or_else(|e| panic!("batch norm {shape:?}: {e}"));
    assert!(r.worst_ratio <= 1.0);
}

#[test]
fn batch_norm_1d_gradients_match_finite_differences() {
    bn_gradcheck(&[8, 3], 1);
}

#[test]
fn batch_norm_2d_gradients_match_finite_differences() {
    bn_gradcheck(&[3, 2, 3, 4], 2);
}

#[test]
fn fused_batch_norm_relu_gradients_match_finite_differences() {
    // Per channel the values 0, 1, 2, 4 (and scaled copies) normalize to about -1.18,
    // -0.51, 0.17, 1.52; with beta 0.25 the pre-activations stay >= 0.26 away from the kink,
    // while two of the four are clipped.
    let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 4.0, 0.0, 2.0, 4.0, 8.0], &[2, 2, 2]).unwrap();
    let x = x.permute(&[1, 0, 2]).unwrap(); // [N=2, C=2, 2]: channel c holds both copies' values
    let (gamma, beta) = (Tensor::ones(&[2]), Tensor::full(&[2], 0.25));
    let r = check_gradients(|v| Ok(v[0].batch_norm_relu_train(&v[1], &v[2], 1e-5)?.0), &[x, gamma, beta], 1e-2, 1e-3, 1e-2)
        .unwrap_or_else(|e| panic!("batch norm + relu: {e}"));
    assert!(r.worst_ratio <= 1.0, "{r:?}");
}

#[test]
fn fused_batch_norm_relu_equals_batch_norm_then_relu() {
    // values and all three gradients, on random data where about half the outputs clip
    let mut rng = Rng::seeded(7);
    for shape in [vec![6, 3], vec![4, 5, 6, 7]] {
        let c = shape[1];
        let x = Tensor::rand_normal(&shape, 2.0, 3.0, &mut rng);
        let (gamma, beta) = (Tensor::rand_uniform(&[c], 0.5, 1.5, &mut rng), Tensor::rand_normal(&[c], 0.0, 0.5, &mut rng));
        let dy = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
        let run = |fused: bool| {
            let tape = Tape::new();
            let [xv, g, b] = [&x, &gamma, &beta].map(|t| tape.input_with_grad(t.clone()));
            let y = if fused {
                xv.batch_norm_relu_train(&g, &b, 1e-5).unwrap().0
            } else {
                xv.batch_norm_train(&g, &b, 1e-5).unwrap().0.relu()
            };
            let loss = y.mul(&tape.input(dy.clone())).unwrap().sum_all().unwrap();
            let (_, grads) = loss.backward_inputs(&[&xv, &g, &b]).unwrap();
            (y.value().clone(), grads.into_iter().map(Option::unwrap).collect::<Vec<_>>())
        };
        let ((y1, g1), (y0, g0)) = (run(true), run(false));
        assert_eq!(y1.data(), y0.data(), "{shape:?}");
        assert!(y1.data().iter().filter(|v| **v == 0.0).count() > y1.numel() / 4, "some outputs clip");
        for (a, b) in g1.iter().zip(&g0) {
            assert!(a.max_abs_diff(b).unwrap() < 1e-4, "{shape:?}");
        }
    }
}

#[test]
fn batch_norm_eval_gradients_and_fused_value() {
    let mut rng = Rng::seeded(3);
    let x = Tensor::rand_normal(&[2, 3, 2, 2], 0.0, 1.0, &mut rng);
    let gamma = Tensor::rand_uniform(&[3], 0.5, 1.5, &mut rng);
    let beta = Tensor::rand_normal(&[3], 0.0, 1.0, &mut rng);
    let mean = Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3]).unwrap();
    let var = Tensor::from_vec(vec![0.5, 1.0, 2.0], &[3]).unwrap();
    let f = |v: &[strata::autograd::Var]| v[0].batch_norm_eval(&v[1], &v[2], &mean, &var, 1e-5);
    check_gradients(f, &[x.clone(), gamma.clone(), beta.clone()], 1e-2, 1e-3, 1e-2).unwrap();
    // the fused no-grad pass equals the composed one
    let (t, nt) = (Tape::new(), Tape::no_grad());
    let composed = f(&[t.input_with_grad(x.clone()), t.input(gamma.clone()), t.input(beta.clone())]).unwrap();
    let fused = f(&[nt.input(x), nt.input(gamma), nt.input(beta)]).unwrap();
    assert!(composed.value().max_abs_diff(fused.value()).unwrap() < 1e-5);
}

#[test]
fn lrn_gradients_match_finite_differences() {
    let mut rng = Rng::seeded(4);
    // odd and even windows (PyTorch's window is asymmetric for even sizes), and a window
    // wider than the channels; alpha large enough that the normalization term matters
    for (size, beta) in [(3, 0.75), (4, 0.75), (9, 0.6)] {
        let x = Tensor::rand_normal(&[2, 5, 2, 3], 0.0, 1.5, &mut rng);
        check_gradients(|v| v[0].local_response_norm(size, 0.8, beta, 1.0), &[x], 1e-2, 1e-3, 1e-2)
            .unwrap_or_else(|e| panic!("lrn size {size}: {e}"));
    }
}

#[test]
fn batch_norm_layer_shapes_params_and_normalization() {
    let mut rng = Rng::seeded(5);
    let mut bn = BatchNorm::new();
    assert_eq!(bn.build(&[4], &mut rng).unwrap(), vec![4]);
    assert_eq!(bn.params().iter().map(|p| p.value.numel()).sum::<usize>(), 8);
    let mut bn2 = BatchNorm::new();
    assert_eq!(bn2.build(&[3, 5, 5], &mut rng).unwrap(), vec![3, 5, 5]);
    assert_eq!((bn2.channels(), bn2.macs(&[3, 5, 5])), (Some(3), 75));
    assert_eq!(
        bn2.buffers().iter().map(|(n, t)| (*n, t.shape().to_vec())).collect::<Vec<_>>(),
        [("running_mean", vec![3]), ("running_var", vec![3])]
    );
    // training output: each channel has mean 0 and variance 1 (gamma 1, beta 0)
    let y = forward(&bn2, Tensor::rand_normal(&[4, 3, 5, 5], 3.0, 2.0, &mut rng), true);
    assert_eq!(y.shape(), &[4, 3, 5, 5]);
    for (m, v) in channel_stats(&y) {
        assert!(m.abs() < 1e-5 && (v - 1.0).abs() < 1e-3, "mean {m} var {v}");
    }
    // rebuilding with the same shape keeps the parameters
    let id = bn2.params()[0].id();
    bn2.build(&[3, 5, 5], &mut rng).unwrap();
    assert_eq!(bn2.params()[0].id(), id);
    // bad shapes and settings are errors naming what is wrong
    assert!(BatchNorm::new().build(&[1, 2, 3, 4], &mut rng).is_err());
    assert!(BatchNorm::new().momentum(1.5).build(&[3], &mut rng).is_err());
    assert!(BatchNorm::new().eps(0.0).build(&[3], &mut rng).is_err());
    let tape = Tape::new();
    let mut r = Rng::seeded(0);
    let mut ctx = ForwardCtx::train(&tape, &mut r);
    let err = bn2.forward(&tape.input(Tensor::zeros(&[2, 4, 5, 5])), &mut ctx).unwrap_err().to_string();
    assert!(err.contains("batch_norm") && err.contains("[2, 4, 5, 5]") && err.contains("[3]"), "{err}");
}

#[test]
fn training_updates_running_statistics_pytorch_style() {
    let mut rng = Rng::seeded(6);
    let mut bn = BatchNorm::new();
    bn.build(&[2, 3, 3], &mut rng).unwrap();
    let x = Tensor::rand_normal(&[5, 2, 3, 3], 2.0, 3.0, &mut rng);
    forward(&bn, x.clone(), true);
    let m = 5.0 * 9.0;
    let (rm, rv) = (bn.running_mean().unwrap(), bn.running_var().unwrap());
    for (ch, (mean, var)) in channel_stats(&x).into_iter().enumerate() {
        // running = 0.9 * initial + 0.1 * batch; the variance is the unbiased one
        assert!((rm.data()[ch] as f64 - 0.1 * mean).abs() < 1e-5);
        assert!((rv.data()[ch] as f64 - (0.9 + 0.1 * var * m / (m - 1.0))).abs() < 1e-4);
    }
    // eval mode leaves them alone
    forward(&bn, x, false);
    assert_eq!(bn.running_mean().unwrap(), rm);
}

#[test]
fn eval_mode_uses_the_running_statistics() {
    let mut bn = BatchNorm::new();
    bn.build(&[2], &mut Rng::seeded(0)).unwrap();
    bn.set_buffer("running_mean", Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap()).unwrap();
    bn.set_buffer("running_var", Tensor::from_vec(vec![4.0, 0.25], &[2]).unwrap()).unwrap();
    let x = Tensor::from_vec(vec![3.0, -1.0, 1.0, -2.0, 5.0, 0.0], &[3, 2]).unwrap();
    let y = forward(&bn, x.clone(), false);
    for (i, (&got, &v)) in y.data().iter().zip(x.data()).enumerate() {
        let (m, var) = if i % 2 == 0 { (1.0, 4.0) } else { (-2.0, 0.25) };
        assert!((got - (v - m) / (var + 1e-5f32).sqrt()).abs() < 1e-5, "{i}: {got}");
    }
    // a sample's output does not depend on the rest of its batch
    let one = forward(&bn, Tensor::from_vec(vec![3.0, -1.0], &[1, 2]).unwrap(), false);
    assert_eq!(one.data(), &y.data()[..2]);
    assert!(bn.set_buffer("running_var", Tensor::zeros(&[3])).is_err());
    assert!(bn.set_buffer("nope", Tensor::zeros(&[2])).is_err());
}

#[test]
fn local_response_norm_layer_shapes_and_values() {
    let mut lrn = LocalResponseNorm::new(3).alpha(3.0).beta(1.0).k(1.0);
    assert_eq!(lrn.build(&[3, 2, 2], &mut Rng::seeded(0)).unwrap(), vec![3, 2, 2]);
    assert!(lrn.params().is_empty());
    // every pixel holds channels [1, 2, 3]; alpha/n = 1
    let x = Tensor::from_vec([1.0, 2.0, 3.0].iter().flat_map(|&v| [v; 4]).collect(), &[1, 3, 2, 2]).unwrap();
    let y = forward(&lrn, x, true);
    assert_eq!(y.shape(), &[1, 3, 2, 2]);
    for (ch, want) in [1.0 / 6.0, 2.0 / 15.0, 3.0 / 14.0].into_iter().enumerate() {
        assert!(y.data()[ch * 4..(ch + 1) * 4].iter().all(|v| (v - want).abs() < 1e-6), "{y:?}");
    }
    assert!(LocalResponseNorm::new(0).build(&[3], &mut Rng::seeded(0)).is_err());
    assert!(LocalResponseNorm::new(5).k(0.0).build(&[3], &mut Rng::seeded(0)).is_err());
}

#[test]
fn specs_round_trip_and_take_pytorch_defaults() {
    let layers: Vec<Box<dyn Layer>> =
        vec![Box::new(BatchNorm::new().momentum(0.2).eps(1e-3)), Box::new(LocalResponseNorm::new(5).alpha(2e-4).k(2.0))];
    for l in &layers {
        let spec = l.spec();
        let back: LayerSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.to_layer().spec(), spec);
    }
    let bn: LayerSpec = toml::from_str("type = \"batch_norm\"").unwrap();
    assert_eq!(bn, LayerSpec::BatchNorm(BatchNormConfig { momentum: 0.1, eps: 1e-5 }));
    let lrn: LayerSpec = toml::from_str("type = \"local_response_norm\"\nsize = 5").unwrap();
    assert_eq!(lrn, LayerSpec::LocalResponseNorm(LocalResponseNormConfig { size: 5, alpha: 1e-4, beta: 0.75, k: 1.0 }));
}

#[test]
fn save_and_load_keep_running_statistics() {
    let mut rng = Rng::seeded(7);
    let n = 32;
    let x = Tensor::rand_normal(&[n, 2, 4, 4], 1.0, 2.0, &mut rng);
    let labels = (0..n as u32).map(|i| i % 3).collect();
    let data = Dataset::new(x, Target::Classes { labels, num_classes: 3 }).unwrap();
    let mut m = Sequential::new()
        .seed(1)
        .add(BatchNorm::new())
        .add(LocalResponseNorm::new(2))
        .add(Flatten)
        .add(Dense::new(8))
        .add(BatchNorm::new())
        .add(Dense::new(3).activation(Softmax));
    m.compile(Sgd::new(0.05), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    m.fit(&data, FitOptions::epochs(2).batch_size(8).silent()).unwrap();
    let trained = m.layers()[0].buffers();
    assert_ne!(trained[0].1, Tensor::zeros(&[2]), "training moved the running mean");

    let dir = std::env::temp_dir().join(format!("strata-norm-{}", std::process::id()));
    let path = dir.join("bn.safetensors");
    save_model(&m, &path, None, None).unwrap();
    let mut loaded = load_model(&path).unwrap().model;
    for (a, b) in m.layers().iter().zip(loaded.layers()) {
        assert_eq!(a.buffers(), b.buffers(), "{}", a.kind());
    }
    assert_eq!(loaded.predict(&data.inputs).unwrap(), m.predict(&data.inputs).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}
