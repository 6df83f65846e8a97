//! Central finite differences, the yardstick every gradient rule is tested against.

use super::tape::{Tape, Var};
use crate::{Error, Result, Rng, Tensor};

/// Outcome of a gradient check: the worst disagreement found.
#[derive(Debug, Clone, Copy)]
pub struct GradCheck {
    /// Largest `|analytic - numeric| / (atol + rtol |numeric|)`; at most 1 means a pass.
    pub worst_ratio: f32,
    /// Input index and element where the worst ratio occurred.
    pub worst_at: (usize, usize),
    /// The gradient backward computed there.
    pub analytic: f32,
    /// The central-difference estimate there.
    pub numeric: f32,
}

/// Compares the gradients backward computes for `f` at `inputs` with central differences
/// `(f(x + eps) - f(x - eps)) / 2 eps`. A non-scalar output is reduced with fixed random
/// weights first, so every output element's gradient path is exercised.
///
/// Errors (with the place and both values) when an element disagrees by more than
/// `atol + rtol * |numeric|`.
pub fn check_gradients<F>(f: F, inputs: &[Tensor], eps: f32, atol: f32, rtol: f32) -> Result<GradCheck>
where
    F: Fn(&[Var]) -> Result<Var>,
{
    let weights = {
        let tape = Tape::no_grad();
        let vars: Vec<Var> = inputs.iter().map(|t| tape.input(t.clone())).collect();
        let shape = f(&vars)?.shape().to_vec();
        Tensor::rand_uniform(&shape, 0.5, 1.5, &mut Rng::seeded(99))
    };
    let eval = |tape: &Tape, values: &[Tensor], grad: bool| -> Result<(Var, Vec<Var>)> {
        let vars: Vec<Var> =
            values.iter().map(|t| if grad { tape.input_with_grad(t.clone()) } else { tape.input(t.clone()) }).collect();
        let out = f(&vars)?;
        let w = out.constant(weights.clone());
        Ok((out.mul(&w)?.sum_all()?, vars))
    };

    let tape = Tape::new();
    let (out, vars) = eval(&tape, inputs, true)?;
    let refs: Vec<&Var> = vars.iter().collect();
    let (_, analytic) = out.backward_inputs(&refs)?;

    let mut report = GradCheck { worst_ratio: 0.0, worst_at: (0, 0), analytic: 0.0, numeric: 0.0 };
    for (i, input) in inputs.iter().enumerate() {
        let a = analytic[i].clone().unwrap_or_else(|| Tensor::zeros(input.shape()));
        for j in 0..input.numel() {
            let mut values = inputs.to_vec();
            let orig = input.data()[j];
            values[i].data_mut()[j] = orig + eps;
            let plus = eval(&Tape::no_grad(), &values, false)?.0.value().item()?;
            values[i].data_mut()[j] = orig - eps;
            let minus = eval(&Tape::no_grad(), &values, false)?.0.value().item()?;
            let numeric = (plus - minus) / (2.0 * eps);
            let ratio = (a.data()[j] - numeric).abs() / (atol + rtol * numeric.abs());
            if ratio > report.worst_ratio || !ratio.is_finite() {
                report = GradCheck { worst_ratio: ratio, worst_at: (i, j), analytic: a.data()[j], numeric };
            }
        }
    }
    if report.worst_ratio > 1.0 || !report.worst_ratio.is_finite() {
        return Err(Error::invalid(
            "gradient",
            format!(
                "input {} element {}: analytic {} vs numeric {}",
                report.worst_at.0, report.worst_at.1, report.analytic, report.numeric
            ),
        ));
    }
    Ok(report)
}
