//! Dropout against overfitting (Srivastava et al. 2014): a wide ReLU MLP on a small
//! training subset, trained long enough to memorize it, with and without dropout (0.2 on
//! the inputs, 0.5 on each hidden layer). Without dropout the training loss goes to zero
//! while the test loss turns up; dropout keeps the gap between them smaller.

use super::common::{Training, f3, images, test_and_training_curves, train_classifier};
use super::{LabOptions, Outcomes, Recorder, Run, Verdict};
use crate::Result;
use crate::model::Sequential;
use crate::nn::{Activation, Dense, Dropout, Flatten};
use crate::optim::Sgd;
use serde_json::json;

fn network(width: usize, dropout: bool, seed: u64) -> Sequential {
    let mut m = Sequential::new().seed(seed).add(Flatten);
    if dropout {
        m = m.add(Dropout::new(0.2));
    }
    for _ in 0..2 {
        m = m.add(Dense::new(width).activation(Activation::Relu));
        if dropout {
            m = m.add(Dropout::new(0.5));
        }
    }
    m.add(Dense::new(10))
}

const VARIANTS: [(&str, bool); 2] = [("without dropout", false), ("with dropout", true)];

pub(crate) fn run(opts: &LabOptions, rec: &mut Recorder) -> Result<Outcomes> {
    let (train_size, test_size, epochs, width) = if opts.quick { (500, 1000, 40, 512) } else { (2000, 10_000, 60, 800) };
    let data = images(opts, train_size, test_size)?;
    let how = Training { epochs, batch: 32, augment: None, per_epoch_test: true };
    for (name, dropout) in VARIANTS {
        let mut model = network(width, dropout, opts.seed);
        model.build(data.train.sample_shape())?;
        let trained = train_classifier(model, Box::new(Sgd::new(0.02).momentum(0.9)), &data, &how)?;
        rec.push(trained.figures(Run::new(name, json!({"dropout": dropout}))));
    }
    let (plain, drop) = (rec.find(VARIANTS[0].0)?.clone(), rec.find(VARIANTS[1].0)?.clone());
    let held = [drop.get("loss_gap") < plain.get("loss_gap"), drop.get("accuracy_gap") < plain.get("accuracy_gap")];
    let verdict = Verdict::parts(
        &held,
        format!(
            "test-train accuracy gap {} with dropout vs {} without; test-train loss gap {} vs {}; test accuracy {} vs {}",
            f3(drop.get("accuracy_gap")),
            f3(plain.get("accuracy_gap")),
            f3(drop.get("loss_gap")),
            f3(plain.get("loss_gap")),
            f3(drop.get("test_accuracy")),
            f3(plain.get("test_accuracy"))
        ),
    );
    let chart = test_and_training_curves(
        format!("Dropout: a 784-{width}-{width}-10 ReLU MLP on {} training images", data.train.len()),
        "loss (training: with dropout active)",
        [&plain, &drop],
    );
    let settings = json!({
        "network": format!("784-{width}-{width}-10 ReLU"), "dropout": "0.2 on the inputs, 0.5 after each hidden layer",
        "train_images": data.train.len(), "test_images": data.test.len(), "epochs": epochs, "batch": 32,
        "optimizer": "sgd lr 0.02 momentum 0.9",
        "gaps": "accuracy_gap = train - test accuracy, loss_gap = test - train loss, both measured in eval mode after training",
    });
    Ok(Outcomes { settings, verdict, chart })
}
