//! `strata lab`: every experiment's quick version, run in one process, checked for the
//! direction of the lecture's claim where it is robust at that size, for its files, and
//! for clean failures on bad input.

mod common;
use common::*;
use serde_json::Value;

const ALL: [&str; 9] =
    ["xor-depth", "activations", "init", "dropout", "fat-vs-thin", "pretraining", "ensemble", "augmentation", "optimizers"];

/// The run of `report` labelled `label`.
fn run<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("{}: no run '{label}'", report["lab"]))
}

/// Figure `name` of the run `label`.
fn fig(report: &Value, label: &str, name: &str) -> f64 {
    run(report, label)["figures"][name].as_f64().unwrap_or_else(|| panic!("{}: {label} has no {name}", report["lab"]))
}

/// Reads `dir/NAME.json` and checks the report's fields, the chart beside it and the
/// verdict line on stdout.
fn report(dir: &Path, name: &str, stdout: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["lab"], name);
    assert_eq!(r["quick"], true);
    assert!(!r["claim"].as_str().unwrap().is_empty());
    assert!(!r["runs"].as_array().unwrap().is_empty(), "{name}: no runs");
    let outcome = r["verdict"]["outcome"].as_str().unwrap();
    assert!(["reproduced", "partly", "not_reproduced"].contains(&outcome), "{outcome}");
    // The printed verdict is the report's.
    let evidence = r["verdict"]["evidence"].as_str().unwrap();
    assert!(stdout.lines().any(|l| l.starts_with("verdict: ") && l.ends_with(evidence)), "{name}: verdict line missing");
    // The chart: a PNG with something drawn on it.
    let png = image::open(dir.join(format!("{name}.png"))).unwrap_or_else(|e| panic!("{name}.png: {e}")).to_rgb8();
    assert!(png.width() >= 600 && png.height() >= 400, "{name}.png is {}x{}", png.width(), png.height());
    let coloured = png.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
    assert!(coloured > 500, "{name}.png has no coloured lines ({coloured} pixels)");
    r
}

#[test]
fn quick_labs_reproduce_the_robust_claims() {
    let dir = temp_dir("lab-quick");
    let names: Vec<&str> = if dataset_present() { ALL.to_vec() } else { vec!["xor-depth"] };
    let mut args = vec!["lab", "--quick", "--out", dir.to_str().unwrap()];
    args.extend(&names);
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = strata(&args);
    assert_eq!(code, 0, "{stderr}");
    eprintln!("{} quick labs in {:.1} s", names.len(), start.elapsed().as_secs_f64());
    eprintln!("{}", stdout.lines().filter(|l| l.starts_with("verdict")).collect::<Vec<_>>().join("\n"));

    // A 10-layer sigmoid net stays at chance on XOR; ReLU learns it.
    let xor = report(&dir, "xor-depth", &stdout);
    assert!(fig(&xor, "sigmoid, 10 hidden layers, seed 1", "accuracy") <= 0.75);
    assert_eq!(fig(&xor, "relu, 10 hidden layers, seed 1", "accuracy"), 1.0);
    assert_eq!(fig(&xor, "sigmoid, 2 hidden layers, seed 1", "accuracy"), 1.0, "shallow sigmoid nets learn XOR");
    assert_eq!(xor["verdict"]["outcome"], "reproduced");
    if names.len() == 1 {
        return;
    }

    // Sigmoid is the slowest learner: far behind every rectifier in LeNet-5, behind ReLU
    // in the MLP.
    let act = report(&dir, "activations", &stdout);
    let sig = fig(&act, "lenet5, sigmoid", "test_accuracy");
    for unit in ["relu", "leaky relu", "elu", "maxout"] {
        assert!(fig(&act, &format!("lenet5, {unit}"), "test_accuracy") > sig + 0.2, "lenet5 {unit} vs sigmoid {sig}");
    }
    assert!(fig(&act, "mlp, relu", "test_accuracy") > fig(&act, "mlp, sigmoid", "test_accuracy"));

    // Zero and tiny weights do not learn at depth; Glorot and He do.
    let init = report(&dir, "init", &stdout);
    assert!(fig(&init, "zeros", "test_accuracy") < 0.2);
    assert!(fig(&init, "small random N(0, 0.01²)", "test_accuracy") < 0.2);
    assert!(fig(&init, "Glorot uniform", "test_accuracy") > 0.6);
    assert!(fig(&init, "He uniform", "test_accuracy") > 0.6);
    let spread = run(&init, "He uniform")["params"]["hidden_std_at_init"].as_array().unwrap().len();
    assert_eq!(spread, 8, "one activation spread per hidden layer");

    // Dropout: the memorizing net's test loss drifts far above its training loss; with
    // dropout the gap is smaller.
    let drop = report(&dir, "dropout", &stdout);
    assert!(fig(&drop, "without dropout", "train_accuracy") > 0.99, "the plain net memorizes its 500 images");
    assert!(fig(&drop, "with dropout", "loss_gap") < fig(&drop, "without dropout", "loss_gap"));
    assert!(run(&drop, "with dropout")["history"].as_array().unwrap().len() == 40, "per-epoch curves");

    // Fat vs thin: the comparison is fair (same parameters within a layer's rounding).
    let fat = report(&dir, "fat-vs-thin", &stdout);
    for r in fat["runs"].as_array().unwrap() {
        let params = r["figures"]["params"].as_f64().unwrap();
        assert!((params - 50_000.0).abs() <= 1000.0, "{}: {params} parameters", r["label"]);
        assert!(r["figures"]["test_accuracy"].as_f64().unwrap() > 0.7, "{}", r["label"]);
    }

    // Pretraining helps with 100 labels.
    let pre = report(&dir, "pretraining", &stdout);
    let random = fig(&pre, "random init, 100 labels", "test_accuracy");
    assert!(fig(&pre, "DBN pretraining, 100 labels", "test_accuracy") > random);
    assert!(fig(&pre, "SAE pretraining, 100 labels", "test_accuracy") > random);

    // Seven averaged CNNs beat the typical single one.
    let ens = report(&dir, "ensemble", &stdout);
    let runs = ens["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 7);
    let single: f64 = runs.iter().map(|r| r["figures"]["newest_member_top1_error"].as_f64().unwrap()).sum::<f64>() / 7.0;
    assert!(fig(&ens, "ensemble of 7", "top1_error") < single, "ensemble vs mean single {single}");

    // Augmentation narrows the train-test gap on small data.
    let aug = report(&dir, "augmentation", &stdout);
    assert!(fig(&aug, "with augmentation", "accuracy_gap") < fig(&aug, "without augmentation", "accuracy_gap"));

    // Momentum, Nesterov and Adam get the training loss lower than plain SGD.
    let opt = report(&dir, "optimizers", &stdout);
    let sgd = fig(&opt, "sgd", "train_loss");
    for o in ["momentum", "nesterov", "adam"] {
        assert!(fig(&opt, o, "train_loss") < sgd, "{o} vs sgd {sgd}");
    }
}

#[test]
fn list_names_every_lab() {
    let (code, stdout, _) = strata(&["lab", "--list"]);
    assert_eq!(code, 0);
    for name in ALL {
        assert!(stdout.lines().any(|l| l.trim_start().starts_with(name)), "{name} missing from --list");
    }
    let (code, help, _) = strata(&["lab", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("xor-depth") && help.contains("--quick"), "{help}");
}

#[test]
fn bad_input_fails_cleanly() {
    let dir = temp_dir("lab-bad");
    let out = dir.to_str().unwrap();
    // An unknown name, also after a good one: nothing runs, nothing is written.
    let (code, _, stderr) = strata(&["lab", "xor-depth", "xor-width", "--quick", "--out", out]);
    assert_clean_failure(code, &stderr, "unknown 'xor-width'");
    assert!(stderr.contains("xor-depth"), "the known names are listed: {stderr}");
    assert!(!dir.join("xor-depth.json").exists());
    let (code, _, stderr) = strata(&["lab"]);
    assert_clean_failure(code, &stderr, "required");
    // A dataset that is not there.
    let missing = dir.join("no-such-data");
    let (code, _, stderr) = strata(&["lab", "init", "--quick", "--data", missing.to_str().unwrap(), "--out", out]);
    assert_clean_failure(code, &stderr, "no-such-data");
    // An output folder that cannot be made (a file is in the way).
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, stderr) = strata(&["lab", "xor-depth", "--quick", "--out", file.join("sub").to_str().unwrap()]);
    assert_clean_failure(code, &stderr, "file");
}
