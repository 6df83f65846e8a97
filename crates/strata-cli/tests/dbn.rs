//! The deep belief net on Fashion-MNIST from the command line (the published figure).

mod common;

fn dataset_present() -> bool {
    let dir = std::env::var("STRATA_DATA")
        .map(|d| format!("{d}/fashion-mnist"))
        .unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into());
    let p = std::path::Path::new(&dir);
    let ok = p.join("train-images-idx3-ubyte.gz").exists() || p.join("train-images-idx3-ubyte").exists();
    if !ok {
        eprintln!("note: Fashion-MNIST not found in {dir}; skipping");
    }
    ok
}

/// The acceptance run: `strata train --model dbn --data fashion-mnist --epochs 5
/// --seed 1` (784-500-500-2000-10, one pretraining epoch per RBM) reaches 0.88.
#[test]
fn dbn_reaches_088_on_fashion_mnist() {
    if !dataset_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("strata-fm-dbn-{}", std::process::id()));
    let args = ["train", "--model", "dbn", "--data", "fashion-mnist", "--epochs", "5", "--seed", "1", "--json", "--quiet"];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .args(["--out", dir.to_str().unwrap()])
        .output()
        .expect("run strata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    let acc = r["test_accuracy"].as_f64().unwrap();
    eprintln!(
        "dbn: test accuracy {acc:.4}, pretraining {:.1}s, fine-tuning {:.1}s",
        r["pretrain_seconds"].as_f64().unwrap(),
        r["train_seconds"].as_f64().unwrap()
    );
    assert!(acc >= 0.88, "test accuracy {acc}");
    assert_eq!(r["pictures"].as_array().unwrap().len(), 3);
    assert!(dir.join("filters.png").exists() && dir.join("samples.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}
