//! The layers of the classic definitions (issue 19): maxout over channel groups, min
//! pooling, LeNet-5 1998's connection-table convolution, trainable subsampling, scaled tanh
//! and RBF output units — shapes, values against the definitions written out loop by loop,
//! finite-difference gradients for the input and every parameter, and spec files.

use strata::autograd::Tape;
use strata::autograd::gradcheck::check_gradients;
use strata::nn::{Activation, ChannelMaxout, ForwardCtx, LENET5_C3_TABLE, Layer, MinPool2d, Rbf, SparseConv2d, Subsampling2d};
use strata::{Rng, Tensor};

fn forward(layer: &dyn Layer, x: &Tensor) -> Tensor {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::eval(&tape);
    layer.forward(&tape.input(x.clone()), &mut ctx).unwrap().into_value()
}

/// The input gradient, and every parameter element's gradient, against central differences
/// of `sum(layer(x) * r)` for a fixed random `r`.
fn check_layer_gradients(layer: &mut dyn Layer, x: &Tensor, tol: f32) {
    let input = check_gradients(
        |v| {
            let mut ctx = ForwardCtx::eval(v[0].tape());
            layer.forward(&v[0], &mut ctx)
        },
        std::slice::from_ref(x),
        1e-2,
        tol,
        1e-2,
    )
    .unwrap();
    assert!(input.worst_ratio <= 1.0, "{} input gradient: {input:?}", layer.kind());
    let out_shape = forward(layer, x).shape().to_vec();
    let r = Tensor::rand_uniform(&out_shape, 0.5, 1.5, &mut Rng::seeded(6));
    let loss = |l: &dyn Layer| {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::eval(&tape);
        let y = l.forward(&tape.input(x.clone()), &mut ctx).unwrap();
        let s = y.mul(&tape.input(r.clone())).unwrap().sum_all().unwrap();
        let grads = s.backward().unwrap();
        (s.value().item().unwrap() as f64, l.params().iter().map(|p| grads.get(p).unwrap().clone()).collect::<Vec<_>>())
    };
    let (_, analytic) = loss(layer);
    assert!(!analytic.is_empty(), "{} has parameters", layer.kind());
    for (pi, g) in analytic.iter().enumerate() {
        for j in (0..g.numel()).step_by((g.numel() / 40).max(1)) {
            let orig = layer.params()[pi].value.data()[j];
            layer.params_mut()[pi].value.data_mut()[j] = orig + 1e-2;
            let plus = loss(layer).0;
            layer.params_mut()[pi].value.data_mut()[j] = orig - 1e-2;
            let minus = loss(layer).0;
            layer.params_mut()[pi].value.data_mut()[j] = orig;
            let numeric = ((plus - minus) / 2e-2) as f32;
            assert!(
                (g.data()[j] - numeric).abs() < 2e-2 * (1.0 + numeric.abs()),
                "{} param {pi}[{j}]: analytic {} vs numeric {numeric}",
                layer.kind(),
                g.data()[j]
            );
        }
    }
}

#[test]
fn channel_maxout_takes_the_largest_of_each_group_of_maps() {
    let mut m = ChannelMaxout::new(3);
    assert_eq!(m.build(&[6, 2, 4], &mut Rng::seeded(0)).unwrap(), vec![2, 2, 4]);
    assert!(m.params().is_empty());
    let x = Tensor::rand_normal(&[2, 6, 2, 4], 0.0, 1.0, &mut Rng::seeded(1));
    let y = forward(&m, &x);
    assert_eq!(y.shape(), &[2, 2, 2, 4]);
    for n in 0..2 {
        for g in 0..2 {
            for p in 0..8 {
                let want = (0..3).map(|k| x.data()[(n * 6 + g * 3 + k) * 8 + p]).fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(y.data()[(n * 2 + g) * 8 + p], want);
            }
        }
    }
    let err = ChannelMaxout::new(4).build(&[6, 2, 2], &mut Rng::seeded(0)).unwrap_err().to_string();
    assert!(err.contains("6 channels") && err.contains("4 pieces"), "{err}");
    assert!(ChannelMaxout::new(2).build(&[6], &mut Rng::seeded(0)).is_err(), "needs [C, H, W]");
    // the gradient goes to each group's winner (distinct values: no ties)
    let mut xs = Tensor::from_vec((0..2 * 6 * 3 * 3).map(|v| v as f32 * 0.05).collect(), &[2, 6, 3, 3]).unwrap();
    Rng::seeded(3).shuffle(xs.data_mut());
    check_gradients(
        |v| {
            let mut ctx = ForwardCtx::eval(v[0].tape());
            m.forward(&v[0], &mut ctx)
        },
        &[xs],
        1e-3,
        1e-3,
        1e-2,
    )
    .unwrap();
}

#[test]
fn min_pooling_keeps_the_smallest_and_ignores_padding() {
    let mut p = MinPool2d::new(2);
    assert_eq!(p.kind(), "MinPool2d");
    assert_eq!(p.build(&[1, 4, 4], &mut Rng::seeded(0)).unwrap(), vec![1, 2, 2]);
    let x = Tensor::from_vec((1..=16).map(|v| v as f32).collect(), &[1, 1, 4, 4]).unwrap();
    assert_eq!(forward(&p, &x).data(), &[1.0, 3.0, 9.0, 11.0]);
    // padded windows: positive values, and no padded zero wins
    let padded = MinPool2d::new(3).stride(2).padding(1);
    assert_eq!(forward(&padded, &x).data(), &[1.0, 2.0, 5.0, 6.0][..]);
    let spec: strata::nn::LayerSpec = toml::from_str("type = \"pool2d\"\npool = \"min\"\nwindow = 2").unwrap();
    assert_eq!(spec.to_layer().kind(), "MinPool2d");
}

#[test]
fn sparse_convolution_reads_only_the_tables_maps() {
    let mut rng = Rng::seeded(2);
    let mut c3 = SparseConv2d::new(&LENET5_C3_TABLE, 5);
    assert_eq!(c3.build(&[6, 14, 14], &mut rng).unwrap(), vec![16, 10, 10]);
    // LeCun et al. 1998: 1,516 trainable parameters and 151,600 connections
    assert_eq!(c3.params().iter().map(|p| p.value.numel()).sum::<usize>(), 1_516);
    assert_eq!(c3.macs(&[6, 14, 14]), 150_000);
    c3.params_mut()[1].value = Tensor::rand_normal(&[16], 0.0, 1.0, &mut rng);
    let x = Tensor::rand_normal(&[2, 6, 14, 14], 0.0, 1.0, &mut rng);
    let y = forward(&c3, &x);
    // the definition: map j = b_j + sum over the table's maps i of w_(j,i) (x) x_i
    let (w, b) = (&c3.params()[0].value, &c3.params()[1].value);
    let mut k = 0;
    let mut worst = 0f32;
    for (j, row) in LENET5_C3_TABLE.iter().enumerate() {
        for n in 0..2 {
            for oy in 0..10 {
                for ox in 0..10 {
                    let mut s = b.data()[j];
                    for (r, &i) in row.iter().enumerate() {
                        for ky in 0..5 {
                            for kx in 0..5 {
                                s +=
                                    w.data()[((k + r) * 5 + ky) * 5 + kx] * x.data()[((n * 6 + i) * 14 + oy + ky) * 14 + ox + kx];
                            }
                        }
                    }
                    worst = worst.max((y.data()[((n * 16 + j) * 10 + oy) * 10 + ox] - s).abs());
                }
            }
        }
        k += row.len();
    }
    assert!(worst < 1e-4, "largest difference from the definition: {worst}");
    // a table naming a map the input lacks, an empty row, a repeated map
    for (table, why) in [(vec![vec![0, 6]], "input map 6"), (vec![vec![]], "reads no input"), (vec![vec![1, 1]], "twice")] {
        let mut l = SparseConv2d::from_config(strata::nn::SparseConv2dConfig {
            table,
            kernel: strata::nn::conv::Pair::Same(3),
            use_bias: true,
            activation: Activation::Linear,
        });
        let err = l.build(&[6, 8, 8], &mut rng).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    // gradients on a small table with runs of different lengths (and a wrap-around row)
    let table: [&[usize]; 4] = [&[0, 1], &[2, 0], &[0, 1, 2], &[1]];
    let mut small = SparseConv2d::new(&table, 3).activation(Activation::ScaledTanh);
    small.build(&[3, 5, 5], &mut rng).unwrap();
    check_layer_gradients(&mut small, &Tensor::rand_normal(&[2, 3, 5, 5], 0.0, 1.0, &mut rng), 2e-3);
}

#[test]
fn subsampling_scales_each_maps_window_sum() {
    let mut rng = Rng::seeded(3);
    let mut s2 = Subsampling2d::new(2);
    assert_eq!(s2.build(&[2, 4, 6], &mut rng).unwrap(), vec![2, 2, 3]);
    assert_eq!(s2.params().iter().map(|p| p.value.numel()).sum::<usize>(), 4);
    s2.params_mut()[0].value = Tensor::from_vec(vec![0.5, -2.0], &[2]).unwrap();
    s2.params_mut()[1].value = Tensor::from_vec(vec![1.0, 0.25], &[2]).unwrap();
    let x = Tensor::rand_normal(&[1, 2, 4, 6], 0.0, 1.0, &mut rng);
    let y = forward(&s2, &x);
    for c in 0..2 {
        for oy in 0..2 {
            for ox in 0..3 {
                let sum: f32 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|&(dy, dx)| x.data()[(c * 4 + 2 * oy + dy) * 6 + 2 * ox + dx])
                    .sum();
                let want = [0.5, -2.0][c] * sum + [1.0, 0.25][c];
                assert!((y.data()[(c * 2 + oy) * 3 + ox] - want).abs() < 1e-5);
            }
        }
    }
    let mut squashed = Subsampling2d::new(2).activation(Activation::ScaledTanh);
    squashed.build(&[3, 4, 4], &mut rng).unwrap();
    check_layer_gradients(&mut squashed, &Tensor::rand_normal(&[2, 3, 4, 4], 0.0, 1.0, &mut rng), 2e-3);
}

#[test]
fn scaled_tanh_is_lecuns_squashing_function() {
    let x = Tensor::from_vec(vec![-3.0, -1.0, 0.0, 1.0, 0.5], &[5]).unwrap();
    let tape = Tape::new();
    let y = Activation::ScaledTanh.apply(&tape.input(x.clone())).unwrap().into_value();
    for (a, b) in x.data().iter().zip(y.data()) {
        assert!((1.7159 * (2.0 * a / 3.0f32).tanh() - b).abs() < 1e-6);
    }
    // f(1) = 1 (to 4 digits), the point of the constants
    assert!((y.data()[3] - 1.0).abs() < 1e-4);
    assert_eq!("scaled_tanh".parse::<Activation>().unwrap(), Activation::ScaledTanh);
    assert_eq!(Activation::ScaledTanh.to_string(), "scaled_tanh");
    check_gradients(|v| Activation::ScaledTanh.apply(&v[0]), &[x], 1e-3, 1e-3, 1e-2).unwrap();
}

#[test]
fn rbf_units_score_the_negated_squared_distance_to_their_centres() {
    let mut rng = Rng::seeded(4);
    let mut out = Rbf::new(3);
    assert_eq!(out.build(&[5], &mut rng).unwrap(), vec![3]);
    let c = out.params()[0].value.clone();
    assert!(c.data().iter().all(|v| v.abs() == 1.0), "centres start as +1/-1 codes");
    let x = Tensor::rand_normal(&[2, 5], 0.0, 1.0, &mut rng);
    let y = forward(&out, &x);
    for n in 0..2 {
        for u in 0..3 {
            let d: f32 = (0..5).map(|j| (x.data()[n * 5 + j] - c.data()[u * 5 + j]).powi(2)).sum();
            assert!((y.data()[n * 3 + u] + d).abs() < 1e-4, "{} vs -{d}", y.data()[n * 3 + u]);
        }
    }
    // an input at a centre scores 0, the best possible
    let at = Tensor::from_vec(c.data()[5..10].to_vec(), &[1, 5]).unwrap();
    assert!(forward(&out, &at).data()[1].abs() < 1e-5);
    assert!(Rbf::new(3).build(&[2, 2], &mut rng).is_err(), "needs flat input");
    check_layer_gradients(&mut out, &x, 2e-3);
}

#[test]
fn spec_files_take_the_new_layers() {
    let dir = std::env::temp_dir().join(format!("strata-classic-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("maxout_conv.toml");
    std::fs::write(
        &path,
        r#"
[[layers]]
type = "conv2d"
filters = 8
kernel = 3
padding = 1

[[layers]]
type = "channel_maxout"
pieces = 2

[[layers]]
type = "pool2d"
pool = "min"
window = 2

[[layers]]
type = "locally_connected2d"
filters = 3
kernel = 3

[[layers]]
type = "sparse_conv2d"
table = [[0, 1], [1, 2], [0, 2]]
kernel = 3
activation = "scaled_tanh"

[[layers]]
type = "subsampling2d"
activation = "scaled_tanh"

[[layers]]
type = "flatten"

[[layers]]
type = "rbf"
units = 10
"#,
    )
    .unwrap();
    let mut choice = strata::zoo::choose(path.to_str().unwrap(), &[1, 16, 16], 10, 1).unwrap();
    let s = choice.model.summary().unwrap();
    let shapes: Vec<Vec<usize>> = s.layers.iter().map(|r| r.output_shape.clone()).collect();
    assert_eq!(
        shapes,
        vec![vec![8, 16, 16], vec![4, 16, 16], vec![4, 8, 8], vec![3, 6, 6], vec![3, 4, 4], vec![3, 2, 2], vec![12], vec![10]]
    );
    let kinds: Vec<&str> = s.layers.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["Conv2d", "ChannelMaxout", "MinPool2d", "LocallyConnected2d", "SparseConv2d", "Subsampling2d", "Flatten", "Rbf"]
    );
    // a misspelt field is named
    std::fs::write(dir.join("bad.toml"), "[[layers]]\ntype = \"channel_maxout\"\npeices = 2\n").unwrap();
    let err = strata::zoo::choose(dir.join("bad.toml").to_str().unwrap(), &[4, 8, 8], 10, 1).err().unwrap().to_string();
    assert!(err.contains("peices"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lenet5_1998_has_the_papers_layers_and_parameter_count() {
    let mut choice = strata::zoo::choose("lenet5-1998", &[1, 28, 28], 10, 1).unwrap();
    let s = choice.model.summary().unwrap();
    let params: Vec<usize> = s.layers.iter().map(|r| r.params).collect();
    // C1, S2, C3, S4, C5, flatten, F6 as the paper counts them, then the learned RBF centres
    assert_eq!(params, vec![156, 12, 1_516, 32, 48_120, 0, 10_164, 840]);
    assert_eq!(params[..7].iter().sum::<usize>(), 60_000);
    assert_eq!(s.params, 60_840);
    let shapes: Vec<Vec<usize>> = s.layers.iter().map(|r| r.output_shape.clone()).collect();
    assert_eq!(shapes[..5], [vec![6, 28, 28], vec![6, 14, 14], vec![16, 10, 10], vec![16, 5, 5], vec![120, 1, 1]]);
    assert!(choice.notes.iter().any(|n| n.contains("bitmaps")), "{:?}", choice.notes);
}
