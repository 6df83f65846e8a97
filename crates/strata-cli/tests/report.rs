//! `strata inspect` and `strata report` on a small trained network: every picture written
//! and decodable, the layer chosen by name or position, clean errors; the report page
//! self-contained, and rendered by headless Chromium without console errors into a
//! screenshot that is not blank (Chromium is installed by `make test`; without it the
//! browser check is skipped loudly, and fails in CI).

mod common;
use common::*;

/// Trains lenet5 for 6 epochs (Adam, constant rate) on 12x12 bars into `dir/run`; returns the run folder.
fn trained_run(dir: &Path) -> PathBuf {
    let data = dir.join("bars");
    std::fs::create_dir_all(&data).unwrap();
    bars_mnist(&data, 600, 150, 12);
    let run = dir.join("run");
    let (code, out, err) = strata(&[
        "train",
        "--model",
        "lenet5",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "6",
        "--batch-size",
        "32",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--schedule",
        "exp:1.0",
        "--seed",
        "1",
        "--out",
        run.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let j = last_json(&out);
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.6, "lenet5 should learn the bars: {j}");
    run
}

fn decodes(path: &Path) -> image::RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

#[test]
fn inspect_draws_every_picture_of_any_layer() {
    let dir = temp_dir("inspect");
    let run = trained_run(&dir);
    let data = dir.join("bars");
    let model = run.join("model.safetensors");
    let out = dir.join("pictures");
    let args = |layer: &str| {
        vec![
            "inspect".to_string(),
            "--model-file".into(),
            model.to_str().unwrap().into(),
            "--data".into(),
            data.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--layer".into(),
            layer.into(),
            "--json".into(),
        ]
    };
    let run_with = |layer: &str| {
        let a = args(layer);
        let (code, stdout, err) = strata(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        assert_eq!(code, 0, "{err}");
        (stdout.clone(), last_json(&stdout))
    };
    // The second convolution by name: 16 filters x 6 input channels, and its maps.
    let (stdout, j) = run_with("conv2d_3");
    assert_eq!(j["layer"], "conv2d_3");
    let kinds: Vec<&str> = j["pictures"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    for k in ["filters", "feature_maps", "misclassified", "saliency", "embedding", "confusion", "roc"] {
        assert!(kinds.contains(&k) || (k == "misclassified" && j["report"]["accuracy"] == 1.0), "{k} missing: {kinds:?}");
    }
    for p in j["pictures"].as_array().unwrap() {
        let path = PathBuf::from(p["path"].as_str().unwrap());
        assert!(stdout.contains(&format!("wrote {}", path.display())), "paths are printed: {stdout}");
        let img = decodes(&path);
        assert!(img.width() > 20 && img.height() > 20);
    }
    assert!(out.join("filters-conv2d_3.png").exists() && out.join("feature-maps-conv2d_3.png").exists());
    // Per-class figures: three classes, recall of each from the confusion matrix.
    let cm = j["confusion"].as_array().unwrap();
    assert_eq!(cm.len(), 3);
    for (c, row) in cm.iter().enumerate() {
        let row: Vec<u64> = row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let recall = row[c] as f64 / row.iter().sum::<u64>() as f64;
        assert!((j["report"]["classes"][c]["recall"].as_f64().unwrap() - recall).abs() < 1e-9);
    }
    // Saliency maps in colour (the heat map) beside gray inputs.
    let sal = decodes(&out.join("saliency.png"));
    assert!(sal.pixels().any(|p| p.0[0] > 200 && p.0[2] < 50), "no heat-map colours in saliency.png");
    // By position: layer 1 is the first convolution (6 filters of 5x5).
    let (stdout, j) = run_with("1");
    assert_eq!(j["layer"], "conv2d_1");
    assert!(stdout.contains("6 filters of layer conv2d_1"), "{stdout}");
    // A pooling layer has no weights: its maps only.
    let (_, j) = run_with("maxpool2d_2");
    let kinds: Vec<&str> = j["pictures"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"filters") && kinds.contains(&"feature_maps"), "{kinds:?}");
    // A layer the model lacks, and a position past its end: one line naming it.
    let a = args("conv2d_9");
    let (code, _, err) = strata(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_clean_failure(code, &err, "conv2d_9");
    let a = args("40");
    let (code, _, err) = strata(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_clean_failure(code, &err, "40");
}

/// The Chromium binary, if installed.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output()
            && out.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    None
}

#[test]
fn report_is_one_self_contained_page_that_chromium_renders() {
    let dir = temp_dir("report");
    let run = trained_run(&dir);
    let (code, out, err) = strata(&["report", run.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let page_path = run.join("report.html");
    assert!(out.contains(&format!("wrote {}", page_path.display())), "{out}");
    let page = std::fs::read_to_string(&page_path).unwrap();
    // Self-contained: every picture a data URI, nothing fetched.
    let images = page.matches("<img ").count();
    // curves, confusion, ROC, filters, feature maps, saliency, embedding (+ mistakes, if any)
    assert!(images >= 7, "{images} pictures");
    assert_eq!(page.matches("src=\"data:image/png;base64,").count(), images);
    for outside in ["http://", "https://", "<script", "<link rel=\"stylesheet", "url("] {
        assert!(!page.contains(outside), "the page refers to {outside}");
    }
    for part in [
        "Learning curves",
        "final metrics",
        "Confusion matrix",
        "ROC curves",
        "misclassified",
        "Saliency",
        "PCA",
        "Command and recipe",
        "conv2d_1",
        "--model lenet5",
    ] {
        assert!(page.contains(part), "{part} missing from the page");
    }
    // The inlined pictures decode.
    let first = page.split("base64,").nth(1).unwrap().split('"').next().unwrap();
    assert!(first.len() > 1000);

    // A run folder without a model: one line.
    let (code, _, err) = strata(&["report", dir.join("bars").to_str().unwrap()]);
    assert_clean_failure(code, &err, "model.safetensors");

    let Some(browser) = chromium() else {
        let msg = "chromium is not installed (make test installs it: apt-get install chromium)";
        assert!(!tools_required(), "{msg}");
        eprintln!("\n!!!!! SKIPPED the browser check of report.html: {msg} !!!!!\n");
        return;
    };
    let shot = dir.join("shot.png");
    let profile = dir.join("profile");
    let url = format!("file://{}", page_path.canonicalize().unwrap().display());
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            &url,
        ])
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {log}");
    // Console messages reach stderr as "CONSOLE(...)" or ":INFO:CONSOLE" lines; errors of
    // loading show as "Failed to load" / "net::ERR".
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("net::ERR") || l.contains("Failed to load"))
        .collect();
    assert!(bad.is_empty(), "console errors: {bad:?}");
    let img = decodes(&shot);
    assert_eq!((img.width(), img.height()), (1280, 2400));
    let lum: Vec<f64> = img.pixels().map(|p| p.0.iter().map(|&c| c as f64).sum::<f64>() / 3.0).collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    assert!(var > 200.0, "the screenshot is blank (variance {var:.1})");
    // The confusion matrix's blue cells and the curves' colours are on screen.
    let coloured = img.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
    assert!(coloured > 2000, "only {coloured} coloured pixels in the screenshot");
}
