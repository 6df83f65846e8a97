//! The DBN options of `strata train` (CD-k, persistent CD, Gaussian units, sampled
//! reconstructions, up-down fine-tuning) and `strata dbn-sample`.

mod common;
use common::{assert_clean_failure, last_json, strata, temp_dir, tiny_mnist};

/// (width, height) of a PNG file, from its IHDR chunk.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[1..4], b"PNG");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn up_down_fine_tuning_writes_the_generative_dbn_and_one_sample_row_per_class() {
    let dir = temp_dir("dbn-updown");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    tiny_mnist(&data, 60, 60); // 4x4 images, labels 0, 1, 2
    let out = dir.join("run");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let args = ["train", "--model", "dbn:8-12", "--data", d, "--finetune", "up-down", "--epochs", "2", "--cd-k", "2"];
    let (code, stdout, stderr) =
        strata(&[&args[..], &["--pcd", "--pretrain-epochs", "2", "--json", "--quiet", "--out", o]].concat());
    assert_eq!(code, 0, "{stderr}");
    let r = last_json(&stdout);
    assert_eq!(r["history"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["up_down"].as_array().unwrap().len(), 2);
    let g = r["generative_test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&g));
    assert_eq!(r["training"]["finetune"], "up-down");
    assert_eq!(r["training"]["cd_k"], 2);
    assert_eq!(r["training"]["pcd"], true);
    // 3 classes x 10 samples of 4x4 pixels at scale 2 with 1-pixel gaps
    assert_eq!(png_size(&out.join("class-samples.png")), (10 * 9 + 1, 3 * 9 + 1));
    let dbn = out.join("dbn.safetensors");
    assert!(dbn.exists() && out.join("model.safetensors").exists());
    // the saved classifier evaluates like any model
    let (code, _, stderr) = strata(&["eval", "--model-file", out.join("model.safetensors").to_str().unwrap(), "--data", d]);
    assert_eq!(code, 0, "{stderr}");

    // dbn-sample: rows for the classes asked for, in order
    let png = dir.join("two.png");
    let (code, stdout, stderr) = strata(&[
        "dbn-sample",
        "--dbn",
        dbn.to_str().unwrap(),
        "--class",
        "2,0",
        "--per-class",
        "5",
        "--steps",
        "50",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("classes [2, 0]"), "{stdout}");
    assert_eq!(png_size(&png), (5 * 9 + 1, 2 * 9 + 1));
    let (code, _, stderr) =
        strata(&["dbn-sample", "--dbn", dbn.to_str().unwrap(), "--class", "3", "--out", png.to_str().unwrap()]);
    assert_clean_failure(code, &stderr, "--class");
    let model = out.join("model.safetensors");
    let (code, _, stderr) = strata(&["dbn-sample", "--dbn", model.to_str().unwrap(), "--out", png.to_str().unwrap()]);
    assert_clean_failure(code, &stderr, "not a generative DBN");
}

#[test]
fn rbm_options_train_a_dbn_and_invalid_ones_are_refused() {
    let dir = temp_dir("dbn-options");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    tiny_mnist(&data, 60, 60);
    let d = data.to_str().unwrap();
    let o = dir.join("run");
    let base = ["train", "--model", "dbn:8", "--data", d, "--epochs", "1", "--json", "--quiet", "--out", o.to_str().unwrap()];
    let (code, stdout, stderr) =
        strata(&[&base[..], &["--cd-k", "3", "--visible", "gaussian", "--reconstruction", "sampled"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let r = last_json(&stdout);
    assert_eq!(r["training"]["visible"], "gaussian");
    assert!(r["generative_test_accuracy"].is_null(), "backprop fine-tuning has no generative classifier");
    for (flags, culprit) in [
        (vec!["--cd-k", "0"], "--cd-k"),
        (vec!["--visible", "binary"], "--visible"),
        (vec!["--reconstruction", "exact"], "--reconstruction"),
        (vec!["--finetune", "wake-sleep"], "--finetune"),
    ] {
        let (code, _, stderr) = strata(&[&base[..], &flags[..]].concat());
        assert_clean_failure(code, &stderr, culprit);
    }
    let (code, _, stderr) =
        strata(&["train", "--model", "mlp", "--data", d, "--epochs", "1", "--pcd", "--out", o.to_str().unwrap()]);
    assert_clean_failure(code, &stderr, "--pcd");
    assert!(stderr.contains("only for the model dbn"), "{stderr}");
}
