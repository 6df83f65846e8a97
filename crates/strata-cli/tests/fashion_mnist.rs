//! Real-data acceptance checks on Fashion-MNIST (CI installs the dataset; skipped with a
//! note when it is absent). These run the release binary like a user would.

mod common;
use common::*;
use std::process::Command;

fn train_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "strata {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim().lines().last().expect("output")).expect("JSON last line")
}

#[test]
fn mlp_reaches_the_published_mlp_accuracy() {
    if !dataset_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("strata-fm-mlp-{}", std::process::id()));
    let r = train_json(&[
        "train",
        "--model",
        "mlp",
        "--data",
        "fashion-mnist",
        "--epochs",
        "10",
        "--seed",
        "1",
        "--json",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let acc = r["test_accuracy"].as_f64().unwrap();
    eprintln!("mlp 10 epochs: test accuracy {acc:.4}, {:.1}s", r["train_seconds"].as_f64().unwrap());
    // Published table: MLP 256-128-100 reaches 0.8833.
    assert!(acc >= 0.885, "test accuracy {acc}");
    assert_eq!(r["params"], 235_146);
    std::fs::remove_dir_all(&dir).ok();
}
