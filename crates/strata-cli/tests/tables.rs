//! The experiment scheme from the command line on tables: cross-validation figures on real
//! datasets, train/eval/predict with pictures, line-and-column errors, a killed run resumed.

mod common;
use common::*;

/// `strata cv ... --json` on a table; returns the JSON summary.
fn cv(model: &str, file: &str, target: Option<&str>) -> serde_json::Value {
    let path = fixture(file);
    let mut args = vec!["cv", "--model", model, "--data", path.to_str().unwrap(), "--folds", "10", "--json"];
    if let Some(t) = target {
        args.extend(["--target", t]);
    }
    let (code, stdout, err) = strata(&args);
    assert_eq!(code, 0, "{err}");
    last_json(&stdout)
}

#[test]
fn malformed_rows_are_one_line_errors_with_line_and_column() {
    let d = temp_dir("malformed");
    let csv = d.join("bad.csv");
    std::fs::write(&csv, "a,b,label\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n").unwrap();
    let (code, _, err) = strata(&["cv", "--model", "knn", "--data", csv.to_str().unwrap(), "--folds", "2"]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad.csv: line 3, column 2 ('b'): 'oops' is not a number"), "{err}");
    let arff = d.join("bad.arff");
    std::fs::write(&arff, "@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n2,z\n").unwrap();
    let (code, _, err) = strata(&["cv", "--model", "knn", "--data", arff.to_str().unwrap(), "--folds", "2"]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.arff: line 6, column 2 ('c'): 'z' is not one of {a,b}"), "{err}");
}

#[test]
fn cv_knn_on_iris_reaches_093() {
    let r = cv("knn", "iris.csv", Some("species"));
    assert!(r["mean_accuracy"].as_f64().unwrap() >= 0.93, "{r}");
    assert_eq!(r["fold_results"].as_array().unwrap().len(), 10);
    assert!(r["std_accuracy"].as_f64().unwrap() > 0.0);
}

#[test]
fn cv_mlp_on_iris_reaches_093() {
    let r = cv("mlp", "iris.csv", Some("species"));
    assert!(r["mean_accuracy"].as_f64().unwrap() >= 0.93, "{r}");
}

#[test]
fn cv_mlp_on_breast_cancer_auc_reaches_098() {
    let r = cv("mlp", "breast_cancer.csv", Some("diagnosis"));
    assert_eq!(r["auc_kind"], "binary");
    assert!(r["mean_auc"].as_f64().unwrap() >= 0.98, "{r}");
}

#[test]
fn cv_on_arff_defaults_to_the_last_attribute() {
    let r = cv("logreg", "iris.arff", None);
    assert_eq!(r["target"], "class");
    assert!(r["mean_accuracy"].as_f64().unwrap() >= 0.9, "{r}");
    let p = cv("perceptron", "iris.arff", None);
    assert!(p["mean_accuracy"].as_f64().unwrap() >= 0.8, "{p}");
}

#[test]
fn train_eval_predict_on_a_table_with_pictures() {
    let d = temp_dir("table");
    let out = d.join("run");
    let iris = fixture("iris.csv");
    let (code, stdout, err) = strata(&[
        "train",
        "--model",
        "knn:3",
        "--data",
        iris.to_str().unwrap(),
        "--target",
        "species",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let t = last_json(&stdout);
    let model = out.join("model.safetensors");
    let (cm, roc) = (d.join("cm.png"), d.join("roc.png"));
    let (code, stdout, err) = strata(&[
        "eval",
        "--model-file",
        model.to_str().unwrap(),
        "--data",
        iris.to_str().unwrap(),
        "--confusion",
        cm.to_str().unwrap(),
        "--roc",
        roc.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("versicolor") && stdout.contains("true \\ predicted"), "{stdout}");
    let e = last_json(&stdout);
    assert_eq!(e["test_accuracy"], t["test_accuracy"], "eval uses the rows train held out");
    assert_eq!(e["samples"], 30);
    for png in [&cm, &roc] {
        let img = image::open(png).unwrap();
        assert!(img.width() > 300 && img.height() > 300);
    }
    let (code, stdout, err) = strata(&["predict", "--model-file", model.to_str().unwrap(), iris.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let p = last_json(&stdout);
    assert_eq!(p["predictions"][0]["name"], "setosa");
    assert_eq!(p["predictions"][100]["name"], "virginica");
}

#[test]
fn a_killed_training_run_resumes_to_the_same_model() {
    let d = temp_dir("kill");
    let bc = fixture("breast_cancer.csv");
    // the mlp recipe: SGD with momentum 0.9 and a step schedule, so the optimizer's momentum
    // buffers and the learning rate must come back from the checkpoint too
    let common = ["--model", "mlp", "--data", bc.to_str().unwrap(), "--epochs", "60", "--quiet"];
    let full = d.join("full");
    let (code, _, err) = strata(&[&["train", "--out", full.to_str().unwrap()][..], &common].concat());
    assert_eq!(code, 0, "{err}");

    let cut = d.join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([&["train", "--out", cut.to_str().unwrap()][..], &common].concat())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ck = strata::model::checkpoint_path(&cut);
    let start = std::time::Instant::now();
    while !ck.exists() && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.join("model.safetensors").exists(), "the run should have been killed before it finished");

    let (code, _, err) = strata(&[&["train", "--resume", "--out", cut.to_str().unwrap()][..], &common].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming after epoch"), "{err}");
    let a = std::fs::read(full.join("model.safetensors")).unwrap();
    let b = std::fs::read(cut.join("model.safetensors")).unwrap();
    assert!(a == b, "the resumed model differs from the uninterrupted one");
}
