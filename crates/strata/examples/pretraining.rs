//! The pretraining experiment (Erhan et al. 2009, shown in the lectures): the same deep
//! sigmoid network, fine-tuned with the same budget (epochs, batch, optimizer, schedule),
//! once from random initialization and once from greedy RBM pretraining (a DBN); with
//! `--sae`, also from stacked denoising autoencoders (Bengio et al. 2007, Vincent et al.
//! 2008). Data: Fashion-MNIST, inputs standardized (the pretrained first layer has the
//! standardization folded in, so it computes what it learned on raw pixels).
//!
//! Run: `cargo run --release --example pretraining -- [--sizes 500-500-500] [--epochs 5]
//! [--pretrain-epochs 1] [--lr 0.1] [--batch 64] [--schedule step:2:0.5] [--seed 1]
//! [--train-size N] [--sae] [--out runs/pretraining]`.
//! Writes the first RBM's filters (and samples, reconstructions) as PNGs into `--out`.
//! The last line is JSON: `{"pretrained":{"accuracy":..},"random_init":{"accuracy":..}}`
//! (plus `"sae"` with `--sae`, and timings).

use std::path::PathBuf;
use std::time::Instant;
use strata::data::normalize::Standardizer;
use strata::optim::schedule_from_str;
use strata::prelude::*;
use strata::pretrain::{AutoencoderOptions, CdOptions, Dbn, Visible, load_stack, pictures, sigmoid_stack, stacked_autoencoders};

struct Args {
    sizes: Vec<usize>,
    epochs: usize,
    pretrain_epochs: usize,
    lr: f32,
    batch: usize,
    schedule: String,
    seed: u64,
    train_size: Option<usize>,
    sae: bool,
    out: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        sizes: vec![500, 500, 500],
        epochs: 5,
        pretrain_epochs: 1,
        lr: 0.1,
        batch: 64,
        schedule: "step:2:0.5".into(),
        seed: 1,
        train_size: None,
        sae: false,
        out: PathBuf::from("runs/pretraining"),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        if flag == "--sae" {
            a.sae = true;
            i += 1;
            continue;
        }
        let value = argv.get(i + 1).ok_or_else(|| strata::Error::invalid(flag, "needs a value"))?;
        let num = |what: &str| strata::Error::invalid(what, format!("'{value}' is not a number"));
        match flag {
            "--sizes" => {
                a.sizes = value.split('-').map(|s| s.parse().map_err(|_| num(flag))).collect::<Result<_>>()?;
            }
            "--epochs" => a.epochs = value.parse().map_err(|_| num(flag))?,
            "--pretrain-epochs" => a.pretrain_epochs = value.parse().map_err(|_| num(flag))?,
            "--lr" => a.lr = value.parse().map_err(|_| num(flag))?,
            "--batch" => a.batch = value.parse().map_err(|_| num(flag))?,
            "--schedule" => a.schedule = value.clone(),
            "--seed" => a.seed = value.parse().map_err(|_| num(flag))?,
            "--train-size" => a.train_size = Some(value.parse().map_err(|_| num(flag))?),
            "--out" => a.out = PathBuf::from(value),
            other => return Err(strata::Error::invalid("flag", format!("unknown '{other}'"))),
        }
        i += 2;
    }
    Ok(a)
}

/// Fine-tunes `model` with the shared budget; returns (test accuracy, seconds).
fn fine_tune(mut model: Sequential, a: &Args, train: &Dataset, test: &Dataset) -> Result<(f32, f32, f64)> {
    model.compile(Sgd::new(a.lr).momentum(0.9), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    let mut opts = FitOptions::epochs(a.epochs).batch_size(a.batch).silent();
    opts.schedule = Some(schedule_from_str(&a.schedule)?);
    let history = model.fit(train, opts)?;
    let eval = model.evaluate(test, 1000)?;
    let train_acc = history.last().and_then(|e| e.accuracy).unwrap_or(f32::NAN);
    Ok((eval.accuracy.unwrap_or(f32::NAN), train_acc, history.train_seconds()))
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let (mut train, mut test) = strata::data::mnist::load("fashion-mnist")?;
    if let Some(n) = a.train_size {
        train = train.subset(&(0..n.min(train.len())).collect::<Vec<_>>())?;
    }
    let raw = train.inputs.clone();
    let raw_test = test.inputs.clone();
    let s = Standardizer::fit_global(&train.inputs)?;
    s.apply(&mut train.inputs)?;
    s.apply(&mut test.inputs)?;
    let input = train.sample_shape().to_vec();
    let net = |name: &str| -> Result<Sequential> {
        let mut m = sigmoid_stack(name, &a.sizes, 10).seed(a.seed);
        m.build(&input)?;
        Ok(m)
    };
    let sizes = a.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("-");
    println!(
        "network {}-{sizes}-10 sigmoid; fine-tuning: {} epochs, batch {}, SGD lr {} momentum 0.9, schedule {}; {} training images",
        input.iter().product::<usize>(),
        a.epochs,
        a.batch,
        a.lr,
        a.schedule,
        train.len()
    );

    let (random_acc, random_train, random_secs) = fine_tune(net("random-init")?, &a, &train, &test)?;
    println!(
        "random init (Glorot uniform): test accuracy {random_acc:.4} (train {random_train:.4}), fine-tuning {random_secs:.1}s"
    );

    let start = Instant::now();
    let opts = CdOptions { epochs: a.pretrain_epochs, seed: a.seed, ..CdOptions::default() };
    let (dbn, _) = Dbn::pretrain(&raw, &a.sizes, Visible::Bernoulli, &opts, |l, r| {
        println!(
            "  RBM {} epoch {}: reconstruction error {:.2}, pseudo-log-likelihood {:.2}, {:.1}s",
            l + 1,
            r.epoch,
            r.reconstruction_error.unwrap_or(f32::NAN),
            r.pseudo_log_likelihood.unwrap_or(f32::NAN),
            r.seconds
        )
    })?;
    let rbm_secs = start.elapsed().as_secs_f64();
    let mut model = net("dbn")?;
    dbn.load_into(&mut model, Some(&s))?;
    let (pre_acc, pre_train, pre_secs) = fine_tune(model, &a, &train, &test)?;
    println!(
        "RBM-pretrained (DBN): test accuracy {pre_acc:.4} (train {pre_train:.4}), pretraining {rbm_secs:.1}s + fine-tuning {pre_secs:.1}s"
    );
    for p in pictures::save_dbn_pictures(&a.out, &dbn, &raw_test, 1000, a.seed)? {
        println!("  wrote {}", p.display());
    }

    let mut sae = serde_json::Value::Null;
    if a.sae {
        let start = Instant::now();
        let opts = AutoencoderOptions { epochs: a.pretrain_epochs, seed: a.seed, ..AutoencoderOptions::default() };
        let (layers, _) = stacked_autoencoders(&raw, &a.sizes, &opts)?;
        let ae_secs = start.elapsed().as_secs_f64();
        let mut model = net("sae")?;
        let refs: Vec<(&Tensor, &Tensor)> = layers.iter().map(|(w, b)| (w, b)).collect();
        load_stack(&mut model, &refs, Some(&s))?;
        let (acc, tr, secs) = fine_tune(model, &a, &train, &test)?;
        println!(
            "stacked denoising autoencoders: test accuracy {acc:.4} (train {tr:.4}), pretraining {ae_secs:.1}s + fine-tuning {secs:.1}s"
        );
        pictures::save_filters(&a.out.join("sae-filters.png"), &layers[0].0, pictures::image_shape(&input)?, 100)?;
        sae = serde_json::json!({"accuracy": acc, "train_accuracy": tr, "pretrain_seconds": ae_secs, "fine_tune_seconds": secs});
    }
    println!(
        "{}",
        serde_json::json!({
            "network": format!("{}-{sizes}-10", input.iter().product::<usize>()),
            "epochs": a.epochs,
            "pretrain_epochs": a.pretrain_epochs,
            "pretrained": {"accuracy": pre_acc, "train_accuracy": pre_train, "pretrain_seconds": rbm_secs, "fine_tune_seconds": pre_secs},
            "random_init": {"accuracy": random_acc, "train_accuracy": random_train, "fine_tune_seconds": random_secs},
            "sae": sae,
        })
    );
    Ok(())
}
