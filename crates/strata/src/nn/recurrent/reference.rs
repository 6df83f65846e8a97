//! The naive recurrent pass: one step at a time, built from ordinary tape ops (slice,
//! linear, matmul, sigmoid, tanh, mul, add, concat). Slow — ten or more tape entries per
//! step — but each line is the textbook equation, and autograd derives its gradient. Tests
//! hold the fused kernel (`Var::recurrent`) to it, values and gradients.

use crate::autograd::{FinalState, RecurrentOptions, RecurrentWeights, Var};
use crate::tensor::recurrent::Cell;
use crate::{Error, Result, Tensor};

/// Gate block `k` (of width `h`) of a [N, G*H] pre-activation.
fn gate(z: &Var, k: usize, h: usize) -> Result<Var> {
    z.slice(1, k * h, (k + 1) * h)
}

/// Peephole row `k` of [3, H], as [1, H] (broadcast over the batch).
fn peep_row(p: &Var, k: usize) -> Result<Var> {
    p.slice(0, k, k + 1)
}

/// Same contract as [`Var::recurrent`], computed step by step.
pub fn recurrent_reference(
    x: &Var,
    cell: Cell,
    w: &RecurrentWeights,
    h0: Option<&Var>,
    c0: Option<&Var>,
    opts: &RecurrentOptions,
) -> Result<(Var, FinalState)> {
    let xs = x.shape();
    if xs.len() != 3 {
        return Err(Error::bad_shape("recurrent_reference", xs, "input must be [batch, time, features]"));
    }
    let (n, t, f) = (xs[0], xs[1], xs[2]);
    let h = w.w_hh.shape()[0];
    let zeros = x.constant(Tensor::zeros(&[n, h]));
    let mut hp = h0.cloned().unwrap_or_else(|| zeros.clone());
    let mut cp = c0.cloned().unwrap_or_else(|| zeros.clone());
    let mut outs: Vec<Option<Var>> = vec![None; t];
    for s in 0..t {
        let tt = if opts.reverse { t - 1 - s } else { s };
        let xt = x.slice(1, tt, tt + 1)?.reshape(&[n, f])?;
        let (hn, cn) = match cell {
            Cell::RnnTanh | Cell::RnnRelu => {
                let z = xt.linear(w.w_ih, Some(w.bias))?.add(&hp.matmul(w.w_hh)?)?;
                (if cell == Cell::RnnRelu { z.relu() } else { z.tanh() }, cp.clone())
            }
            Cell::Lstm => {
                let z = xt.linear(w.w_ih, Some(w.bias))?.add(&hp.matmul(w.w_hh)?)?;
                let (mut zi, mut zf, zg, mut zo) = (gate(&z, 0, h)?, gate(&z, 1, h)?, gate(&z, 2, h)?, gate(&z, 3, h)?);
                if let Some(p) = w.peep {
                    zi = zi.add(&peep_row(p, 0)?.mul(&cp)?)?;
                    zf = zf.add(&peep_row(p, 1)?.mul(&cp)?)?;
                }
                let (i, fg, g) = (zi.sigmoid(), zf.sigmoid(), zg.tanh());
                let c = fg.mul(&cp)?.add(&i.mul(&g)?)?;
                if let Some(p) = w.peep {
                    zo = zo.add(&peep_row(p, 2)?.mul(&c)?)?;
                }
                (zo.sigmoid().mul(&c.tanh())?, c)
            }
            Cell::Gru => {
                let bias_hh = w.bias_hh.ok_or_else(|| Error::invalid("gru", "needs bias_hh"))?;
                let p = xt.linear(w.w_ih, Some(w.bias))?;
                let a = hp.linear(w.w_hh, Some(bias_hh))?;
                let r = gate(&p, 0, h)?.add(&gate(&a, 0, h)?)?.sigmoid();
                let u = gate(&p, 1, h)?.add(&gate(&a, 1, h)?)?.sigmoid();
                let nn = gate(&p, 2, h)?.add(&r.mul(&gate(&a, 2, h)?)?)?.tanh();
                (nn.add(&u.mul(&hp.sub(&nn)?)?)?, cp.clone())
            }
        };
        // Past a sample's length its state stays put and its output is zero.
        let (hn, cn, out) = match &opts.lengths {
            None => (hn.clone(), cn, hn),
            Some(lengths) => {
                let mask = x.constant(Tensor::from_vec(lengths.iter().map(|&l| (tt < l) as u8 as f32).collect(), &[n, 1])?);
                let keep = |new: &Var, old: &Var| -> Result<Var> { old.add(&mask.mul(&new.sub(old)?)?) };
                (keep(&hn, &hp)?, keep(&cn, &cp)?, mask.mul(&hn)?)
            }
        };
        outs[tt] = Some(out.reshape(&[n, 1, h])?);
        hp = hn;
        cp = cn;
    }
    let state = FinalState { h: hp.value().clone(), c: (cell == Cell::Lstm).then(|| cp.value().clone()) };
    if !opts.return_sequences {
        return Ok((hp, state));
    }
    if t == 0 {
        return Ok((x.constant(Tensor::zeros(&[n, 0, h])), state));
    }
    let parts: Vec<Var> = outs.into_iter().flatten().collect();
    let refs: Vec<&Var> = parts.iter().collect();
    Ok((Var::concat(&refs, 1)?, state))
}
