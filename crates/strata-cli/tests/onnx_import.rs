//! ONNX import from the command line, on networks built and trained in PyTorch
//! (`tests/data/onnx-torch`, made by `scripts/make-onnx-fixtures.py`): `eval` gives
//! PyTorch's test accuracy, `predict` its classes, `summary` the imported layers, `train
//! --model net.onnx` fine-tunes and saves a strata model that exports to an equivalent
//! ONNX file; bad files fail in one line naming the file and the node.

mod common;
use common::*;
use prost::Message;
use strata::onnx::proto::{self, ModelProto};

fn torch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx-torch").join(name)
}

fn expected(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(torch(&format!("{name}.expected.json"))).unwrap()).unwrap()
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = strata(args);
    assert_eq!(code, 0, "strata {args:?} failed: {err}");
    last_json(&out)
}

/// `--normalize` as the fixture's JSON gives it, if any.
fn normalize_flag(e: &serde_json::Value) -> Option<String> {
    let n = e["input_normalization"].as_object()?;
    let join = |k: &str| n[k].as_array().unwrap().iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    Some(format!("{}/{}", join("mean"), join("std")))
}

#[test]
fn eval_gives_pytorchs_test_accuracy_on_every_fixture() {
    if !dataset_present() {
        return;
    }
    for name in ["mlp", "lenet5", "lenet5_normalized", "resnet_bn_folded", "resnet_bn_node", "lstm", "gru"] {
        let e = expected(name);
        let file = torch(&format!("{name}.onnx"));
        let mut args = vec!["eval", "--model-file", file.to_str().unwrap(), "--data", "fashion-mnist", "--json"];
        let norm = normalize_flag(&e);
        if let Some(n) = &norm {
            args.extend(["--normalize", n.as_str()]);
        }
        let r = ok_json(&args);
        let (got, want) = (r["test_accuracy"].as_f64().unwrap(), e["test_accuracy"].as_f64().unwrap());
        assert!((got - want).abs() <= 0.001, "{name}: strata {got} vs PyTorch {want}");
        assert_eq!(r["model"], name);
    }
}

/// The first 16 test images as an IDX file.
fn first16(dir: &Path) -> PathBuf {
    let images: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(torch("first16-test-images.json")).unwrap()).unwrap();
    let px: Vec<u8> = images["pixels_u8"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|img| img.as_array().unwrap().iter().flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])))
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    let path = dir.join("first16-idx3-ubyte");
    write_idx_u8(&path, &[16, 28, 28], &px, false).unwrap();
    path
}

#[test]
fn predict_gives_pytorchs_classes_and_summary_lists_the_imported_layers() {
    let dir = temp_dir("onnx-predict");
    let images = first16(&dir);
    for name in ["lenet5", "lstm", "resnet_bn_folded"] {
        let e = expected(name);
        let file = torch(&format!("{name}.onnx"));
        let r = ok_json(&["predict", "--model-file", file.to_str().unwrap(), images.to_str().unwrap(), "--json"]);
        let rows = r["predictions"].as_array().unwrap();
        assert_eq!(rows.len(), 16);
        for (row, logits) in rows.iter().zip(e["first_test_logits"].as_array().unwrap()) {
            let l: Vec<f64> = logits.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let best = (0..l.len()).max_by(|&a, &b| l[a].total_cmp(&l[b])).unwrap();
            assert_eq!(row["class"].as_u64().unwrap() as usize, best, "{name}: {row}");
        }
    }
    let file = torch("resnet_bn_node.onnx");
    let s = ok_json(&["summary", "--model", file.to_str().unwrap(), "--json"]);
    assert_eq!(s["params"], 38_266, "{s}");
    let text = s.to_string();
    assert!(text.contains("Residual") && text.contains("BatchNorm") && text.contains("GlobalAvgPool2d"), "{text}");
}

#[test]
fn train_fine_tunes_an_imported_network_which_exports_again() {
    if !dataset_present() {
        return;
    }
    let dir = temp_dir("onnx-train");
    let run = dir.join("run");
    let file = torch("lenet5.onnx");
    let r = ok_json(&[
        "train",
        "--model",
        file.to_str().unwrap(),
        "--data",
        "fashion-mnist",
        "--epochs",
        "1",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    let before = expected("lenet5")["test_accuracy"].as_f64().unwrap();
    let after = r["test_accuracy"].as_f64().unwrap();
    assert!(after >= before, "fine-tuning lost accuracy: {before} -> {after}");
    // the saved strata model takes [0, 1] pixels, as the imported one did
    let weights = run.join("model.safetensors");
    let meta = std::fs::read_to_string(run.join("model.json")).unwrap();
    assert!(meta.contains("\"standardize\": null"), "{meta}");
    // and exports to an ONNX file that evaluates the same
    let back = dir.join("back.onnx");
    let (code, _, err) = strata(&["export", "--model-file", weights.to_str().unwrap(), "--out", back.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let eval = |f: &Path| ok_json(&["eval", "--model-file", f.to_str().unwrap(), "--data", "fashion-mnist", "--json"]);
    let (a, b) = (eval(&weights), eval(&back));
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    assert!((a["test_loss"].as_f64().unwrap() - b["test_loss"].as_f64().unwrap()).abs() < 1e-4, "{a} vs {b}");
    assert!((a["test_accuracy"].as_f64().unwrap() - after).abs() < 1e-6);
}

#[test]
fn normalize_is_saved_with_a_fine_tuned_model_and_refused_where_it_does_not_apply() {
    let dir = temp_dir("onnx-normalize");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // ten 28x28 images of ten classes, for a quick run
    let px: Vec<u8> = (0..10 * 784).map(|i| (i * 37 % 251) as u8).collect();
    write_idx_u8(&data.join("train-images-idx3-ubyte"), &[10, 28, 28], &px, false).unwrap();
    write_idx_u8(&data.join("train-labels-idx1-ubyte"), &[10], &(0..10).collect::<Vec<u8>>(), false).unwrap();
    write_idx_u8(&data.join("t10k-images-idx3-ubyte"), &[10, 28, 28], &px, false).unwrap();
    write_idx_u8(&data.join("t10k-labels-idx1-ubyte"), &[10], &(0..10).collect::<Vec<u8>>(), false).unwrap();
    let file = torch("lenet5_normalized.onnx");
    let run = dir.join("run");
    let (f, d, o) = (file.to_str().unwrap(), data.to_str().unwrap(), run.to_str().unwrap());
    ok_json(&["train", "--model", f, "--normalize", "0.2860/0.3530", "--data", d, "--epochs", "1", "--out", o, "--json"]);
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("model.json")).unwrap()).unwrap();
    assert_eq!(meta["standardize"]["mean"][0].as_f64().unwrap() as f32, 0.286, "{meta}");
    assert_eq!(meta["standardize"]["std"][0].as_f64().unwrap() as f32, 0.353, "{meta}");
    // three values for a one-channel network
    let (code, _, err) = strata(&["eval", "--model-file", f, "--data", d, "--normalize", "0.4,0.4,0.4/0.2,0.2,0.2"]);
    assert_clean_failure(code, &err, "--normalize");
    // a strata model carries its own
    let weights = run.join("model.safetensors");
    let (code, _, err) = strata(&["eval", "--model-file", weights.to_str().unwrap(), "--data", d, "--normalize", "0.5/0.5"]);
    assert_clean_failure(code, &err, "model.safetensors");
    let (code, _, err) = strata(&["eval", "--model-file", f, "--data", d, "--normalize", "0.5"]);
    assert_clean_failure(code, &err, "--normalize");
}

/// `mlp.onnx` decoded, to edit.
fn mlp_proto() -> ModelProto {
    ModelProto::decode(std::fs::read(torch("mlp.onnx")).unwrap().as_slice()).unwrap()
}

#[test]
fn bad_files_fail_in_one_line_naming_the_file_and_the_node() {
    let dir = temp_dir("onnx-bad");
    let fail = |path: &Path, culprits: &[&str]| {
        let (code, _, err) = strata(&["eval", "--model-file", path.to_str().unwrap(), "--data", "fashion-mnist"]);
        for c in culprits {
            assert_clean_failure(code, &err, c);
        }
    };
    // truncated
    let bytes = std::fs::read(torch("lenet5.onnx")).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    fail(&cut, &["cut.onnx", "not an ONNX model"]);
    // an operator strata does not have
    fail(&torch("unsupported.onnx"), &["unsupported.onnx", "node '/HardSwish' (op HardSwish, opset 17) is not supported"]);
    // an input that is not an image: token ids
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    if let Some(proto::type_proto::Value::TensorType(t)) = g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut()) {
        t.elem_type = Some(proto::INT64);
    }
    let ids = dir.join("ids.onnx");
    std::fs::write(&ids, m.encode_to_vec()).unwrap();
    fail(&ids, &["ids.onnx", "input 'input' is int64", "not an image"]);
    // float64 weights in the first Gemm
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let gemm = g.node.iter().find(|n| n.op_type.as_deref() == Some("Gemm")).unwrap().clone();
    let w = g.initializer.iter_mut().find(|t| t.name.as_ref() == Some(&gemm.input[1])).unwrap();
    let raw = w.raw_data.take().unwrap_or_default();
    let f32s: Vec<f32> = if raw.is_empty() {
        w.float_data.clone()
    } else {
        raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    };
    w.float_data.clear();
    w.raw_data = Some(f32s.iter().flat_map(|&v| (v as f64).to_le_bytes()).collect());
    w.data_type = Some(11);
    let f64s = dir.join("f64.onnx");
    std::fs::write(&f64s, m.encode_to_vec()).unwrap();
    let node = format!("node '{}' (op Gemm, opset 17)", gemm.name.clone().unwrap());
    fail(&f64s, &["f64.onnx", &node, "float64"]);
}
