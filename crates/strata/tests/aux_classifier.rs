//! Auxiliary classifiers (GoogLeNet's side heads): their weighted loss joins training and
//! is reported apart, inference skips them, `aux_weight` overrides their weight, they save
//! and load with the model, and googlenet-aux trains on small inputs.

use strata::autograd::Tape;
use strata::layers;
use strata::model::{load_model, save_model};
use strata::nn::{AuxClassifier, Conv2d, Dense, Flatten, ForwardCtx};
use strata::prelude::*;

/// conv -> [aux head: flatten, dense 3] -> flatten -> dense 3.
fn tiny(seed: u64) -> Sequential {
    let mut m = Sequential::new()
        .seed(seed)
        .add(Conv2d::new(2, 3).activation(Activation::Tanh))
        .add(AuxClassifier::new(layers![Flatten, Dense::new(3)]).weight(0.3))
        .add(Flatten)
        .add(Dense::new(3));
    m.build(&[1, 5, 5]).unwrap();
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    m
}

fn batch(seed: u64) -> strata::data::Batch {
    let x = Tensor::rand_normal(&[6, 1, 5, 5], 0.0, 1.0, &mut Rng::seeded(seed));
    strata::data::Batch { inputs: x, targets: Target::Classes { labels: vec![0, 1, 2, 0, 1, 2], num_classes: 3 } }
}

/// Mean softmax cross-entropy of `logits` [N, K] for `labels`, written out.
fn cross_entropy(logits: &Tensor, labels: &[u32]) -> f32 {
    let k = logits.shape()[1];
    let rows = logits.data().chunks(k);
    let sum: f32 = rows
        .zip(labels)
        .map(|(r, &y)| {
            let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            (r.iter().map(|v| (v - m).exp()).sum::<f32>()).ln() + m - r[y as usize]
        })
        .sum();
    sum / labels.len() as f32
}

#[test]
fn the_heads_weighted_loss_is_reported_and_inference_skips_the_head() {
    let mut m = tiny(1);
    let b = batch(2);
    // the head's logits, computed by hand from its layers: conv -> flatten -> dense
    let layers = m.layers();
    let tape = Tape::new();
    let mut ctx = ForwardCtx::eval(&tape);
    let h = layers[0].forward(&tape.input(b.inputs.clone()), &mut ctx).unwrap();
    let head = layers[1].children();
    let flat = head[0].layer.forward(&h, &mut ctx).unwrap();
    let logits = head[1].layer.forward(&flat, &mut ctx).unwrap().into_value();
    let labels = [0, 1, 2, 0, 1, 2];
    let want = 0.3 * cross_entropy(&logits, &labels);
    // inference: changing the head's weights changes nothing
    let before = m.predict(&b.inputs).unwrap();
    let out = m.train_step(&b).unwrap();
    let got = out.aux_loss.expect("an aux loss");
    assert!((got - want).abs() < 1e-4 * (1.0 + want), "aux loss {got} vs {want}");
    let mut other = tiny(1);
    // parameters: conv weight and bias, the head's dense weight and bias, the output's
    for p in other.params_mut().into_iter().skip(2).take(2) {
        p.value = p.value.scale(-3.0);
    }
    assert_eq!(other.predict(&b.inputs).unwrap(), before, "the head does not touch predictions");
    // the main loss stays the output's own
    let tape = Tape::new();
    let mut ctx = ForwardCtx::eval(&tape);
    let main = tiny(1).forward(&tape.input(b.inputs.clone()), &mut ctx).unwrap().into_value();
    assert!((out.loss - cross_entropy(&main, &labels)).abs() < 1e-4, "loss {} is the output's", out.loss);
}

#[test]
fn aux_weight_zero_leaves_the_head_untouched_and_a_weight_scales_its_loss() {
    let b = batch(3);
    let head_values = |m: &Sequential| -> Vec<Tensor> { m.layers()[1].params().iter().map(|p| p.value.clone()).collect() };
    // fit with aux_weight 0: the head gets no gradient, the rest trains
    let mut m = tiny(4);
    let start = head_values(&m);
    let data = Dataset::new(b.inputs.clone(), b.targets.clone()).unwrap();
    let h = m.fit(&data, FitOptions::epochs(2).batch_size(3).aux_weight(0.0).silent()).unwrap();
    assert_eq!(head_values(&m), start, "weight 0: the head does not move");
    assert!(h.epochs.iter().all(|e| e.aux_loss == Some(0.0)), "{:?}", h.epochs);
    // weight 0.6 doubles the 0.3 head's term on the same first step
    let (mut a, mut c) = (tiny(5), tiny(5));
    let first = a.train_step(&b).unwrap().aux_loss.unwrap();
    let h = c.fit(&data, FitOptions::epochs(1).batch_size(6).shuffle(false).aux_weight(0.6).silent()).unwrap();
    let doubled = h.epochs[0].aux_loss.unwrap();
    assert!((doubled - 2.0 * first).abs() < 1e-4 * (1.0 + first), "{doubled} vs 2 x {first}");
    assert!(c.fit(&data, FitOptions::epochs(1).aux_weight(-1.0).silent()).is_err());
    // a network without heads has no aux loss in its history (nor in its JSON)
    let mut plain = Sequential::new().seed(1).add(Flatten).add(Dense::new(3));
    plain.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let h = plain.fit(&data, FitOptions::epochs(1).batch_size(6).silent()).unwrap();
    assert_eq!(h.epochs[0].aux_loss, None);
    assert!(!serde_json::to_string(&h).unwrap().contains("aux_loss"));
}

#[test]
fn heads_save_and_load_with_the_model() {
    let mut m = tiny(6);
    m.train_step(&batch(7)).unwrap();
    let dir = std::env::temp_dir().join(format!("strata-aux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    save_model(&m, &path, None, None).unwrap();
    let back = load_model(&path).unwrap().model;
    let names = |m: &Sequential| -> Vec<(String, Tensor)> {
        m.layers().iter().flat_map(|l| l.named_params().into_iter().map(|(n, p)| (n, p.value.clone()))).collect()
    };
    assert_eq!(names(&back), names(&m));
    assert!(
        names(&m).iter().any(|(n, _)| n == "head.1.dense.weight"),
        "{:?}",
        names(&m).iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn googlenet_aux_trains_on_small_inputs_with_its_aux_losses_in_the_history() {
    for input in [[1, 28, 28], [3, 32, 32]] {
        let mut choice = strata::zoo::choose("googlenet-aux", &input, 10, 1).unwrap();
        let s = choice.model.summary().unwrap();
        // both heads pool to 4x4 maps before their 1x1 convolution
        let pooled: Vec<&Vec<usize>> =
            s.layers.iter().filter(|r| r.name.starts_with("head.0") && r.kind == "AvgPool2d").map(|r| &r.output_shape).collect();
        assert_eq!(pooled.len(), 2, "{input:?}");
        assert!(pooled.iter().all(|s| s[1..] == [4, 4]), "{input:?}: {pooled:?}");
    }
    let mut model = strata::zoo::choose("googlenet-aux", &[1, 28, 28], 10, 1).unwrap().model;
    model.compile(Sgd::new(0.01).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let x = Tensor::rand_normal(&[8, 1, 28, 28], 0.0, 1.0, &mut Rng::seeded(2));
    let data = Dataset::new(x.clone(), Target::Classes { labels: (0..8).map(|i| i % 10).collect(), num_classes: 10 }).unwrap();
    let h = model.fit(&data, FitOptions::epochs(1).batch_size(4).silent()).unwrap();
    let aux = h.epochs[0].aux_loss.expect("aux losses in the history");
    // two heads of weight 0.3 near ln(10) each at the start
    assert!(aux.is_finite() && aux > 0.3 && aux < 3.0, "aux loss {aux}");
    assert!(serde_json::to_value(&h).unwrap()["epochs"][0]["aux_loss"].is_number());
    // inference on small inputs skips the heads
    assert_eq!(model.predict(&x).unwrap().shape(), &[8, 10]);
}
