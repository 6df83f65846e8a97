//! The Keras-style model API end to end on small generated data.

use strata::model::{load_model, save_model};
use strata::prelude::*;

/// Two Gaussian blobs per class in 2-D: linearly inseparable for 4 classes arranged as XOR.
fn blobs(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seeded(seed);
    let centers = [(-1.0, -1.0, 0), (1.0, 1.0, 0), (-1.0, 1.0, 1), (1.0, -1.0, 1)];
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let (cx, cy, label) = centers[i % 4];
        x.push(cx + rng.normal(0.0, 0.3));
        x.push(cy + rng.normal(0.0, 0.3));
        y.push(label);
    }
    Dataset::new(Tensor::from_vec(x, &[n, 2]).unwrap(), Target::Classes { labels: y, num_classes: 2 }).unwrap()
}

fn model(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Dense::new(16).input_dim(2).activation(Relu))
        .add(Dense::new(16).activation(Tanh))
        .add(Dense::new(2).activation(Softmax))
}

#[test]
fn fit_learns_a_nonlinear_problem_and_reports_history() {
    let (train, test) = (blobs(400, 1), blobs(200, 2));
    let mut m = model(3);
    m.compile(Sgd::new(0.1).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let h = m.fit(&train, FitOptions::epochs(20).batch_size(32).validation(&test).silent()).unwrap();
    assert_eq!(h.epochs.len(), 20);
    assert!(h.epochs[19].loss < h.epochs[0].loss * 0.5, "loss did not fall: {:?}", h.epochs);
    let e = m.evaluate(&test, 64).unwrap();
    assert!(e.accuracy.unwrap() > 0.95, "accuracy {:?}", e.accuracy);
    assert_eq!(h.epochs[19].val_accuracy, e.accuracy);
    assert!(h.to_csv().lines().count() == 21);
    // predict gives probabilities (the softmax is applied outside training)
    let p = m.predict(&test.inputs).unwrap();
    assert_eq!(p.shape(), &[200, 2]);
    assert!(p.data().chunks(2).all(|r| (r[0] + r[1] - 1.0).abs() < 1e-5));
}

#[test]
fn same_seed_same_training() {
    let train = blobs(128, 1);
    let run = || {
        let mut m = model(5).add(Dropout::new(0.2));
        m.compile(Sgd::new(0.05).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
        m.fit(&train, FitOptions::epochs(3).batch_size(16).silent()).unwrap();
        m.params().iter().map(|p| p.value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn summary_counts_params_and_macs() {
    let mut m = model(0);
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[]);
    let s = m.summary().unwrap();
    assert_eq!(s.params, (2 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2));
    assert_eq!(s.macs, 2 * 16 + 16 * 16 + 16 * 2);
    assert_eq!(s.layers[2].output_shape, vec![2]);
    assert!(s.to_string().contains("Total params: 354"), "{s}");
}

#[test]
fn save_and_load_reproduce_predictions() {
    let train = blobs(64, 1);
    let mut m = model(9);
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    m.fit(&train, FitOptions::epochs(2).batch_size(16).silent()).unwrap();
    let dir = std::env::temp_dir().join(format!("strata-save-{}", std::process::id()));
    let path = dir.join("m.safetensors");
    save_model(&m, &path, None, None).unwrap();
    let mut loaded = load_model(&path).unwrap().model;
    assert_eq!(loaded.predict(&train.inputs).unwrap(), m.predict(&train.inputs).unwrap());
    // the description travels inside the weights file: a stale model.json beside it changes nothing
    let other = dir.join("o.safetensors");
    let mut small = Sequential::new().add(Dense::new(3).input_dim(2));
    small.compile(Sgd::new(0.1), Loss::Mse, &[]);
    save_model(&small, &other, None, None).unwrap();
    std::fs::copy(dir.join("o.json"), dir.join("m.json")).unwrap();
    assert_eq!(load_model(&path).unwrap().model.num_params(), m.num_params());
    // a weights file of the older format (description only in model.json) that does not
    // match that description is refused, naming the file
    let tensors = strata::io::load_tensors(&other).unwrap();
    strata::io::save_tensors(&path, &tensors, None).unwrap();
    std::fs::copy(dir.join("o.json"), dir.join("m.json")).unwrap();
    assert_eq!(load_model(&path).unwrap().model.num_params(), small.num_params(), "old format, consistent pair");
    let m_json = serde_json::to_string(&strata::model::load_model(&other).unwrap().meta).unwrap();
    let mut wrong: serde_json::Value = serde_json::from_str(&m_json).unwrap();
    wrong["layers"][0]["units"] = serde_json::json!(4);
    std::fs::write(dir.join("m.json"), wrong.to_string()).unwrap();
    let err = load_model(&path).err().expect("mismatch must fail").to_string();
    assert!(err.contains("m.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn training_errors_are_values() {
    let train = blobs(16, 1);
    let mut m = model(0);
    // fit before compile
    assert!(m.fit(&train, FitOptions::epochs(1).silent()).is_err());
    // a huge learning rate on a regression diverges: an error naming the epoch, not silent NaN weights
    let mut reg = Sequential::new().add(Dense::new(8).input_dim(2)).add(Dense::new(1));
    reg.compile(Sgd::new(1e3), Loss::Mse, &[]);
    let targets = Target::Values(Tensor::full(&[16, 1], 3.0));
    let data = Dataset::new(train.inputs.clone(), targets).unwrap();
    let err = reg.fit(&data, FitOptions::epochs(50).batch_size(4).silent()).unwrap_err().to_string();
    assert!(err.contains("diverged") && err.contains("epoch"), "{err}");
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[]);
    m.build(&[2]).unwrap();
    // wrong input width
    let bad = Dataset::new(Tensor::zeros(&[4, 3]), Target::Classes { labels: vec![0; 4], num_classes: 2 }).unwrap();
    assert!(m.evaluate(&bad, 4).is_err());
}

/// Found by the `model` fuzz target: a saved conv2d with `"stride": 0` and `"padding":
/// "same"` divided by zero while the network was built. Now an error naming the file.
#[test]
fn fuzz_regression_conv_stride_zero_with_same_padding() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz/model-conv-stride0-same.safetensors");
    let err = load_model(&path).err().expect("a stride of 0 is refused").to_string();
    assert!(err.contains("model-conv-stride0-same.safetensors") && err.contains("stride"), "{err}");
}
