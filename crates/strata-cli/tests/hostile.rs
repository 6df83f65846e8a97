//! Hostile input, one case per class of the hardening review: absurd sizes in spec files,
//! saved descriptions and flags, labels outside the classes, decompression bombs, empty or
//! degenerate data. Each must end with exit 1 or 2 and one line naming the culprit: never a
//! panic, an allocation abort (exit 134), a hang or a silent success.

mod common;
use common::*;
use std::io::Write;

/// A spec file with one layer (TOML fields given as text) before a flatten and the output.
fn spec_with(dir: &Path, name: &str, layer: &str) -> String {
    let path = dir.join(name);
    let text = format!(
        "name = \"hostile\"\n[[layers]]\n{layer}\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 3\n"
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn absurd_layer_sizes_in_spec_files() {
    let d = temp_dir("hostile-spec");
    let cases = [
        ("stride0.toml", "type = \"conv2d\"\nfilters = 4\nkernel = 3\nstride = 0\npadding = \"same\""),
        ("dilation.toml", "type = \"conv2d\"\nfilters = 4\nkernel = 3\ndilation = 4611686018427387904"),
        ("padding.toml", "type = \"conv2d\"\nfilters = 4\nkernel = 3\npadding = 4611686018427387904"),
        ("units62.toml", "type = \"dense\"\nunits = 4611686018427387904"),
        ("units1e9.toml", "type = \"dense\"\nunits = 1000000000"),
        ("filters.toml", "type = \"conv2d\"\nfilters = 100000000\nkernel = 3"),
        ("window.toml", "type = \"pool2d\"\npool = \"max\"\nwindow = 4611686018427387904"),
        ("lstm.toml", "type = \"lstm\"\nunits = 4611686018427387904"),
        (
            "maxout.toml",
            "type = \"flatten\"\n[[layers]]\ntype = \"maxout\"\nunits = 4611686018427387904\npieces = 4611686018427387904",
        ),
    ];
    for (name, layer) in cases {
        let spec = spec_with(&d, name, layer);
        let (code, out, err) = strata(&["summary", "--model", &spec, "--input", "1x28x28", "--classes", "3"]);
        assert_clean_failure(code, &err, name);
        assert!(out.is_empty(), "{name}: partial output {out}");
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn absurd_shapes_and_counts_on_the_command_line() {
    for (args, culprit) in [
        (vec!["summary", "--model", "lenet5", "--input", "1x100000x100000"], "--input"),
        (vec!["summary", "--model", "mlp", "--input", "4294967296x4294967296"], "--input"),
        (vec!["summary", "--model", "mlp", "--input", "0x28x28"], "--input"),
        (vec!["summary", "--model", "mlp", "--classes", "100000000000"], "--classes"),
        (vec!["summary", "--model", "mlp", "--classes", "0"], "--classes"),
    ] {
        let (code, out, err) = strata(&args);
        assert_clean_failure(code, &err, culprit);
        assert!(out.is_empty(), "{args:?}: partial output {out}");
    }
}

#[test]
fn absurd_training_flags() {
    let d = temp_dir("hostile-flags");
    tiny_mnist(&d, 12, 12);
    let data = d.to_str().unwrap();
    for (extra, culprit) in [
        (vec!["--replicas", "1000"], "--replicas"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--epochs", "0"], "--epochs"),
        (vec!["--epochs", "4294967296"], "--epochs"),
        (vec!["--threads", "99999999"], "--threads"),
    ] {
        let mut args = vec!["train", "--model", "mlp", "--data", data, "--quiet"];
        args.extend(extra);
        let (code, _, err) = strata(&args);
        assert_clean_failure(code, &err, culprit);
    }
    let text = d.join("t.txt");
    std::fs::write(&text, "the cat sat on the mat.\n".repeat(2000)).unwrap();
    let out = d.join("lm");
    for (flag, value) in [("--hidden", "1000000"), ("--clip-norm", "nan"), ("--embed", "1000000000"), ("--layers", "100000")] {
        let (code, _, err) = strata(&[
            "textgen",
            "train",
            "--text",
            text.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            flag,
            value,
            "--quiet",
        ]);
        assert_clean_failure(code, &err, flag);
        assert!(!out.join("model.safetensors").exists(), "{flag}: wrote a model");
    }
    std::fs::remove_dir_all(&d).ok();
}

/// A trained tiny model (3 classes, 4x4 images) in `dir/model`.
fn tiny_model(dir: &Path) -> PathBuf {
    tiny_mnist(dir, 12, 12);
    let out = dir.join("model");
    let (code, _, err) = strata(&[
        "train",
        "--model",
        "mlp",
        "--data",
        dir.to_str().unwrap(),
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn saved_descriptions_with_absurd_sizes() {
    let d = temp_dir("hostile-desc");
    let out = tiny_model(&d);
    let weights = out.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let description = header["__metadata__"]["strata-model"].as_str().unwrap().to_string();
    // The first dense layer's 128 units (the mlp's hidden width) become a billion.
    for (units, name) in [("1000000000", "billion"), ("4611686018427387904", "huge")] {
        let mut desc: serde_json::Value = serde_json::from_str(&description).unwrap();
        let layers = desc["layers"].as_array_mut().unwrap();
        let dense = layers.iter_mut().find(|l| l["type"] == "dense").expect("a dense layer");
        dense["units"] = serde_json::Value::Number(units.parse::<u64>().unwrap().into());
        let mut h = header.clone();
        h["__metadata__"]["strata-model"] = serde_json::Value::String(desc.to_string());
        let text = h.to_string();
        let dir = d.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = std::fs::File::create(dir.join("model.safetensors")).unwrap();
        f.write_all(&(text.len() as u64).to_le_bytes()).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.write_all(&bytes[8 + header_len..]).unwrap();
        drop(f);
        let model = dir.join("model.safetensors");
        let (code, _, err) = strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", d.to_str().unwrap()]);
        assert_clean_failure(code, &err, "model.safetensors");
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn labels_outside_the_training_classes() {
    let d = temp_dir("hostile-labels");
    tiny_mnist(&d, 12, 12);
    // A test label of 200 when training saw classes 0..2.
    write_idx_u8(&d.join("t10k-labels-idx1-ubyte"), &[4], &[0, 1, 200, 2], false).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1", "--quiet"]);
    assert_clean_failure(code, &err, "t10k-labels-idx1-ubyte");
    assert!(err.contains("200"), "the bad label should be named: {err}");
    // An empty test set: nothing to report an accuracy on.
    let e = temp_dir("hostile-empty-test");
    tiny_mnist(&e, 12, 12);
    write_idx_u8(&e.join("t10k-images-idx3-ubyte"), &[0, 4, 4], &[], false).unwrap();
    write_idx_u8(&e.join("t10k-labels-idx1-ubyte"), &[0], &[], false).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", e.to_str().unwrap(), "--epochs", "1", "--quiet"]);
    assert_clean_failure(code, &err, "test part has no samples");
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&e).ok();
}

#[test]
fn degenerate_tables() {
    let d = temp_dir("hostile-tables");
    let one_class = d.join("one.csv");
    let rows: String = (0..30).map(|i| format!("{i},{},a\n", i * 2)).collect();
    std::fs::write(&one_class, format!("x,y,label\n{rows}")).unwrap();
    let (code, _, err) =
        strata(&["train", "--model", "mlp", "--data", one_class.to_str().unwrap(), "--target", "label", "--quiet"]);
    assert_clean_failure(code, &err, "one.csv");
    // A label of 2^31-1: classes come from the labels seen, not from the largest one.
    let big = d.join("big.csv");
    let rows: String = (0..30).map(|i| format!("{i},{}\n", if i % 2 == 0 { 0 } else { 2147483647 })).collect();
    std::fs::write(&big, format!("x,label\n{rows}")).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", big.to_str().unwrap(), "--target", "label", "--quiet"]);
    assert!(code == 0 || (code == 1 || code == 2) && err.trim().lines().count() == 1, "{code}: {err}");
    // A categorical column with 40,000 distinct values: the one-hot width is capped.
    let wide = d.join("wide.csv");
    let rows: String = (0..40_000).map(|i| format!("v{i},{}\n", i % 2)).collect();
    std::fs::write(&wide, format!("name,label\n{rows}")).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", wide.to_str().unwrap(), "--target", "label", "--quiet"]);
    assert_clean_failure(code, &err, "name");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn decompression_bombs_are_capped_by_the_declared_size() {
    let d = temp_dir("hostile-bomb");
    tiny_mnist(&d, 12, 12);
    // A header declaring 12 images of 4x4 followed by 64 MiB of zeros, gzipped (~64 KB).
    let path = d.join("train-images-idx3-ubyte.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    gz.write_all(&[0, 0, 8, 3, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 4]).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1", "--quiet"]);
    assert_clean_failure(code, &err, "train-images-idx3-ubyte.gz");
    assert!(err.contains("more than"), "should say it inflates past its declared size: {err}");
    // A header declaring 2^31 images of 4096x4096: refused before reading, by memory.
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    gz.write_all(&[0, 0, 8, 3, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0]).unwrap();
    gz.write_all(&zeros).unwrap();
    gz.finish().unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1", "--quiet"]);
    assert_clean_failure(code, &err, "train-images-idx3-ubyte.gz");
    // An honest 32 MiB of images on a machine with 8 MiB to spare: refused before reading,
    // with both sizes.
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    gz.write_all(&[0, 0, 8, 3, 0, 2, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16]).unwrap();
    for _ in 0..32 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap();
    let err = train_with_memory_mb("mlp", &d, "8", &[]);
    assert_clean_failure(1, &err, "train-images-idx3-ubyte.gz");
    assert!(err.contains("needs 32.0 MiB, this machine has 8.0 MiB available"), "{err}");
    std::fs::remove_dir_all(&d).ok();
}

/// `strata train --model MODEL --data DIR` on a machine with `mb` MiB to spare
/// (`STRATA_MEMORY_MB`); its stderr, after checking that it exited with 1.
fn train_with_memory_mb(model: &str, data: &Path, mb: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["train", "--model", model, "--data", data.to_str().unwrap(), "--epochs", "1", "--quiet"])
        .args(extra)
        .env("STRATA_MEMORY_MB", mb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn training_that_would_not_fit_in_memory_is_refused_up_front() {
    let d = temp_dir("hostile-memory");
    tiny_mnist(&d, 12, 12);
    // A 4096-unit hidden layer on 4x4 images at batch 4096: ~170 MiB for the step.
    let spec = d.join("wide.toml");
    std::fs::write(&spec, "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 4096\n[[layers]]\ntype = \"dense\"\nunits = 4096\n[[layers]]\ntype = \"dense\"\nunits = 3\n").unwrap();
    let err = train_with_memory_mb(spec.to_str().unwrap(), &d, "100", &[]);
    assert_clean_failure(1, &err, "training");
    assert!(err.contains("this machine has 100.0 MiB available"), "{err}");
    // One copy (~270 MiB) fits in 400 MiB, two replicas do not: the sum is checked up front.
    let err = train_with_memory_mb(spec.to_str().unwrap(), &d, "400", &["--replicas", "2"]);
    assert_clean_failure(1, &err, "training 2 replicas");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn predict_refuses_input_of_the_wrong_kind() {
    let d = temp_dir("hostile-predict");
    let table = d.join("t.csv");
    let rows: String = (0..40).map(|i| format!("{i},{},{}\n", (i * 7) % 5, if i % 2 == 0 { "a" } else { "b" })).collect();
    std::fs::write(&table, format!("x,y,label\n{rows}")).unwrap();
    let out = d.join("m");
    let (code, _, err) = strata(&[
        "train",
        "--model",
        "mlp",
        "--data",
        table.to_str().unwrap(),
        "--target",
        "label",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let png = d.join("x.png");
    image::GrayImage::from_pixel(4, 4, image::Luma([7u8])).save(&png).unwrap();
    let model = out.join("model.safetensors");
    let (code, out, err) = strata(&["predict", "--model-file", model.to_str().unwrap(), png.to_str().unwrap()]);
    assert_clean_failure(code, &err, "x.png");
    assert!(out.is_empty(), "partial output: {out}");
    // A filter grid of 100,000 pixels per weight.
    let m = temp_dir("hostile-filters");
    let model_dir = tiny_model(&m);
    let (code, _, err) = strata(&[
        "filters",
        "--model-file",
        model_dir.join("model.safetensors").to_str().unwrap(),
        "--out",
        m.join("f.png").to_str().unwrap(),
        "--scale",
        "100000",
    ]);
    assert_clean_failure(code, &err, "--scale");
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&m).ok();
}
