//! Input gradients: how much each input value moves a class's score — the saliency maps of
//! Simonyan et al. 2013 ("Deep Inside Convolutional Networks"), computed by the same tape
//! and backward rules that train the network.

use super::sequential::Sequential;
use crate::autograd::Tape;
use crate::nn::ForwardCtx;
use crate::{Error, Result, Tensor};

impl Sequential {
    /// The gradient of sample `i`'s score for class `classes[i]` with respect to its input,
    /// for inputs `x` `[N, ...]` (eval mode). The score is the class's logit (the last layer
    /// stops before its softmax/sigmoid), as the saliency literature uses: the softmax would
    /// mix in the other classes' scores. Returns a tensor of `x`'s shape.
    pub fn input_gradients(&self, x: &Tensor, classes: &[usize]) -> Result<Tensor> {
        if !self.is_built() {
            return Err(Error::Model("input gradients need a built model".into()));
        }
        self.check_input(x)?;
        let n = x.shape().first().copied().unwrap_or(0);
        if classes.len() != n {
            return Err(Error::invalid("input gradients", format!("{} classes for {n} samples", classes.len())));
        }
        let tape = Tape::new();
        let mut ctx = ForwardCtx::eval(&tape);
        let input = tape.input_with_grad(x.clone());
        let out = self.forward_to(&input, &mut ctx, true)?;
        let width = out.value().numel() / n.max(1);
        if let Some(&c) = classes.iter().find(|&&c| c >= width) {
            return Err(Error::invalid("input gradients", format!("class {c} of a network with {width} outputs")));
        }
        // The chosen score of each sample, summed: each sample's gradient is its own score's.
        let mut pick = vec![0.0f32; n * width];
        for (i, &c) in classes.iter().enumerate() {
            pick[i * width + c] = 1.0;
        }
        let mask = out.constant(Tensor::from_vec(pick, out.shape())?);
        let score = out.mul(&mask)?.sum_all()?;
        let (_, grads) = score.backward_inputs(&[&input])?;
        Ok(grads.into_iter().next().flatten().unwrap_or_else(|| Tensor::zeros(x.shape())))
    }

    /// Each sample's logit for class `classes[i]` (what [`Sequential::input_gradients`]
    /// differentiates), in eval mode.
    pub fn class_scores(&self, x: &Tensor, classes: &[usize]) -> Result<Vec<f32>> {
        self.check_input(x)?;
        let tape = Tape::no_grad();
        let mut ctx = ForwardCtx::eval(&tape);
        let out = self.forward_to(&tape.input(x.clone()), &mut ctx, true)?.into_value();
        let width = out.numel() / classes.len().max(1);
        classes
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                out.data().get(i * width + c).copied().ok_or_else(|| Error::invalid("class scores", format!("no class {c}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::{Activation, AvgPool2d, Conv2d, Dense, Flatten};
    use crate::{Rng, Tensor};

    /// The tape's input gradient against central differences of the class score, on a small
    /// convolutional network with smooth units and average pooling (no ReLU or max-pool
    /// kinks for the differences to straddle: with max pooling, a window whose two largest
    /// values lie within eps of each other makes the difference quotient meaningless).
    #[test]
    fn input_gradients_match_finite_differences() {
        let mut model = super::Sequential::new()
            .seed(4)
            .add(Conv2d::new(3, 3).padding(1).activation(Activation::Tanh))
            .add(AvgPool2d::new(2))
            .add(Flatten)
            .add(Dense::new(5).activation(Activation::Tanh))
            .add(Dense::new(4));
        model.build(&[2, 6, 6]).unwrap();
        let x = Tensor::rand_uniform(&[2, 2, 6, 6], 0.0, 1.0, &mut Rng::seeded(7));
        let classes = [1usize, 3];
        let g = model.input_gradients(&x, &classes).unwrap();
        assert_eq!(g.shape(), x.shape());
        assert!(g.data().iter().any(|v| v.abs() > 1e-4), "all-zero gradient");
        let eps = 1e-2f32;
        let mut worst = 0.0f32;
        for j in 0..x.numel() {
            let sample = j / (x.numel() / 2);
            let at = |d: f32| {
                let mut xs = x.clone();
                xs.data_mut()[j] += d;
                model.class_scores(&xs, &classes).unwrap()[sample]
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            let ratio = (g.data()[j] - numeric).abs() / (1e-3 + 2e-2 * numeric.abs());
            worst = worst.max(ratio);
        }
        assert!(worst <= 1.0, "input gradient differs from finite differences (worst ratio {worst})");
        // The other sample's score does not depend on this sample's pixels.
        let other = model.input_gradients(&x.slice(0, 0, 1).unwrap(), &[1]).unwrap();
        for (a, b) in other.data().iter().zip(g.data()) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn bad_class_is_an_error() {
        let mut model = super::Sequential::new().add(Dense::new(3));
        model.build(&[2]).unwrap();
        let x = Tensor::zeros(&[1, 2]);
        assert!(model.input_gradients(&x, &[3]).is_err());
        assert!(model.input_gradients(&x, &[0, 1]).is_err());
    }
}
