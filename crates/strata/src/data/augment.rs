//! Data augmentation for image batches `[N, C, H, W]`: random crops of a zero-padded image,
//! horizontal flips, translations and rotations, each image drawing its own parameters
//! from the one seeded [`Rng`] (same seed, same batches).
//!
//! The geometric transforms an image draws are composed into one map from output pixel to
//! source position, and the image is resampled once: pixels are copied exactly when no
//! rotation is drawn, and interpolated (bilinear) only once when one is, so stacking
//! transforms does not blur. Where the map lands outside the source image, the output is 0
//! (the zero padding of the crop, the fill of translation and rotation).
//!
//! Colour jitter (brightness, contrast, saturation, as torchvision's `ColorJitter`) follows
//! the geometric transforms, on pixel values in [0, 1]: inputs already standardized are
//! taken back to pixels with the standardizer's statistics ([`Augment::pixel_statistics`]),
//! jittered, clamped to [0, 1] and standardized again.

use crate::tensor::parallel::{ELEMENTWISE_PARALLEL_MIN, threads};
use crate::{Error, Result, Rng, Tensor};
use rayon::prelude::*;
use std::str::FromStr;

/// Which random transforms to apply to training image batches `[N, C, H, W]`; all off by
/// default. Parses from a comma list such as `crop:4,flip,translate:2,rotate:10`, with
/// colour jitter `brightness:0.2,contrast:0.2,saturation:0.2` (or `jitter:0.2` for all
/// three).
///
/// Each image draws its own transform from the one seeded [`Rng`] (same seed, same
/// batches). The transforms an image draws are composed and the image is resampled once:
/// pixels are copied exactly unless a rotation is drawn, which interpolates (bilinear)
/// once, so stacking transforms does not blur. Pixels whose source lies outside the image
/// become 0.
///
/// ```
/// use strata::data::Augment;
/// use strata::{Rng, Tensor};
/// let aug = Augment::new().random_crop(4).hflip(true);
/// assert_eq!(aug, "crop:4,flip".parse().unwrap());
/// let mut batch = Tensor::ones(&[8, 3, 32, 32]);
/// aug.apply(&mut batch, &mut Rng::seeded(1)).unwrap();
/// assert_eq!(batch.shape(), &[8, 3, 32, 32]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Augment {
    /// Pad each side with this many zero pixels, then crop back to H x W at a random offset
    /// (the CIFAR recipe: 4 for 32 x 32 images).
    pub random_crop_padding: usize,
    /// Mirror left-right with probability 0.5.
    pub hflip: bool,
    /// Shift by up to this many pixels along each axis, filling with zeros.
    pub max_translate: usize,
    /// Rotate about the centre by an angle uniform in +-this many degrees (counter-clockwise
    /// positive), bilinear, filling with zeros.
    pub max_rotate_degrees: f32,
    /// Multiply each image's pixels by a factor uniform in `[1 - b, 1 + b]` (0: off; at
    /// most 1).
    pub brightness: f32,
    /// Blend each image with its mean gray level: `mean + c * (x - mean)`, with a factor
    /// `c` uniform in `[1 - v, 1 + v]` (0: off; at most 1).
    pub contrast: f32,
    /// Blend each pixel of a colour image with its own gray (luma): `gray + s * (x - gray)`,
    /// with `s` uniform in `[1 - v, 1 + v]` (0: off; at most 1). Gray images are left as
    /// they are (brightness and contrast still apply).
    pub saturation: f32,
    /// Per-channel (or one global) mean and std the inputs were standardized with: colour
    /// jitter undoes it to work on pixels in [0, 1], then redoes it. Empty: the inputs are
    /// the pixels.
    pub pixel_statistics: (Vec<f32>, Vec<f32>),
}

/// The transform one image drew.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Draw {
    /// Content shift (rows, columns) from the crop and from the translation.
    crop: (isize, isize),
    translate: (isize, isize),
    flip: bool,
    /// Radians, counter-clockwise as displayed.
    angle: f32,
    /// Brightness, contrast and saturation factors (1: unchanged).
    colour: [f32; 3],
}

impl Default for Draw {
    fn default() -> Draw {
        Draw { crop: (0, 0), translate: (0, 0), flip: false, angle: 0.0, colour: [1.0; 3] }
    }
}

impl Draw {
    fn geometric(&self) -> bool {
        *self != Draw { colour: self.colour, ..Draw::default() }
    }
    fn jitters(&self) -> bool {
        self.colour != [1.0; 3]
    }
}

impl Augment {
    /// No transforms (add them with the builder methods); the same as `Augment::default()`.
    pub fn new() -> Augment {
        Augment::default()
    }
    /// Sets [`random_crop_padding`](Augment::random_crop_padding) (0: no crop).
    pub fn random_crop(mut self, padding: usize) -> Self {
        self.random_crop_padding = padding;
        self
    }
    /// Sets [`hflip`](Augment::hflip).
    pub fn hflip(mut self, yes: bool) -> Self {
        self.hflip = yes;
        self
    }
    /// Sets [`max_translate`](Augment::max_translate) (0: no translation).
    pub fn translate(mut self, max_pixels: usize) -> Self {
        self.max_translate = max_pixels;
        self
    }
    /// Sets [`max_rotate_degrees`](Augment::max_rotate_degrees) (0: no rotation).
    pub fn rotate(mut self, max_degrees: f32) -> Self {
        self.max_rotate_degrees = max_degrees;
        self
    }
    /// Sets the three colour jitter strengths (see [`Augment::brightness`]; 0: off).
    pub fn colour_jitter(mut self, brightness: f32, contrast: f32, saturation: f32) -> Self {
        (self.brightness, self.contrast, self.saturation) = (brightness, contrast, saturation);
        self
    }
    /// Says the inputs were standardized with `mean` and `std` (one value, or one per
    /// channel), so colour jitter works on the pixels they came from.
    pub fn standardized_with(mut self, mean: &[f32], std: &[f32]) -> Self {
        self.pixel_statistics = (mean.to_vec(), std.to_vec());
        self
    }
    /// True when no transform is switched on.
    pub fn is_identity(&self) -> bool {
        Augment { pixel_statistics: Default::default(), ..self.clone() } == Augment::default()
    }
    fn jitter_strengths(&self) -> [f32; 3] {
        [self.brightness, self.contrast, self.saturation]
    }

    fn draw(&self, rng: &mut Rng) -> Draw {
        let mut d = Draw::default();
        let shift = |rng: &mut Rng, max: usize| rng.below(2 * max + 1) as isize - max as isize;
        if self.random_crop_padding > 0 {
            // crop offset o in [0, 2p] of the padded image = content shift p - o
            let p = self.random_crop_padding;
            d.crop = (shift(rng, p), shift(rng, p));
        }
        if self.hflip {
            d.flip = rng.uniform() < 0.5;
        }
        if self.max_translate > 0 {
            d.translate = (shift(rng, self.max_translate), shift(rng, self.max_translate));
        }
        if self.max_rotate_degrees > 0.0 {
            let m = self.max_rotate_degrees;
            d.angle = rng.uniform_range(-m, m).to_radians();
        }
        for (f, v) in d.colour.iter_mut().zip(self.jitter_strengths()) {
            if v > 0.0 {
                *f = rng.uniform_range(1.0 - v, 1.0 + v);
            }
        }
        d
    }

    /// Transforms every image of `batch` (`[N, C, H, W]`) in place, each with parameters
    /// drawn from `rng` (drawn in image order, so the result does not depend on threads).
    ///
    /// Errors: `batch` is not of rank 4, or `max_rotate_degrees` is negative or not finite.
    pub fn apply(&self, batch: &mut Tensor, rng: &mut Rng) -> Result<()> {
        if batch.rank() != 4 {
            return Err(Error::bad_shape("augment", batch.shape(), "needs image batches [N, C, H, W]"));
        }
        if !(self.max_rotate_degrees >= 0.0 && self.max_rotate_degrees.is_finite()) {
            return Err(Error::invalid(
                "augment rotate",
                format!("{} degrees is not a finite angle >= 0", self.max_rotate_degrees),
            ));
        }
        if let Some(v) = self.jitter_strengths().into_iter().find(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::invalid("augment colour jitter", format!("{v} is not a strength in [0, 1]")));
        }
        let (n, c, h, w) = (batch.shape()[0], batch.shape()[1], batch.shape()[2], batch.shape()[3]);
        if self.is_identity() || n * c * h * w == 0 {
            return Ok(());
        }
        let (mean, std) = &self.pixel_statistics;
        if mean.len() != std.len() || !(mean.is_empty() || mean.len() == 1 || mean.len() == c) {
            return Err(Error::invalid(
                "augment colour jitter",
                format!("standardized with {} means and {} stds for {c} channels", mean.len(), std.len()),
            ));
        }
        let draws: Vec<Draw> = (0..n).map(|_| self.draw(rng)).collect();
        let chw = c * h * w;
        let data = batch.data_mut();
        let one = |scratch: &mut Vec<f32>, (img, d): (&mut [f32], &Draw)| {
            if d.geometric() {
                scratch.clear();
                scratch.extend_from_slice(img);
                transform(img, scratch, h, w, d);
            }
            if d.jitters() {
                jitter(img, c, h * w, d.colour, mean, std);
            }
        };
        if data.len() >= ELEMENTWISE_PARALLEL_MIN && threads() > 1 {
            data.par_chunks_mut(chw).zip(draws.par_iter()).for_each_init(|| Vec::with_capacity(chw), one);
        } else {
            let mut scratch = Vec::with_capacity(chw);
            data.chunks_mut(chw).zip(draws.iter()).for_each(|p| one(&mut scratch, p));
        }
        Ok(())
    }
}

/// Luma weights of RGB (ITU-R BT.709, as converting to gray elsewhere).
const LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Colour jitter of one image `[C, H, W]` (`plane` = H x W) in place: brightness, contrast
/// then saturation (colour only) by the factors `f`, on pixels (the inputs with the
/// standardization `mean`/`std` undone, when given), clamped to [0, 1], standardized again.
fn jitter(img: &mut [f32], c: usize, plane: usize, f: [f32; 3], mean: &[f32], std: &[f32]) {
    let stat = |v: &[f32], ch: usize, default: f32| if v.is_empty() { default } else { v[ch.min(v.len() - 1)] };
    for (ch, p) in img.chunks_exact_mut(plane).enumerate() {
        let (m, s) = (stat(mean, ch, 0.0), stat(std, ch, 1.0));
        p.iter_mut().for_each(|v| *v = (*v * s + m) * f[0]);
    }
    let luma = |img: &[f32], i: usize| (0..3).map(|k| LUMA[k] * img[k * plane + i]).sum::<f32>();
    if f[1] != 1.0 {
        // The image's mean gray level (torchvision: the mean of its grayscale version).
        let gray_mean = if c == 3 {
            (0..plane).map(|i| luma(img, i).clamp(0.0, 1.0) as f64).sum::<f64>() / plane.max(1) as f64
        } else {
            img.iter().map(|&v| v.clamp(0.0, 1.0) as f64).sum::<f64>() / img.len().max(1) as f64
        } as f32;
        img.iter_mut().for_each(|v| *v = gray_mean + f[1] * (v.clamp(0.0, 1.0) - gray_mean));
    }
    if f[2] != 1.0 && c == 3 {
        img.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        for i in 0..plane {
            let g = luma(img, i);
            for k in 0..3 {
                img[k * plane + i] = g + f[2] * (img[k * plane + i] - g);
            }
        }
    }
    for (ch, p) in img.chunks_exact_mut(plane).enumerate() {
        let (m, s) = (stat(mean, ch, 0.0), stat(std, ch, 1.0));
        let inv = if s != 0.0 { 1.0 / s } else { 1.0 };
        p.iter_mut().for_each(|v| *v = (v.clamp(0.0, 1.0) - m) * inv);
    }
}

/// Writes the transformed image into `out` from `src` (both `[C, H, W]`, planes of H x W).
fn transform(out: &mut [f32], src: &[f32], h: usize, w: usize, d: &Draw) {
    let (sy, sx) = (d.crop.0 + d.translate.0, d.crop.1 + d.translate.1);
    if d.angle == 0.0 {
        // Integer map: out(y, x) = src(y - sy, off +- x); rows are copied (or reversed) whole.
        // Unflipped: x_src = x - sx. Flipped (flip before translate, after crop):
        // x_src = (w - 1 - (x - translate)) - crop.
        let off = if d.flip { w as isize - 1 + d.translate.1 - d.crop.1 } else { -sx };
        for (op, sp) in out.chunks_exact_mut(h * w).zip(src.chunks_exact(h * w)) {
            for (y, row) in op.chunks_exact_mut(w).enumerate() {
                let ys = y as isize - sy;
                if ys < 0 || ys >= h as isize {
                    row.fill(0.0);
                } else {
                    let s = &sp[ys as usize * w..(ys as usize + 1) * w];
                    shift_row(row, s, off, d.flip);
                }
            }
        }
        return;
    }
    // Affine map, output (x, y) -> source (u, v): undo the rotation about the centre, then
    // the translation, the flip and the crop shift.
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let (sin, cos) = (d.angle as f64).sin_cos();
    let map = |x: f64, y: f64| {
        let (dx, dy) = (x - cx, y - cy);
        let (mut u, v) = (cx + cos * dx - sin * dy - d.translate.1 as f64, cy + sin * dx + cos * dy - d.translate.0 as f64);
        if d.flip {
            u = w as f64 - 1.0 - u;
        }
        (u - d.crop.1 as f64, v - d.crop.0 as f64)
    };
    let (t, ex, ey) = (map(0.0, 0.0), map(1.0, 0.0), map(0.0, 1.0));
    let (du_dx, dv_dx, du_dy, dv_dy) = ((ex.0 - t.0) as f32, (ex.1 - t.1) as f32, (ey.0 - t.0) as f32, (ey.1 - t.1) as f32);
    let (u0, v0) = (t.0 as f32, t.1 as f32);
    for (op, sp) in out.chunks_exact_mut(h * w).zip(src.chunks_exact(h * w)) {
        for (y, row) in op.chunks_exact_mut(w).enumerate() {
            let (ur, vr) = (u0 + du_dy * y as f32, v0 + dv_dy * y as f32);
            for (x, o) in row.iter_mut().enumerate() {
                *o = bilinear(sp, h, w, ur + du_dx * x as f32, vr + dv_dx * x as f32);
            }
        }
    }
}

/// `dst[x] = src[off + x]`, or `src[off - x]` when `flip`; 0 where that is outside `src`.
fn shift_row(dst: &mut [f32], src: &[f32], off: isize, flip: bool) {
    let w = dst.len() as isize;
    let (lo, hi) = if flip { ((off - w + 1).max(0), (off + 1).min(w)) } else { ((-off).max(0), (w - off).min(w)) };
    if lo >= hi {
        dst.fill(0.0);
        return;
    }
    let (lo, hi) = (lo as usize, hi as usize);
    dst[..lo].fill(0.0);
    dst[hi..].fill(0.0);
    if flip {
        // x in [lo, hi) reads src[off - x]: src[off - hi + 1 ..= off - lo], reversed
        let s = &src[(off - hi as isize + 1) as usize..=(off - lo as isize) as usize];
        dst[lo..hi].iter_mut().zip(s.iter().rev()).for_each(|(d, &v)| *d = v);
    } else {
        dst[lo..hi].copy_from_slice(&src[(lo as isize + off) as usize..(hi as isize + off) as usize]);
    }
}

/// Bilinear sample of the plane `p` (`[H, W]`) at column `u`, row `v`; 0 outside.
#[inline]
fn bilinear(p: &[f32], h: usize, w: usize, u: f32, v: f32) -> f32 {
    if !(u > -1.0 && v > -1.0 && u < w as f32 && v < h as f32) {
        return 0.0;
    }
    let (x0, y0) = (u.floor(), v.floor());
    let (fx, fy) = (u - x0, v - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let at = |x: isize, y: isize| {
        if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h { p[y as usize * w + x as usize] } else { 0.0 }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

impl FromStr for Augment {
    type Err = Error;
    /// Parses a comma list of `crop:PIXELS`, `flip`, `translate:PIXELS`,
    /// `rotate:DEGREES`, `brightness:F`, `contrast:F`, `saturation:F` and `jitter:F` (the
    /// three at once), F in [0, 1] (e.g. `crop:4,flip,jitter:0.2`); items not given stay off.
    ///
    /// Errors: an unknown or malformed item, or a negative or non-finite angle.
    fn from_str(spec: &str) -> Result<Augment> {
        let mut a = Augment::new();
        for item in spec.split(',').map(str::trim) {
            let bad = || {
                Error::invalid(
                    "augment item",
                    format!(
                        "'{item}' (expected crop:PIXELS, flip, translate:PIXELS, rotate:DEGREES, brightness:F, \
                         contrast:F, saturation:F or jitter:F, F in [0, 1])"
                    ),
                )
            };
            let (name, value) = match item.split_once(':') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (item, None),
            };
            match (name, value) {
                ("flip", None) => a.hflip = true,
                ("crop", Some(v)) => a.random_crop_padding = v.parse().map_err(|_| bad())?,
                ("translate", Some(v)) => a.max_translate = v.parse().map_err(|_| bad())?,
                ("rotate", Some(v)) => {
                    a.max_rotate_degrees = v.parse().ok().filter(|d: &f32| d.is_finite() && *d >= 0.0).ok_or_else(bad)?
                }
                ("brightness" | "contrast" | "saturation" | "jitter", Some(v)) => {
                    let f: f32 = v.parse().ok().filter(|f| (0.0..=1.0).contains(f)).ok_or_else(bad)?;
                    match name {
                        "brightness" => a.brightness = f,
                        "contrast" => a.contrast = f,
                        "saturation" => a.saturation = f,
                        _ => (a.brightness, a.contrast, a.saturation) = (f, f, f),
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: usize, c: usize, h: usize, w: usize) -> Tensor {
        Tensor::from_vec((0..n * c * h * w).map(|v| v as f32 + 1.0).collect(), &[n, c, h, w]).unwrap()
    }

    fn one(d: Draw, x: &Tensor) -> Tensor {
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let mut out = x.clone();
        transform(out.data_mut(), x.data(), h, w, &d);
        out
    }

    #[test]
    fn flip_twice_is_the_identity_and_flip_mirrors_rows() {
        let x = image(1, 2, 3, 4);
        let f = Draw { flip: true, ..Draw::default() };
        let once = one(f, &x);
        assert_eq!(&once.data()[..4], &[4.0, 3.0, 2.0, 1.0]);
        assert_eq!(one(f, &once), x);
    }

    #[test]
    fn crop_with_padding_zero_is_the_identity() {
        let mut x = image(4, 3, 5, 5);
        let before = x.clone();
        Augment::new().random_crop(0).apply(&mut x, &mut Rng::seeded(1)).unwrap();
        assert_eq!(x, before);
        // with padding, every image is a shifted copy within the padding
        Augment::new().random_crop(1).apply(&mut x, &mut Rng::seeded(1)).unwrap();
        assert_ne!(x, before);
    }

    #[test]
    fn translation_moves_a_known_pixel() {
        let mut x = Tensor::zeros(&[1, 1, 5, 6]);
        x.data_mut()[6 + 2] = 1.0; // (y 1, x 2)
        let y = one(Draw { translate: (2, -1), ..Draw::default() }, &x);
        assert_eq!(y.data().iter().position(|&v| v == 1.0), Some(3 * 6 + 1)); // (y 3, x 1)
        assert_eq!(y.sum_all(), 1.0);
        // shifted out of the frame, the pixel is gone and zeros fill in
        assert_eq!(one(Draw { translate: (0, 5), ..Draw::default() }, &x).sum_all(), 0.0);
        // crop shift then flip: x_src = (w-1-x) - crop, so content at x=2 lands at w-1-(2+1) = 2
        let z = one(Draw { crop: (0, 1), flip: true, ..Draw::default() }, &x);
        assert_eq!(z.data().iter().position(|&v| v == 1.0), Some(6 + 2));
    }

    #[test]
    fn rotation_by_zero_is_identity_and_by_90_turns_counter_clockwise() {
        let x = image(2, 2, 5, 5);
        assert!(one(Draw { angle: 1e-12, ..Draw::default() }, &x).max_abs_diff(&x).unwrap() < 1e-4);
        let mut x = Tensor::zeros(&[1, 1, 5, 5]);
        x.data_mut()[2 * 5 + 4] = 1.0; // right of the centre (2, 2)
        let y = one(Draw { angle: 90f32.to_radians(), ..Draw::default() }, &x);
        assert!((y.data()[2] - 1.0).abs() < 1e-4, "{y:?}"); // now above it: (0, 2)
        assert!((y.sum_all() - 1.0).abs() < 1e-4);
        // on an even-sized image the centre is between pixels: 90 degrees still maps the
        // grid onto itself, (y 1, x 3) -> (y 0, x 1)
        let mut e = Tensor::zeros(&[1, 1, 4, 4]);
        e.data_mut()[4 + 3] = 1.0;
        assert!((one(Draw { angle: 90f32.to_radians(), ..Draw::default() }, &e).data()[1] - 1.0).abs() < 1e-4);
    }

    #[test]
    fn the_exact_and_the_interpolating_paths_agree() {
        // a negligible angle forces the bilinear path; shifts, flips and crops must match
        let x = image(1, 2, 6, 7);
        for crop in [(0, 0), (1, -2), (-1, 1)] {
            for translate in [(0, 0), (2, 1), (-1, -3)] {
                for flip in [false, true] {
                    let d = Draw { crop, translate, flip, angle: 0.0, ..Draw::default() };
                    let exact = one(d, &x);
                    let interp = one(Draw { angle: 1e-6, ..d }, &x);
                    assert!(exact.max_abs_diff(&interp).unwrap() < 1e-2, "{d:?}");
                }
            }
        }
    }

    #[test]
    fn same_seed_same_output_and_per_image_draws() {
        let aug = Augment::new().random_crop(2).hflip(true).translate(1).rotate(15.0);
        let run = |seed| {
            let mut x = Tensor::rand_normal(&[64, 3, 16, 16], 0.0, 1.0, &mut Rng::seeded(0));
            aug.apply(&mut x, &mut Rng::seeded(seed)).unwrap();
            x
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        // identical images come out different: each image draws its own transform
        let mut same = Tensor::from_vec([1.0f32; 4 * 64].repeat(2), &[8, 1, 8, 8]).unwrap();
        for (i, v) in same.data_mut().iter_mut().enumerate() {
            *v += (i % 64) as f32;
        }
        aug.apply(&mut same, &mut Rng::seeded(5)).unwrap();
        let d = same.data();
        assert!((1..8).any(|i| d[i * 64..(i + 1) * 64] != d[..64]));
    }

    #[test]
    fn colour_jitter_stays_within_its_bounds() {
        // Mid-range colour pixels, so no clamping: brightness alone scales every pixel of an
        // image by one factor in [0.8, 1.2].
        let x = Tensor::rand_uniform(&[16, 3, 4, 4], 0.2, 0.6, &mut Rng::seeded(2));
        let mut y = x.clone();
        Augment::new().colour_jitter(0.2, 0.0, 0.0).apply(&mut y, &mut Rng::seeded(1)).unwrap();
        let mut factors = Vec::new();
        for (a, b) in x.data().chunks(48).zip(y.data().chunks(48)) {
            let f = b[0] / a[0];
            assert!((0.8..=1.2).contains(&f), "{f}");
            assert!(a.iter().zip(b).all(|(a, b)| (b / a - f).abs() < 1e-4));
            factors.push(f);
        }
        assert!(factors.iter().any(|&f| (f - factors[0]).abs() > 1e-3), "each image draws its own factor");
        // Saturation 0..2 moves each pixel along the line through its gray: gray is kept.
        let mut z = x.clone();
        Augment::new().colour_jitter(0.0, 0.0, 1.0).apply(&mut z, &mut Rng::seeded(1)).unwrap();
        let luma = |d: &[f32], i: usize| 0.2126 * d[i] + 0.7152 * d[16 + i] + 0.0722 * d[32 + i];
        for (a, b) in x.data().chunks(48).zip(z.data().chunks(48)) {
            for i in 0..16 {
                let (ga, gb) = (luma(a, i), luma(b, i));
                // clamping to [0, 1] may move gray only where a channel left the range
                if b.iter().all(|v| *v > 0.0 && *v < 1.0) {
                    assert!((ga - gb).abs() < 1e-4, "{ga} {gb}");
                }
            }
        }
        assert_ne!(z, x);
        // Every jitter keeps pixels in [0, 1], also on standardized inputs undone and redone.
        let (m, sd) = (vec![0.4, 0.5, 0.6], vec![0.2, 0.25, 0.3]);
        let mut st = x.clone();
        for (ch, p) in st.data_mut().chunks_mut(16).enumerate() {
            p.iter_mut().for_each(|v| *v = (*v - m[ch % 3]) / sd[ch % 3]);
        }
        let aug = Augment::new().colour_jitter(1.0, 1.0, 1.0).standardized_with(&m, &sd);
        aug.apply(&mut st, &mut Rng::seeded(3)).unwrap();
        for (i, p) in st.data().chunks(16).enumerate() {
            let ch = i % 3;
            assert!(p.iter().all(|v| (-1e-5..=1.0 + 1e-5).contains(&(v * sd[ch] + m[ch]))));
        }
        // Gray images: brightness and contrast apply, saturation leaves them as they are.
        let g = Tensor::rand_uniform(&[4, 1, 4, 4], 0.2, 0.6, &mut Rng::seeded(2));
        let mut g2 = g.clone();
        Augment::new().colour_jitter(0.0, 0.0, 1.0).apply(&mut g2, &mut Rng::seeded(1)).unwrap();
        assert_eq!(g2, g);
        Augment::new().colour_jitter(0.3, 0.3, 0.0).apply(&mut g2, &mut Rng::seeded(1)).unwrap();
        assert_ne!(g2, g);
        // Off by default, and bad strengths are errors.
        assert!(Augment::new().colour_jitter(0.0, 0.0, 0.0).is_identity());
        assert!(Augment::new().colour_jitter(1.5, 0.0, 0.0).apply(&mut g2, &mut Rng::seeded(1)).is_err());
        let bad_stats = Augment::new().colour_jitter(0.1, 0.0, 0.0).standardized_with(&[0.1, 0.2], &[1.0, 1.0]);
        assert!(bad_stats.apply(&mut g2, &mut Rng::seeded(1)).is_err());
    }

    #[test]
    fn parse_and_errors() {
        let j: Augment = "flip,jitter:0.3,contrast:0.1".parse().unwrap();
        assert_eq!(j, Augment::new().hflip(true).colour_jitter(0.3, 0.1, 0.3));
        assert!("brightness:2".parse::<Augment>().is_err() && "saturation".parse::<Augment>().is_err());
        let a: Augment = "crop:4, flip,translate:2,rotate:10".parse().unwrap();
        assert_eq!(a, Augment::new().random_crop(4).hflip(true).translate(2).rotate(10.0));
        for bad in ["blur", "crop", "crop:x", "flip:1", "rotate:-5", "", "crop:4,,flip"] {
            let e = bad.parse::<Augment>().unwrap_err().to_string();
            assert!(e.contains("augment") && e.lines().count() == 1, "{bad}: {e}");
        }
        assert!(Augment::new().hflip(true).apply(&mut Tensor::zeros(&[2, 784]), &mut Rng::seeded(0)).is_err());
    }
}
