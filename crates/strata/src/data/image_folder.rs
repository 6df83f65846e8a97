//! Folders of pictures, one folder per class (torchvision's `ImageFolder`, Keras'
//! `image_dataset_from_directory`).
//!
//! `DIR/train/<class>/*.png` and `DIR/test/<class>/...`, or only `DIR/<class>/...` (the
//! caller splits off a test part). Class names are the training folders' names, sorted;
//! pictures are `.png`, `.jpg`, `.jpeg`, `.pgm`, `.ppm`, `.pnm` or `.bmp` of any size and
//! colour mode (hidden files are ignored). They are resized to one size and converted to
//! one channel count (see [`LoadOptions`]), then decoded in parallel into memory as
//! `[N, C, H, W]` in `[0, 1]`. Headers are read first, so sizes are known and the memory
//! is checked before any picture is decoded.

use super::formats::LoadOptions;
use super::stream::ImageFiles;
use crate::{Dataset, Error, Result, Target, Tensor};
use image::ImageDecoder;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Extensions of pictures (lower case).
pub const EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "pgm", "ppm", "pnm", "bmp"];

/// An image folder, decoded.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    /// `DIR/train` (or every picture of a folder without `train/`).
    pub train: Dataset,
    /// `DIR/test`, when there is one.
    pub test: Option<Dataset>,
    /// Files skipped (with `skip_bad`), as lines for the user starting with `warning:`.
    pub notes: Vec<String>,
}

/// Whether `dir` looks like an image folder: `train/` with subfolders, or subfolders of
/// its own.
pub fn is_image_folder(dir: &Path) -> bool {
    let has_subdirs =
        |d: &Path| std::fs::read_dir(d).is_ok_and(|mut it| it.any(|e| e.is_ok_and(|e| e.path().is_dir() && !hidden(&e.path()))));
    has_subdirs(&dir.join("train")) || has_subdirs(dir)
}

fn hidden(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_picture(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    EXTENSIONS.contains(&ext.as_str())
}

/// Loads the folder `dir` with `opts` (size, channels, skipping bad files).
///
/// Errors: a class folder without pictures, a file that is not a picture or cannot be
/// decoded (unless `skip_bad`), pictures of different sizes without `image_size`, a test
/// class that training lacks, or more than the available memory. Each names the file or
/// folder.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<ImageFolder> {
    if let Some(c) = opts.channels
        && c != 1
        && c != 3
    {
        return Err(Error::invalid("channels", format!("{c} (expected 1 or 3)")));
    }
    let split = dir.join("train").is_dir();
    let train_dir = if split { dir.join("train") } else { dir.to_path_buf() };
    let classes = class_folders(&train_dir)?;
    let mut notes = Vec::new();
    let mut train_files = list_files(&train_dir, &classes, opts.skip_bad, &mut notes)?;
    let test_dir = dir.join("test");
    let mut test_files = Vec::new();
    if split {
        if !test_dir.is_dir() {
            return Err(Error::data(&test_dir, "missing (a folder with train/ needs test/ beside it)"));
        }
        for c in class_folders(&test_dir)? {
            if !classes.contains(&c) {
                return Err(Error::data(test_dir.join(&c), format!("class '{c}' is not among the training classes")));
            }
        }
        let present: Vec<String> = classes.iter().filter(|c| test_dir.join(c).is_dir()).cloned().collect();
        test_files = list_files(&test_dir, &present, opts.skip_bad, &mut notes)?;
        // Labels index the training classes.
        for f in &mut test_files {
            f.1 = classes.iter().position(|c| *c == present[f.1]).unwrap_or(0);
        }
    }
    // Headers: size and colour of every picture, in parallel.
    let headers = |files: &[(PathBuf, usize)]| -> Vec<std::result::Result<(u32, u32, bool), String>> {
        files.par_iter().map(|(p, _)| header(p)).collect()
    };
    let mut skipped = Vec::new();
    let mut keep_good = |files: &mut Vec<(PathBuf, usize)>| -> Result<Vec<(u32, u32, bool)>> {
        let mut kept = Vec::with_capacity(files.len());
        let mut good = Vec::with_capacity(files.len());
        let found = headers(files);
        for (f, h) in files.drain(..).zip(found) {
            match h {
                Ok(h) => {
                    kept.push(f);
                    good.push(h);
                }
                Err(e) if opts.skip_bad => skipped.push(format!("{}: {e}", f.0.display())),
                Err(e) => return Err(Error::data(&f.0, e)),
            }
        }
        *files = kept;
        Ok(good)
    };
    let train_headers = keep_good(&mut train_files)?;
    let test_headers = keep_good(&mut test_files)?;
    let Some(&(w0, h0, _)) = train_headers.first() else {
        return Err(Error::data(&train_dir, "no readable pictures"));
    };
    let (h, w) = match opts.image_size {
        Some(hw) => hw,
        None => {
            let all = train_files.iter().zip(&train_headers).chain(test_files.iter().zip(&test_headers));
            if let Some((f, &(fw, fh, _))) = all.clone().find(|(_, h)| (h.0, h.1) != (w0, h0)) {
                return Err(Error::data(
                    &f.0,
                    format!(
                        "is {fw}x{fh} (width x height) but {} is {w0}x{h0}; pass --image-size HxW to resize them all",
                        train_files[0].0.display()
                    ),
                ));
            }
            (h0 as usize, w0 as usize)
        }
    };
    if h == 0 || w == 0 || h > 1 << 14 || w > 1 << 14 {
        return Err(Error::invalid("image size", format!("{h}x{w} (each side 1..=16384)")));
    }
    let colour = train_headers.iter().chain(&test_headers).any(|&(_, _, c)| c);
    let c = opts.channels.unwrap_or(if colour { 3 } else { 1 });
    let per = c * h * w;
    let n = train_files.len() + test_files.len();
    let bytes = (n as u64).saturating_mul(per as u64).saturating_mul(4);
    let stream = opts.cache_mb.is_some_and(|mb| bytes > mb.saturating_mul(1 << 20));
    if stream {
        notes.push(format!(
            "note: {} decoded would take {} ({n} pictures of {c}x{h}x{w}), more than the cache budget of {} MiB \
             (--cache-mb): streaming it from disk, decoding batches ahead of training",
            dir.display(),
            crate::memory::human_bytes(bytes),
            opts.cache_mb.unwrap_or(0)
        ));
    } else {
        crate::memory::ensure_fits(&format!("{} decoded ({n} pictures of {c}x{h}x{w})", dir.display()), bytes)?;
    }
    let decode = |files: Vec<(PathBuf, usize)>, skipped: &mut Vec<String>| -> Result<(Tensor, Vec<u32>)> {
        let mut pixels = vec![0f32; files.len() * per];
        let results: Vec<std::result::Result<(), String>> =
            pixels.par_chunks_mut(per.max(1)).zip(files.par_iter()).map(|(out, (p, _))| decode_into(p, c, h, w, out)).collect();
        let mut labels = Vec::with_capacity(files.len());
        let mut kept = 0;
        for (i, (r, (p, label))) in results.into_iter().zip(&files).enumerate() {
            match r {
                Ok(()) => {
                    if kept != i {
                        pixels.copy_within(i * per..(i + 1) * per, kept * per);
                    }
                    kept += 1;
                    labels.push(*label as u32);
                }
                Err(e) if opts.skip_bad => skipped.push(format!("{}: {e}", p.display())),
                Err(e) => return Err(Error::data(p, e)),
            }
        }
        pixels.truncate(kept * per);
        Ok((Tensor::from_vec(pixels, &[kept, c, h, w])?, labels))
    };
    let num_classes = classes.len();
    let mut build = |files: Vec<(PathBuf, usize)>| -> Result<Dataset> {
        let mut ds = if stream {
            let labels: Vec<usize> = files.iter().map(|f| f.1).collect();
            let paths = files.into_iter().map(|f| f.0).collect();
            let (images, kept) = ImageFiles::scan(paths, [c, h, w], opts.skip_bad, &mut skipped)?;
            let labels = kept.iter().map(|&i| labels[i] as u32).collect();
            Dataset::streamed(images, Target::Classes { labels, num_classes })?
        } else {
            let (x, labels) = decode(files, &mut skipped)?;
            Dataset::new(x, Target::Classes { labels, num_classes })?
        };
        ds.class_names = Some(classes.clone());
        Ok(ds)
    };
    let train = build(train_files)?;
    let test = if split { Some(build(test_files)?) } else { None };
    if !skipped.is_empty() {
        notes.push(format!("warning: skipped {} unreadable files (--skip-bad); the first: {}", skipped.len(), skipped[0]));
    }
    if train.is_empty() {
        return Err(Error::data(&train_dir, "no readable pictures"));
    }
    Ok(ImageFolder { train, test, notes })
}

/// The class folders of `dir`, sorted by name.
///
/// Errors: `dir` cannot be read or holds fewer than two class folders.
fn class_folders(dir: &Path) -> Result<Vec<String>> {
    let mut classes: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !hidden(p))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    classes.sort();
    if classes.len() < 2 && dir.file_name().is_some_and(|n| n != "test") {
        return Err(Error::data(dir, format!("{} class folder(s); classification needs at least two", classes.len())));
    }
    Ok(classes)
}

/// The pictures of each class folder (recursively, sorted), labelled by the class's
/// index in `classes`.
///
/// Errors: an empty class folder, or a file that is not a picture (noted and skipped with
/// `skip_bad`).
fn list_files(dir: &Path, classes: &[String], skip_bad: bool, notes: &mut Vec<String>) -> Result<Vec<(PathBuf, usize)>> {
    let mut out = Vec::new();
    for (k, class) in classes.iter().enumerate() {
        let folder = dir.join(class);
        let mut files = Vec::new();
        walk(&folder, &mut files)?;
        files.sort();
        let before = out.len();
        for f in files {
            if is_picture(&f) {
                out.push((f, k));
            } else if skip_bad {
                notes.push(format!("warning: skipped {} (not a picture: {})", f.display(), EXTENSIONS.join(", ")));
            } else {
                return Err(Error::data(
                    &f,
                    format!("not a picture (expected {}); remove it or pass --skip-bad", EXTENSIONS.join(", ")),
                ));
            }
        }
        if out.len() == before {
            return Err(Error::data(&folder, format!("class folder has no pictures ({})", EXTENSIONS.join(", "))));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if hidden(&p) {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Width, height and whether the picture has colour, from its header.
fn header(p: &Path) -> std::result::Result<(u32, u32, bool), String> {
    let reader = image::ImageReader::open(p).map_err(|e| format!("cannot open: {e}"))?;
    let reader = reader.with_guessed_format().map_err(|e| format!("cannot read: {e}"))?;
    let decoder = reader.into_decoder().map_err(|e| format!("not a readable picture: {e}"))?;
    let (w, h) = decoder.dimensions();
    let colour = decoder.color_type().has_color();
    Ok((w, h, colour))
}

/// Decodes `p` into `out` as `c` channels of `h` x `w`, planes in order, bytes in [0, 1].
pub(crate) fn decode_into(p: &Path, c: usize, h: usize, w: usize, out: &mut [f32]) -> std::result::Result<(), String> {
    let reader = image::ImageReader::open(p).map_err(|e| format!("cannot open: {e}"))?;
    let img = reader
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?
        .decode()
        .map_err(|e| format!("cannot decode: {e}"))?;
    let img = if (img.width() as usize, img.height() as usize) == (w, h) {
        img
    } else {
        img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
    };
    let plane = h * w;
    if c == 1 {
        for (o, px) in out.iter_mut().zip(img.to_luma8().pixels()) {
            *o = f32::from(px.0[0]) / 255.0;
        }
    } else {
        for (i, px) in img.to_rgb8().pixels().enumerate() {
            for ch in 0..3 {
                out[ch * plane + i] = f32::from(px.0[ch]) / 255.0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::TestDir;

    fn picture(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(w, h, image::Rgb(rgb)).save(path).unwrap();
    }

    #[test]
    fn train_and_test_folders_with_sorted_classes() {
        let dir = TestDir::new("folder-split");
        picture(&dir.join("train/red/a.png"), 4, 3, [255, 0, 0]);
        picture(&dir.join("train/red/b.jpg"), 4, 3, [250, 0, 0]);
        picture(&dir.join("train/blue/a.bmp"), 4, 3, [0, 0, 255]);
        picture(&dir.join("test/blue/x.png"), 4, 3, [0, 0, 255]);
        std::fs::write(dir.join("train/red/.DS_Store"), "x").unwrap();
        let f = load(&dir.0, &LoadOptions::default()).unwrap();
        assert_eq!(f.train.class_names.as_deref().unwrap(), &["blue".to_string(), "red".to_string()]);
        assert_eq!(f.train.inputs.shape(), &[3, 3, 3, 4]);
        assert_eq!(crate::data::split::labels_of(&f.train).unwrap(), &[0, 1, 1]);
        let test = f.test.unwrap();
        assert_eq!(crate::data::split::labels_of(&test).unwrap(), &[0]);
        // Blue plane of the blue picture is 1, red plane 0.
        assert_eq!((test.inputs.data()[0], test.inputs.data()[2 * 12]), (0.0, 1.0));
        // Gray on request, resized on request.
        let opts = LoadOptions { channels: Some(1), image_size: Some((2, 2)), ..LoadOptions::default() };
        assert_eq!(load(&dir.0, &opts).unwrap().train.inputs.shape(), &[3, 1, 2, 2]);
    }

    #[test]
    fn bad_folders_name_the_culprit() {
        let dir = TestDir::new("folder-bad");
        picture(&dir.join("a/1.png"), 4, 4, [1, 2, 3]);
        picture(&dir.join("b/1.png"), 5, 4, [1, 2, 3]);
        let e = load(&dir.0, &LoadOptions::default()).unwrap_err().to_string();
        assert!(e.contains("b/1.png") && e.contains("--image-size"), "{e}");
        let ok = LoadOptions { image_size: Some((4, 4)), ..LoadOptions::default() };
        assert_eq!(load(&dir.0, &ok).unwrap().train.len(), 2);
        std::fs::write(dir.join("b/2.png"), b"not a png").unwrap();
        let e = load(&dir.0, &ok).unwrap_err().to_string();
        assert!(e.contains("b/2.png"), "{e}");
        let skip = LoadOptions { skip_bad: true, ..ok.clone() };
        let f = load(&dir.0, &skip).unwrap();
        assert_eq!(f.train.len(), 2);
        assert!(f.notes[0].contains("skipped 1") && f.notes[0].contains("2.png"), "{:?}", f.notes);
        std::fs::create_dir(dir.join("c")).unwrap();
        let e = load(&dir.0, &ok).unwrap_err().to_string();
        assert!(e.contains("/c") && e.contains("no pictures"), "{e}");
    }
}
