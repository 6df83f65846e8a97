//! `strata export`: every zoo model and the README's networks, plus spec files covering each
//! layer type, exported to ONNX and run in onnxruntime on the same inputs as strata; the
//! outputs (logits) must agree to 1e-4 relative to their scale. The onnxruntime check runs
//! when `.venv-onnx` exists (`make test` creates it); otherwise it says so and checks only
//! that the export succeeds.

mod common;
use common::*;
use strata::data::normalize::Standardizer;
use strata::model::{load_model, save_model};
use strata::nn::ForwardCtx;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the onnxruntime environment, if `make` made it.
fn onnx_python() -> Option<PathBuf> {
    let p = root().join(".venv-onnx/bin/python");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: .venv-onnx not found; skipping the onnxruntime comparison (make test creates it)");
        None
    }
}

/// Writes `t` as a float32 .npy file.
fn write_npy(path: &Path, t: &Tensor) {
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = if shape.len() == 1 { format!("({},)", shape[0]) } else { format!("({})", shape.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(t.data().iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// Builds `model` (a zoo name or spec file) for `input`, moves batch-norm statistics off
/// their initial values with training-mode passes, saves it with `standardize` and class
/// names, exports it with `strata export`, and compares onnxruntime's logits with strata's
/// on `x` ([0, 1] pixels or token ids). Returns the relative difference printed by the
/// check, or `None` when onnxruntime is not installed.
fn check(
    dir: &Path,
    model: &str,
    input: &[usize],
    classes: usize,
    x: &Tensor,
    standardize: Option<Standardizer>,
) -> Option<String> {
    check_with(dir, model, input, classes, x, standardize, &[])
}

/// [`check`] with more `strata export` flags (`--opset N`, `--softmax`: then the outputs
/// compared are the class probabilities).
fn check_with(
    dir: &Path,
    model: &str,
    input: &[usize],
    classes: usize,
    x: &Tensor,
    standardize: Option<Standardizer>,
    flags: &[&str],
) -> Option<String> {
    let tag = format!("{}{}", Path::new(model).file_stem().unwrap().to_string_lossy(), flags.join("").replace("--", "-"));
    let choice = strata::zoo::choose(model, input, classes, 7).unwrap_or_else(|e| panic!("{model}: {e}"));
    let mut net = choice.model;
    net.compile(Sgd::new(0.01), choice.loss, &[Metric::Accuracy]);
    let xs = match &standardize {
        Some(s) => s.transform(x).unwrap(),
        None => x.clone(),
    };
    // training-mode passes: batch norm's running statistics move away from 0 and 1
    let mut rng = Rng::seeded(3);
    for _ in 0..3 {
        let tape = strata::autograd::Tape::no_grad();
        let mut ctx = ForwardCtx::train(&tape, &mut rng);
        net.forward(&tape.input(xs.clone()), &mut ctx).unwrap_or_else(|e| panic!("{model}: {e}"));
    }
    compare(dir, &tag, model, &net, classes, x, standardize, flags)
}

/// The second half of [`check_with`]: saves the built `net` under `tag`, exports it and
/// compares onnxruntime's outputs with strata's on `x`.
#[allow(clippy::too_many_arguments)]
fn compare(
    dir: &Path,
    tag: &str,
    model: &str,
    net: &strata::model::Sequential,
    classes: usize,
    x: &Tensor,
    standardize: Option<Standardizer>,
    flags: &[&str],
) -> Option<String> {
    let names: Vec<String> = (0..classes).map(|c| format!("class {c}")).collect();
    let weights = dir.join(tag).join("model.safetensors");
    save_model(net, &weights, standardize, Some(names)).unwrap();
    let onnx = dir.join(format!("{tag}.onnx"));
    let mut args = vec!["export", "--model-file", weights.to_str().unwrap(), "--out", onnx.to_str().unwrap()];
    args.extend(flags);
    let (code, out, err) = strata(&args);
    assert_eq!(code, 0, "{model}: export failed: {err}");
    assert!(out.contains("wrote"), "{out}");
    let python = onnx_python()?;
    // strata's logits from the saved model, as a user would load it
    let saved = load_model(&weights).unwrap();
    let mut xin = x.clone();
    if let Some(s) = &saved.meta.standardize {
        s.apply(&mut xin).unwrap();
    }
    let mut logits = saved.model.predict_logits(&xin).unwrap();
    if flags.contains(&"--softmax") {
        logits = logits.softmax_last().unwrap();
    }
    let (xp, yp) = (dir.join(format!("{tag}.x.npy")), dir.join(format!("{tag}.y.npy")));
    write_npy(&xp, x);
    write_npy(&yp, &logits);
    let out = Command::new(python)
        .arg(root().join("scripts/onnx-check.py"))
        .args([&onnx, &xp, &yp])
        .output()
        .expect("run onnx-check.py");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{model}: onnxruntime disagrees: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{model} {}: {}", flags.join(" "), stdout.trim());
    // the ImageNet networks write up to 220 MB each: keep only the small files
    for f in [&onnx, &xp, &yp, &weights] {
        let _ = std::fs::remove_file(f);
    }
    Some(stdout)
}

/// `n` images of `shape` with pixels in [0, 1].
fn images(n: usize, shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let mut dims = vec![n];
    dims.extend(shape);
    let len = dims.iter().product();
    Tensor::from_vec((0..len).map(|_| rng.uniform()).collect(), &dims).unwrap()
}

/// Every network of the zoo at Fashion-MNIST's input (1x28x28, 10 classes), standardized
/// as `strata train` does (the ImageNet ones too: about 30 s for all on 2 cores).
#[test]
fn zoo_models_match_onnxruntime() {
    let dir = temp_dir("onnx-zoo");
    let x = images(3, &[1, 28, 28], 1);
    for &name in strata::zoo::NAMES {
        // resnet101/152 are resnet50's blocks, only more of them: left out for time
        if ["resnet101", "resnet152"].contains(&name) {
            continue;
        }
        check(&dir, name, &[1, 28, 28], 10, &x, Some(Standardizer::fashion_mnist()));
    }
}

/// Spec files covering every exportable layer type and option.
#[test]
fn layer_types_match_onnxruntime() {
    let dir = temp_dir("onnx-layers");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx");
    let x = images(4, &[1, 28, 28], 2);
    for spec in ["readme_mynet.toml", "pools.toml", "norms.toml", "graphs.toml", "recurrent.toml", "classic.toml"] {
        let path = here.join(spec);
        check(&dir, path.to_str().unwrap(), &[1, 28, 28], 10, &x, Some(Standardizer::fashion_mnist()));
    }
    // the operator sets strata writes (ReduceMax changed form in 18), and probabilities out
    let norms = here.join("norms.toml");
    for flags in [&["--opset", "13"][..], &["--opset", "18", "--softmax"], &["--opset", "21"]] {
        check_with(&dir, norms.to_str().unwrap(), &[1, 28, 28], 10, &x, Some(Standardizer::fashion_mnist()), flags);
    }
    // per-feature standardization, as for a table
    let flat = images(4, &[12], 3);
    let s = Standardizer::fit_per_feature(&images(50, &[12], 4)).unwrap();
    check(&dir, here.join("tabular.toml").to_str().unwrap(), &[12], 3, &flat, Some(s));
    // token ids into an embedding
    let mut rng = Rng::seeded(5);
    let ids = Tensor::from_vec((0..4 * 9).map(|_| rng.below(20) as f32).collect(), &[4, 9]).unwrap();
    check(&dir, here.join("embedding.toml").to_str().unwrap(), &[9], 5, &ids, None);
}

/// Bad input: one line naming the file, no output file.
#[test]
fn export_errors_name_the_file() {
    let dir = temp_dir("onnx-errors");
    let missing = dir.join("nope.safetensors");
    let out = dir.join("x.onnx");
    let (code, _, err) = strata(&["export", "--model-file", missing.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_clean_failure(code, &err, "nope.safetensors");
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    let (code, _, err) = strata(&["export", "--model-file", junk.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_clean_failure(code, &err, "junk.safetensors");
    assert!(!out.exists());
    // a model that exports (a locally connected layer among its layers), with an opset
    // strata does not write
    let lc = dir.join("lc.toml");
    std::fs::write(&lc, "[[layers]]\ntype = \"locally_connected2d\"\nfilters = 2\nkernel = 3\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 3\n").unwrap();
    let mut m = strata::zoo::choose(lc.to_str().unwrap(), &[1, 6, 6], 3, 1).unwrap().model;
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let w = dir.join("lc/model.safetensors");
    save_model(&m, &w, None, None).unwrap();
    // an opset strata does not write
    let (code, _, err) =
        strata(&["export", "--model-file", w.to_str().unwrap(), "--out", out.to_str().unwrap(), "--opset", "11"]);
    assert_clean_failure(code, &err, "opset");
    assert!(!out.exists());
}

/// Locally connected layers (tests/onnx/locally_connected.toml: padding 1 with stride 2 and
/// ReLU, asymmetric "same" padding with stride [2, 1], tanh and no bias, valid padding with
/// leaky ReLU), exported as Pad + strided Slices + Concat + Mul + ReduceSum + Add, with
/// their biases moved off zero so that the bias layout is checked too; at the lowest, the
/// default and the highest opset.
#[test]
fn locally_connected_layers_match_onnxruntime() {
    let dir = temp_dir("onnx-lc");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/locally_connected.toml");
    let spec = spec.to_str().unwrap();
    let mut net = strata::zoo::choose(spec, &[1, 28, 28], 10, 7).unwrap().model;
    net.compile(Sgd::new(0.01), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    for p in net.params_mut() {
        if p.name == "bias" {
            let b: Vec<f32> = (0..p.value.numel()).map(|i| 0.3 * (i as f32 * 0.37).sin()).collect();
            p.value = Tensor::from_vec(b, p.value.shape()).unwrap();
        }
    }
    let x = images(4, &[1, 28, 28], 6);
    for flags in [&["--opset", "13"][..], &[], &["--opset", "21", "--softmax"]] {
        let tag = format!("lc{}", flags.join("").replace("--", "-"));
        compare(&dir, &tag, spec, &net, 10, &x, Some(Standardizer::fashion_mnist()), flags);
    }
}
