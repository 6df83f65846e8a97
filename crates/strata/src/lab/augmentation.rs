//! Data augmentation on small data: LeNet-5 on a 5,000-image subset, trained alike with
//! and without random horizontal flips and shifts of up to 2 pixels. The network sees a
//! new variant of each image every epoch, so it memorizes less: the gap between training
//! and test shrinks, and the test accuracy should rise.

use super::common::{Training, f3, images, test_and_training_curves, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::Result;
use crate::data::Augment;
use crate::optim::Sgd;
use serde_json::json;

const SPEC: &str = "flip,translate:2";

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs) = if opts.quick { (1500, 1000, 8) } else { (5000, 10_000, 30) };
    let data = images(opts, train_size, test_size)?;
    let augment: Augment = SPEC.parse()?;
    for (name, aug) in [("without augmentation", None), ("with augmentation", Some(augment))] {
        let mut model = crate::zoo::lenet5(10).seed(opts.seed);
        model.build(data.train.sample_shape())?;
        let how = Training { epochs, batch: 64, augment: aug, per_epoch_test: true };
        let trained = train_classifier(model, Box::new(Sgd::new(0.02).momentum(0.9)), &data, &how)?;
        rec.push(trained.figures(Run::new(name, json!({"augment": if how.augment.is_some() { SPEC } else { "none" }}))));
    }
    let plain = rec.runs()[0].clone();
    let aug = rec.runs()[1].clone();
    let held = [aug.get("accuracy_gap") < plain.get("accuracy_gap"), aug.get("test_accuracy") > plain.get("test_accuracy")];
    let verdict = Verdict::parts(
        &held,
        format!(
            "test accuracy {} with augmentation vs {} without; train-test accuracy gap {} vs {}",
            f3(aug.get("test_accuracy")),
            f3(plain.get("test_accuracy")),
            f3(aug.get("accuracy_gap")),
            f3(plain.get("accuracy_gap"))
        ),
    );
    let chart = test_and_training_curves(
        format!("Augmentation ({SPEC}): LeNet-5 on {} training images", data.train.len()),
        "loss (training: on the augmented batches)",
        [&plain, &aug],
    );
    let settings = json!({
        "network": "lenet5", "augment": SPEC, "train_images": data.train.len(), "test_images": data.test.len(),
        "epochs": epochs, "batch": 64, "optimizer": "sgd lr 0.02 momentum 0.9",
        "gaps": "accuracy_gap = train - test accuracy, both measured in eval mode on unaugmented images after training",
    });
    Ok(Outcomes { settings, verdict, chart })
}
