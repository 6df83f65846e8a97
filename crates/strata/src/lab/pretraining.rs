//! Unsupervised pretraining against few labels (Hinton et al. 2006, Erhan et al. 2010):
//! a deep sigmoid network fine-tuned on 100 to 60,000 labelled images, started from
//! random (Glorot) weights, from a DBN (greedy RBMs) or from stacked denoising
//! autoencoders. The pretraining sees the training images without their labels, once,
//! and every labelled size fine-tunes from it with the same number of updates.

use super::common::{Images, Training, f3, images_and_pixels, prefix, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::model::Sequential;
use crate::optim::Sgd;
use crate::plot::{Legend, LineChart, Panel, Series};
use crate::pretrain::{AutoencoderOptions, CdOptions, Dbn, Visible, load_stack, sigmoid_stack, stacked_autoencoders};
use crate::{Result, Tensor};
use serde_json::json;

/// Fine-tuning's learning rate (SGD with momentum 0.9), the same for every start.
const FINE_TUNE_LR: f32 = 0.05;

const STARTS: [&str; 3] = ["random init", "DBN pretraining", "SAE pretraining"];

/// Fine-tuning epochs for `n` labelled images: at least `min_epochs`, and enough to make
/// `min_steps` updates of `batch`.
fn epochs_for(n: usize, batch: usize, min_epochs: usize, min_steps: usize) -> usize {
    let per_epoch = n.div_ceil(batch).max(1);
    min_epochs.max(min_steps.div_ceil(per_epoch))
}

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let quick = opts.quick;
    let (unlabelled, test_size) = if quick { (5000, 1000) } else { (60_000, 10_000) };
    let sizes: Vec<usize> = if quick { vec![100, 1000] } else { vec![100, 1000, 10_000, 60_000] };
    let hidden: Vec<usize> = if quick { vec![256, 256, 256] } else { vec![500, 500, 500] };
    // Enough pretraining updates per layer (150 quick, 600 full, batches of 100).
    let pretrain_epochs = if quick { 3 } else { 1 };
    let (min_epochs, min_steps, batch) = if quick { (2, 150, 32) } else { (2, 1000, 64) };
    // Pretraining works on raw pixels in [0, 1]; the classifier sees standardized ones,
    // folded into its first layer by load_stack.
    let (all, raw): (Images, Tensor) = images_and_pixels(opts, unlabelled, test_size)?;
    let cd = CdOptions { epochs: pretrain_epochs, seed: opts.seed, ..CdOptions::default() };
    let (dbn, _) = Dbn::pretrain(&raw, &hidden, Visible::Bernoulli, &cd, |_, _| {})?;
    let ae = AutoencoderOptions { epochs: pretrain_epochs, seed: opts.seed, ..AutoencoderOptions::default() };
    let (encoders, _) = stacked_autoencoders(&raw, &hidden, &ae)?;
    let input = all.train.sample_shape().to_vec();
    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new(); STARTS.len()];
    for &n in &sizes {
        let data =
            Images { train: prefix(all.train.clone(), n)?, test: all.test.clone(), standardizer: all.standardizer.clone() };
        let epochs = epochs_for(data.train.len(), batch, min_epochs, min_steps);
        for (s, start) in STARTS.iter().enumerate() {
            let mut model: Sequential = sigmoid_stack(start, &hidden, 10).seed(opts.seed);
            model.build(&input)?;
            match s {
                1 => dbn.load_into(&mut model, Some(&data.standardizer))?,
                2 => {
                    let refs: Vec<(&Tensor, &Tensor)> = encoders.iter().map(|(w, b)| (w, b)).collect();
                    load_stack(&mut model, &refs, Some(&data.standardizer))?;
                }
                _ => {}
            }
            let how = Training { epochs, batch, augment: None, per_epoch_test: false };
            let trained = train_classifier(model, Box::new(Sgd::new(FINE_TUNE_LR).momentum(0.9)), &data, &how)?;
            let mut run = trained.figures(Run::new(
                format!("{start}, {} labels", data.train.len()),
                json!({"start": start, "labelled": data.train.len(), "epochs": epochs}),
            ));
            // Per-epoch curves of hundreds of epochs would swamp the JSON; keep the figures.
            run.history = None;
            curves[s].push((data.train.len() as f64, run.get("test_accuracy")));
            rec.push(run);
        }
    }
    let fewest = sizes[0].min(all.train.len());
    let acc = |s: usize, n: usize| rec.find(&format!("{}, {n} labels", STARTS[s])).map(|r| r.get("test_accuracy"));
    let (random, dbn_acc, sae_acc) = (acc(0, fewest)?, acc(1, fewest)?, acc(2, fewest)?);
    let most = all.train.len().min(*sizes.last().unwrap_or(&fewest));
    let (random_most, dbn_most) = (acc(0, most)?, acc(1, most)?);
    let verdict = Verdict::parts(
        &[dbn_acc > random, sae_acc > random],
        format!(
            "test accuracy with {fewest} labels: random init {}, DBN {}, SAE {}; with {most} labels: random {}, DBN {}",
            f3(random),
            f3(dbn_acc),
            f3(sae_acc),
            f3(random_most),
            f3(dbn_most)
        ),
    );
    let sizes_text = hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join("-");
    let chart = LineChart {
        title: format!("Pretraining a 784-{sizes_text}-10 sigmoid network ({} unlabelled images)", all.train.len()),
        columns: 1,
        panels: vec![Panel {
            title: "test accuracy after fine-tuning".into(),
            x_label: "labelled training images (log scale)".into(),
            y_label: "test accuracy".into(),
            log_x: true,
            legend: Legend::LowerRight,
            series: STARTS.iter().enumerate().map(|(s, name)| Series::new(*name, s, curves[s].clone()).markers()).collect(),
            ..Panel::default()
        }],
    };
    let settings = json!({
        "network": format!("784-{sizes_text}-10 sigmoid"), "unlabelled_images": all.train.len(), "test_images": all.test.len(),
        "labelled_sizes": sizes, "pretraining_epochs_per_layer": pretrain_epochs, "rbm": "CD-1, lr 0.05, batch 100",
        "autoencoders": "denoising (mask 0.25), Adam 1e-3, batch 100",
        "fine_tuning": format!("sgd lr {FINE_TUNE_LR} momentum 0.9, batch {batch}, at least {min_epochs} epochs and {min_steps} updates"),
    });
    Ok(Outcomes { settings, verdict, chart })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_label_sets_get_enough_updates() {
        assert_eq!(epochs_for(100, 64, 3, 1500), 750);
        assert_eq!(epochs_for(60_000, 64, 3, 1500), 3);
        assert_eq!(epochs_for(1000, 32, 2, 150), 5);
    }
}
