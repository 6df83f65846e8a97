//! The per-step, per-row arithmetic of each cell, forward and backward: everything of a
//! recurrent step except its one matrix product (that is in `mod.rs`).
//!
//! Each function handles one sample's row of width H (`hidden`); gate blocks are laid out
//! side by side in a row of width G*H, in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n).
//! Loops run over re-sliced equal-length slices so the compiler drops the bounds checks
//! and vectorizes them.

use super::fastmath::{sigmoid, tanh};

/// Splits a gate row of width `g * h` into its `g` blocks.
macro_rules! blocks {
    ($row:expr, $h:expr, 3) => {{
        let (a, rest) = $row.split_at_mut($h);
        let (b, c) = rest.split_at_mut($h);
        (a, b, &mut c[..$h])
    }};
    ($row:expr, $h:expr, 4) => {{
        let (a, rest) = $row.split_at_mut($h);
        let (b, rest) = rest.split_at_mut($h);
        let (c, d) = rest.split_at_mut($h);
        (a, b, c, &mut d[..$h])
    }};
}

/// Simple RNN, forward: `h = tanh(z)` or `relu(z)`; `z` holds x W_ih + b + h_prev W_hh.
#[inline]
pub(super) fn rnn_forward_row(z: &[f32], h: &mut [f32], relu: bool) {
    let n = h.len();
    let z = &z[..n];
    if relu {
        h.iter_mut().zip(z).for_each(|(h, &z)| *h = z.max(0.0));
    } else {
        h.iter_mut().zip(z).for_each(|(h, &z)| *h = tanh(z));
    }
}

/// Simple RNN, backward: `dz = dh * phi'(z)` from the output `h`; `dh` is consumed (zeroed,
/// the recurrent GEMM then adds dz W_hh^T into it).
#[inline]
pub(super) fn rnn_backward_row(h: &[f32], dh: &mut [f32], dz: &mut [f32], relu: bool) {
    let n = h.len();
    let (dz, dh) = (&mut dz[..n], &mut dh[..n]);
    for j in 0..n {
        let d = if relu {
            if h[j] > 0.0 { dh[j] } else { 0.0 }
        } else {
            dh[j] * (1.0 - h[j] * h[j])
        };
        dz[j] = d;
        dh[j] = 0.0;
    }
}

/// LSTM, forward. `z` = [zi, zf, zg, zo] pre-activations, overwritten with the gates
/// [i, f, g, o]; `peep` = [pi, pf, po] (zeros without peephole connections).
///
/// i = s(zi + pi c_prev), f = s(zf + pf c_prev), g = tanh(zg), c = f c_prev + i g,
/// o = s(zo + po c), h = o tanh(c).
#[inline]
pub(super) fn lstm_forward_row(
    z: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    peep: &[f32],
) {
    let n = h.len();
    let (zi, zf, zg, zo) = blocks!(z, n, 4);
    let (cp, c, tc) = (&c_prev[..n], &mut c[..n], &mut tc[..n]);
    let (pi, pf, po) = (&peep[..n], &peep[n..2 * n], &peep[2 * n..3 * n]);
    for j in 0..n {
        let i = sigmoid(pi[j].mul_add(cp[j], zi[j]));
        let f = sigmoid(pf[j].mul_add(cp[j], zf[j]));
        let g = tanh(zg[j]);
        let cn = f.mul_add(cp[j], i * g);
        let o = sigmoid(po[j].mul_add(cn, zo[j]));
        let t = tanh(cn);
        zi[j] = i;
        zf[j] = f;
        zg[j] = g;
        zo[j] = o;
        c[j] = cn;
        tc[j] = t;
        h[j] = o * t;
    }
}

/// What the LSTM backward row reads from the forward pass.
pub(super) struct LstmSaved<'a> {
    /// [i, f, g, o] after their nonlinearities.
    pub gates: &'a [f32],
    pub c_prev: &'a [f32],
    pub c: &'a [f32],
    /// tanh(c).
    pub tc: &'a [f32],
}

/// LSTM, backward. On entry `dh`/`dc` are the gradients reaching h_t and c_t; on exit `dh`
/// is zero (the GEMM adds dz W_hh^T) and `dc` is the gradient of c_{t-1}. Writes the
/// pre-activation gradients to `dz` and adds the peephole gradients to `dpeep`.
#[inline]
pub(super) fn lstm_backward_row(
    s: &LstmSaved,
    dh: &mut [f32],
    dc: &mut [f32],
    dz: &mut [f32],
    peep: &[f32],
    dpeep: &mut [f32],
) {
    let n = dh.len();
    let g4 = &s.gates[..4 * n];
    let (gi, gf, gg, go) = (&g4[..n], &g4[n..2 * n], &g4[2 * n..3 * n], &g4[3 * n..]);
    let (cp, c, tc) = (&s.c_prev[..n], &s.c[..n], &s.tc[..n]);
    let dc = &mut dc[..n];
    let (dzi, dzf, dzg, dzo) = blocks!(dz, n, 4);
    let (pi, pf, po) = (&peep[..n], &peep[n..2 * n], &peep[2 * n..3 * n]);
    let (dpi, rest) = dpeep.split_at_mut(n);
    let (dpf, dpo) = rest.split_at_mut(n);
    let (dpf, dpo) = (&mut dpf[..n], &mut dpo[..n]);
    for j in 0..n {
        let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
        let d_o = dh[j] * tc[j] * o * (1.0 - o);
        let mut dct = dc[j] + dh[j] * o * (1.0 - tc[j] * tc[j]);
        dct = po[j].mul_add(d_o, dct);
        let d_i = dct * g * i * (1.0 - i);
        let d_f = dct * cp[j] * f * (1.0 - f);
        let d_g = dct * i * (1.0 - g * g);
        dc[j] = dct * f + pi[j] * d_i + pf[j] * d_f;
        dpi[j] += d_i * cp[j];
        dpf[j] += d_f * cp[j];
        dpo[j] += d_o * c[j];
        dzi[j] = d_i;
        dzf[j] = d_f;
        dzg[j] = d_g;
        dzo[j] = d_o;
        dh[j] = 0.0;
    }
}

/// GRU (PyTorch's formulation, reset gate applied after the recurrent product), forward.
/// `z` = [zr, zu, zn] = x W_ih + b_ih, overwritten with [r, u, n]; `a` = [ar, au, an] =
/// h_prev W_hh + b_hh; `an_out` keeps `an` for backward.
///
/// r = s(zr + ar), u = s(zu + au), n = tanh(zn + r an), h = (1 - u) n + u h_prev.
#[inline]
pub(super) fn gru_forward_row(
    z: &mut [f32],
    a: &[f32],
    h_prev: &[f32],
    h: &mut [f32],
    an_out: &mut [f32],
) {
    let n = h.len();
    let (zr, zu, zn) = blocks!(z, n, 3);
    let (ar, au, an) = (&a[..n], &a[n..2 * n], &a[2 * n..3 * n]);
    let (hp, an_out) = (&h_prev[..n], &mut an_out[..n]);
    for j in 0..n {
        let r = sigmoid(zr[j] + ar[j]);
        let u = sigmoid(zu[j] + au[j]);
        let nn = tanh(r.mul_add(an[j], zn[j]));
        zr[j] = r;
        zu[j] = u;
        zn[j] = nn;
        an_out[j] = an[j];
        h[j] = u.mul_add(hp[j] - nn, nn);
    }
}

/// GRU, backward. On entry `dh` is the gradient reaching h_t; on exit it holds the direct
/// part of the gradient of h_{t-1} (`dh u`; the GEMM adds dA W_hh^T). Writes the gradients
/// of the input-side pre-activations to `dp` and of the recurrent ones to `da`.
#[inline]
pub(super) fn gru_backward_row(
    gates: &[f32],
    an: &[f32],
    h_prev: &[f32],
    dh: &mut [f32],
    dp: &mut [f32],
    da: &mut [f32],
) {
    let n = dh.len();
    let g3 = &gates[..3 * n];
    let (gr, gu, gn) = (&g3[..n], &g3[n..2 * n], &g3[2 * n..]);
    let (an, hp) = (&an[..n], &h_prev[..n]);
    let (dpr, dpu, dpn) = blocks!(dp, n, 3);
    let (dar, dau, dan) = blocks!(da, n, 3);
    for j in 0..n {
        let (r, u, nn) = (gr[j], gu[j], gn[j]);
        let d = dh[j];
        let dzn = d * (1.0 - u) * (1.0 - nn * nn);
        let dzr = dzn * an[j] * r * (1.0 - r);
        let dzu = d * (hp[j] - nn) * u * (1.0 - u);
        dpr[j] = dzr;
        dpu[j] = dzu;
        dpn[j] = dzn;
        dar[j] = dzr;
        dau[j] = dzu;
        dan[j] = dzn * r;
        dh[j] = d * u;
    }
}
