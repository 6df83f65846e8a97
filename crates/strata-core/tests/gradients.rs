//! Gradient tests for every differentiable op on the autograd tape.
//!
//! The property tests compare each op's backward rule with central finite differences
//! (`check_gradients`) on random shapes (dims 1..=4, ranks 1..=4 where the op allows) and
//! random values drawn from a seed proptest generates. Inputs are kept away from the places
//! where finite differences are wrong: kinks (relu, abs, maximum, ...), ties (max over an
//! axis, maxout) and the edges of a domain (log, sqrt, binary cross-entropy).
//!
//! The hand-computed tests at the end pin exact values that finite differences cannot
//! (the gradient at a kink, a tie, accumulation, error cases).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use strata_core::autograd::gradcheck::check_gradients;
use strata_core::autograd::{Param, Tape, Var};
use strata_core::{Rng, Tensor};

/// Finite-difference step. 1e-3 drowns in f32 rounding; 1e-2 keeps the truncation error
/// (~eps^2/6 relative for these smooth ops) far below the tolerance.
const EPS: f32 = 1e-2;
/// Absolute tolerance: above f32 rounding noise of the differences, yet small enough that a
/// gradient of magnitude > ~2e-3 with a wrong factor or sign fails.
const ATOL: f32 = 2e-3;
const RTOL: f32 = 1e-2;

/// Cases per property: the whole file runs in well under a second. (Soaked locally at
/// 10 000+ cases per property with these tolerances without a spurious failure.)
const CASES: u32 = 64;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

// ---------------------------------------------------------------- helpers

type Res<T> = strata_core::Result<T>;

/// Runs the finite-difference check with the default tolerances.
fn grad_ok<F>(f: F, inputs: &[Tensor]) -> Result<(), TestCaseError>
where
    F: Fn(&[Var]) -> Res<Var>,
{
    grad_ok_tol(f, inputs, EPS, ATOL, RTOL)
}

fn grad_ok_tol<F>(f: F, inputs: &[Tensor], eps: f32, atol: f32, rtol: f32) -> Result<(), TestCaseError>
where
    F: Fn(&[Var]) -> Res<Var>,
{
    let shapes: Vec<&[usize]> = inputs.iter().map(Tensor::shape).collect();
    match check_gradients(f, inputs, eps, atol, rtol) {
        Ok(r) => {
            prop_assert!(r.worst_ratio <= 1.0, "{r:?} for input shapes {shapes:?}");
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!("{e} (input shapes {shapes:?})"))),
    }
}

fn rng(seed: u64) -> Rng {
    Rng::seeded(seed)
}

fn normal(shape: &[usize], std: f32, rng: &mut Rng) -> Tensor {
    Tensor::rand_normal(shape, 0.0, std, rng)
}

fn uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut Rng) -> Tensor {
    Tensor::rand_uniform(shape, lo, hi, rng)
}

/// Applies `f` to every element.
fn map(t: &Tensor, f: impl Fn(f32) -> f32) -> Tensor {
    Tensor::from_vec(t.data().iter().map(|&v| f(v)).collect(), t.shape()).unwrap()
}

/// Normal values, with any |x| < `margin` pushed out to at least `margin` (keeping the
/// sign), so that `x ± EPS` never crosses a kink at 0.
fn away_from_zero(shape: &[usize], margin: f32, rng: &mut Rng) -> Tensor {
    map(&normal(shape, 1.0, rng), |v| if v.abs() < margin { if v < 0.0 { v - margin } else { v + margin } } else { v })
}

/// Values that are all distinct, at least 0.1 apart (no ties within `EPS`), in random order.
fn distinct(shape: &[usize], rng: &mut Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let perm = rng.permutation(n);
    let data = perm.iter().map(|&p| (p as f32 - n as f32 / 2.0) * 0.1).collect();
    Tensor::from_vec(data, shape).unwrap()
}

/// Values on the grid `0.2 k + offset`: two tensors with offsets 0 and 0.1 never have
/// elements closer than 0.1, whatever broadcasting pairs up.
fn on_grid(shape: &[usize], offset: f32, rng: &mut Rng) -> Tensor {
    map(&normal(shape, 1.0, rng), |v| (v / 0.2).round() * 0.2 + offset)
}

fn shape(ranks: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5, ranks)
}

/// A shape `full[drop..]` with the dims whose bit is set in `ones` replaced by 1.
fn broadcast_operand(full: &[usize], drop: usize, ones: u8) -> Vec<usize> {
    let drop = drop % (full.len() + 1);
    full[drop..].iter().enumerate().map(|(i, &d)| if (ones >> i) & 1 == 1 { 1 } else { d }).collect()
}

/// Two shapes that broadcast together, e.g. `[a, b, c]` vs `[b, 1]`, `[c]`, `[]`, or
/// `[a, 1, c]` vs `[b, 1]` (both broadcast).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (shape(1..=4), 0usize..12, any::<u8>(), 0usize..12, any::<u8>(), any::<bool>()).prop_map(|(full, da, oa, db, ob, a_full)| {
        // Keep one operand the full shape half of the time (the common case in networks).
        let a = if a_full { full.clone() } else { broadcast_operand(&full, da, oa) };
        (a, broadcast_operand(&full, db, ob))
    })
}

fn broadcast_swapped() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (broadcast_pair(), any::<bool>()).prop_map(|((a, b), swap)| if swap { (b, a) } else { (a, b) })
}

/// A random permutation of `0..n`.
fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    rng.permutation(n)
}

// ---------------------------------------------------------------- elementwise binary

proptest! {
    #![proptest_config(config())]

    #[test]
    fn add_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&sa, 1.0, &mut r), normal(&sb, 1.0, &mut r));
        grad_ok(|v| v[0].add(&v[1]), &[a, b])?;
    }

    #[test]
    fn sub_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&sa, 1.0, &mut r), normal(&sb, 1.0, &mut r));
        grad_ok(|v| v[0].sub(&v[1]), &[a, b])?;
    }

    #[test]
    fn mul_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&sa, 1.0, &mut r), normal(&sb, 1.0, &mut r));
        grad_ok(|v| v[0].mul(&v[1]), &[a, b])?;
    }

    #[test]
    fn div_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let a = normal(&sa, 1.0, &mut r);
        // denominators in ±[0.5, 2]
        let b = map(&uniform(&sb, -1.5, 1.5, &mut r), |v| if v < 0.0 { v - 0.5 } else { v + 0.5 });
        grad_ok(|v| v[0].div(&v[1]), &[a, b])?;
    }

    #[test]
    fn maximum_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (on_grid(&sa, 0.0, &mut r), on_grid(&sb, 0.1, &mut r));
        grad_ok(|v| v[0].maximum(&v[1]), &[a, b])?;
    }

    #[test]
    fn minimum_broadcasts((sa, sb) in broadcast_swapped(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (on_grid(&sa, 0.1, &mut r), on_grid(&sb, 0.0, &mut r));
        grad_ok(|v| v[0].minimum(&v[1]), &[a, b])?;
    }

    /// Both operands are the same Var: the two gradient contributions must add up.
    #[test]
    fn binary_ops_with_the_same_operand_twice(s in shape(1..=4), seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&s, 1.0, &mut r);
        // (x^2 + x) / (x^2 + 1): bounded, so f32 rounding of the sum stays small
        grad_ok(|v| v[0].mul(&v[0])?.add(&v[0])?.div(&v[0].mul(&v[0])?.add_scalar(1.0)), &[x])?;
    }
}

// ---------------------------------------------------------------- elementwise unary

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scale_and_neg(s in shape(1..=4), c in -3.0f32..3.0, seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].scale(c)), std::slice::from_ref(&x))?;
        grad_ok(|v| Ok(v[0].neg()), &[x])?;
    }

    #[test]
    fn add_scalar(s in shape(1..=4), c in -3.0f32..3.0, seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].add_scalar(c)), &[x])?;
    }

    #[test]
    fn exp(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].exp()), &[x])?;
    }

    #[test]
    fn log_of_positive_inputs(s in shape(1..=4), seed in any::<u64>()) {
        let x = uniform(&s, 0.3, 3.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].log()), &[x])?;
    }

    #[test]
    fn sqrt_of_positive_inputs(s in shape(1..=4), seed in any::<u64>()) {
        let x = uniform(&s, 0.3, 3.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].sqrt()), &[x])?;
    }

    #[test]
    fn abs_away_from_zero(s in shape(1..=4), seed in any::<u64>()) {
        let x = away_from_zero(&s, 0.05, &mut rng(seed));
        grad_ok(|v| Ok(v[0].abs()), &[x])?;
    }

    #[test]
    fn powf_of_positive_inputs(s in shape(1..=4), p in -2.0f32..3.0, seed in any::<u64>()) {
        let x = uniform(&s, 0.5, 2.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].powf(p)), &[x])?;
    }

    #[test]
    fn square(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].square()), &[x])?;
    }

    #[test]
    fn sigmoid(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 2.0, &mut rng(seed));
        grad_ok(|v| Ok(v[0].sigmoid()), &[x])?;
    }

    #[test]
    fn tanh(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.5, &mut rng(seed));
        grad_ok(|v| Ok(v[0].tanh()), &[x])?;
    }

    #[test]
    fn relu_away_from_the_kink(s in shape(1..=4), seed in any::<u64>()) {
        let x = away_from_zero(&s, 0.05, &mut rng(seed));
        grad_ok(|v| Ok(v[0].relu()), &[x])?;
    }

    #[test]
    fn leaky_relu_away_from_the_kink(s in shape(1..=4), alpha in 0.01f32..0.5, seed in any::<u64>()) {
        let x = away_from_zero(&s, 0.05, &mut rng(seed));
        grad_ok(|v| Ok(v[0].leaky_relu(alpha)), &[x])?;
    }

    #[test]
    fn elu_away_from_the_kink(s in shape(1..=4), alpha in 0.2f32..2.0, seed in any::<u64>()) {
        let x = away_from_zero(&s, 0.05, &mut rng(seed));
        grad_ok(|v| Ok(v[0].elu(alpha)), &[x])?;
    }

    #[test]
    fn mul_const(s in shape(1..=4), seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&s, 1.0, &mut r);
        // a dropout-like mask: 0 or 1/(1-p)
        let mask = map(&uniform(&s, 0.0, 1.0, &mut r), |u| if u < 0.3 { 0.0 } else { 1.0 / 0.7 });
        grad_ok(|v| v[0].mul_const(mask.clone()), &[x])?;
    }
}

// ---------------------------------------------------------------- softmax family, maxout

proptest! {
    #![proptest_config(config())]

    #[test]
    fn softmax_last_axis(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 2.0, &mut rng(seed));
        grad_ok(|v| v[0].softmax(), &[x])?;
    }

    #[test]
    fn log_softmax_last_axis(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 2.0, &mut rng(seed));
        // Log-probabilities are all negative, so their weighted sum grows with the element
        // count and its f32 rounding swamps small gradients. Shifting by a constant (the
        // mean at `x`) changes no gradient but keeps the sum near 0.
        let center = -x.log_softmax_last().unwrap().mean_all();
        grad_ok(|v| Ok(v[0].log_softmax()?.add_scalar(center)), &[x])?;
    }

    #[test]
    fn maxout_without_ties(n in 1usize..5, units in 1usize..5, pieces in 1usize..5, seed in any::<u64>()) {
        let x = distinct(&[n, units * pieces], &mut rng(seed));
        grad_ok(|v| v[0].maxout(pieces), &[x])?;
    }
}

// ---------------------------------------------------------------- products

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_2d(m in 1usize..5, k in 1usize..5, n in 1usize..5, seed in any::<u64>()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&[m, k], 1.0, &mut r), normal(&[k, n], 1.0, &mut r));
        grad_ok(|v| v[0].matmul(&v[1]), &[a, b])?;
    }

    #[test]
    fn matmul_batched_same_batch(
        batch in shape(1..=2), m in 1usize..5, k in 1usize..5, n in 1usize..5, seed in any::<u64>()
    ) {
        let mut r = rng(seed);
        let sa: Vec<usize> = batch.iter().copied().chain([m, k]).collect();
        let sb: Vec<usize> = batch.iter().copied().chain([k, n]).collect();
        let (a, b) = (normal(&sa, 1.0, &mut r), normal(&sb, 1.0, &mut r));
        grad_ok(|v| v[0].matmul(&v[1]), &[a, b])?;
    }

    #[test]
    fn matmul_batched_shared_rhs(
        batch in shape(1..=2), m in 1usize..5, k in 1usize..5, n in 1usize..5, seed in any::<u64>()
    ) {
        let mut r = rng(seed);
        let sa: Vec<usize> = batch.iter().copied().chain([m, k]).collect();
        let (a, b) = (normal(&sa, 1.0, &mut r), normal(&[k, n], 1.0, &mut r));
        grad_ok(|v| v[0].matmul(&v[1]), &[a, b])?;
    }

    #[test]
    fn linear_with_bias(n in 1usize..5, i in 1usize..5, o in 1usize..5, seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&[n, i], 1.0, &mut r);
        let w = normal(&[i, o], 1.0, &mut r);
        let b = normal(&[o], 1.0, &mut r);
        grad_ok(|v| v[0].linear(&v[1], Some(&v[2])), &[x, w, b])?;
    }

    #[test]
    fn linear_without_bias(n in 1usize..5, i in 1usize..5, o in 1usize..5, seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&[n, i], 1.0, &mut r);
        let w = normal(&[i, o], 1.0, &mut r);
        grad_ok(|v| v[0].linear(&v[1], None), &[x, w])?;
    }
}

// ---------------------------------------------------------------- reductions

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sum_over_an_axis(s in shape(1..=4), axis in 0usize..4, keepdim in any::<bool>(), seed in any::<u64>()) {
        let axis = axis % s.len();
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].sum(axis, keepdim), &[x])?;
    }

    #[test]
    fn mean_over_an_axis(s in shape(1..=4), axis in 0usize..4, keepdim in any::<bool>(), seed in any::<u64>()) {
        let axis = axis % s.len();
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].mean(axis, keepdim), &[x])?;
    }

    #[test]
    fn sum_all_and_mean_all(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].sum_all(), std::slice::from_ref(&x))?;
        grad_ok(|v| v[0].mean_all(), &[x])?;
    }

    #[test]
    fn max_over_an_axis_without_ties(
        s in shape(1..=4), axis in 0usize..4, keepdim in any::<bool>(), seed in any::<u64>()
    ) {
        let axis = axis % s.len();
        let x = distinct(&s, &mut rng(seed));
        grad_ok(|v| v[0].max(axis, keepdim), &[x])?;
    }
}

// ---------------------------------------------------------------- layout

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reshape(s in shape(1..=4), seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&s, 1.0, &mut r);
        // same element count: the dims in another order, plus a flat vector
        let shuffled: Vec<usize> = permutation(s.len(), &mut r).iter().map(|&i| s[i]).collect();
        grad_ok(|v| v[0].reshape(&shuffled), std::slice::from_ref(&x))?;
        grad_ok(|v| v[0].reshape(&[x.numel()]), std::slice::from_ref(&x))?;
    }

    #[test]
    fn flatten(s in shape(1..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].flatten(), &[x])?;
    }

    #[test]
    fn permute(s in shape(1..=4), seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&s, 1.0, &mut r);
        let perm = permutation(s.len(), &mut r);
        grad_ok(|v| v[0].permute(&perm), &[x])?;
    }

    #[test]
    fn transpose(s in shape(2..=4), seed in any::<u64>()) {
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].t(), &[x])?;
    }

    #[test]
    fn slice(s in shape(1..=4), axis in 0usize..4, a in 0usize..5, b in 0usize..5, seed in any::<u64>()) {
        let axis = axis % s.len();
        let len = s[axis];
        let (a, b) = (a % len, b % len);
        let (start, end) = (a.min(b), a.max(b) + 1);
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].slice(axis, start, end), &[x])?;
    }

    #[test]
    fn concat(
        s in shape(1..=4), axis in 0usize..4, lens in prop::collection::vec(1usize..5, 2..=3), seed in any::<u64>()
    ) {
        let axis = axis % s.len();
        let mut r = rng(seed);
        let parts: Vec<Tensor> = lens
            .iter()
            .map(|&l| {
                let mut sp = s.clone();
                sp[axis] = l;
                normal(&sp, 1.0, &mut r)
            })
            .collect();
        grad_ok(|v| Var::concat(&v.iter().collect::<Vec<_>>(), axis), &parts)?;
    }

    #[test]
    fn gather_rows_with_repeats(
        s in shape(1..=3), picks in prop::collection::vec(0usize..8, 1..=5), seed in any::<u64>()
    ) {
        let rows = s[0];
        let mut indices: Vec<usize> = picks.iter().map(|&i| i % rows).collect();
        indices.push(indices[0]); // at least one repeat
        let x = normal(&s, 1.0, &mut rng(seed));
        grad_ok(|v| v[0].gather_rows(&indices), &[x])?;
    }
}

// ---------------------------------------------------------------- losses

proptest! {
    #![proptest_config(config())]

    #[test]
    fn softmax_cross_entropy(n in 1usize..6, c in 1usize..6, picks in prop::collection::vec(0u32..6, 6), seed in any::<u64>()) {
        let labels: Vec<u32> = picks[..n].iter().map(|&l| l % c as u32).collect();
        let x = normal(&[n, c], 2.0, &mut rng(seed));
        grad_ok(|v| v[0].softmax_cross_entropy(&labels), &[x])?;
    }

    #[test]
    fn mse(s in shape(1..=3), seed in any::<u64>()) {
        let mut r = rng(seed);
        let (x, target) = (normal(&s, 1.0, &mut r), normal(&s, 1.0, &mut r));
        grad_ok(|v| v[0].mse(&target), &[x])?;
    }

    #[test]
    fn binary_cross_entropy(s in shape(1..=3), hard in any::<bool>(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let p = uniform(&s, 0.05, 0.95, &mut r);
        let target = uniform(&s, 0.0, 1.0, &mut r);
        let target = if hard { map(&target, f32::round) } else { target };
        // The derivative 1/p(1-p) is steep near 0.05: a smaller step keeps truncation low.
        grad_ok_tol(|v| v[0].binary_cross_entropy(&target), &[p], 2e-3, ATOL, RTOL)?;
    }

    #[test]
    fn binary_cross_entropy_with_logits(s in shape(1..=3), hard in any::<bool>(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let z = normal(&s, 2.0, &mut r);
        let target = uniform(&s, 0.0, 1.0, &mut r);
        let target = if hard { map(&target, f32::round) } else { target };
        grad_ok(|v| v[0].binary_cross_entropy_with_logits(&target), &[z])?;
    }

    /// A small network end to end: gradients flow through a chain of different ops.
    #[test]
    fn composed_network(n in 1usize..5, i in 1usize..5, h in 1usize..5, c in 2usize..5, seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = normal(&[n, i], 1.0, &mut r);
        let w1 = normal(&[i, h], 1.0, &mut r);
        let b1 = normal(&[h], 1.0, &mut r);
        let w2 = normal(&[h, c], 1.0, &mut r);
        let labels: Vec<u32> = (0..n).map(|k| (k % c) as u32).collect();
        grad_ok(
            |v| v[0].linear(&v[1], Some(&v[2]))?.tanh().matmul(&v[3])?.softmax_cross_entropy(&labels),
            &[x, w1, b1, w2],
        )?;
    }
}

// ---------------------------------------------------------------- hand-computed

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

/// The gradient of `out` with respect to `x`.
fn grad_of(out: &Var, x: &Var) -> Tensor {
    out.backward_inputs(&[x]).unwrap().1.remove(0).expect("x takes part in out")
}

#[test]
fn relu_gradient_is_zero_below_and_one_above() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[-1.0, 2.0], &[2]));
    let y = x.relu().sum_all().unwrap();
    assert_eq!(y.value().item().unwrap(), 2.0);
    assert_eq!(grad_of(&y, &x).data(), &[0.0, 1.0]);
}

#[test]
fn softmax_cross_entropy_of_equal_logits() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[0.0, 0.0], &[1, 2]));
    let loss = x.softmax_cross_entropy(&[0]).unwrap();
    assert!((loss.value().item().unwrap() - std::f32::consts::LN_2).abs() < 1e-6);
    let g = grad_of(&loss, &x);
    assert_eq!(g.shape(), &[1, 2]);
    assert!(close(g.data(), &[-0.5, 0.5]), "{g:?}");
}

#[test]
fn mse_value_and_gradient() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[1.0, 2.0], &[2]));
    let loss = x.mse(&t(&[0.0, 0.0], &[2])).unwrap();
    assert_eq!(loss.value().item().unwrap(), 2.5);
    assert!(close(grad_of(&loss, &x).data(), &[1.0, 2.0]));
}

#[test]
fn gradients_accumulate_when_a_var_is_used_twice() {
    // y = sum(x * x + x): dy/dx = 2x + 1
    let p = Param::new("x", t(&[3.0, -2.0, 0.5], &[3]));
    let tape = Tape::new();
    let x = tape.param(&p);
    let y = x.mul(&x).unwrap().add(&x).unwrap().sum_all().unwrap();
    let grads = y.backward().unwrap();
    assert_eq!(grads.len(), 1);
    assert!(close(grads.get(&p).unwrap().data(), &[7.0, -3.0, 2.0]));
}

#[test]
fn broadcast_operands_receive_summed_gradients() {
    let tape = Tape::new();
    let a = tape.input_with_grad(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let b = tape.input_with_grad(t(&[10.0, 20.0, 30.0], &[3]));
    let s = tape.input_with_grad(Tensor::scalar(2.0));
    // y = sum((a + b) * s): dy/da = s, dy/db = 2 s (two rows), dy/ds = sum(a + b)
    let y = a.add(&b).unwrap().mul(&s).unwrap().sum_all().unwrap();
    let (_, g) = y.backward_inputs(&[&a, &b, &s]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().data(), &[2.0; 6]);
    assert_eq!(g[1].as_ref().unwrap().data(), &[4.0; 3]);
    assert_eq!(g[2].as_ref().unwrap().shape(), &[] as &[usize]);
    assert_eq!(g[2].as_ref().unwrap().data(), &[21.0 + 120.0]);
}

#[test]
fn max_and_maximum_route_the_gradient_to_the_winner() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[1.0, 5.0, 3.0, 9.0, 2.0, 4.0], &[2, 3]));
    let y = x.max(1, false).unwrap().sum_all().unwrap();
    assert_eq!(y.value().item().unwrap(), 14.0);
    assert_eq!(grad_of(&y, &x).data(), &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);

    // ties go to the first operand, as documented
    let a = tape.input_with_grad(t(&[1.0, 2.0, 3.0], &[3]));
    let b = tape.input_with_grad(t(&[2.0, 2.0, 0.0], &[3]));
    let y = a.maximum(&b).unwrap().sum_all().unwrap();
    let (_, g) = y.backward_inputs(&[&a, &b]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().data(), &[0.0, 1.0, 1.0]);
    assert_eq!(g[1].as_ref().unwrap().data(), &[1.0, 0.0, 0.0]);
}

#[test]
fn gather_rows_accumulates_over_repeated_indices() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]));
    let y = x.gather_rows(&[0, 2, 0]).unwrap().sum_all().unwrap();
    assert_eq!(y.value().item().unwrap(), 1.0 + 2.0 + 5.0 + 6.0 + 1.0 + 2.0);
    assert_eq!(grad_of(&y, &x).data(), &[2.0, 2.0, 0.0, 0.0, 1.0, 1.0]);
}

#[test]
fn constants_and_detached_values_get_no_gradient() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[1.0, 2.0], &[2]));
    let c = tape.input(t(&[3.0, 4.0], &[2]));
    // y = sum(x * c + detach(x) * x): dy/dx = c + x (the detached factor is a constant)
    let y = x.mul(&c).unwrap().add(&x.detach().mul(&x).unwrap()).unwrap().sum_all().unwrap();
    let (_, g) = y.backward_inputs(&[&x, &c]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().data(), &[4.0, 6.0]);
    assert!(g[1].is_none());
}

#[test]
fn backward_on_a_non_scalar_is_an_error() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[1.0, 2.0], &[2]));
    let y = x.exp();
    assert!(y.backward().is_err());
    assert!(y.backward_inputs(&[&x]).is_err());
    // a one-element tensor of any rank is fine
    assert!(y.sum(0, true).unwrap().backward().is_ok());
}

#[test]
fn no_grad_tape_records_nothing_and_backward_errors() {
    let p = Param::new("w", t(&[1.0, -2.0], &[2]));
    let tape = Tape::no_grad();
    assert!(!tape.grad_enabled());
    let w = tape.param(&p);
    let x = tape.input_with_grad(t(&[3.0, 4.0], &[2]));
    let y = w.mul(&x).unwrap().relu().exp().sum_all().unwrap();
    assert_eq!(tape.len(), 0);
    assert!(tape.is_empty());
    assert!(!y.requires_grad());
    // the forward value is still computed
    assert!((y.value().item().unwrap() - (3.0f32.exp() + 1.0)).abs() < 1e-4);
    assert!(y.backward().is_err());
}

#[test]
fn backward_inputs_reports_intermediate_gradients() {
    let tape = Tape::new();
    let x = tape.input_with_grad(t(&[0.0, 1.0], &[2]));
    let h = x.scale(3.0); // h = 3x
    let y = h.mul(&h).unwrap().sum_all().unwrap(); // y = sum(h^2): dy/dh = 2h, dy/dx = 6h
    let (_, g) = y.backward_inputs(&[&h, &x, &y]).unwrap();
    assert_eq!(g[0].as_ref().expect("h's gradient").data(), &[0.0, 6.0]);
    assert_eq!(g[1].as_ref().expect("x's gradient").data(), &[0.0, 18.0]);
    assert_eq!(g[2].as_ref().expect("y's own gradient").data(), &[1.0]);

    // a Var from another tape is not part of this computation
    let other = Tape::new();
    let z = other.input_with_grad(t(&[1.0, 1.0], &[2]));
    let (_, g) = y.backward_inputs(&[&z]).unwrap();
    assert!(g[0].is_none());
}

#[test]
fn linear_with_only_the_bias_tracked() {
    let p = Param::new("b", t(&[0.5, -0.5, 1.0], &[3]));
    let tape = Tape::new();
    let x = tape.input(t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let w = tape.input(Tensor::ones(&[2, 3]));
    let y = x.linear(&w, Some(&tape.param(&p))).unwrap().sum_all().unwrap();
    assert_eq!(y.value().item().unwrap(), 3.0 * 3.0 + 3.0 * 7.0 + 2.0 * 1.0);
    assert_eq!(y.backward().unwrap().get(&p).unwrap().data(), &[2.0, 2.0, 2.0]);

    // constants from one tape with a bias tracked on another: an error, not a wrong record
    let other = Tape::new();
    let (xo, wo) = (other.input(x.value().clone()), other.input(w.value().clone()));
    assert!(xo.linear(&wo, Some(&tape.param(&p))).is_err());
}

// ---- convolution and pooling (finite differences through the fused kernels)

mod conv_pool {
    use strata_core::autograd::gradcheck::check_gradients;
    use strata_core::tensor::pool::PoolKind;
    use strata_core::{Rng, Tensor};

    fn rand(shape: &[usize], seed: u64) -> Tensor {
        Tensor::rand_uniform(shape, -1.0, 1.0, &mut Rng::seeded(seed))
    }

    #[test]
    fn conv2d_with_stride_padding_dilation_and_groups() {
        // (x, w, stride, pad (t, b, l, r), dilation, groups)
        let cases = [
            ([2, 1, 6, 6], [3, 1, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1),
            ([1, 2, 7, 5], [2, 2, 2, 3], (2, 1), (0, 1, 2, 0), (1, 1), 1),
            ([2, 2, 7, 7], [2, 2, 3, 3], (1, 2), (2, 2, 2, 2), (2, 2), 1),
            ([1, 4, 5, 5], [6, 2, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 2),
            ([2, 3, 4, 4], [2, 3, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1),
        ];
        for (i, (xs, ws, s, p, d, g)) in cases.into_iter().enumerate() {
            let inputs = [rand(&xs, 10 + i as u64), rand(&ws, 20 + i as u64), rand(&[ws[0]], 30 + i as u64)];
            check_gradients(|v| v[0].conv2d(&v[1], Some(&v[2]), s, p, d, g), &inputs, 1e-2, 2e-3, 1e-2)
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
        }
    }

    #[test]
    fn conv2d_with_runs_the_given_algorithm_both_ways_or_errors() {
        use strata_core::autograd::Tape;
        use strata_core::tensor::conv::{Algorithm, Conv2dGeom};
        // 16 -> 16 channels 3x3, padding 1, 16x16: all but the direct kernels apply.
        let (xs, ws, s, p, d) = ([2, 16, 16, 16], [16, 16, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1));
        let (x, w, b, r) = (rand(&xs, 1), rand(&ws, 2), rand(&[16], 3), rand(&[2, 16, 16, 16], 4));
        let g = Conv2dGeom::new(&xs, &ws, s, p, d, 1).unwrap();
        // loss = sum(conv * r): the convolution's output gradient is exactly r
        let run = |algorithm: Option<Algorithm>| -> strata_core::Result<(Tensor, Vec<Tensor>)> {
            let tape = Tape::new();
            let (xv, wv, bv) =
                (tape.input_with_grad(x.clone()), tape.input_with_grad(w.clone()), tape.input_with_grad(b.clone()));
            let y = match algorithm {
                None => xv.conv2d(&wv, Some(&bv), s, p, d, 1),
                Some(a) => xv.conv2d_with(&wv, Some(&bv), s, p, d, 1, a),
            }?;
            let loss = y.mul(&tape.input(r.clone()))?.sum_all()?;
            let (_, grads) = loss.backward_inputs(&[&xv, &wv, &bv])?;
            let grads: Vec<Tensor> = grads.into_iter().map(|t| t.expect("tracked")).collect();
            Ok((y.value().clone(), grads))
        };
        let (y0, grads0) = run(None).unwrap();
        let mut dx_by = Vec::new();
        for a in Algorithm::ALL {
            if !a.supports(&g) {
                let err = run(Some(a)).unwrap_err().to_string();
                assert!(err.contains("conv2d algorithm") && err.contains(a.name()) && err.contains("does not support"), "{err}");
                continue;
            }
            let (y, grads) = run(Some(a)).unwrap();
            for (u, v) in y.data().iter().zip(y0.data()) {
                assert!((u - v).abs() < 1e-3 * (1.0 + v.abs()), "{a} forward: {u} vs {v}");
            }
            for (got, want) in grads.iter().zip(&grads0) {
                for (u, v) in got.data().iter().zip(want.data()) {
                    assert!((u - v).abs() < 1e-3 * (1.0 + v.abs()), "{a} gradient: {u} vs {v}");
                }
            }
            // the recorded algorithm ran backward, not a fresh choice: its exact values
            let (dx, dw, db) = a.backward(&g, x.data(), w.data(), r.data(), true, true);
            assert_eq!(grads[0].data(), &dx.unwrap()[..], "{a} dx");
            assert_eq!(grads[1].data(), &dw[..], "{a} dw");
            assert_eq!(grads[2].data(), &db.unwrap()[..], "{a} db");
            dx_by.push(grads[0].clone());
        }
        assert!(dx_by.len() >= 4 && dx_by.iter().any(|dx| dx != &dx_by[0]), "the algorithms' gradients differ in rounding");
        // a geometry no Winograd variant supports (stride 2)
        let tape = Tape::new();
        let xv = tape.input_with_grad(x.clone());
        let err = xv.conv2d_with(&tape.input(w.clone()), None, (2, 2), p, d, 1, Algorithm::WinogradF2x2).unwrap_err();
        assert!(err.to_string().contains("winograd-f2x2 does not support"), "{err}");
    }

    #[test]
    fn every_pooling() {
        for kind in [PoolKind::Max, PoolKind::Avg, PoolKind::L2, PoolKind::Min] {
            for (k, s, p) in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (0, 1))] {
                // distinct, well separated values so max and min pooling have no ties
                let mut x = Tensor::from_vec((0..2 * 2 * 6 * 6).map(|v| v as f32 * 0.1).collect(), &[2, 2, 6, 6]).unwrap();
                let mut rng = Rng::seeded(5);
                rng.shuffle(x.data_mut());
                if kind == PoolKind::L2 {
                    x = x.add_scalar(0.5); // away from the sqrt kink at 0
                }
                check_gradients(|v| v[0].pool2d(kind, k, s, p), &[x], 1e-2, 2e-3, 1e-2)
                    .unwrap_or_else(|e| panic!("{kind:?} {k:?} {s:?} {p:?}: {e}"));
            }
        }
    }

    #[test]
    fn global_average_pooling() {
        check_gradients(|v| v[0].global_avg_pool(), &[rand(&[2, 3, 4, 5], 1)], 1e-2, 2e-3, 1e-2).unwrap();
    }
}
