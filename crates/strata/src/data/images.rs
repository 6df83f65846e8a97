//! Images a user hands to a trained model: an IDX array of images or one image file (PNG,
//! JPEG, PGM/PPM), as a batch `[N, ...shape]` of pixels in `[0, 1]` that fits the model input.

use crate::data::idx::{IdxData, read_idx};
use crate::{Error, Result, Tensor};
use std::path::Path;

/// File extensions read as one picture; anything else is read as an IDX array.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "pgm", "ppm", "pnm", "bmp"];

/// Whether `path` names a picture file (by its extension).
fn is_image_file(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    IMAGE_EXTENSIONS.contains(&ext.as_str())
}

/// The images in `path` as a batch `[N, ...shape]`, where `shape` is the model's input
/// shape without the batch axis.
///
/// A file ending in `.png`, `.jpg`, `.jpeg`, `.pgm`, `.ppm` or `.pnm` (any case) is one
/// picture (`N = 1`): resized to the model's `[C, H, W]` (bilinear; a flat `[F]` input
/// takes one row of F gray pixels) and converted to C channels (1: gray; otherwise R, G,
/// B, with channels past the third repeating blue), bytes scaled to `[0, 1]`. Any other
/// file is read as an IDX array, which must hold images of exactly `shape`; `u8` values
/// are scaled to `[0, 1]` as in training, other types are taken as they are.
///
/// Errors: the file cannot be read or decoded, `shape` is neither `[C, H, W]` nor `[F]`
/// for a picture, or an IDX array does not fit `shape`.
pub fn read_images(path: &Path, shape: &[usize]) -> Result<Tensor> {
    read_images_noted(path, shape).map(|(x, _)| x)
}

/// [`read_images`], with a note when a picture's colours were converted to what the model
/// takes ("converted the colour picture to gray: the model takes 1 channel").
pub fn read_images_noted(path: &Path, shape: &[usize]) -> Result<(Tensor, Option<String>)> {
    if !is_image_file(path) {
        return read_idx_images(path, shape).map(|x| (x, None));
    }
    let img = image::open(path).map_err(|e| Error::data(path, format!("cannot read image: {e}")))?;
    let colour = img.color().has_color();
    let (c, h, w) = match *shape {
        [c, h, w] => (c, h, w),
        [f] => (1, 1, f),
        _ => return Err(Error::data(path, format!("the model input {shape:?} is not an image"))),
    };
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(Error::data(path, format!("the model input {shape:?} is too large for an image")));
    };
    let img = img.resize_exact(w32, h32, image::imageops::FilterType::Triangle);
    let data: Vec<f32> = if c == 1 {
        img.to_luma8().pixels().map(|p| p.0[0] as f32 / 255.0).collect()
    } else {
        let rgb = img.to_rgb8();
        (0..c).flat_map(|ch| rgb.pixels().map(move |p| p.0[ch.min(2)] as f32 / 255.0).collect::<Vec<_>>()).collect()
    };
    let note = match (colour, c) {
        (true, 1) => Some(format!("converted the colour picture {} to gray: the model takes 1 channel", path.display())),
        (false, 3) => Some(format!("converted the gray picture {} to RGB: the model takes 3 channels", path.display())),
        _ => None,
    };
    let mut full = vec![1];
    full.extend(shape);
    Ok((Tensor::from_vec(data, &full)?, note))
}

fn read_idx_images(path: &Path, shape: &[usize]) -> Result<Tensor> {
    let arr = read_idx(path)?;
    let per: usize = shape.iter().product();
    let n = arr.dims.first().copied().unwrap_or(0);
    // Bytes are pixels: scale to [0, 1] as training did.
    let scale = if matches!(arr.data, IdxData::U8(_)) { 1.0 / 255.0 } else { 1.0 };
    let values: Vec<f32> = arr.data.to_f32().into_iter().map(|v| v * scale).collect();
    if n == 0 || values.len() != n * per {
        return Err(Error::data(
            path,
            format!("images of shape {:?} do not fit the model input {shape:?}", &arr.dims[1.min(arr.dims.len())..]),
        ));
    }
    let mut full = vec![n];
    full.extend(shape);
    Tensor::from_vec(values, &full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_resized_to_the_model_input_and_idx_must_fit() {
        let dir = std::env::temp_dir().join(format!("strata-images-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("white.png");
        image::RgbImage::from_pixel(10, 6, image::Rgb([255, 255, 255])).save(&png).unwrap();
        let x = read_images(&png, &[1, 4, 4]).unwrap();
        assert_eq!(x.shape(), &[1, 1, 4, 4]);
        assert!(x.data().iter().all(|&v| (v - 1.0).abs() < 1e-6));
        assert_eq!(read_images(&png, &[3, 2, 5]).unwrap().shape(), &[1, 3, 2, 5]);
        let (_, note) = read_images_noted(&png, &[1, 4, 4]).unwrap();
        assert!(note.unwrap().contains("to gray"));
        assert!(read_images_noted(&png, &[3, 4, 4]).unwrap().1.is_none());
        assert!(read_images(&png, &[2, 2]).is_err());
        let idx = dir.join("images-idx3-ubyte");
        crate::data::idx::write_idx_u8(&idx, &[2, 3, 3], &[255; 18], false).unwrap();
        assert_eq!(read_images(&idx, &[1, 3, 3]).unwrap().shape(), &[2, 1, 3, 3]);
        let err = read_images(&idx, &[1, 4, 4]).unwrap_err().to_string();
        assert!(err.contains("do not fit the model input"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
