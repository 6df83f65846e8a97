//! `strata textgen` train, sample and next.

mod common;
use common::*;

#[test]
fn cli_trains_samples_and_reports_errors() {
    let dir = temp_dir("cli");
    let text = &fixture("lighthouse.txt").to_string_lossy().into_owned();
    let out = dir.to_str().unwrap();
    let (code, stdout, stderr) = strata(&[
        "textgen",
        "train",
        "--text",
        text,
        "--out",
        out,
        "--hidden",
        "32",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--seq-len",
        "16",
        "--heldout",
        "0.1",
        "--sample",
        "20",
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(v["heldout_bits"].as_f64().unwrap() < v["unigram_bits"].as_f64().unwrap() + 1.0, "{v}");
    assert_eq!(v["history"].as_array().unwrap().len(), 2);
    let model = dir.join("model.safetensors");
    let m = model.to_str().unwrap();
    let (code, stdout, stderr) =
        strata(&["textgen", "sample", "--model-file", m, "--prompt", "The sea", "--length", "30", "--seed", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("The sea") && stdout.trim_end().chars().count() >= 30, "{stdout}");
    let (code, stdout, _) = strata(&["textgen", "next", "--model-file", m, "--prompt", "The lig", "--top", "3"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 3);
    // errors: one line, non-zero
    let (code, _, stderr) = strata(&["textgen", "sample", "--model-file", "/nonexistent/model.safetensors"]);
    assert!(code != 0 && stderr.contains("nonexistent"), "{stderr}");
    let (code, _, stderr) = strata(&["textgen", "train", "--text", text, "--out", out, "--level", "syllable"]);
    assert!(code != 0 && stderr.contains("syllable"), "{stderr}");
    let (code, _, stderr) = strata(&["textgen", "sample", "--model-file", m, "--temperature=-1"]);
    assert!(code != 0 && stderr.contains("temperature"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
