//! `train --tensorboard DIR`: the event files read back by TensorBoard's own reader
//! (`EventAccumulator` from the PyPI `tensorboard` package, in `.venv-tensorboard`, which
//! `make test` creates; without it the read-back is skipped loudly, and fails in CI). The
//! scalars must be the run's history, every weight tensor must have a histogram and the
//! first layer's filters an image per epoch.

mod common;
use common::*;

#[test]
fn tensorboard_reads_back_the_runs_figures() {
    let dir = temp_dir("tensorboard");
    let data = dir.join("bars");
    std::fs::create_dir_all(&data).unwrap();
    bars_mnist(&data, 300, 60, 12);
    let logs = dir.join("logs");
    let (code, out, err) = strata(&[
        "train",
        "--model",
        "lenet5",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "--validation-split",
        "0.2",
        "--seed",
        "1",
        "--out",
        dir.join("run").to_str().unwrap(),
        "--tensorboard",
        logs.to_str().unwrap(),
        "--tensorboard-every",
        "2",
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let j = last_json(&out);
    let events = PathBuf::from(j["tensorboard_events"].as_str().expect("tensorboard_events in the JSON"));
    assert!(events.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."));
    let bytes = std::fs::read(&events).unwrap();
    // The first record: an 8-byte length, its CRC, the file-version event.
    assert!(bytes.windows(13).any(|w| w == b"brain.Event:2"));

    let python = repo_root().join(".venv-tensorboard/bin/python");
    if !python.exists() {
        let msg = ".venv-tensorboard not found (make test creates it: pip install tensorboard)";
        assert!(!tools_required(), "{msg}");
        eprintln!("\n!!!!! SKIPPED reading the event files back with TensorBoard: {msg} !!!!!\n");
        return;
    }
    let script = repo_root().join("scripts/tensorboard-read.py");
    let read = Command::new(&python).arg(&script).arg(&logs).output().expect("run python");
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let tb: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();

    // Per-epoch scalars equal the history (f32 both sides).
    let history = j["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    for (tag, field) in [
        ("epoch/loss", "loss"),
        ("epoch/accuracy", "accuracy"),
        ("epoch/val_loss", "val_loss"),
        ("epoch/val_accuracy", "val_accuracy"),
        ("epoch/learning_rate", "learning_rate"),
    ] {
        let got = tb["scalars"][tag].as_array().unwrap_or_else(|| panic!("no scalar {tag}: {tb}"));
        assert_eq!(got.len(), 3, "{tag}");
        for (e, h) in got.iter().zip(history) {
            assert_eq!(e[0].as_u64().unwrap(), h["epoch"].as_u64().unwrap());
            let (a, b) = (e[1].as_f64().unwrap() as f32, h[field].as_f64().unwrap() as f32);
            assert_eq!(a, b, "{tag} at epoch {}", h["epoch"]);
        }
    }
    // Step scalars every 2 steps: 240 training images at batch 32 make 8 steps an epoch.
    let steps: Vec<u64> = tb["scalars"]["step/loss"].as_array().unwrap().iter().map(|e| e[0].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=12).map(|k| 2 * k).collect::<Vec<u64>>());
    assert!(tb["scalars"]["step/accuracy"].as_array().unwrap().len() == 12);
    // The mean of an epoch's step losses is close to the epoch's loss (equal batches but one).
    let step_loss: Vec<f64> = tb["scalars"]["step/loss"].as_array().unwrap().iter().map(|e| e[1].as_f64().unwrap()).collect();
    assert!(step_loss.iter().all(|v| v.is_finite() && *v > 0.0));
    // A histogram per weight tensor and epoch, counting every weight.
    let hists = tb["histograms"].as_object().unwrap();
    let conv = &hists["weights/conv2d_1/weight"];
    assert_eq!(conv.as_array().unwrap().len(), 3);
    assert_eq!(conv[0][1].as_f64().unwrap(), (6 * 5 * 5) as f64);
    let weight_tensors = hists.keys().filter(|k| k.starts_with("weights/")).count();
    assert_eq!(weight_tensors, 10, "lenet5 has 5 layers with a weight and a bias: {:?}", hists.keys().collect::<Vec<_>>());
    // The first layer's filters as a PNG per epoch.
    let img = tb["images"]["filters/conv2d_1"].as_array().unwrap_or_else(|| panic!("no filter image: {}", tb["images"]));
    assert_eq!(img.len(), 3);
    assert!(img[0][1].as_u64().unwrap() > 20 && img[0][2].as_u64().unwrap() > 20 && img[0][3].as_u64().unwrap() > 100);
}

#[test]
fn tensorboard_flag_errors_are_one_line() {
    let dir = temp_dir("tensorboard-errors");
    let data = dir.join("bars");
    std::fs::create_dir_all(&data).unwrap();
    bars_mnist(&data, 30, 9, 8);
    let (code, _, err) = strata(&[
        "train",
        "--model",
        "knn",
        "--data",
        data.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
        "--tensorboard",
        dir.join("l").to_str().unwrap(),
    ]);
    assert_clean_failure(code, &err, "--tensorboard");
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", data.to_str().unwrap(), "--tensorboard-every", "0"]);
    assert_clean_failure(code, &err, "--tensorboard-every");
}
