//! Bad input never panics: each case exits non-zero with one line naming the culprit.

mod common;
use common::*;

#[test]
fn missing_data_directory() {
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", "/nonexistent/strata-data", "--epochs", "1"]);
    assert_clean_failure(code, &err, "/nonexistent/strata-data");
}

#[test]
fn missing_file_in_directory() {
    let d = temp_dir("missing");
    tiny_mnist(&d, 8, 8);
    std::fs::remove_file(d.join("train-labels-idx1-ubyte.gz")).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "train-labels-idx1-ubyte");
}

#[test]
fn wrong_magic_number() {
    let d = temp_dir("magic");
    tiny_mnist(&d, 8, 8);
    std::fs::write(d.join("t10k-images-idx3-ubyte"), [0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1]).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "t10k-images-idx3-ubyte");
}

#[test]
fn truncated_file() {
    let d = temp_dir("trunc");
    tiny_mnist(&d, 8, 8);
    let p = d.join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "t10k-images-idx3-ubyte");
}

#[test]
fn truncated_gzip() {
    let d = temp_dir("gz");
    tiny_mnist(&d, 64, 64);
    let p = d.join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "train-images-idx3-ubyte.gz");
}

#[test]
fn image_label_count_mismatch() {
    let d = temp_dir("count");
    tiny_mnist(&d, 8, 6);
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "train-labels-idx1-ubyte");
}

#[test]
fn unknown_model_name() {
    let d = temp_dir("model");
    tiny_mnist(&d, 8, 8);
    let (code, _, err) = strata(&["train", "--model", "resnet9000", "--data", d.to_str().unwrap(), "--epochs", "1"]);
    assert_clean_failure(code, &err, "resnet9000");
}

#[test]
fn invalid_flags() {
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", "x", "--epochs", "many"]);
    assert_clean_failure(code, &err, "--epochs");
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", "x", "--learning-rat", "0.1"]);
    assert_clean_failure(code, &err, "--learning-rat");
    let (code, _, err) = strata(&["summary", "--model", "mlp", "--input", "1xfoo"]);
    assert_clean_failure(code, &err, "--input");
}

#[test]
fn missing_or_corrupt_model_file() {
    let (code, _, err) = strata(&["eval", "--model-file", "/nonexistent/model.safetensors", "--data", "x"]);
    assert_clean_failure(code, &err, "/nonexistent/model.safetensors");
}

#[test]
fn train_eval_predict_round_trip_on_a_tiny_dataset() {
    let d = temp_dir("roundtrip");
    tiny_mnist(&d, 32, 32);
    let out = d.join("run");
    let (code, stdout, err) = strata(&[
        "train",
        "--model",
        "mlp",
        "--data",
        d.to_str().unwrap(),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let last: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    for key in ["model", "params", "epochs", "test_accuracy", "test_loss", "train_seconds", "train_images_per_sec"] {
        assert!(last.get(key).is_some(), "missing {key} in {last}");
    }
    assert_eq!(last["epochs"], 2);
    let model = out.join("model.safetensors");
    let (code, stdout, err) = strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", d.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let eval: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(eval["test_accuracy"], last["test_accuracy"], "eval must reproduce train's test accuracy");
    let images = d.join("t10k-images-idx3-ubyte");
    let (code, stdout, err) = strata(&["predict", "--model-file", model.to_str().unwrap(), images.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let p: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(p["predictions"].as_array().unwrap().len(), 4);
    // the first layer with weights is the 16 -> 256 Dense: 256 tiles of the 4x4 input
    let png = d.join("filters.png");
    let (code, _, err) = strata(&["filters", "--model-file", model.to_str().unwrap(), "--out", png.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let img = image::open(&png).unwrap();
    assert!(img.width() > 16 * 4 && img.height() > 16 * 4);
}

/// Without the `mpi` feature, asking for distributed training says how to get it.
#[cfg(not(feature = "mpi"))]
#[test]
fn distributed_training_without_the_mpi_feature_says_to_rebuild() {
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", "/nonexistent/strata-data", "--distributed"]);
    assert_clean_failure(code, &err, "--features strata-cli/mpi");
    // Started by mpirun with 2 processes (its environment), a build without MPI must not
    // quietly train twice on its own.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["train", "--model", "mlp", "--data", "/nonexistent/strata-data"])
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_clean_failure(out.status.code().unwrap_or(-1), &err, "mpirun with 2 processes");
}

/// `--replicas N` trains N copies in threads on slices of every batch: the saved weights
/// match a one-model run (an MLP has no dropout or batch norm), and bad uses are one line.
#[test]
fn replicas_train_like_one_model_and_refuse_bad_uses() {
    let d = temp_dir("replicas");
    tiny_mnist(&d, 40, 40);
    let run = |replicas: &str, out: &Path| {
        strata(&[
            "train",
            "--model",
            "mlp",
            "--data",
            d.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--replicas",
            replicas,
        ])
    };
    let (one, two) = (d.join("one"), d.join("two"));
    let (code, _, err) = run("1", &one);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run("2", &two);
    assert_eq!(code, 0, "{err}");
    let load = |dir: &Path| strata::model::load_model(&dir.join("model.safetensors")).unwrap().model.weights();
    let (a, b) = (load(&one), load(&two));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        let scale = x.data().iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let diff = x.data().iter().zip(y.data()).fold(0.0f32, |m, (u, v)| m.max((u - v).abs()));
        assert!(diff <= 1e-5 * scale, "replicas drifted from one model by {diff}");
    }
    let (code, _, err) = run("0", &d.join("zero"));
    assert_clean_failure(code, &err, "--replicas");
    let (code, _, err) = strata(&["train", "--model", "dbn", "--data", d.to_str().unwrap(), "--replicas", "2"]);
    assert_clean_failure(code, &err, "--replicas");
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", "/nonexistent/strata-data", "--replicas", "2"]);
    assert_clean_failure(code, &err, "/nonexistent/strata-data");
    std::fs::remove_dir_all(&d).ok();
}
