//! Pictures of what a trained classifier does (`strata inspect`, `strata report`): the
//! filters and feature maps of any layer, the test images it gets most confidently wrong,
//! saliency maps (the input gradient of a class score), the penultimate layer's
//! representations projected to 2-D by PCA, the confusion matrix beside per-class
//! precision, recall and F1, and ROC curves.

mod html;
mod layer;
mod mistakes;
mod pca;

pub use html::{RunReport, base64, escape, report_html};
pub use layer::{draw_feature_maps, draw_filters, filters_png, layer_index, layer_name};
pub use mistakes::{Mistake, confident_mistakes};
pub use pca::{Projection, pca_2d};

use crate::data::Dataset;
use crate::data::split::labels_of;
use crate::metrics::{ClassificationReport, ConfusionMatrix, RocCurve, macro_auc, one_vs_rest, predicted_classes};
use crate::model::{ModelMeta, Sequential, class_probabilities};
use crate::plot::tiles::Tile;
use crate::plot::{Captioned, captioned_grid_png, confusion_report_png, embedding_png, roc_png};
use crate::{Error, Result, Tensor};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to draw.
#[derive(Clone, Debug)]
pub struct InspectOptions {
    /// The layer whose filters and feature maps are drawn (`conv2d_3` or `3`; default: the
    /// first layer with weights).
    pub layer: Option<String>,
    /// Misclassified images in the grid.
    pub mistakes: usize,
    /// Test images with a saliency map.
    pub saliency: usize,
    /// Test samples in the embedding plot (the first ones).
    pub embedding_samples: usize,
    /// Pixels per weight in the filter grid.
    pub scale: usize,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions { layer: None, mistakes: 24, saliency: 8, embedding_samples: 2000, scale: 8 }
    }
}

/// One picture written.
#[derive(Clone, Debug, Serialize)]
pub struct Picture {
    /// What it shows: `filters`, `feature_maps`, `misclassified`, `saliency`, `embedding`,
    /// `confusion`, `roc`.
    pub kind: &'static str,
    /// Where it was written.
    pub path: PathBuf,
    /// A sentence saying what it shows.
    pub caption: String,
}

/// What [`inspect`] found and drew.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// The pictures, in the order above.
    pub pictures: Vec<Picture>,
    /// Test samples scored.
    pub samples: usize,
    /// Mean cross-entropy of the true class.
    pub loss: f32,
    /// Per-class precision, recall, F1 and the accuracy.
    pub report: ClassificationReport,
    /// ROC AUC (binary, or one-vs-rest macro average).
    pub auc: Option<f64>,
    /// The confusion matrix (rows: true class).
    pub confusion: Vec<Vec<usize>>,
    /// The layer drawn (`conv2d_1`).
    pub layer: String,
}

/// Draws the pictures of a trained classifier on its test data into `dir`. `model` and
/// `meta` as [`crate::model::load_model`] returns them; `test` holds the images as the
/// model's data gives them, before its standardization (they are drawn as they are and
/// standardized here for the network).
///
/// Errors: the model is not a classifier, `test` has no labels or is empty.
pub fn inspect(model: &Sequential, meta: &ModelMeta, test: &Dataset, opts: &InspectOptions, dir: &Path) -> Result<Inspection> {
    let labels = labels_of(test).ok_or_else(|| Error::invalid("test data", "has no class labels"))?;
    if test.is_empty() {
        return Err(Error::invalid("test data", "is empty"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let raw = &test.inputs;
    let mut x = raw.clone();
    if let Some(s) = &meta.standardize {
        s.apply(&mut x)?;
    }
    let probs = class_probabilities(model, &x)?;
    let classes = probs.shape()[1].max(test.num_classes().unwrap_or(0));
    let names: Vec<String> =
        meta.class_names.clone().or(test.class_names.clone()).unwrap_or_else(|| (0..classes).map(|c| c.to_string()).collect());
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let predicted = predicted_classes(&probs)?;
    let mut pictures = Vec::new();
    let mut add = |kind, path: PathBuf, caption: String| pictures.push(Picture { kind, path, caption });

    let index = layer_index(model, opts.layer.as_deref())?;
    let layer = &model.layers()[index];
    let lname = layer_name(layer.kind(), index);
    if !layer.params().is_empty() {
        let path = dir.join(format!("filters-{lname}.png"));
        let n = draw_filters(model, index, &meta.input_shape, &path, opts.scale)?;
        add("filters", path, format!("{n} filters of layer {lname} ({})", layer.kind()));
    }
    let maps_path = dir.join(format!("feature-maps-{lname}.png"));
    let n = draw_feature_maps(model, index, &x.slice(0, 0, 1)?, &maps_path, (opts.scale / 2).max(2))?;
    add(
        "feature_maps",
        maps_path,
        format!("{n} outputs of layer {lname} for the first test image ({})", name(labels[0] as usize)),
    );

    let image_like = matches!(raw.shape(), [_, 1 | 3, _, _]);
    let sample = |i: usize| -> Result<Tensor> { raw.slice(0, i, i + 1) };
    let (c, h, w) = match *raw.shape() {
        [_, c, h, w] => (c, h, w),
        _ => (0, 0, 0),
    };
    let scale = (112 / h.max(w).max(1)).clamp(1, 8);
    let mistakes = confident_mistakes(&probs, labels, opts.mistakes)?;
    if image_like && !mistakes.is_empty() {
        let images: Vec<Tensor> = mistakes.iter().map(|m| sample(m.index)).collect::<Result<_>>()?;
        let grid: Vec<Captioned> = mistakes
            .iter()
            .zip(&images)
            .map(|(m, img)| Captioned {
                tile: Tile { values: img.data(), channels: c, height: h, width: w },
                heat: false,
                caption: vec![format!("true: {}", name(m.truth)), format!("said: {} {:.2}", name(m.predicted), m.confidence)],
            })
            .collect();
        let path = dir.join("misclassified.png");
        let title = format!("The {} test images {} gets most confidently wrong", grid.len(), meta.name);
        captioned_grid_png(&grid, 6, scale, &title, &path)?;
        add("misclassified", path, format!("{title}: true class, predicted class and its probability"));
    }

    if image_like && opts.saliency > 0 {
        let k = opts.saliency.min(test.len());
        let picks: Vec<usize> = (0..k).collect();
        let targets: Vec<usize> = picks.iter().map(|&i| predicted[i]).collect();
        let grads = model.input_gradients(&x.slice(0, 0, k)?, &targets)?;
        // One value per pixel: the largest absolute gradient over the channels.
        let plane = h * w;
        let maps: Vec<Vec<f32>> = (0..k)
            .map(|i| {
                let g = &grads.data()[i * c * plane..(i + 1) * c * plane];
                (0..plane).map(|p| (0..c).map(|ch| g[ch * plane + p].abs()).fold(0.0, f32::max)).collect()
            })
            .collect();
        let images: Vec<Tensor> = picks.iter().map(|&i| sample(i)).collect::<Result<_>>()?;
        let mut grid = Vec::new();
        for (j, &i) in picks.iter().enumerate() {
            let verdict = if predicted[i] == labels[i] as usize { "right" } else { "wrong" };
            grid.push(Captioned {
                tile: Tile { values: images[j].data(), channels: c, height: h, width: w },
                heat: false,
                caption: vec![format!("true: {}", name(labels[i] as usize)), format!("said: {} ({verdict})", name(predicted[i]))],
            });
            grid.push(Captioned {
                tile: Tile { values: &maps[j], channels: 1, height: h, width: w },
                heat: true,
                caption: vec![format!("saliency for {}", name(predicted[i])), String::new()],
            });
        }
        let path = dir.join("saliency.png");
        let title = "Saliency: |d score(predicted class) / d pixel| (bright: pixels that move the score most)";
        captioned_grid_png(&grid, 8, scale, title, &path)?;
        add(
            "saliency",
            path,
            format!(
                "{k} test images beside their saliency maps (gradient of the predicted class's score with respect to the input)"
            ),
        );
    }

    let layers = model.layers().len();
    if layers >= 2 {
        let m = opts.embedding_samples.clamp(2, test.len().max(2)).min(test.len());
        if m >= 2 {
            let pen = layers - 2;
            let feats = model.activations(&x.slice(0, 0, m)?, pen)?;
            let flat = feats.reshape(&[m, feats.numel() / m])?;
            if flat.shape()[1] >= 2 {
                let p = pca_2d(&flat)?;
                let pname = layer_name(model.layers()[pen].kind(), pen);
                let path = dir.join("embedding.png");
                let axes = (
                    format!("first principal component ({:.0}% of variance)", 100.0 * p.explained[0]),
                    format!("second principal component ({:.0}%)", 100.0 * p.explained[1]),
                );
                let title = format!("{pname} (penultimate layer) of {m} test images, PCA to 2-D");
                let cls: Vec<usize> = labels[..m].iter().map(|&l| l as usize).collect();
                embedding_png(&p.points, &cls, Some(&names), (&axes.0, &axes.1), &title, &path)?;
                add("embedding", path, format!("{title}, coloured by true class"));
            }
        }
    }

    let cm = ConfusionMatrix::new(labels, &predicted, classes)?;
    let path = dir.join("confusion.png");
    confusion_report_png(&cm, Some(&names), &format!("confusion matrix: {} on {} test samples", meta.name, test.len()), &path)?;
    add("confusion", path, "Confusion matrix (rows: true class) with each class's precision, recall and F1".into());

    let curves = one_vs_rest(&probs, labels)?;
    let labelled: Vec<(String, RocCurve)> = if classes == 2 {
        curves.into_iter().nth(1).flatten().map(|c| (format!("{} vs {}", name(1), name(0)), c)).into_iter().collect()
    } else {
        curves.into_iter().enumerate().filter_map(|(k, c)| c.map(|c| (name(k), c))).collect()
    };
    if !labelled.is_empty() {
        let path = dir.join("roc.png");
        roc_png(&labelled, &format!("ROC: {}", meta.name), &path)?;
        add("roc", path, "ROC curves, one class against the rest".into());
    }
    let n = labels.len() as f32;
    let loss =
        labels.iter().enumerate().map(|(i, &l)| -probs.data()[i * probs.shape()[1] + l as usize].max(1e-12).ln()).sum::<f32>()
            / n;
    Ok(Inspection {
        pictures,
        samples: labels.len(),
        loss,
        report: cm.report(Some(&names)),
        auc: macro_auc(&probs, labels).ok(),
        confusion: cm.counts,
        layer: lname,
    })
}
