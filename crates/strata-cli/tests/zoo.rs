//! The zoo from the command line: ensembles in `strata eval`.

mod common;
use common::*;
use strata::model::Ensemble;

/// An MNIST-format directory with 10 classes of 8x8 images, learnable (one bright pixel
/// per class) but noisy, so models disagree.
fn tiny_dataset(dir: &Path) {
    let write = |images: &str, labels: &str, n: usize, seed: u64, gz: bool| {
        let mut rng = Rng::seeded(seed);
        let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let mut px: Vec<u8> = (0..n * 64).map(|_| (rng.uniform() * 120.0) as u8).collect();
        for (i, &l) in lab.iter().enumerate() {
            px[i * 64 + l as usize * 6] = 255;
        }
        write_idx_u8(&dir.join(images), &[n, 8, 8], &px, gz).unwrap();
        write_idx_u8(&dir.join(labels), &[n], &lab, gz).unwrap();
    };
    write("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 200, 1, true);
    write("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 100, 2, false);
}

#[test]
fn eval_averages_several_models_and_reports_top5() {
    let dir = std::env::temp_dir().join(format!("strata-zoo-ensemble-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    tiny_dataset(&dir);
    let data = dir.to_str().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for seed in ["1", "2"] {
        let out = dir.join(format!("m{seed}"));
        let (code, _, err) = strata(&[
            "train",
            "--model",
            "mlp",
            "--data",
            data,
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--seed",
            seed,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        files.push(out.join("model.safetensors"));
    }
    let (a, b) = (files[0].to_str().unwrap(), files[1].to_str().unwrap());
    let (code, single_out, err) = strata(&["eval", "--model-file", a, "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    let single = last_json(&single_out);
    for key in ["model", "params", "test_accuracy", "test_loss", "samples", "infer_images_per_sec", "top5_accuracy", "top5_error"]
    {
        assert!(single.get(key).is_some(), "{key} missing from {single}");
    }
    assert_eq!(single["model"], "mlp");
    assert!(single_out.contains("mlp: test accuracy"), "{single_out}");
    let top1 = single["test_accuracy"].as_f64().unwrap();
    let top5 = single["top5_accuracy"].as_f64().unwrap();
    assert!(top5 >= top1 && top5 <= 1.0);
    assert!((single["top5_error"].as_f64().unwrap() - (1.0 - top5)).abs() < 1e-6);

    // Repeated flag and comma list are the same ensemble.
    let (code, ens_out, err) = strata(&["eval", "--model-file", a, "--model-file", b, "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, ens_out2, _) = strata(&["eval", "--model-file", &format!("{a},{b}"), "--data", data, "--json"]);
    assert_eq!(code, 0);
    let (e1, e2) = (last_json(&ens_out), last_json(&ens_out2));
    assert_eq!(e1["test_accuracy"], e2["test_accuracy"]);
    assert_eq!(e1["models"].as_array().unwrap().len(), 2);
    assert_eq!(e1["members"][0]["test_accuracy"], single["test_accuracy"]);
    assert_eq!(e1["params"].as_u64().unwrap(), 2 * single["params"].as_u64().unwrap());

    // The CLI's figure is the library's: the mean of the members' probabilities.
    let e = Ensemble::load(&files).unwrap();
    let (_, test) = strata::data::mnist::load(data).unwrap();
    let p = e.predict_proba(&test.inputs).unwrap();
    let Target::Classes { labels, .. } = &test.targets else { unreachable!() };
    let direct = strata::metrics::count_top_k(&p, labels, 1).unwrap() as f64 / labels.len() as f64;
    assert!((e1["test_accuracy"].as_f64().unwrap() - direct).abs() < 1e-6);
    // An ensemble of one model twice is that model.
    let (code, twice, _) = strata(&["eval", "--model-file", &format!("{a},{a}"), "--data", data, "--json"]);
    assert_eq!(code, 0);
    let twice = last_json(&twice);
    assert_eq!(twice["test_accuracy"], single["test_accuracy"]);
    assert!((twice["test_loss"].as_f64().unwrap() - single["test_loss"].as_f64().unwrap()).abs() < 1e-5);

    let (code, _, err) = strata(&["eval", "--model-file", a, "--model-file", "/nonexistent/m.safetensors", "--data", data]);
    assert!(code != 0 && err.contains("/nonexistent/m.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// googlenet-aux trains on small images with its auxiliary losses in the history
/// (`--aux-weight`), and evaluates without them.
#[test]
fn googlenet_aux_reports_its_auxiliary_losses() {
    let dir = std::env::temp_dir().join(format!("strata-zoo-aux-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    tiny_dataset(&dir);
    let data = dir.to_str().unwrap();
    let out = dir.join("g");
    let args = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--seed", "1", "--quiet", "--json"];
    let (code, stdout, err) = strata(
        &[
            &["train", "--model", "googlenet-aux", "--data", data, "--aux-weight", "0.5", "--out", out.to_str().unwrap()][..],
            &args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let j = last_json(&stdout);
    let aux = j["history"][0]["aux_loss"].as_f64().expect("aux_loss in the history");
    // two heads at weight 0.5, each near ln(10) at the start
    assert!(aux > 0.5 && aux < 5.0, "aux_loss {aux}");
    assert_eq!(j["training"]["aux_weight"].as_f64(), Some(0.5));
    let (code, _, err) = strata(&["eval", "--model-file", out.join("model.safetensors").to_str().unwrap(), "--data", data]);
    assert_eq!(code, 0, "{err}");
    // a plain network has no aux_loss field
    let (code, stdout, err) = strata(&[&["train", "--model", "mlp", "--data", data][..], &args].concat());
    assert_eq!(code, 0, "{err}");
    assert!(last_json(&stdout)["history"][0].get("aux_loss").is_none());
    let (code, _, err) = strata(&[&["train", "--model", "googlenet-aux", "--data", data, "--aux-weight=-1"][..], &args].concat());
    assert_clean_failure(code, &err, "--aux-weight");
    std::fs::remove_dir_all(&dir).ok();
}

/// `eval --ten-crop`: ten crops of the padded test images, averaged; refused where it
/// cannot apply.
#[test]
fn eval_ten_crop_pads_crops_and_averages() {
    let dir = std::env::temp_dir().join(format!("strata-zoo-tencrop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    tiny_dataset(&dir);
    let data = dir.to_str().unwrap();
    let out = dir.join("m");
    let (code, _, err) = strata(&[
        "train",
        "--model",
        "cnn",
        "--data",
        data,
        "--epochs",
        "3",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let file = out.join("model.safetensors");
    let file = file.to_str().unwrap();
    let (code, plain, err) = strata(&["eval", "--model-file", file, "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, ten, err) = strata(&["eval", "--model-file", file, "--data", data, "--ten-crop", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(ten.contains("ten-crop: 8x8 crops"), "{ten}");
    let (plain, ten) = (last_json(&plain), last_json(&ten));
    assert_eq!(plain["ten_crop"], serde_json::Value::Null);
    assert_eq!(ten["ten_crop"], serde_json::json!({"crop": [8, 8], "from": [12, 12], "pad": 2}));
    let acc = ten["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc) && ten["samples"] == plain["samples"], "{ten}");
    assert_ne!(ten["test_loss"], plain["test_loss"], "the crops change the probabilities");
    let (code, _, err) = strata(&["eval", "--model-file", &format!("{file},{file}"), "--data", data, "--ten-crop"]);
    assert_clean_failure(code, &err, "--ten-crop");
    let (code, _, err) = strata(&["eval", "--model-file", file, "--data", data, "--crop-pad", "3"]);
    assert_clean_failure(code, &err, "--ten-crop");
    std::fs::remove_dir_all(&dir).ok();
}
