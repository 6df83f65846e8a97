//! Augmentation wired into training: `FitOptions::augment` and `strata train --augment`.

use strata::data::Augment;
use strata::prelude::*;

fn images(n: usize, seed: u64) -> Dataset {
    let x = Tensor::rand_normal(&[n, 1, 6, 6], 0.0, 1.0, &mut Rng::seeded(seed));
    let labels = (0..n as u32).map(|i| i % 2).collect();
    Dataset::new(x, Target::Classes { labels, num_classes: 2 }).unwrap()
}

fn train(data: &Dataset, aug: Option<Augment>) -> strata::Result<Vec<Tensor>> {
    let mut m = Sequential::new().seed(2).add(Flatten).add(Dense::new(2).activation(Softmax));
    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[]);
    let mut opts = FitOptions::epochs(2).batch_size(8).silent();
    if let Some(a) = aug {
        opts = opts.augment(a);
    }
    m.fit(data, opts)?;
    Ok(m.params().iter().map(|p| p.value.clone()).collect())
}

#[test]
fn fit_augments_image_batches_reproducibly() {
    let data = images(32, 1);
    let aug = Augment::new().random_crop(1).hflip(true).rotate(10.0);
    let a = train(&data, Some(aug.clone())).unwrap();
    assert_eq!(a, train(&data, Some(aug)).unwrap(), "same seed, same training");
    assert_ne!(a, train(&data, None).unwrap(), "augmentation changed what was learned");
    // an augmentation that does nothing trains exactly like none
    assert_eq!(train(&data, Some(Augment::new())).unwrap(), train(&data, None).unwrap());
}

#[test]
fn fit_refuses_to_augment_flat_inputs() {
    let flat = Dataset::new(Tensor::zeros(&[8, 36]), Target::Classes { labels: vec![0; 8], num_classes: 2 }).unwrap();
    let err = train(&flat, Some(Augment::new().hflip(true))).unwrap_err().to_string();
    assert!(err.contains("augment") && err.contains("[N, C, H, W]") && err.contains("[8, 36]"), "{err}");
}
