//! Autoencoders and their layers: Upsample2d's gradient by finite differences, the Noise
//! and Unflatten layers, dense/conv/denoising autoencoders learning to reconstruct,
//! stacked-autoencoder pretraining, save/load of the new layers, and `strata train` on a
//! reconstruction objective (JSON contract: `test_accuracy` null).

use strata::autograd::Tape;
use strata::autograd::gradcheck::check_gradients;
use strata::nn::{ForwardCtx, Layer, Noise, Unflatten, Upsample2d};
use strata::prelude::*;
use strata::pretrain::{
    AutoencoderOptions, conv_autoencoder, dense_autoencoder, reconstruction_dataset, sae_classifier, stacked_autoencoders,
};

#[test]
fn upsample2d_gradient_matches_finite_differences() {
    let mut rng = Rng::seeded(1);
    for (shape, factor) in [([2, 3, 2, 3], (2, 2)), ([1, 2, 3, 1], (1, 3)), ([1, 1, 1, 1], (3, 2))] {
        let x = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
        check_gradients(|v| v[0].upsample2d(factor), &[x], 1e-2, 1e-3, 1e-2).unwrap();
    }
    // The check can fail: a value of 3 upsample(x) whose gradient is that of upsample(x)
    // (two thirds of the path detached) is caught.
    let x = Tensor::rand_normal(&[1, 1, 2, 2], 0.0, 1.0, &mut rng);
    let wrong = |v: &[strata::autograd::Var]| {
        let up = v[0].upsample2d((2, 2))?;
        up.scale(2.0).detach().add(&up)
    };
    assert!(check_gradients(wrong, &[x], 1e-2, 1e-3, 1e-2).is_err());
    let tape = Tape::no_grad();
    let y = tape.input(Tensor::arange(4).reshape(&[1, 1, 2, 2]).unwrap()).upsample2d((2, 2)).unwrap();
    assert_eq!(&y.value().data()[..8], &[0., 0., 1., 1., 0., 0., 1., 1.]);
    assert!(tape.input(Tensor::zeros(&[2, 2])).upsample2d((2, 2)).is_err());
}

#[test]
fn noise_corrupts_in_training_only() {
    let mut rng = Rng::seeded(2);
    let x = Tensor::ones(&[50, 40]);
    let tape = Tape::new();
    let mask = Noise::mask(0.3);
    let mut ctx = ForwardCtx::train(&tape, &mut rng);
    let y = mask.forward(&tape.input_with_grad(x.clone()), &mut ctx).unwrap();
    let zeros = y.value().data().iter().filter(|&&v| v == 0.0).count() as f32 / 2000.0;
    assert!((zeros - 0.3).abs() < 0.05, "masked fraction {zeros}");
    assert!(y.value().data().iter().all(|&v| v == 0.0 || v == 1.0), "masking does not rescale");
    let g = Noise::gaussian(0.5).forward(&tape.input(x.clone()), &mut ctx).unwrap();
    let sd = (g.value().data().iter().map(|v| (v - 1.0) * (v - 1.0)).sum::<f32>() / 2000.0).sqrt();
    assert!((sd - 0.5).abs() < 0.05, "noise std {sd}");
    let mut eval = ForwardCtx::eval(&tape);
    assert_eq!(mask.forward(&tape.input(x.clone()), &mut eval).unwrap().value(), &x);
    assert!("mask:1.5".parse::<Noise>().is_err());
    assert_eq!("gaussian:0.2".parse::<Noise>().unwrap(), Noise::gaussian(0.2));
    let mut u = Unflatten::new(&[1, 4, 5]);
    assert_eq!(u.build(&[20], &mut rng).unwrap(), vec![1, 4, 5]);
    assert!(Unflatten::new(&[3, 3]).build(&[20], &mut rng).is_err());
    assert!(Upsample2d::new(2).build(&[4, 4], &mut rng).is_err());
}

/// 8x8 images: a bright square at a random place.
fn squares(n: usize, seed: u64) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let mut data = vec![0.0; n * 64];
    for img in data.chunks_exact_mut(64) {
        let (r, c) = (rng.below(5), rng.below(5));
        for y in r..r + 4 {
            for x in c..c + 4 {
                img[y * 8 + x] = 1.0;
            }
        }
    }
    Tensor::from_vec(data, &[n, 1, 8, 8]).unwrap()
}

fn train_reconstruction(mut model: Sequential, data: &Tensor, epochs: usize) -> (f32, f32, Sequential) {
    model.compile(strata::Adam::new(3e-3), Loss::BinaryCrossEntropy, &[]);
    let ds = reconstruction_dataset(data).unwrap();
    let h = model.fit(&ds, FitOptions::epochs(epochs).batch_size(20).silent()).unwrap();
    let e = model.evaluate(&ds, 100).unwrap();
    assert!(e.accuracy.is_none() && h.epochs.iter().all(|r| r.accuracy.is_none()), "no accuracy for reconstruction");
    (h.epochs[0].loss, e.loss, model)
}

#[test]
fn autoencoders_learn_to_reconstruct() {
    let data = squares(300, 1);
    for noise in [None, Some(Noise::mask(0.25))] {
        let mut model = dense_autoencoder(&[1, 8, 8], &[16], noise).seed(1);
        model.build(&[1, 8, 8]).unwrap();
        assert_eq!(model.output_shape(), Some(&[1, 8, 8][..]));
        let (first, last, mut model) = train_reconstruction(model, &data, 40);
        eprintln!("dense autoencoder (noise {noise:?}): loss {first:.4} -> {last:.4}");
        assert!(last < 0.5 * first, "{first} -> {last}");
        let out = model.predict(&data.slice(0, 0, 3).unwrap()).unwrap();
        assert_eq!(out.shape(), &[3, 1, 8, 8]);
        assert!(out.data().iter().all(|v| (0.0..=1.0).contains(v)));
    }
    let mut conv = conv_autoencoder(&[1, 8, 8], None).unwrap().seed(2);
    conv.build(&[1, 8, 8]).unwrap();
    assert_eq!(conv.output_shape(), Some(&[1, 8, 8][..]));
    let (first, last, _) = train_reconstruction(conv, &data, 15);
    eprintln!("conv autoencoder: loss {first:.4} -> {last:.4}");
    assert!(last < 0.7 * first, "{first} -> {last}");
    assert!(conv_autoencoder(&[1, 6, 6], None).is_err());
}

#[test]
fn stacked_autoencoders_initialize_a_classifier() {
    let data = squares(200, 3);
    let opts = AutoencoderOptions { epochs: 3, batch_size: 20, seed: 1, ..AutoencoderOptions::default() };
    let (layers, histories) = stacked_autoencoders(&data, &[20, 10], &opts).unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!((layers[0].0.shape(), layers[1].0.shape()), (&[64, 20][..], &[20, 10][..]));
    assert!(histories.iter().all(|h| h.epochs.len() == 3 && h.last().unwrap().loss < h.epochs[0].loss + 1e-3));
    let model = sae_classifier(&[1, 8, 8], &layers, 4, 1).unwrap();
    let w = model.params()[0];
    assert_eq!(w.value, layers[0].0, "first layer carries the first encoder's weights");
}

#[test]
fn new_layers_survive_save_and_load() {
    let mut model = dense_autoencoder(&[1, 8, 8], &[8], Some(Noise::gaussian(0.1))).seed(4);
    model.build(&[1, 8, 8]).unwrap();
    model.compile(Sgd::new(0.1), Loss::BinaryCrossEntropy, &[]);
    let mut conv = conv_autoencoder(&[1, 8, 8], Some(Noise::mask(0.2))).unwrap().seed(4);
    conv.build(&[1, 8, 8]).unwrap();
    conv.compile(Sgd::new(0.1), Loss::BinaryCrossEntropy, &[]);
    let dir = std::env::temp_dir().join(format!("strata-ae-save-{}", std::process::id()));
    let x = squares(4, 5);
    for (i, m) in [&mut model, &mut conv].into_iter().enumerate() {
        let path = dir.join(format!("m{i}.safetensors"));
        strata::model::save_model(m, &path, None, None).unwrap();
        let mut back = strata::model::load_model(&path).unwrap().model;
        assert_eq!(back.specs(), m.specs());
        assert!(back.predict(&x).unwrap().max_abs_diff(&m.predict(&x).unwrap()).unwrap() < 1e-6);
    }
    std::fs::remove_dir_all(&dir).ok();
}
