//! Regression from the command line: `--task regression` (automatic for a real-valued
//! target) trains with MSE and reports MSE, RMSE, MAE and R² (`test_mse`, `test_rmse`,
//! `test_mae`, `test_r2`; `test_accuracy` null); `eval` reproduces train's figures from the
//! saved model, `predict` prints numbers in the target's units, `cv` gives per-fold figures
//! and their mean ± std. Data: scikit-learn's diabetes table (442 rows, 10 features, the
//! disease progression a year later; a linear model reaches R² 0.33-0.59 on 20% splits,
//! 0.47 on 10 folds) and a generated linear target with known noise.

mod common;
use common::*;

/// The fixture's path as a string.
fn diabetes() -> String {
    fixture("diabetes.csv").to_str().unwrap().to_string()
}

/// Runs strata and returns the JSON summary, failing with stderr when it fails.
fn json(args: &[&str]) -> serde_json::Value {
    let (code, stdout, err) = strata(args);
    assert_eq!(code, 0, "strata {args:?}: {err}");
    last_json(&stdout)
}

fn f(v: &serde_json::Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or_else(|| panic!("no number '{field}' in {v}"))
}

/// `y = 3 a - 2 b + 1.5 [colour = red] + 10 + N(0, 0.3²)` on `n` rows, from a fixed seed.
fn linear_csv(path: &Path, n: usize) {
    let mut rng = Rng::seeded(7);
    let mut text = String::from("a,b,colour,y\n");
    for _ in 0..n {
        let (a, b) = (rng.uniform_range(-2.0, 2.0), rng.uniform_range(0.0, 5.0));
        let red = rng.below(2) == 0;
        let y = 3.0 * a - 2.0 * b + if red { 1.5 } else { 0.0 } + 10.0 + rng.normal(0.0, 0.3);
        text += &format!("{a:.4},{b:.4},{},{y:.4}\n", if red { "red" } else { "blue" });
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn mlp_on_diabetes_reports_r2_and_eval_and_predict_agree() {
    let d = temp_dir("regression-diabetes");
    let out = d.join("mlp");
    let data = diabetes();
    let train = json(&[
        "train",
        "--model",
        "mlp",
        "--data",
        &data,
        "--task",
        "regression",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
    ]);
    assert_eq!(train["task"], "regression");
    assert!(train["test_accuracy"].is_null(), "{train}");
    let r2 = f(&train, "test_r2");
    assert!(r2 > 0.3, "R² {r2} (a linear model: 0.43 on this split)");
    let (mse, rmse, mae) = (f(&train, "test_mse"), f(&train, "test_rmse"), f(&train, "test_mae"));
    assert!((rmse * rmse - mse).abs() < 1e-6 * mse && mae <= rmse && mae > 10.0, "{train}");
    // the test loss is the MSE in standardized units (the target's std is about 77)
    assert!(f(&train, "test_loss") > 0.0 && f(&train, "test_loss") < 1.0, "{train}");
    assert!(train["history"].as_array().unwrap().iter().all(|e| e["accuracy"].is_null()), "no accuracy for regression");

    // eval on the training file: the same held-out rows, the same figures
    let model = out.join("model.safetensors");
    let eval = json(&["eval", "--model-file", model.to_str().unwrap(), "--data", &data, "--json"]);
    assert!(eval["test_accuracy"].is_null());
    assert_eq!(eval["samples"], 88);
    for field in ["test_mse", "test_rmse", "test_mae", "test_r2", "test_loss"] {
        assert!(
            (f(&eval, field) - f(&train, field)).abs() <= 1e-9 * f(&train, field).abs().max(1.0),
            "{field}: {eval} vs {train}"
        );
    }
    // no classes to chart
    let (code, _, err) = strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", &data, "--roc", "x.png"]);
    assert_clean_failure(code, &err, "regression model");

    // predict: one number per row, in the target's units (progression 25-346, mean 152)
    let (code, stdout, err) = strata(&["predict", "--model-file", model.to_str().unwrap(), &data, "--limit", "5", "--json"]);
    assert_eq!(code, 0, "{err}");
    let shown: Vec<&str> = stdout.lines().take(5).collect();
    for (i, line) in shown.iter().enumerate() {
        let (index, value) = line.split_once(": ").unwrap_or_else(|| panic!("'{line}'"));
        assert_eq!(index, i.to_string());
        value.parse::<f64>().unwrap_or_else(|_| panic!("'{value}' is not a number"));
    }
    let rows = last_json(&stdout)["predictions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 442);
    let values: Vec<f64> = rows.iter().map(|r| f(r, "value")).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((120.0..185.0).contains(&mean), "predictions in the target's units: mean {mean}");
    assert!(values.iter().all(|v| (-100.0..500.0).contains(v)), "{values:?}");
    assert!(rows.iter().all(|r| r.get("class").is_none()));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_real_valued_target_is_a_regression_without_asking() {
    let d = temp_dir("regression-linear");
    let csv = d.join("linear.csv");
    linear_csv(&csv, 300);
    let csv = csv.to_str().unwrap();
    for (model, min_r2, max_rmse) in [("linreg", 0.99, 0.4), ("mlp", 0.95, 1.0), ("knn", 0.9, 1.5)] {
        let out = d.join(model);
        let (code, stdout, err) = strata(&["train", "--model", model, "--data", csv, "--out", out.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{model}: {err}");
        assert!(err.contains("target 'y' is numeric but not class labels"), "{err}");
        let r = last_json(&stdout);
        assert_eq!(r["task"], "regression");
        assert!(stdout.contains("test R² "), "{stdout}");
        // the noise's standard deviation is 0.3: a linear model's RMSE is about that
        assert!(f(&r, "test_r2") > min_r2 && f(&r, "test_rmse") < max_rmse, "{model}: {r}");
        // the saved k-NN regressor predicts the same figures again
        let eval = json(&["eval", "--model-file", out.join("model.safetensors").to_str().unwrap(), "--data", csv, "--json"]);
        assert!((f(&eval, "test_r2") - f(&r, "test_r2")).abs() < 1e-9, "{model}: {eval} vs {r}");
    }
    // classes asked of a real-valued target
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", csv, "--task", "classification"]);
    assert_clean_failure(code, &err, "target 'y' is numeric but not class labels");
    // a categorical target is no regression target
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", csv, "--task", "regression", "--target", "colour"]);
    assert_clean_failure(code, &err, "'colour' is categorical");
    // baselines that only classify say what regression takes
    for model in ["perceptron", "logreg", "dbn"] {
        let (code, _, err) = strata(&["train", "--model", model, "--data", csv]);
        assert_clean_failure(code, &err, &format!("{model} classifies; regression takes"));
    }
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", csv, "--task", "clustering"]);
    assert_clean_failure(code, &err, "'clustering'");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn cv_on_diabetes_gives_per_fold_figures_and_mean_std() {
    let data = diabetes();
    let r = json(&["cv", "--model", "mlp", "--data", &data, "--task", "regression", "--folds", "5", "--json"]);
    assert_eq!((r["task"].as_str(), r["samples"].as_u64()), (Some("regression"), Some(442)));
    assert!(r.get("mean_accuracy").is_none(), "{r}");
    let folds = r["fold_results"].as_array().unwrap();
    assert_eq!(folds.len(), 5);
    assert_eq!(folds.iter().map(|x| x["test_samples"].as_u64().unwrap()).sum::<u64>(), 442);
    for field in ["mse", "rmse", "mae", "r2"] {
        let v: Vec<f64> = folds.iter().map(|x| f(x, field)).collect();
        let mean = v.iter().sum::<f64>() / 5.0;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        assert!((f(&r, &format!("mean_{field}")) - mean).abs() < 1e-9 * mean.abs().max(1.0), "{field}: {r}");
        assert!((f(&r, &format!("std_{field}")) - std).abs() < 1e-9 * std.max(1.0), "{field}: {r}");
        assert!(std > 0.0, "{field} varies over folds");
    }
    let r2 = f(&r, "mean_r2");
    assert!(r2 > 0.35, "mean R² {r2} (linear regression: 0.47 on 10 folds)");
    // k-NN regression cross-validates too, and the human output has a line per fold
    let (code, stdout, err) = strata(&["cv", "--model", "knn", "--data", &data, "--task", "regression", "--folds", "3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("fold ") && l.contains("R² ")).count(), 3, "{stdout}");
    assert!(stdout.contains("mean: R² "), "{stdout}");
    // without --task the whole-number target is taken as classes, with a hint
    let (code, _, err) = strata(&["cv", "--model", "knn", "--data", &data, "--folds", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("if it is a quantity, predict it with --task regression"), "{err}");
}

#[test]
fn a_spec_file_must_end_in_one_linear_unit() {
    let d = temp_dir("regression-spec");
    let data = diabetes();
    let spec = |name: &str, last: &str| {
        let p = d.join(name);
        let text =
            format!("[[layers]]\ntype = \"dense\"\nunits = 16\nactivation = \"relu\"\n[[layers]]\ntype = \"dense\"\n{last}\n");
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let wide = spec("wide.toml", "units = 3");
    for cmd in ["train", "cv"] {
        let (code, _, err) = strata(&[cmd, "--model", &wide, "--data", &data, "--task", "regression"]);
        assert_clean_failure(code, &err, "wide.toml");
        assert!(err.contains("its last layer has 3 units; regression needs 1"), "{err}");
    }
    let squashed = spec("squashed.toml", "units = 1\nactivation = \"sigmoid\"");
    let (code, _, err) = strata(&["train", "--model", &squashed, "--data", &data, "--task", "regression"]);
    assert_clean_failure(code, &err, "squashed.toml");
    assert!(err.contains("sigmoid"), "{err}");
    // one linear unit trains, with the spec file's own settings
    let ok = spec("ok.toml", "units = 1\n[training]\noptimizer = \"adam\"\nlr = 0.001");
    let out = d.join("ok");
    let (out, ok) = (out.to_str().unwrap(), ok.as_str());
    let r = json(&["train", "--model", ok, "--data", &data, "--task", "regression", "--epochs", "5", "--out", out, "--json"]);
    assert_eq!((r["optimizer"].as_str(), r["epochs"].as_u64()), (Some("adam"), Some(5)));
    assert!(f(&r, "test_r2").is_finite());
    std::fs::remove_dir_all(&d).unwrap();
}
