//! The 10-patch test: the crops against a hand-written list, the averaged probabilities
//! against a hand-computed average, invariance where the model cannot tell the crops apart,
//! and the padding.

use strata::data::normalize::Standardizer;
use strata::experiment::{LoadedModel, black_after, pad_images, ten_crop_proba, ten_crops};
use strata::nn::GlobalAvgPool2d;
use strata::prelude::*;

#[test]
fn crops_are_the_corners_the_centre_and_their_mirrors() {
    // 3x4 image 0..11, 2x2 crops: the corners, the centre at (0, 1), then mirrored
    let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[1, 1, 3, 4]).unwrap();
    let crops = ten_crops(&x, (2, 2)).unwrap();
    let want: [[f32; 4]; 5] = [[0., 1., 4., 5.], [2., 3., 6., 7.], [4., 5., 8., 9.], [6., 7., 10., 11.], [1., 2., 5., 6.]];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(crops[i].shape(), &[1, 1, 2, 2]);
        assert_eq!(crops[i].data(), w, "crop {i}");
        let mirrored = [w[1], w[0], w[3], w[2]];
        assert_eq!(crops[5 + i].data(), &mirrored, "mirrored crop {i}");
    }
    assert!(ten_crops(&x, (4, 2)).is_err(), "a crop taller than the image");
    assert!(ten_crops(&Tensor::zeros(&[2, 12]), (2, 2)).is_err(), "not images");
}

#[test]
fn probabilities_are_the_mean_of_the_ten_crops_softmax() {
    let mut model = Sequential::new().seed(3).add(Flatten).add(Dense::new(4));
    model.build(&[2, 3, 3]).unwrap();
    let x = Tensor::rand_normal(&[5, 2, 5, 4], 0.0, 1.0, &mut Rng::seeded(1));
    // by hand: softmax of each crop's logits, summed, divided by ten
    let mut want = vec![0.0f32; 5 * 4];
    for crop in ten_crops(&x, (3, 3)).unwrap() {
        let logits = model.predict(&crop).unwrap();
        for (row, out) in logits.data().chunks(4).zip(want.chunks_mut(4)) {
            let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let z: f32 = row.iter().map(|v| (v - m).exp()).sum();
            out.iter_mut().zip(row).for_each(|(o, v)| *o += (v - m).exp() / z / 10.0);
        }
    }
    let mut loaded = LoadedModel::Network(model);
    let got = ten_crop_proba(&mut loaded, &x, (3, 3)).unwrap();
    assert_eq!(got.shape(), &[5, 4]);
    assert!(got.data().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6), "{:?} vs {want:?}", got.data());
    assert!(got.data().chunks(4).all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-5));
}

#[test]
fn a_model_that_cannot_tell_the_crops_apart_is_unchanged() {
    // global average pooling over images constant per channel: every crop and mirror looks
    // the same, so the ten-crop probabilities are the single crop's
    let mut model = Sequential::new().seed(4).add(GlobalAvgPool2d).add(Dense::new(3));
    model.build(&[2, 4, 4]).unwrap();
    let mut rng = Rng::seeded(2);
    let levels: Vec<f32> = (0..3 * 2).map(|_| rng.uniform()).collect();
    let x = Tensor::from_vec(levels.iter().flat_map(|&v| std::iter::repeat_n(v, 36)).collect(), &[3, 2, 6, 6]).unwrap();
    let mut loaded = LoadedModel::Network(model);
    let single = loaded.predict_proba(&ten_crops(&x, (4, 4)).unwrap()[4]).unwrap();
    let ten = ten_crop_proba(&mut loaded, &x, (4, 4)).unwrap();
    assert!(ten.max_abs_diff(&single).unwrap() < 1e-6);
}

#[test]
fn padding_is_black_after_standardization() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[1, 2, 2, 2]).unwrap();
    let p = pad_images(&x, 1, &[-1.0, -2.0]).unwrap();
    assert_eq!(p.shape(), &[1, 2, 4, 4]);
    #[rustfmt::skip]
    let want = [
        -1., -1., -1., -1.,  -1., 1., 2., -1.,  -1., 3., 4., -1.,  -1., -1., -1., -1.,
        -2., -2., -2., -2.,  -2., 5., 6., -2.,  -2., 7., 8., -2.,  -2., -2., -2., -2.,
    ];
    assert_eq!(p.data(), &want);
    assert!(pad_images(&x, 1, &[0.0; 3]).is_err(), "three fill values for two channels");
    let fm = black_after(Some(&Standardizer::fashion_mnist()), 1);
    assert!((fm[0] + 0.2860 / 0.3530).abs() < 1e-6);
    let per = Standardizer { mean: vec![0.5, 0.25], std: vec![0.5, 0.0], per_channel: true };
    assert_eq!(black_after(Some(&per), 2), vec![-1.0, -0.25]);
    assert_eq!(black_after(None, 3), vec![0.0; 3]);
}
