//! Nearest-neighbour upsampling of NCHW tensors by integer factors, and its adjoint.
//!
//! Forward: `out[n, c, y, x] = in[n, c, y / sh, x / sw]` (each value copied into an
//! sh x sw block). Backward: each input cell receives the sum of the gradient over its
//! block. Memory-bound; planes are split across workers when the tensor is large.

use super::parallel::ELEMENTWISE_PARALLEL_MIN;
use crate::{Error, Result};
use rayon::prelude::*;

/// Checks `input` is [N, C, H, W] and the factors are positive; returns the output shape.
pub fn upsample2d_shape(input: &[usize], factor: (usize, usize)) -> Result<[usize; 4]> {
    let &[n, c, h, w] = input else {
        return Err(Error::bad_shape("upsample2d", input, "input must be [N, C, H, W]"));
    };
    if factor.0 == 0 || factor.1 == 0 {
        return Err(Error::bad_shape("upsample2d", input, format!("factor {factor:?} must be positive")));
    }
    Ok([n, c, h * factor.0, w * factor.1])
}

/// `x` [N, C, H, W] -> [N, C, H sh, W sw]. `planes` = N C.
pub fn upsample2d_forward(x: &[f32], planes: usize, h: usize, w: usize, (sh, sw): (usize, usize)) -> Vec<f32> {
    let (oh, ow) = (h * sh, w * sw);
    let mut out = vec![0.0; planes * oh * ow];
    let plane = |(src, dst): (&[f32], &mut [f32])| {
        for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
            let s = &src[(y / sh) * w..(y / sh + 1) * w];
            for (block, &v) in row.chunks_exact_mut(sw).zip(s) {
                block.fill(v);
            }
        }
    };
    debug_assert_eq!(x.len(), planes * h * w);
    if out.len() >= ELEMENTWISE_PARALLEL_MIN {
        x.par_chunks_exact(h * w).zip(out.par_chunks_exact_mut(oh * ow)).for_each(plane);
    } else {
        x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)).for_each(plane);
    }
    out
}

/// Gradient of [`upsample2d_forward`]: `g` [N, C, H sh, W sw] -> [N, C, H, W], each cell the
/// sum of its block.
pub fn upsample2d_backward(g: &[f32], planes: usize, h: usize, w: usize, (sh, sw): (usize, usize)) -> Vec<f32> {
    let (oh, ow) = (h * sh, w * sw);
    debug_assert_eq!(g.len(), planes * oh * ow);
    let mut dx = vec![0.0; planes * h * w];
    let plane = |(src, dst): (&[f32], &mut [f32])| {
        for (y, row) in src.chunks_exact(ow).enumerate() {
            let d = &mut dst[(y / sh) * w..(y / sh + 1) * w];
            for (acc, block) in d.iter_mut().zip(row.chunks_exact(sw)) {
                *acc += block.iter().sum::<f32>();
            }
        }
    };
    if g.len() >= ELEMENTWISE_PARALLEL_MIN {
        g.par_chunks_exact(oh * ow).zip(dx.par_chunks_exact_mut(h * w)).for_each(plane);
    } else {
        g.chunks_exact(oh * ow).zip(dx.chunks_exact_mut(h * w)).for_each(plane);
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_blocks_and_sums_them_back() {
        // one 2x2 plane, factors (2, 3) -> 4x6
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = upsample2d_forward(&x, 1, 2, 2, (2, 3));
        for yy in 0..4 {
            for xx in 0..6 {
                assert_eq!(y[yy * 6 + xx], x[(yy / 2) * 2 + xx / 3]);
            }
        }
        let g: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let dx = upsample2d_backward(&g, 1, 2, 2, (2, 3));
        // cell (0, 0) collects rows 0-1, columns 0-2: 0+1+2+6+7+8 = 24; cell (1, 0) rows 2-3,
        // columns 0-2: 12+13+14+18+19+20 = 96
        assert_eq!(dx, vec![24.0, 42.0, 96.0, 114.0]);
        assert!(upsample2d_shape(&[1, 2, 3], (2, 2)).is_err());
        assert!(upsample2d_shape(&[1, 1, 2, 2], (0, 2)).is_err());
    }
}
