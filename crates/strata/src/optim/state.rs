//! Per-parameter optimizer state: a few buffers the size of the parameter (momentum,
//! moments) and a step count, created as zeros on a parameter's first update; and its
//! export to / import from named tensors ("0.momentum", "3.exp_avg_sq", "3.step") for
//! checkpoints.

use crate::autograd::{Param, ParamId};
use crate::{Error, Result, Tensor};
use std::collections::HashMap;

/// What one optimizer keeps per parameter: the names of its buffers, whether it counts steps.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    /// The optimizer's short name, for error messages.
    pub optimizer: &'static str,
    pub buffers: &'static [&'static str],
    pub step: bool,
}

/// The state of one parameter.
#[derive(Clone, Debug)]
struct Slot {
    step: u64,
    buffers: Vec<Vec<f32>>,
}

/// What [`StateMap::import`] has read so far for one parameter.
#[derive(Clone)]
struct PartialSlot {
    step: Option<u64>,
    buffers: Vec<Option<Vec<f32>>>,
}

/// The state of every parameter an optimizer has updated.
#[derive(Clone, Debug, Default)]
pub(super) struct StateMap {
    by_param: HashMap<ParamId, Slot>,
}

impl StateMap {
    /// The step count and the `K` buffers of `p`, created as zeros on first use.
    pub fn slot<const K: usize>(&mut self, p: &Param) -> Result<(&mut u64, &mut [Vec<f32>; K])> {
        let n = p.value.numel();
        let slot = self.by_param.entry(p.id()).or_insert_with(|| Slot { step: 0, buffers: vec![vec![0.0; n]; K] });
        let mismatch = || {
            Error::invalid(
                "optimizer state",
                format!("parameter '{}' has {n} elements but its state does not fit it (was it resized?)", p.name),
            )
        };
        if slot.buffers.iter().any(|b| b.len() != n) {
            return Err(mismatch());
        }
        let buffers = <&mut [Vec<f32>; K]>::try_from(slot.buffers.as_mut_slice()).map_err(|_| mismatch())?;
        Ok((&mut slot.step, buffers))
    }

    /// The state of `params`, in their order, as named tensors of the parameters' shapes.
    /// The step count travels as an f32 scalar: exact up to 2^24 steps, and past that
    /// Adam's bias corrections are 1 to f32 precision anyway.
    pub fn export(&self, params: &[&Param], layout: Layout) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let n = p.value.numel();
            // A parameter resized since its last step has stale state: leave it out.
            let Some(slot) = self.by_param.get(&p.id()).filter(|s| s.buffers.iter().all(|b| b.len() == n)) else {
                continue;
            };
            if layout.step {
                out.push((format!("{i}.step"), Tensor::scalar(slot.step as f32)));
            }
            for (name, buf) in layout.buffers.iter().zip(&slot.buffers) {
                out.push((
                    format!("{i}.{name}"),
                    Tensor::from_vec(buf.clone(), p.value.shape()).expect("buffer lengths were checked above"),
                ));
            }
        }
        out
    }

    /// Reads what [`StateMap::export`] wrote for the same `params` (ids may differ).
    pub fn import(params: &[&Param], state: &[(String, Tensor)], layout: Layout) -> Result<StateMap> {
        let empty = PartialSlot { step: None, buffers: vec![None; layout.buffers.len()] };
        let mut parts = vec![empty; params.len()];
        for (name, t) in state {
            let bad = |reason: String| Error::invalid(format!("optimizer state entry '{name}'"), reason);
            let (index, kind) = name
                .split_once('.')
                .and_then(|(i, kind)| Some((i.parse::<usize>().ok()?, kind)))
                .ok_or_else(|| bad("expected 'INDEX.KIND', e.g. '0.momentum'".into()))?;
            let p = params.get(index).ok_or_else(|| bad(format!("there are only {} parameters", params.len())))?;
            let PartialSlot { step, buffers } = &mut parts[index];
            if kind == "step" && layout.step {
                let v = t.item().map_err(|e| bad(e.to_string()))?;
                if !(v >= 0.0 && v.fract() == 0.0 && v.is_finite()) {
                    return Err(bad(format!("{v} is not a step count")));
                }
                if step.replace(v as u64).is_some() {
                    return Err(bad("appears twice".into()));
                }
                continue;
            }
            let slot = layout.buffers.iter().position(|b| *b == kind).ok_or_else(|| {
                let mut kinds: Vec<&str> = layout.buffers.to_vec();
                if layout.step {
                    kinds.insert(0, "step");
                }
                let expected = if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") };
                bad(format!("{} keeps no '{kind}' state (it keeps: {expected})", layout.optimizer))
            })?;
            if t.shape() != p.value.shape() {
                return Err(bad(format!(
                    "shape {:?} does not fit parameter '{}' of shape {:?}",
                    t.shape(),
                    p.name,
                    p.value.shape()
                )));
            }
            if buffers[slot].replace(t.data().to_vec()).is_some() {
                return Err(bad("appears twice".into()));
            }
        }
        let mut by_param = HashMap::new();
        for (i, (p, PartialSlot { step, buffers })) in params.iter().zip(parts).enumerate() {
            if step.is_none() && buffers.iter().all(Option::is_none) {
                continue; // never stepped: state is created on its first update
            }
            let missing = |kind: &str| {
                Error::invalid(
                    format!("optimizer state entry '{i}.{kind}'"),
                    format!("missing, while other state of parameter {i} is present"),
                )
            };
            let step = match (layout.step, step) {
                (false, _) => 0,
                (true, Some(s)) => s,
                (true, None) => return Err(missing("step")),
            };
            let buffers = buffers
                .into_iter()
                .zip(layout.buffers)
                .map(|(b, kind)| b.ok_or_else(|| missing(kind)))
                .collect::<Result<Vec<_>>>()?;
            by_param.insert(p.id(), Slot { step, buffers });
        }
        Ok(StateMap { by_param })
    }
}
