//! The per-step, per-row arithmetic of each cell, forward and backward: everything of a
//! recurrent step except its one matrix product (that is in `mod.rs`).
//!
//! Each function handles one sample's row of width H (`hidden`); gate blocks are laid out
//! side by side in a row of width G*H, in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n).
//!
//! **Vectorization.** The public-to-the-module functions split a row into its blocks and
//! call an `#[inline(never)]` kernel taking every block as its own slice argument: Rust
//! marks `&mut` arguments `noalias`, which is what lets the compiler vectorize a loop that
//! writes seven arrays (blocks split from one row inside a function would need run-time
//! overlap checks, and the vectorizer gives up on that many). Each kernel re-slices its
//! arguments to one length so the bounds checks vanish.

use super::fastmath::{sigmoid, tanh};

/// Splits a gate row into `G` blocks of width `h`.
fn split3(row: &mut [f32], h: usize) -> (&mut [f32], &mut [f32], &mut [f32]) {
    let (a, rest) = row.split_at_mut(h);
    let (b, c) = rest.split_at_mut(h);
    (a, b, c)
}

fn split4(row: &mut [f32], h: usize) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
    let (a, rest) = row.split_at_mut(h);
    let (b, rest) = rest.split_at_mut(h);
    let (c, d) = rest.split_at_mut(h);
    (a, b, c, d)
}

/// Simple RNN, forward: `h = tanh(z)` or `relu(z)`; `z` holds x W_ih + b + h_prev W_hh.
#[inline(never)]
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
#[inline(never)]
pub(super) fn rnn_backward_row(h: &[f32], dh: &mut [f32], dz: &mut [f32], relu: bool) {
    let n = h.len();
    let (dz, dh) = (&mut dz[..n], &mut dh[..n]);
    if relu {
        for j in 0..n {
            dz[j] = if h[j] > 0.0 { dh[j] } else { 0.0 };
        }
    } else {
        for j in 0..n {
            dz[j] = dh[j] * (1.0 - h[j] * h[j]);
        }
    }
    dh.fill(0.0);
}

/// LSTM, forward. `z` = [zi, zf, zg, zo] pre-activations, overwritten with the gates
/// [i, f, g, o]; `peep` = [pi, pf, po] (zeros without peephole connections).
///
/// i = s(zi + pi c_prev), f = s(zf + pf c_prev), g = tanh(zg), c = f c_prev + i g,
/// o = s(zo + po c), h = o tanh(c).
#[inline]
pub(super) fn lstm_forward_row(z: &mut [f32], c_prev: &[f32], c: &mut [f32], tc: &mut [f32], h: &mut [f32], peep: &[f32]) {
    let n = h.len();
    let (zi, zf, zg, zo) = split4(z, n);
    lstm_forward_kernel([zi, zf, zg, zo], c_prev, c, tc, h, &peep[..n], &peep[n..2 * n], &peep[2 * n..3 * n]);
}

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn lstm_forward_kernel(
    z: [&mut [f32]; 4],
    cp: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    pi: &[f32],
    pf: &[f32],
    po: &[f32],
) {
    let n = h.len();
    let [zi, zf, zg, zo] = z;
    let (zi, zf, zg, zo) = (&mut zi[..n], &mut zf[..n], &mut zg[..n], &mut zo[..n]);
    let (cp, c, tc, pi, pf, po) = (&cp[..n], &mut c[..n], &mut tc[..n], &pi[..n], &pf[..n], &po[..n]);
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
pub(super) fn lstm_backward_row(s: &LstmSaved, dh: &mut [f32], dc: &mut [f32], dz: &mut [f32], peep: &[f32], dpeep: &mut [f32]) {
    let n = dh.len();
    let g = &s.gates[..4 * n];
    let gates = [&g[..n], &g[n..2 * n], &g[2 * n..3 * n], &g[3 * n..]];
    let (dzi, dzf, dzg, dzo) = split4(dz, n);
    let (dpi, dpf, dpo) = split3(dpeep, n);
    let peep = [&peep[..n], &peep[n..2 * n], &peep[2 * n..3 * n]];
    lstm_backward_kernel(gates, [s.c_prev, s.c, s.tc], dh, dc, [dzi, dzf, dzg, dzo], peep, [dpi, dpf, dpo]);
}

#[inline(never)]
fn lstm_backward_kernel(
    gates: [&[f32]; 4],
    cs: [&[f32]; 3],
    dh: &mut [f32],
    dc: &mut [f32],
    dz: [&mut [f32]; 4],
    peep: [&[f32]; 3],
    dpeep: [&mut [f32]; 3],
) {
    let n = dh.len();
    let [gi, gf, gg, go] = gates.map(|g| &g[..n]);
    let [cp, c, tc] = cs.map(|v| &v[..n]);
    let [pi, pf, po] = peep.map(|v| &v[..n]);
    let [dzi, dzf, dzg, dzo] = dz;
    let (dzi, dzf, dzg, dzo) = (&mut dzi[..n], &mut dzf[..n], &mut dzg[..n], &mut dzo[..n]);
    let [dpi, dpf, dpo] = dpeep;
    let (dpi, dpf, dpo) = (&mut dpi[..n], &mut dpf[..n], &mut dpo[..n]);
    let dc = &mut dc[..n];
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
pub(super) fn gru_forward_row(z: &mut [f32], a: &[f32], h_prev: &[f32], h: &mut [f32], an_out: &mut [f32]) {
    let n = h.len();
    let (zr, zu, zn) = split3(z, n);
    gru_forward_kernel([zr, zu, zn], [&a[..n], &a[n..2 * n], &a[2 * n..3 * n]], h_prev, h, an_out);
}

#[inline(never)]
fn gru_forward_kernel(z: [&mut [f32]; 3], a: [&[f32]; 3], hp: &[f32], h: &mut [f32], an_out: &mut [f32]) {
    let n = h.len();
    let [zr, zu, zn] = z;
    let (zr, zu, zn) = (&mut zr[..n], &mut zu[..n], &mut zn[..n]);
    let [ar, au, an] = a.map(|v| &v[..n]);
    let (hp, an_out) = (&hp[..n], &mut an_out[..n]);
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
pub(super) fn gru_backward_row(gates: &[f32], an: &[f32], h_prev: &[f32], dh: &mut [f32], dp: &mut [f32], da: &mut [f32]) {
    let n = dh.len();
    let g = &gates[..3 * n];
    let (dpr, dpu, dpn) = split3(dp, n);
    let (dar, dau, dan) = split3(da, n);
    gru_backward_kernel([&g[..n], &g[n..2 * n], &g[2 * n..]], an, h_prev, dh, [dpr, dpu, dpn], [dar, dau, dan]);
}

#[inline(never)]
fn gru_backward_kernel(gates: [&[f32]; 3], an: &[f32], hp: &[f32], dh: &mut [f32], dp: [&mut [f32]; 3], da: [&mut [f32]; 3]) {
    let n = dh.len();
    let [gr, gu, gn] = gates.map(|v| &v[..n]);
    let (an, hp) = (&an[..n], &hp[..n]);
    let [dpr, dpu, dpn] = dp;
    let (dpr, dpu, dpn) = (&mut dpr[..n], &mut dpu[..n], &mut dpn[..n]);
    let [dar, dau, dan] = da;
    let (dar, dau, dan) = (&mut dar[..n], &mut dau[..n], &mut dan[..n]);
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
