//! ONNX import: every zoo network exported by strata and read back gives the same logits
//! (a round trip through every layer mapping), standardization in the graph comes back as
//! the model's, hand-built graphs in PyTorch's forms (Gemm with transB, the shape
//! arithmetic of a view, a batch-first LSTM's transposes and last-step Gather), and
//! refusals: unsupported ops (among them an exported locally connected layer's Pad and
//! ReduceSum), a non-image input, weights of the wrong dtype, a truncated file.

use prost::Message;
use std::path::Path;
use strata::Rng;
use strata::data::normalize::Standardizer;
use strata::loss::Loss;
use strata::model::{SavedModel, Sequential, model_meta};
use strata::nn::LocallyConnected2d;
use strata::onnx::proto::{self, ModelProto};
use strata::onnx::{ExportOptions, import_bytes, to_onnx_bytes};
use strata::prelude::*;

/// `model` built for `input`, its weights and batch-norm statistics randomized (so every
/// tensor's layout matters), as a saved model.
fn saved(mut model: Sequential, input: &[usize], standardize: Option<Standardizer>) -> SavedModel {
    model.build(input).unwrap();
    model.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let mut rng = Rng::seeded(7);
    for layer in model.layers_mut() {
        for (name, value) in layer.named_buffers() {
            let v: Vec<f32> = value
                .data()
                .iter()
                .map(|_| if name.ends_with("var") { 0.5 + rng.uniform() } else { rng.uniform() - 0.5 })
                .collect();
            layer.set_buffer(&name, Tensor::from_vec(v, value.shape()).unwrap()).unwrap();
        }
        for (_, p) in layer.named_params_mut() {
            let v: Vec<f32> = p.value.data().iter().map(|&w| w + 0.1 * (rng.uniform() - 0.5)).collect();
            p.value = Tensor::from_vec(v, p.value.shape()).unwrap();
        }
    }
    let meta = model_meta(&model, standardize, Some((0..10).map(|i| format!("c{i}")).collect())).unwrap();
    SavedModel { model, meta }
}

fn batch(input: &[usize], n: usize) -> Tensor {
    let mut rng = Rng::seeded(3);
    let mut shape = vec![n];
    shape.extend(input);
    let len: usize = shape.iter().product();
    Tensor::from_vec((0..len).map(|_| rng.uniform()).collect(), &shape).unwrap()
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.data().iter().zip(b.data()).map(|(x, y)| (x - y).abs() / (1.0 + x.abs().max(y.abs()))).fold(0.0, f32::max)
}

/// Exports, imports, and compares the logits on a batch (standardized as the model says).
fn round_trip(s: &SavedModel, input: &[usize]) -> SavedModel {
    let bytes = to_onnx_bytes(s, &ExportOptions::default()).unwrap();
    let back = import_bytes(&bytes, Path::new("back.onnx")).unwrap_or_else(|e| panic!("{}: {e}", s.meta.name));
    let x = batch(input, 3);
    let prep = |st: &Option<Standardizer>| {
        let mut x = x.clone();
        if let Some(st) = st {
            st.apply(&mut x).unwrap();
        }
        x
    };
    let want = s.model.predict_logits(&prep(&s.meta.standardize)).unwrap();
    let got = back.model.predict_logits(&prep(&back.meta.standardize)).unwrap();
    let d = max_rel_diff(&want, &got);
    assert!(d < 1e-4, "{}: logits differ by {d}", s.meta.name);
    assert_eq!(back.meta.class_names, s.meta.class_names);
    assert_eq!(back.meta.input_shape, s.meta.input_shape);
    back
}

#[test]
fn every_small_zoo_network_round_trips_through_onnx() {
    // The 28x28 networks of the zoo (the ImageNet-sized ones map the same layers).
    for name in ["mlp", "lenet5", "lenet5-classic", "cnn", "nin", "resnet20", "googlenet", "rnn", "lstm", "gru"] {
        let choice = strata::zoo::choose(name, &[1, 28, 28], 10, 0).unwrap();
        let s = saved(choice.model, &[1, 28, 28], None);
        round_trip(&s, &[1, 28, 28]);
    }
}

#[test]
fn standardization_in_the_graph_comes_back_as_the_models() {
    let choice = strata::zoo::choose("lenet5", &[1, 28, 28], 10, 0).unwrap();
    let st = Standardizer { mean: vec![0.286], std: vec![0.353], per_channel: false };
    let s = saved(choice.model, &[1, 28, 28], Some(st.clone()));
    let back = round_trip(&s, &[1, 28, 28]);
    let got = back.meta.standardize.expect("a standardization");
    assert!((got.mean[0] - 0.286).abs() < 1e-6 && (got.std[0] - 0.353).abs() < 1e-6, "{got:?}");
}

#[test]
fn a_truncated_file_is_one_line_naming_it() {
    let choice = strata::zoo::choose("mlp", &[1, 28, 28], 10, 0).unwrap();
    let s = saved(choice.model, &[1, 28, 28], None);
    let bytes = to_onnx_bytes(&s, &ExportOptions::default()).unwrap();
    let err = import_bytes(&bytes[..bytes.len() / 2], Path::new("cut.onnx")).err().unwrap().to_string();
    assert!(err.contains("cut.onnx") && err.contains("not an ONNX model"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

fn mlp_proto() -> ModelProto {
    let choice = strata::zoo::choose("mlp", &[1, 28, 28], 10, 0).unwrap();
    let s = saved(choice.model, &[1, 28, 28], None);
    ModelProto::decode(to_onnx_bytes(&s, &ExportOptions::default()).unwrap().as_slice()).unwrap()
}

#[test]
fn unsupported_ops_wrong_dtypes_and_non_image_inputs_are_refused_by_node() {
    // an op strata does not have
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let relu = g.node.iter_mut().find(|n| n.op_type.as_deref() == Some("Relu")).unwrap();
    relu.op_type = Some("HardSwish".into());
    relu.name = Some("act1".into());
    let err = import_bytes(&m.encode_to_vec(), Path::new("hs.onnx")).err().unwrap().to_string();
    assert!(err.contains("hs.onnx") && err.contains("node 'act1' (op HardSwish, opset 17) is not supported"), "{err}");
    // float64 weights
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let w = g.initializer.iter_mut().find(|t| t.dims.len() == 2).unwrap();
    let wname = w.name.clone().unwrap();
    let vals: Vec<f64> =
        w.raw_data.as_ref().unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect();
    w.raw_data = Some(vals.iter().flat_map(|v| v.to_le_bytes()).collect());
    w.data_type = Some(11);
    let err = import_bytes(&m.encode_to_vec(), Path::new("f64.onnx")).err().unwrap().to_string();
    assert!(err.contains("f64.onnx") && err.contains("node '") && err.contains(&wname) && err.contains("float64"), "{err}");
    // an input that is not an image
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    if let Some(proto::type_proto::Value::TensorType(t)) = g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut()) {
        t.elem_type = Some(proto::INT64);
    }
    let err = import_bytes(&m.encode_to_vec(), Path::new("ids.onnx")).err().unwrap().to_string();
    assert!(err.contains("ids.onnx") && err.contains("int64") && err.contains("not an image"), "{err}");
}

/// The PyTorch-made fixtures of the CLI tests (`scripts/make-onnx-fixtures.py`).
fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../strata-cli/tests/data/onnx-torch")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn pytorch_exports_give_pytorchs_logits() {
    let images = json(&fixtures().join("first16-test-images.json"));
    let pixels: Vec<f32> = images["pixels_u8"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|img| img.as_array().unwrap().iter().flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])))
        .map(|v| v.as_f64().unwrap() as f32 / 255.0)
        .collect();
    let x = Tensor::from_vec(pixels, &[16, 1, 28, 28]).unwrap();
    for name in ["mlp", "lenet5", "lenet5_normalized", "resnet_bn_folded", "resnet_bn_node", "lstm", "gru"] {
        let saved = strata::onnx::import_file(&fixtures().join(format!("{name}.onnx"))).unwrap();
        let expected = json(&fixtures().join(format!("{name}.expected.json")));
        let mut input = x.clone();
        if let Some(n) = expected["input_normalization"].as_object() {
            let v = |k: &str| n[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<_>>();
            Standardizer { mean: v("mean"), std: v("std"), per_channel: false }.apply(&mut input).unwrap();
        }
        let got = saved.model.predict_logits(&input).unwrap();
        let want: Vec<f32> = expected["first_test_logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
            .collect();
        assert_eq!(got.data().len(), want.len(), "{name}");
        let worst = got.data().iter().zip(&want).map(|(g, w)| (g - w).abs() / w.abs().max(1.0)).fold(0.0, f32::max);
        println!("{name}: largest logit difference {worst:.2e} (relative, floor 1)");
        assert!(worst < 1e-4, "{name}: logits differ by {worst}");
        assert_eq!(saved.meta.name, name);
        assert_eq!(saved.meta.input_shape, [1, 28, 28]);
        assert_eq!(saved.meta.num_classes, Some(10));
    }
}

#[test]
fn pytorch_graphs_become_strata_layers() {
    let kinds = |name: &str| -> Vec<String> {
        let s = strata::onnx::import_file(&fixtures().join(format!("{name}.onnx"))).unwrap();
        s.model.layers().iter().map(|l| l.spec().variant().to_string()).collect()
    };
    assert_eq!(kinds("mlp"), ["Flatten", "Dense", "Dense", "Dense"]);
    assert_eq!(kinds("lenet5"), ["Conv2d", "Pool2d", "Conv2d", "Pool2d", "Flatten", "Dense", "Dense", "Dense"]);
    assert_eq!(kinds("lstm"), ["Unflatten", "Lstm", "Dense"]);
    assert_eq!(kinds("gru"), ["Unflatten", "Gru", "Dense"]);
    let resnet = kinds("resnet_bn_node");
    assert!(resnet.iter().filter(|k| *k == "Residual").count() == 3, "{resnet:?}");
    let s = strata::onnx::import_file(&fixtures().join("lstm.onnx")).unwrap();
    match s.model.layers()[1].spec() {
        strata::nn::LayerSpec::Lstm(c) => assert!(!c.return_sequences, "the last-step Gather folds into the layer"),
        other => panic!("{other:?}"),
    }
}

/// A locally connected layer exports as Slices, Concat, Mul, ReduceSum (and Pad) on
/// activations, which the import does not read back as a layer: it refuses the file in one
/// line naming a node, as for any graph it cannot represent.
#[test]
fn an_exported_locally_connected_layer_is_refused_in_one_line() {
    for layer in [LocallyConnected2d::new(3, 3), LocallyConnected2d::new(3, 3).padding(1).stride(2)] {
        let s = saved(Sequential::new().add(layer).add(Flatten).add(Dense::new(10)), &[1, 8, 8], None);
        let bytes = to_onnx_bytes(&s, &ExportOptions::default()).unwrap();
        let err = import_bytes(&bytes, Path::new("lc.onnx")).err().unwrap().to_string();
        eprintln!("{err}");
        assert!(err.contains("lc.onnx") && err.contains("node '") && err.contains("is not supported"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
