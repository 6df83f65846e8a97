//! Deep belief nets as the lectures teach them: CD-k and persistent CD, the DBN with label
//! units at the top, up-down (wake-sleep) fine-tuning and class-conditional samples.

use strata::pretrain::{CdOptions, GenerativeDbn, Rbm, UpDownOptions, Visible};
use strata::{Rng, Tensor};

/// 4x4 images of one horizontal or vertical bar.
fn bars(n: usize, seed: u64) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let mut data = vec![0.0; n * 16];
    for img in data.chunks_exact_mut(16) {
        let k = rng.below(4);
        let vertical = rng.below(2) == 1;
        for t in 0..4 {
            img[if vertical { t * 4 + k } else { k * 4 + t }] = 1.0;
        }
    }
    Tensor::from_vec(data, &[n, 16]).unwrap()
}

#[test]
fn cd1_cd10_and_pcd_each_lower_the_reconstruction_error() {
    let data = bars(400, 1);
    for (k, persistent, lr) in [(1, false, 0.1), (10, false, 0.1), (1, true, 0.02)] {
        let mut rbm = Rbm::new(16, 12, Visible::Bernoulli, &mut Rng::seeded(1));
        let before = rbm.reconstruction_error(&data).unwrap();
        let opts =
            CdOptions { epochs: 30, batch_size: 20, lr, k, persistent, monitor_samples: 400, seed: 1, ..CdOptions::default() };
        let records = rbm.train(&data, &opts, |_| {}).unwrap();
        let after = records.last().unwrap().reconstruction_error.unwrap();
        eprintln!("CD-{k} persistent {persistent}: reconstruction error {before:.3} -> {after:.3}");
        assert!(after < 0.6 * before, "CD-{k} persistent {persistent}: {before} -> {after}");
    }
}

/// Four classes of 6x6 images (a bar pattern each), every pixel flipped with probability 0.05.
fn labelled(n: usize, seed: u64) -> (Tensor, Vec<usize>, Vec<Vec<f32>>) {
    let protos: Vec<Vec<f32>> = (0..4)
        .map(|c| {
            (0..36)
                .map(|i| {
                    let (r, col) = (i / 6, i % 6);
                    let on = match c {
                        0 => r < 2,
                        1 => col < 2,
                        2 => r == col || r + 1 == col,
                        _ => r >= 4 || col >= 4,
                    };
                    on as u8 as f32
                })
                .collect()
        })
        .collect();
    let mut rng = Rng::seeded(seed);
    let mut x = Vec::with_capacity(n * 36);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 4;
        y.push(c);
        x.extend(protos[c].iter().map(|&p| if rng.uniform() < 0.05 { 1.0 - p } else { p }));
    }
    (Tensor::from_vec(x, &[n, 36]).unwrap(), y, protos)
}

fn pretrained(x: &Tensor, y: &[usize]) -> GenerativeDbn {
    let opts = CdOptions { epochs: 10, batch_size: 20, lr: 0.05, seed: 2, monitor_samples: 200, ..CdOptions::default() };
    GenerativeDbn::pretrain(x, y, 4, &[24, 32], Visible::Bernoulli, &opts, |_, _| {}).unwrap()
}

#[test]
fn up_down_fine_tuning_improves_the_generative_model_over_greedy_pretraining() {
    let (x, y, _) = labelled(400, 1);
    let mut dbn = pretrained(&x, &y);
    assert_eq!(dbn.sizes(), vec![36, 24, 32]);
    let greedy = dbn.generative_reconstruction_error(&x, &y).unwrap();
    // the same number of further greedy epochs would not be the comparison: up-down unties
    // the weights and trains the generative ones directly
    let opts =
        UpDownOptions { epochs: 20, batch_size: 20, lr: 0.02, k: 3, monitor_samples: 400, seed: 3, ..UpDownOptions::default() };
    let records = dbn.up_down(&x, &y, &opts, |_| {}).unwrap();
    let after = dbn.generative_reconstruction_error(&x, &y).unwrap();
    eprintln!(
        "generative reconstruction error: greedy {greedy:.3}, up-down {after:.3}; accuracy {:?}",
        records.iter().map(|r| r.accuracy).collect::<Vec<_>>()
    );
    assert!(after < 0.96 * greedy, "greedy {greedy} -> up-down {after}");
    assert_eq!(records.last().unwrap().reconstruction_error, after);
    // recognition and generative weights are no longer tied
    let l = &dbn.layers[0];
    assert_ne!(l.recognition.data(), l.generative.data());
    // the DBN still classifies its training data
    let predicted = dbn.classify(&x).unwrap();
    let right = predicted.iter().zip(&y).filter(|(a, b)| a == b).count();
    assert!(right as f32 / 400.0 > 0.9, "accuracy {}", right as f32 / 400.0);
}

#[test]
fn class_conditional_samples_look_like_their_class() {
    let (x, y, protos) = labelled(400, 4);
    let mut dbn = pretrained(&x, &y);
    let opts = UpDownOptions { epochs: 10, batch_size: 20, lr: 0.02, seed: 5, ..UpDownOptions::default() };
    dbn.up_down(&x, &y, &opts, |_| {}).unwrap();
    let mut rng = Rng::seeded(6);
    for class in 0..4 {
        let s = dbn.sample_class(class, 20, 200, &mut rng).unwrap();
        assert_eq!(s.shape(), &[20, 36]);
        // each sample is nearest to its class's prototype (most of them)
        let nearest = s
            .data()
            .chunks_exact(36)
            .filter(|row| {
                let d: Vec<f32> = protos.iter().map(|p| p.iter().zip(*row).map(|(a, b)| (a - b) * (a - b)).sum()).collect();
                (0..4).all(|c| c == class || d[class] < d[c])
            })
            .count();
        eprintln!("class {class}: {nearest}");
        assert!(nearest >= 12, "class {class}: {nearest} of 20 samples nearest to their prototype");
    }
    assert!(dbn.sample_class(4, 1, 1, &mut rng).is_err());
}

#[test]
fn generative_dbn_saves_and_loads_and_unrolls() {
    let (x, y, _) = labelled(200, 7);
    let dbn = pretrained(&x, &y);
    let dir = std::env::temp_dir().join(format!("strata-gdbn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dbn.safetensors");
    dbn.save(&path).unwrap();
    let back = GenerativeDbn::load(&path).unwrap();
    assert_eq!(back.sizes(), dbn.sizes());
    assert_eq!(back.classify(&x).unwrap(), dbn.classify(&x).unwrap());
    // a file that is not a generative DBN is refused with a line naming it
    let other = dir.join("plain.safetensors");
    strata::io::save_tensors(&other, &[("w".into(), Tensor::zeros(&[2, 2]))], None).unwrap();
    let err = GenerativeDbn::load(&other).unwrap_err().to_string();
    assert!(err.contains("plain.safetensors") && err.contains("not a generative DBN"), "{err}");
    // the unrolled classifier: sigmoid layers 36-24-32, logits from the label units
    let mut model = strata::pretrain::sigmoid_stack("dbn", &[24, 32], 4).seed(1);
    model.build(&[36]).unwrap();
    dbn.load_into(&mut model, None).unwrap();
    let out = model.predict(&x).unwrap();
    let mean_field: Vec<usize> =
        out.data().chunks_exact(4).map(|r| (0..4).fold(0, |b, j| if r[j] > r[b] { j } else { b })).collect();
    let exact = dbn.classify(&x).unwrap();
    let agree = mean_field.iter().zip(&exact).filter(|(a, b)| a == b).count();
    assert!(agree >= 180, "mean-field and free-energy classification agree on {agree} of 200");
    std::fs::remove_dir_all(&dir).ok();
}
