//! `strata eval`: a saved model's loss and accuracy on a dataset's test split (or on a
//! table), its confusion matrix and per-class figures, and optionally confusion-matrix and
//! ROC charts; for a regression model, MSE, RMSE, MAE and R².

use super::output::{print_json, short_name};
use super::train_flags::DataFlags;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::experiment::load_for_eval_with;
use strata::experiment::{LoadedModel, load_learner};
use strata::metrics::{ConfusionMatrix, log_loss, macro_auc, one_vs_rest, predicted_classes};
use strata::model::Ensemble;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model.safetensors written by `strata train` (model.json must be beside it), or an
    /// .onnx file to import.
    /// Repeat the flag, or give a comma list, to evaluate an ensemble (mean of the models'
    /// class probabilities).
    #[arg(long, required = true, value_delimiter = ',')]
    model_file: Vec<PathBuf>,
    /// Dataset name or directory (MNIST, CIFAR, .npy, class folders of pictures) or .npz file
    /// (its test part is used), or a .csv/.arff table (its held-out rows when it is the file
    /// the model was trained on).
    #[arg(long)]
    data: String,
    /// For a folder of pictures without train/ and test/: the fraction held out in training
    /// (evaluated with the model's seed).
    #[arg(long, default_value_t = 0.2)]
    test_split: f32,
    #[command(flatten)]
    images: DataFlags,
    #[command(flatten)]
    normalize: super::normalize::NormalizeFlag,
    /// Write the confusion matrix as a PNG heat map.
    #[arg(long, value_name = "FILE.png")]
    confusion: Option<PathBuf>,
    /// Write ROC curves (binary, or one-vs-rest per class) as a PNG.
    #[arg(long, value_name = "FILE.png")]
    roc: Option<PathBuf>,
    /// The 10-patch test: average the softmax probabilities over ten crops of the model's
    /// input size — the four corners, the centre, and the five mirrored left to right.
    /// Images larger than the input (e.g. a picture folder read with a larger --image-size)
    /// are cropped as they are; images of the input's size are first padded by --crop-pad.
    #[arg(long)]
    ten_crop: bool,
    /// With --ten-crop: pixels added on every side of images of the model's input size,
    /// black (a 0 pixel, standardized as the model's inputs); default 2: 28x28 -> 32x32, the
    /// LeNet-5 field.
    #[arg(long, value_name = "PIXELS")]
    crop_pad: Option<usize>,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// How `--ten-crop` took its crops: crop size, the size they came from, the padding.
struct TenCrop {
    crop: (usize, usize),
    from: (usize, usize),
    pad: usize,
}

/// The class probabilities averaged over ten crops of `test`'s images (see `--ten-crop`).
fn ten_crop_probs(
    a: &EvalArgs,
    model: &mut LoadedModel,
    meta: &strata::model::ModelMeta,
    test: &strata::Dataset,
) -> anyhow::Result<(strata::Tensor, TenCrop)> {
    let &[c, h, w] = meta.input_shape.as_slice() else {
        anyhow::bail!("invalid --ten-crop: {} takes input {:?}, not images [C, H, W]", meta.name, meta.input_shape);
    };
    let &[_, tc, th, tw] = test.inputs.shape() else {
        anyhow::bail!("invalid --ten-crop: {} holds {:?}, not images", a.data, &test.inputs.shape()[1..]);
    };
    anyhow::ensure!(tc == c, "invalid --ten-crop: the images have {tc} channels, {} takes {c}", meta.name);
    anyhow::ensure!(
        th >= h && tw >= w,
        "invalid --ten-crop: the {th}x{tw} images are smaller than {}'s {h}x{w} input",
        meta.name
    );
    // images of the input's size: pad them, or every crop would be the whole image
    let pad = if (th, tw) == (h, w) { a.crop_pad.unwrap_or(2) } else { 0 };
    let images = if pad > 0 {
        strata::experiment::pad_images(&test.inputs, pad, &strata::experiment::black_after(meta.standardize.as_ref(), c))?
    } else {
        test.inputs.clone()
    };
    let probs = strata::experiment::ten_crop_proba(model, &images, (h, w))?;
    Ok((probs, TenCrop { crop: (h, w), from: (th + 2 * pad, tw + 2 * pad), pad }))
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.ten_crop || a.crop_pad.is_none(), "invalid --crop-pad: it goes with --ten-crop");
    if a.model_file.len() > 1 {
        anyhow::ensure!(!a.ten_crop, "invalid --ten-crop: it evaluates one model file, not an ensemble");
        return run_ensemble(&a);
    }
    let (mut model, mut meta) = load_learner(&a.model_file[0])?;
    a.normalize.apply(&a.model_file[0], &mut meta)?;
    anyhow::ensure!(
        meta.target_scaling.is_none() || (a.confusion.is_none() && a.roc.is_none()),
        "invalid --confusion/--roc: {} is a regression model (no classes to chart)",
        meta.name
    );
    let (mut test, note) = load_for_eval_with(&a.data, &meta, &a.images.options(a.test_split, meta.seed)?)?;
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    if let Some(scaling) = &meta.target_scaling {
        anyhow::ensure!(!a.ten_crop, "invalid --ten-crop: {} is a regression model (no class probabilities)", meta.name);
        return eval_regression(&a, &mut model, &meta, &test, scaling);
    }
    // Autoencoders are scored on reconstructing their input (no accuracy).
    if let LoadedModel::Network(m) = &model
        && strata::pretrain::reconstructs_input(m)
    {
        test.targets = strata::Target::Values(test.inputs.clone());
    }
    let start = std::time::Instant::now();
    let ten_crop = if a.ten_crop {
        anyhow::ensure!(
            !matches!(test.targets, strata::Target::Values(_)),
            "invalid --ten-crop: {} reconstructs its input (no class probabilities)",
            meta.name
        );
        Some(ten_crop_probs(&a, &mut model, &meta, &test)?)
    } else {
        None
    };
    let (loss, acc, secs) = match (&model, &ten_crop) {
        (_, Some((probs, _))) => {
            let secs = start.elapsed().as_secs_f64();
            let labels = strata::data::split::labels_of(&test).unwrap_or(&[]);
            (log_loss(probs, labels)?, strata::metrics::accuracy(&predicted_classes(probs)?, labels), secs)
        }
        (LoadedModel::Network(m), None) => {
            let e = m.evaluate(&test, 1000)?;
            (e.loss, e.accuracy.unwrap_or(f32::NAN), start.elapsed().as_secs_f64())
        }
        (LoadedModel::Knn(_), None) => {
            let probs = model.predict_proba(&test.inputs)?;
            let secs = start.elapsed().as_secs_f64();
            let labels = strata::data::split::labels_of(&test).unwrap_or(&[]);
            let predicted = predicted_classes(&probs)?;
            (log_loss(&probs, labels)?, strata::metrics::accuracy(&predicted, labels), secs)
        }
    };
    let (probs, ten_crop) = match ten_crop {
        Some((probs, how)) => (probs, Some(how)),
        None => (model.predict_proba(&test.inputs)?, None),
    };
    let top5 = strata::data::split::labels_of(&test)
        .and_then(|l| strata::metrics::count_top_k(&probs, l, 5).ok().map(|h| h as f32 / l.len().max(1) as f32));
    let names = meta.class_names.clone().or(test.class_names.clone());
    println!(
        "{}: test accuracy {acc:.4}, test loss {loss:.4} on {} samples ({:.0} img/s)",
        meta.name,
        test.len(),
        test.len() as f64 / secs.max(1e-9)
    );
    if let Some(t) = &ten_crop {
        println!(
            "ten-crop: {}x{} crops (corners, centre and their mirrors) of {}x{} images{}, probabilities averaged",
            t.crop.0,
            t.crop.1,
            t.from.0,
            t.from.1,
            if t.pad > 0 { format!(" (padded by {})", t.pad) } else { String::new() }
        );
    }
    let mut confusion = None;
    let mut auc = None;
    if let (Some(labels), Some(classes)) = (strata::data::split::labels_of(&test), test.num_classes()) {
        let classes = classes.max(probs.shape()[1]);
        let m = ConfusionMatrix::new(labels, &predicted_classes(&probs)?, classes)?;
        println!("\nconfusion matrix (rows: true class, columns: predicted)");
        print!("{}", m.to_table(names.as_deref()));
        println!();
        print!("{}", m.report(names.as_deref()).to_table());
        auc = macro_auc(&probs, labels).ok();
        if let Some(v) = auc {
            println!("ROC AUC {v:.4}{}", if classes > 2 { " (one-vs-rest, macro average)" } else { "" });
        }
        let title = format!("{} on {}", meta.name, short_name(&a.data));
        if let Some(path) = &a.confusion {
            strata::plot::confusion_png(&m, names.as_deref(), &format!("confusion matrix: {title}"), path)?;
            println!("wrote {}", path.display());
        }
        if let Some(path) = &a.roc {
            let curves = one_vs_rest(&probs, labels)?;
            let name = |c: usize| names.as_ref().and_then(|n| n.get(c).cloned()).unwrap_or_else(|| format!("class {c}"));
            let labelled: Vec<(String, strata::metrics::RocCurve)> = if classes == 2 {
                curves.into_iter().nth(1).flatten().map(|c| (format!("{} vs {}", name(1), name(0)), c)).into_iter().collect()
            } else {
                curves.into_iter().enumerate().filter_map(|(k, c)| c.map(|c| (name(k), c))).collect()
            };
            anyhow::ensure!(!labelled.is_empty(), "cannot draw ROC curves: the test data lacks positive or negative samples");
            strata::plot::roc_png(&labelled, &format!("ROC: {title}"), path)?;
            println!("wrote {}", path.display());
        }
        confusion = Some(m.counts);
    }
    if a.json {
        let ten_crop =
            ten_crop.map(|t| serde_json::json!({"crop": [t.crop.0, t.crop.1], "from": [t.from.0, t.from.1], "pad": t.pad}));
        print_json(&serde_json::json!({
            "ten_crop": ten_crop,
            "model": meta.name,
            "params": model.network().map_or(0, |m| m.num_params()),
            "epochs": serde_json::Value::Null,
            "test_accuracy": acc,
            "test_loss": loss,
            "samples": test.len(),
            "infer_images_per_sec": test.len() as f64 / secs.max(1e-9),
            "top5_accuracy": top5,
            "top5_error": top5.map(|t| 1.0 - t),
            "train_seconds": serde_json::Value::Null,
            "train_images_per_sec": serde_json::Value::Null,
            "auc": auc,
            "confusion": confusion,
        }));
    }
    Ok(())
}

/// A regression model: its figures in the target's units (and the loss in standardized
/// units, as in training); the JSON has train's fields with `test_accuracy` null.
fn eval_regression(
    a: &EvalArgs,
    model: &mut LoadedModel,
    meta: &strata::model::ModelMeta,
    test: &strata::Dataset,
    scaling: &strata::data::normalize::Standardizer,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let pred = model.predict_values(&test.inputs)?;
    let secs = start.elapsed().as_secs_f64();
    let (figures, loss) = strata::experiment::regression_figures(&pred, strata::experiment::target_values(test)?, scaling)?;
    let loss = loss as f32; // as train reports it
    println!(
        "{}: test {}, test loss {loss:.4} (standardized) on {} samples ({:.0} rows/s)",
        meta.name,
        super::task::figures_line(&figures),
        test.len(),
        test.len() as f64 / secs.max(1e-9)
    );
    if a.json {
        let mut v = serde_json::json!({
            "model": meta.name,
            "params": model.network().map_or(0, |m| m.num_params()),
            "epochs": serde_json::Value::Null,
            "test_accuracy": serde_json::Value::Null,
            "test_loss": loss,
            "samples": test.len(),
            "infer_images_per_sec": test.len() as f64 / secs.max(1e-9),
            "top5_accuracy": serde_json::Value::Null,
            "top5_error": serde_json::Value::Null,
            "train_seconds": serde_json::Value::Null,
            "train_images_per_sec": serde_json::Value::Null,
            "auc": serde_json::Value::Null,
            "confusion": serde_json::Value::Null,
            "task": "regression",
        });
        super::task::add_test_figures(&mut v, &figures);
        print_json(&v);
    }
    Ok(())
}

/// Several models: the mean of their class probabilities (the lectures' 7-CNN ensemble),
/// reported with top-1 and top-5 error, member by member and together.
fn run_ensemble(a: &EvalArgs) -> anyhow::Result<()> {
    let mut saved: Vec<_> = a.model_file.iter().map(|p| strata::onnx::load_model(p)).collect::<Result<_, _>>()?;
    for (s, p) in saved.iter_mut().zip(&a.model_file) {
        a.normalize.apply(p, &mut s.meta)?;
    }
    // The data as the first member takes it (size, channels, held-out split); each member
    // standardizes its own copy.
    let mut first = saved.first().map(|s| s.meta.clone()).context("no model files")?;
    first.standardize = None;
    let (test, _) = load_for_eval_with(&a.data, &first, &a.images.options(a.test_split, first.seed)?)?;
    let mut ensemble = Ensemble::default();
    for s in saved {
        ensemble.push(s.meta.name.clone(), s.model, s.meta.standardize.clone());
    }
    let start = std::time::Instant::now();
    let (eval, members) = ensemble.evaluate_members(&test)?;
    let ips = eval.samples as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let names: Vec<&str> = ensemble.members.iter().map(|m| m.name.as_str()).collect();
    let label =
        if names.len() == 1 { names[0].to_string() } else { format!("ensemble of {} ({})", names.len(), names.join(" + ")) };
    if names.len() > 1 {
        for (m, e) in names.iter().zip(&members) {
            println!("  {m}: test accuracy {:.4}, top-5 {:.4}, test loss {:.4}", e.accuracy, e.top5_accuracy, e.loss);
        }
    }
    println!(
        "{label}: test accuracy {:.4}, test loss {:.4} on {} samples ({ips:.0} img/s)",
        eval.accuracy, eval.loss, eval.samples
    );
    println!("  top-1 error {:.4}, top-5 error {:.4}", eval.top1_error(), eval.top5_error());
    if a.json {
        let mut v = serde_json::json!({
            "model": if names.len() == 1 { names[0].to_string() } else { "ensemble".to_string() },
            "params": ensemble.num_params(),
            "epochs": serde_json::Value::Null,
            "test_accuracy": eval.accuracy,
            "test_loss": eval.loss,
            "samples": eval.samples,
            "infer_images_per_sec": ips,
            "train_seconds": serde_json::Value::Null,
            "train_images_per_sec": serde_json::Value::Null,
            "top1_error": eval.top1_error(),
            "top5_accuracy": eval.top5_accuracy,
            "top5_error": eval.top5_error(),
        });
        if names.len() > 1 {
            v["models"] = serde_json::json!(names);
            v["members"] = serde_json::json!(
                names
                    .iter()
                    .zip(&members)
                    .map(|(n, e)| serde_json::json!({"model": n, "test_accuracy": e.accuracy, "top5_accuracy": e.top5_accuracy, "test_loss": e.loss}))
                    .collect::<Vec<_>>()
            );
        }
        print_json(&v);
    }
    Ok(())
}
