//! The perceptron with the lectures' learning rule, for any number of classes.
//!
//! One weight vector (with a bias) per class; a sample is assigned the class whose weights
//! give the highest score `w_c · x + b_c`. Training visits the samples in a seeded shuffled
//! order, and for each misclassified sample **adds** the input to the weights of the true
//! class and **subtracts** it from the weights of the predicted class (with two classes this
//! is the classic rule `w ← w ± x`). Epochs repeat until one makes no mistake, or
//! `max_epochs` have passed.
//!
//! On data that is not linearly separable the weights never settle; with `pocket` (on by
//! default) the weights that made the fewest training mistakes at the end of an epoch are
//! kept (Gallant's pocket algorithm) instead of the last ones.
//!
//! ```
//! use strata::{Tensor, Target, Dataset, baseline::{Classifier, Perceptron}};
//! // AND is linearly separable: the perceptron learns it exactly
//! let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).unwrap();
//! let and = Dataset::new(x.clone(), Target::Classes { labels: vec![0, 0, 0, 1], num_classes: 2 }).unwrap();
//! let mut p = Perceptron::new(100, 1);
//! p.fit(&and).unwrap();
//! assert_eq!(p.predict(&x).unwrap(), vec![0, 0, 0, 1]);
//! ```

use super::{Classifier, as_matrix, class_labels};
use crate::data::Dataset;
use crate::model::Sequential;
use crate::nn::Dense;
use crate::{Error, Result, Rng, Tensor};

/// A multi-class perceptron.
#[derive(Clone, Debug)]
pub struct Perceptron {
    max_epochs: usize,
    seed: u64,
    pocket: bool,
    /// `[classes, dim + 1]`: each row is a class's weights, then its bias.
    w: Vec<f32>,
    classes: usize,
    dim: usize,
    /// Epochs run by the last `fit`.
    pub epochs_run: usize,
    /// Training mistakes of the weights the last `fit` kept.
    pub mistakes: usize,
}

impl Perceptron {
    /// Up to `max_epochs` passes; `seed` fixes the visiting order.
    pub fn new(max_epochs: usize, seed: u64) -> Perceptron {
        Perceptron { max_epochs, seed, pocket: true, w: Vec::new(), classes: 0, dim: 0, epochs_run: 0, mistakes: 0 }
    }
    /// Keep the best weights seen at an epoch's end (true) or the last ones (false).
    pub fn pocket(mut self, yes: bool) -> Self {
        self.pocket = yes;
        self
    }

    fn score_row(&self, x: &[f32], c: usize) -> f32 {
        let row = &self.w[c * (self.dim + 1)..(c + 1) * (self.dim + 1)];
        row[..self.dim].iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + row[self.dim]
    }
    fn classify(&self, x: &[f32]) -> usize {
        let mut best = 0;
        for c in 1..self.classes {
            if self.score_row(x, c) > self.score_row(x, best) {
                best = c;
            }
        }
        best
    }
    fn mistakes_on(&self, x: &[f32], labels: &[u32]) -> usize {
        x.chunks_exact(self.dim.max(1)).zip(labels).filter(|(r, l)| self.classify(r) != **l as usize).count()
    }

    /// The scores `w_c · x + b_c`, `[N, classes]`.
    pub fn scores(&self, x: &Tensor) -> Result<Tensor> {
        let (n, d) = as_matrix(x)?;
        if self.w.is_empty() {
            return Err(Error::Model("perceptron used before fit".into()));
        }
        if d != self.dim {
            return Err(Error::ShapeMismatch { op: "perceptron input", left: vec![n, d], right: vec![self.dim] });
        }
        let out = x.data().chunks_exact(d.max(1)).flat_map(|r| (0..self.classes).map(move |c| self.score_row(r, c))).collect();
        Tensor::from_vec(out, &[n, self.classes])
    }
    /// Predicted classes.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<usize>> {
        crate::metrics::predicted_classes(&self.scores(x)?)
    }

    /// The same classifier as a one-layer network (Dense with the perceptron's weights;
    /// its outputs are the scores), so it can be saved and loaded like any model.
    pub fn to_sequential(&self) -> Result<Sequential> {
        let mut m = Sequential::new().name("perceptron").add(Dense::new(self.classes));
        m.build(&[self.dim])?;
        let (d, c) = (self.dim, self.classes);
        let weight: Vec<f32> = (0..d).flat_map(|i| (0..c).map(move |k| (i, k))).map(|(i, k)| self.w[k * (d + 1) + i]).collect();
        let bias: Vec<f32> = (0..c).map(|k| self.w[k * (d + 1) + d]).collect();
        let mut params = m.params_mut();
        params[0].value = Tensor::from_vec(weight, &[d, c])?;
        params[1].value = Tensor::from_vec(bias, &[c])?;
        Ok(m)
    }
}

impl Classifier for Perceptron {
    fn name(&self) -> String {
        "perceptron".into()
    }
    fn fit(&mut self, train: &Dataset) -> Result<()> {
        let (labels, classes) = class_labels(train)?;
        let (n, d) = as_matrix(&train.inputs)?;
        if n == 0 {
            return Err(Error::invalid("training data", "is empty"));
        }
        (self.classes, self.dim) = (classes.max(2), d);
        self.w = vec![0.0; self.classes * (d + 1)];
        let x = train.inputs.data();
        let mut rng = Rng::seeded(self.seed);
        let mut best = (usize::MAX, self.w.clone());
        self.epochs_run = 0;
        for _ in 0..self.max_epochs.max(1) {
            self.epochs_run += 1;
            let mut errors = 0;
            for i in rng.permutation(n) {
                let (row, truth) = (&x[i * d..(i + 1) * d], labels[i] as usize);
                let predicted = self.classify(row);
                if predicted == truth {
                    continue;
                }
                errors += 1;
                // the lectures' rule: add to the true class, subtract from the predicted one
                for (sign, c) in [(1.0f32, truth), (-1.0, predicted)] {
                    let w = &mut self.w[c * (d + 1)..(c + 1) * (d + 1)];
                    w[..d].iter_mut().zip(row).for_each(|(w, v)| *w += sign * v);
                    w[d] += sign;
                }
            }
            if errors == 0 {
                best = (0, self.w.clone());
                break;
            }
            if self.pocket {
                let m = self.mistakes_on(x, labels);
                if m < best.0 {
                    best = (m, self.w.clone());
                }
            }
        }
        if self.pocket || best.0 == 0 {
            self.w = best.1;
        }
        self.mistakes = self.mistakes_on(x, labels);
        Ok(())
    }
    /// Softmax of the scores (monotone in them, so ROC curves rank by score).
    fn predict_proba(&self, x: &Tensor) -> Result<Tensor> {
        self.scores(x)?.softmax_last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;

    #[test]
    fn one_update_by_hand() {
        // Two samples, classes 0 and 1. Zero weights predict class 0 (first of equal scores).
        // Sample a (class 0, x = [0, 0]) is right at first; sample b (class 1, x = [2, 1]) is
        // wrong: w1 += [2, 1 | 1], w0 -= [2, 1 | 1]. Then a scores -1 vs 1 and is wrong:
        // w0 += [0, 0 | 1], w1 -= [0, 0 | 1]; now b scores -5 vs 5 and a 0 vs 0: both right.
        // (Visiting b first does the same two updates in epoch 1; a first needs epoch 2.)
        let x = Tensor::from_vec(vec![0.0, 0.0, 2.0, 1.0], &[2, 2]).unwrap();
        let data = Dataset::new(x.clone(), Target::Classes { labels: vec![0, 1], num_classes: 2 }).unwrap();
        let mut p = Perceptron::new(10, 0).pocket(false);
        p.fit(&data).unwrap();
        assert_eq!(p.w, vec![-2.0, -1.0, 0.0, 2.0, 1.0, 0.0]);
        assert_eq!(p.mistakes, 0);
        assert!((2..=3).contains(&p.epochs_run), "{}", p.epochs_run);
        // the network form gives the same scores
        let net = p.to_sequential().unwrap().predict(&x).unwrap();
        assert_eq!(net.data(), p.scores(&x).unwrap().data());
    }

    #[test]
    fn xor_is_not_learned_but_pocket_keeps_the_best() {
        let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).unwrap();
        let xor = Dataset::new(x, Target::Classes { labels: vec![0, 1, 1, 0], num_classes: 2 }).unwrap();
        let mut p = Perceptron::new(50, 3);
        p.fit(&xor).unwrap();
        assert_eq!(p.epochs_run, 50);
        assert!(p.mistakes >= 1 && p.mistakes <= 2, "{}", p.mistakes);
    }
}
