//! Ten-crop testing (the lectures' 10-patch test, Krizhevsky et al. 2012, section 4.1: "at
//! test time, the network makes a prediction by extracting five 224x224 patches (the four
//! corner patches and the center patch) as well as their horizontal reflections, and
//! averaging the predictions made by the softmax layer on the ten patches").

use super::LoadedModel;
use crate::data::normalize::Standardizer;
use crate::{Error, Result, Tensor};

/// The ten crops of `x` `[N, C, H, W]` to `(h, w)`: top-left, top-right, bottom-left,
/// bottom-right and centre (offset `(H - h) / 2`, `(W - w) / 2`, rounded down), then the
/// same five mirrored left to right. Each is `[N, C, h, w]`.
///
/// ```
/// use strata::experiment::ten_crops;
/// use strata::Tensor;
/// let x = Tensor::from_vec((0..9).map(|v| v as f32).collect(), &[1, 1, 3, 3]).unwrap();
/// let crops = ten_crops(&x, (2, 2)).unwrap();
/// assert_eq!(crops[1].data(), &[1.0, 2.0, 4.0, 5.0]); // top-right
/// assert_eq!(crops[6].data(), &[2.0, 1.0, 5.0, 4.0]); // top-right, mirrored
/// ```
///
/// Errors: `x` is not `[N, C, H, W]`, or the crop is empty or larger than the images.
pub fn ten_crops(x: &Tensor, (h, w): (usize, usize)) -> Result<Vec<Tensor>> {
    let &[_, _, big_h, big_w] = x.shape() else {
        return Err(Error::bad_shape("ten-crop", x.shape(), "needs images [N, C, H, W]"));
    };
    if h == 0 || w == 0 || h > big_h || w > big_w {
        return Err(Error::bad_shape("ten-crop", x.shape(), format!("cannot take {h}x{w} crops of {big_h}x{big_w} images")));
    }
    let (dy, dx) = (big_h - h, big_w - w);
    let at = |y: usize, x0: usize| -> Result<Tensor> { x.slice(2, y, y + h)?.slice(3, x0, x0 + w) };
    let five = [at(0, 0)?, at(0, dx)?, at(dy, 0)?, at(dy, dx)?, at(dy / 2, dx / 2)?];
    let mirrored: Vec<Tensor> = five.iter().map(mirror).collect::<Result<_>>()?;
    Ok(five.into_iter().chain(mirrored).collect())
}

/// `x` `[N, C, H, W]` reflected left to right.
fn mirror(x: &Tensor) -> Result<Tensor> {
    let w = x.shape()[3];
    let mut out = x.clone();
    for (row, src) in out.data_mut().chunks_mut(w).zip(x.data().chunks(w)) {
        row.iter_mut().zip(src.iter().rev()).for_each(|(d, &s)| *d = s);
    }
    Ok(out)
}

/// `x` `[N, C, H, W]` with `pad` pixels added on every side, channel c filled with
/// `fill[c]` (one value for every channel when `fill` has one).
///
/// Errors: `x` is not `[N, C, H, W]`, or `fill` has neither 1 nor C values.
pub fn pad_images(x: &Tensor, pad: usize, fill: &[f32]) -> Result<Tensor> {
    let &[n, c, h, w] = x.shape() else {
        return Err(Error::bad_shape("pad", x.shape(), "needs images [N, C, H, W]"));
    };
    if fill.len() != 1 && fill.len() != c {
        return Err(Error::invalid("pad", format!("{} fill values for {c} channels", fill.len())));
    }
    let (ph, pw) = (h + 2 * pad, w + 2 * pad);
    let mut out = vec![0.0; n * c * ph * pw];
    for (p, (dst, src)) in out.chunks_mut(ph * pw).zip(x.data().chunks(h * w)).enumerate() {
        dst.fill(fill[if fill.len() == 1 { 0 } else { p % c }]);
        for (y, row) in src.chunks(w).enumerate() {
            dst[(y + pad) * pw + pad..(y + pad) * pw + pad + w].copy_from_slice(row);
        }
    }
    Tensor::from_vec(out, &[n, c, ph, pw])
}

/// What a black (0) pixel of each channel becomes under `standardize`: the value padding
/// should have once the images are standardized. Zero without standardization, or for a
/// per-feature standardizer (tables, not images).
pub fn black_after(standardize: Option<&Standardizer>, channels: usize) -> Vec<f32> {
    match standardize {
        Some(s) if s.is_global() || s.per_channel => {
            let of = |v: &[f32], c: usize, default: f32| v.get(c).or(v.first()).copied().unwrap_or(default);
            // a zero or non-finite std divides by 1, as the standardizer does
            let scale = |v: f32| if v > 0.0 && v.is_finite() { v } else { 1.0 };
            (0..channels).map(|c| -of(&s.mean, c, 0.0) / scale(of(&s.std, c, 1.0))).collect()
        }
        _ => vec![0.0; channels],
    }
}

/// The mean of the model's class probabilities over the ten crops of `x` to `crop`
/// (see [`ten_crops`]): `[N, classes]`.
pub fn ten_crop_proba(model: &mut LoadedModel, x: &Tensor, crop: (usize, usize)) -> Result<Tensor> {
    let mut sum: Option<Tensor> = None;
    for c in ten_crops(x, crop)? {
        let p = model.predict_proba(&c)?;
        sum = Some(match sum {
            Some(s) => s.add(&p)?,
            None => p,
        });
    }
    Ok(sum.ok_or_else(|| Error::Model("no crops".into()))?.scale(0.1))
}
