//! One entry point for image datasets in any supported format: [`load`] picks the format
//! from what `--data` names.
//!
//! | `--data` | format |
//! | --- | --- |
//! | `fashion-mnist`, `mnist` | MNIST IDX files, found as [`mnist::resolve_dataset`] says |
//! | `cifar10`, `cifar100` | CIFAR binary files in `$STRATA_DATA/<name>` ([`cifar`]) |
//! | `FILE.npz` | NumPy archive with `x_train`, `y_train`, `x_test`, `y_test` ([`numpy`]) |
//! | `DIR/x_train.npy` or a DIR holding it | `.npy` files of the same names |
//! | a DIR with `data_batch_1.bin`/`test_batch.bin` or `train.bin`/`test.bin` | CIFAR-10 / CIFAR-100 |
//! | a DIR with `train-images-idx3-ubyte[.gz]` | MNIST format ([`mnist`]) |
//! | a DIR of class folders (`DIR/train/<class>/`, `DIR/test/<class>/`, or `DIR/<class>/`) | [`image_folder`] |
//!
//! Every format gives `(train, test)` with images `[N, C, H, W]` (pixels in `[0, 1]` for
//! byte data) and class labels shared by both parts.

use super::numpy::Layout;
use super::{cifar, image_folder, mnist, numpy};
use crate::data::split::train_test_split;
use crate::{Dataset, Error, Result, Rng, Tensor};
use std::path::{Path, PathBuf};

/// How to read image data beyond what the files say.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Fraction of an image folder without `train/` and `test/` held out as the test set
    /// (stratified, seeded by `seed`).
    pub test_split: f32,
    /// Seeds that split.
    pub seed: u64,
    /// Resize image-folder pictures to `(height, width)` (default: the first image's size;
    /// mixed sizes are then an error).
    pub image_size: Option<(usize, usize)>,
    /// Convert to 1 (gray) or 3 (RGB) channels (default: 3 when an image has colour, for
    /// image folders; the stored channels otherwise).
    pub channels: Option<usize>,
    /// Skip unreadable image files with a warning instead of failing.
    pub skip_bad: bool,
    /// Where the channels of rank-4 NumPy images are.
    pub layout: Layout,
    /// Memory budget for decoded pictures of an image folder, in MiB: a folder whose
    /// pictures decoded would take more is streamed from disk batch by batch
    /// ([`crate::data::stream`]). `None`: always decoded into memory (as far as it fits).
    pub cache_mb: Option<u64>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            test_split: 0.2,
            seed: 1,
            image_size: None,
            channels: None,
            skip_bad: false,
            layout: Layout::Nhwc,
            cache_mb: None,
        }
    }
}

/// The formats [`load`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// MNIST IDX files.
    Mnist,
    /// CIFAR-10 or CIFAR-100 binary batches.
    Cifar,
    /// A NumPy `.npz` archive.
    Npz,
    /// A directory of `.npy` files.
    NpyDir,
    /// A directory of class folders of pictures.
    ImageFolder,
}

/// Loaded data: `(train, test)` and notes for the user (skipped files, a split made).
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The training part.
    pub train: Dataset,
    /// The test part.
    pub test: Dataset,
    /// Which format was read.
    pub format: Format,
    /// What the user should know (files skipped, how the test part was made), as lines
    /// starting with `note:` or `warning:`.
    pub notes: Vec<String>,
    /// Whether the test part was split off the training data (a folder without `test/`),
    /// with [`LoadOptions::test_split`] and [`LoadOptions::seed`].
    pub split_off: bool,
}

/// Loads `data` (a dataset name, a file or a directory; see the module docs) as
/// `(train, test)`.
///
/// Errors: nothing at `data` is in a known format, or the files are damaged or do not fit
/// together (each message names the file, and the array or folder).
pub fn load(data: &str, opts: &LoadOptions) -> Result<Loaded> {
    let (format, target) = locate(data)?;
    if opts.image_size.is_some() && format != Format::ImageFolder {
        return Err(Error::invalid("image-size", format!("applies to folders of pictures, not to '{data}'")));
    }
    if opts.skip_bad && format != Format::ImageFolder {
        return Err(Error::invalid("skip-bad", format!("applies to folders of pictures, not to '{data}'")));
    }
    if opts.layout != Layout::Nhwc && !matches!(format, Format::Npz | Format::NpyDir) {
        return Err(Error::invalid("layout", format!("applies to NumPy arrays, not to '{data}'")));
    }
    let mut notes = Vec::new();
    let mut split_off = false;
    let (mut train, mut test) = match format {
        Format::Mnist => mnist::load_mnist_dir(&target)?,
        Format::Cifar => cifar::load_dir(&target)?,
        Format::Npz => numpy::load_npz(&target, opts.layout)?,
        Format::NpyDir => numpy::load_npy_dir(&target, opts.layout)?,
        Format::ImageFolder => {
            let f = image_folder::load(&target, opts)?;
            notes.extend(f.notes);
            match f.test {
                Some(test) => (f.train, test),
                None => {
                    let s = opts.test_split;
                    if !(s > 0.0 && s < 1.0) {
                        return Err(Error::invalid("test split", format!("{s} is not in (0, 1)")));
                    }
                    split_off = true;
                    let (train, test) = train_test_split(&f.train, s, &mut Rng::seeded(opts.seed))?;
                    notes.push(format!(
                        "note: {} has no train/ and test/ folders: {} images held out for testing (--test-split {s}, seed {})",
                        target.display(),
                        test.len(),
                        opts.seed
                    ));
                    (train, test)
                }
            }
        }
    };
    if let (Some(c), false) = (opts.channels, format == Format::ImageFolder) {
        train.inputs = convert_channels(&train.inputs, c)?;
        test.inputs = convert_channels(&test.inputs, c)?;
    }
    Ok(Loaded { train, test, format, notes, split_off })
}

/// The format of `data` (see [`load`]) and the file or directory to read.
///
/// Errors: `data` names nothing in a known format.
pub fn locate(data: &str) -> Result<(Format, PathBuf)> {
    let path = Path::new(data);
    let lower = data.to_ascii_lowercase();
    if lower.ends_with(".npz") {
        if !path.is_file() {
            return Err(Error::data(path, "no such file"));
        }
        return Ok((Format::Npz, path.to_path_buf()));
    }
    if lower.ends_with(".npy") {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        return Ok((Format::NpyDir, dir.to_path_buf()));
    }
    let dir = mnist::resolve_dataset(data)?;
    Ok((detect(&dir)?, dir))
}

/// The format of the directory `dir`, by the files in it.
///
/// Errors: none of the formats' files are there.
pub fn detect(dir: &Path) -> Result<Format> {
    if cifar::is_cifar_dir(dir) {
        return Ok(Format::Cifar);
    }
    if numpy::is_npy_dir(dir) {
        return Ok(Format::NpyDir);
    }
    let mnist = ["train-images-idx3-ubyte", "train-images.idx3-ubyte"]
        .iter()
        .any(|n| dir.join(n).is_file() || dir.join(format!("{n}.gz")).is_file());
    if mnist {
        return Ok(Format::Mnist);
    }
    if image_folder::is_image_folder(dir) {
        return Ok(Format::ImageFolder);
    }
    Err(Error::data(
        dir,
        "no dataset found: expected MNIST IDX files (train-images-idx3-ubyte[.gz], ...), CIFAR batches \
         (data_batch_1.bin, test_batch.bin / train.bin, test.bin), x_train.npy ... or class folders of pictures",
    ))
}

/// The number of classes of labels `train` and `test` (named `train_name`, `test_name` in
/// errors): the largest training label plus one (at least 2).
///
/// Errors: more than [`MAX_CLASSES`](super::MAX_CLASSES) classes, a single class, or a test
/// label outside the training classes.
pub fn classes_from_labels(train: &[u32], test: &[u32], train_name: &str, test_name: &str) -> Result<usize> {
    let max = train.iter().copied().max().unwrap_or(0) as usize;
    if max >= super::MAX_CLASSES {
        return Err(Error::data(train_name, format!("label {max} means more than {} classes", super::MAX_CLASSES)));
    }
    if let Some(&first) = train.first()
        && train.iter().all(|&l| l == first)
    {
        return Err(Error::data(train_name, format!("every label is {first}: a single class, there is nothing to learn")));
    }
    let k = (max + 1).max(2);
    if let Some((i, bad)) = test.iter().enumerate().find(|&(_, &l)| l as usize >= k) {
        return Err(Error::data(
            test_name,
            format!("label {bad} (sample {i}) is outside the {k} training classes (0..{})", k - 1),
        ));
    }
    Ok(k)
}

/// Luma weights of RGB (ITU-R BT.709, as the `image` crate converts).
const LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Images `[N, C, H, W]` converted to `channels` (1 or 3): RGB to gray by luma, gray to RGB
/// by repetition; unchanged when they have that many already.
///
/// Errors: `x` is not `[N, C, H, W]` with C 1 or 3, or `channels` is not 1 or 3.
pub fn convert_channels(x: &Tensor, channels: usize) -> Result<Tensor> {
    let s = x.shape();
    if s.len() != 4 || !(s[1] == 1 || s[1] == 3) {
        return Err(Error::invalid("channels", format!("converts images [N, 1 or 3, H, W], not {s:?}")));
    }
    if channels != 1 && channels != 3 {
        return Err(Error::invalid("channels", format!("{channels} (expected 1 or 3)")));
    }
    let (n, c, plane) = (s[0], s[1], s[2] * s[3]);
    if c == channels {
        return Ok(x.clone());
    }
    let mut out = Vec::with_capacity(n * channels * plane);
    for sample in x.data().chunks_exact((c * plane).max(1)) {
        if channels == 3 {
            (0..3).for_each(|_| out.extend_from_slice(sample));
        } else {
            out.extend((0..plane).map(|p| (0..3).map(|k| LUMA[k] * sample[k * plane + p]).sum::<f32>()));
        }
    }
    Tensor::from_vec(out, &[n, channels, s[2], s[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_convert_both_ways() {
        let rgb = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0], &[1, 3, 1, 2]).unwrap();
        let g = convert_channels(&rgb, 1).unwrap();
        assert_eq!(g.shape(), &[1, 1, 1, 2]);
        assert!((g.data()[0] - 0.2126).abs() < 1e-6 && (g.data()[1] - 0.7152).abs() < 1e-6);
        let back = convert_channels(&g, 3).unwrap();
        assert_eq!(back.shape(), &[1, 3, 1, 2]);
        assert_eq!(&back.data()[4..6], g.data());
        assert!(convert_channels(&rgb, 2).is_err());
        assert!(convert_channels(&Tensor::zeros(&[2, 5]), 3).is_err());
    }

    #[test]
    fn classes_checks() {
        assert_eq!(classes_from_labels(&[0, 2, 1], &[2], "a", "b").unwrap(), 3);
        assert!(classes_from_labels(&[1, 1], &[1], "a", "b").unwrap_err().to_string().contains("single class"));
        assert!(classes_from_labels(&[0, 1], &[2], "a", "b").unwrap_err().to_string().contains("b: label 2"));
    }

    #[test]
    fn unknown_directories_say_what_was_expected() {
        let dir = crate::data::idx::tests::TestDir::new("formats-none");
        std::fs::write(dir.join("readme.txt"), "x").unwrap();
        let e = detect(&dir.0).unwrap_err().to_string();
        assert!(e.contains("no dataset found") && e.contains("class folders"), "{e}");
    }
}
