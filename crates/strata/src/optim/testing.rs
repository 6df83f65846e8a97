//! Helpers shared by the optimizer tests.

use super::Optimizer;
use crate::autograd::{Gradients, Param, Tape};
use crate::{Result, Tensor};

/// A 1-D parameter holding `values`.
pub fn param(values: &[f32]) -> Param {
    Param::new("w", Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
}

/// Gradients with the given values for the given parameters.
pub fn grads_for(pairs: &[(&Param, &[f32])]) -> Gradients {
    let mut g = Gradients::default();
    for (p, values) in pairs {
        g.insert(p.id(), Tensor::from_vec(values.to_vec(), p.value.shape()).unwrap());
    }
    g
}

/// One step of `opt` with gradient `grads[i]` for `params[i]` (params past the end of
/// `grads` get none).
pub fn step_with(opt: &mut dyn Optimizer, params: &mut [&mut Param], grads: &[&[f32]]) -> Result<()> {
    let pairs: Vec<(&Param, &[f32])> = params.iter().map(|p| &**p).zip(grads.iter().copied()).collect();
    let grads = grads_for(&pairs);
    opt.step(params, &grads)
}

/// The weights after each of `steps` updates from `w0` with the same gradient `g` each time.
pub fn trajectory(opt: &mut dyn Optimizer, w0: &[f32], g: &[f32], steps: usize) -> Vec<Vec<f32>> {
    let mut p = param(w0);
    (0..steps)
        .map(|_| {
            let grads = grads_for(&[(&p, g)]);
            opt.step(&mut [&mut p], &grads).unwrap();
            p.value.data().to_vec()
        })
        .collect()
}

/// Asserts two lists of weight vectors agree to 1e-5 (relative to magnitude).
pub fn assert_close(got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "got {got:?}, want {want:?}");
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "got {got:?}, want {want:?}");
        }
    }
}

/// Runs `steps` updates on f(w) = sum((w - c)^2) from w = 0, with gradients from the tape;
/// returns the final w.
pub fn minimise_quadratic(opt: &mut dyn Optimizer, c: &[f32], steps: usize) -> Vec<f32> {
    let mut p = param(&vec![0.0; c.len()]);
    let target = Tensor::from_vec(c.to_vec(), &[c.len()]).unwrap();
    for _ in 0..steps {
        let grads = {
            let tape = Tape::new();
            let w = tape.param(&p);
            let loss = w.sub(&tape.input(target.clone())).unwrap().square().sum_all().unwrap();
            loss.backward().unwrap()
        };
        opt.step(&mut [&mut p], &grads).unwrap();
    }
    p.value.data().to_vec()
}

/// Steps an optimizer twice on two parameters (one of them is never stepped), saves its
/// state, loads it into a fresh optimizer over copies of the parameters (new ids, as after
/// loading a checkpoint), and checks both then make bit-identical updates.
pub fn assert_state_round_trip(make: impl Fn() -> Box<dyn Optimizer>) {
    let mut a = make();
    let name = a.name();
    let mut w = param(&[0.5, -1.0, 2.0]);
    let mut b = param(&[1.0, 1.0]);
    let mut idle = param(&[3.0]);
    let gs = [[0.3, -0.2, 1.0], [0.1, 0.4, -0.5], [-0.7, 0.05, 0.2]];
    for g in &gs[..2] {
        let grads = grads_for(&[(&w, g), (&b, &g[..2])]);
        a.step(&mut [&mut w, &mut b, &mut idle], &grads).unwrap();
    }
    let saved = a.state(&[&w, &b, &idle]);
    assert!(!saved.is_empty(), "{name}: no state saved");
    assert!(saved.iter().all(|(k, _)| !k.starts_with("2.")), "{name}: state for a param never stepped");

    let (mut w2, mut b2, mut idle2) = (w.clone(), b.clone(), idle.clone());
    let mut blank_w = w.clone();
    let mut fresh = make();
    fresh.load_state(&[&w2, &b2, &idle2], &saved).unwrap();
    assert_eq!(fresh.state(&[&w2, &b2, &idle2]), saved, "{name}: state after load differs from what was saved");
    for (i, g) in gs.iter().enumerate() {
        step_with(a.as_mut(), &mut [&mut w, &mut b, &mut idle], &[g, &g[..2]]).unwrap();
        let grads = grads_for(&[(&w2, g), (&b2, &g[..2])]);
        fresh.step(&mut [&mut w2, &mut b2, &mut idle2], &grads).unwrap();
        assert_eq!(w.value.data(), w2.value.data(), "{name}");
        assert_eq!(b.value.data(), b2.value.data(), "{name}");
        if i == 0 {
            // Without the saved state the same step differs: the state matters.
            step_with(make().as_mut(), &mut [&mut blank_w], &[g]).unwrap();
            assert_ne!(blank_w.value.data(), w.value.data(), "{name}");
        }
    }
    assert_eq!(idle.value.data(), &[3.0]);
}

/// Adam written out naively, for one weight vector.
pub fn adam_reference(
    w0: &[f32],
    grads: &[&[f32]],
    (lr, b1, b2, eps, wd): (f32, f32, f32, f32, f32),
    decoupled: bool,
) -> Vec<Vec<f32>> {
    let mut w = w0.to_vec();
    let (mut m, mut v) = (vec![0.0f32; w.len()], vec![0.0f32; w.len()]);
    let mut out = Vec::new();
    for (t, g) in grads.iter().enumerate() {
        let t = (t + 1) as i32;
        for i in 0..w.len() {
            let mut d = g[i];
            if decoupled {
                w[i] *= 1.0 - lr * wd;
            } else {
                d += wd * w[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * d;
            v[i] = b2 * v[i] + (1.0 - b2) * d * d;
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = v[i] / (1.0 - b2.powi(t));
            w[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        out.push(w.clone());
    }
    out
}
