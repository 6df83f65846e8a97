//! MNIST-format directories (MNIST, Fashion-MNIST, KMNIST, ...) and dataset names.
//!
//! A directory holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each raw or `.gz`
//! (the dotted spelling `train-images.idx3-ubyte` is accepted too). Images load as
//! `[N, 1, H, W]` in `[0, 1]`, labels as [`Target::Classes`].
//!
//! Datasets given by name (`fashion-mnist`, `mnist`) are looked up in `$STRATA_DATA/<name>`,
//! then in `/usr/share/datasets/<name>` (where the `dataset-fashion-mnist` system package
//! installs Fashion-MNIST).
//!
//! ```no_run
//! let (train, test) = strata::data::mnist::load("fashion-mnist")?;
//! assert_eq!(train.sample_shape(), &[1, 28, 28]);
//! # Ok::<(), strata::Error>(())
//! ```

use super::dataset::MAX_CLASSES;
use super::idx::{IdxData, read_idx};
use crate::{Dataset, Error, Result, Target, Tensor};
use std::path::{Path, PathBuf};

/// Dataset names that [`resolve_dataset`] knows.
const KNOWN_DATASETS: [&str; 4] = ["fashion-mnist", "mnist", "cifar10", "cifar100"];

/// Where system packages (e.g. `dataset-fashion-mnist`) install datasets.
const SYSTEM_DATA_DIR: &str = "/usr/share/datasets";

/// Loads a dataset given as a directory or a name (see [`resolve_dataset`]) with
/// [`load_mnist_dir`]: `(train, test)`.
pub fn load(name_or_dir: &str) -> Result<(Dataset, Dataset)> {
    load_mnist_dir(&resolve_dataset(name_or_dir)?)
}

/// The directory of a dataset given as a directory path or a known name (`fashion-mnist`,
/// `mnist`).
///
/// An existing directory wins; a known name is looked up in `$STRATA_DATA/<name>`, then in
/// `/usr/share/datasets/<name>`.
///
/// Errors: a path that is not a directory, an unknown name, or a known dataset that is not
/// installed (the message says how to install it).
pub fn resolve_dataset(name_or_dir: &str) -> Result<PathBuf> {
    let user_root = std::env::var_os("STRATA_DATA").filter(|v| !v.is_empty()).map(PathBuf::from);
    resolve_in(name_or_dir, user_root.as_deref(), Path::new(SYSTEM_DATA_DIR))
}

/// [`resolve_dataset`] with explicit roots, so tests need not touch the environment.
fn resolve_in(name_or_dir: &str, user_root: Option<&Path>, system_root: &Path) -> Result<PathBuf> {
    let as_dir = Path::new(name_or_dir);
    if as_dir.is_dir() {
        return Ok(as_dir.to_path_buf());
    }
    let Some(&name) = KNOWN_DATASETS.iter().find(|&&n| n == name_or_dir) else {
        if name_or_dir.contains(std::path::MAIN_SEPARATOR) || name_or_dir.contains('/') {
            return Err(Error::data(as_dir, "no such directory"));
        }
        return Err(Error::invalid(
            "dataset",
            format!("'{name_or_dir}' is neither a directory nor a known dataset ({})", KNOWN_DATASETS.join(", ")),
        ));
    };
    if let Some(dir) = user_root.map(|root| root.join(name)).filter(|d| d.is_dir()) {
        return Ok(dir);
    }
    let dir = system_root.join(name);
    if dir.is_dir() {
        return Ok(dir);
    }
    let install = match name {
        "fashion-mnist" => "run `apt-get install -y dataset-fashion-mnist`".to_string(),
        "cifar10" | "cifar100" => super::cifar::install_hint(name, &user_root.unwrap_or(system_root).join(name)),
        _ => format!("put the four MNIST IDX files (.gz is fine) in {}", dir.display()),
    };
    let user = match user_root {
        Some(root) => format!(" ({} has no {name}/ either)", root.display()),
        None => String::new(),
    };
    Err(Error::data(
        dir,
        format!(
            "dataset '{name}' is not installed: {install}, or set STRATA_DATA to a folder \
             holding {name}/{user}"
        ),
    ))
}

/// The ten Fashion-MNIST classes, in label order.
fn fashion_mnist_class_names() -> Vec<String> {
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        .map(String::from)
        .to_vec()
}

/// Loads an MNIST-format directory as `(train, test)`.
///
/// Both splits share `num_classes` (the largest training label plus one, at least 2; at most
/// [`MAX_CLASSES`]; a test label outside them is an error), and
/// get Fashion-MNIST's class names when the directory's name contains "fashion" and there
/// are ten classes.
///
/// Errors: `dir` is not a directory, a file is missing or damaged, images are not `u8`
/// `[N, H, W]`, labels are not non-negative integers `[N]` matching the images, or the two
/// splits' images differ in size. Every message names the file.
pub fn load_mnist_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    if !dir.is_dir() {
        return Err(Error::data(dir, "not a directory (expected the four MNIST IDX files in it)"));
    }
    // The two splits decode independently; the test split rides along on a second core.
    let (train, test) = rayon::join(|| Split::load(dir, "train"), || Split::load(dir, "t10k"));
    let (train, test) = (train?, test?);
    if train.image_dims[1..] != test.image_dims[1..] {
        return Err(Error::data(
            &test.images_path,
            format!(
                "images are {:?} but {} has {:?}",
                &test.image_dims[1..],
                train.images_path.display(),
                &train.image_dims[1..]
            ),
        ));
    }
    // The training labels define the classes; a test label outside them is an error (a
    // wider model would silently never predict it).
    let max_label = train.labels.iter().copied().max().unwrap_or(0);
    if max_label as usize >= MAX_CLASSES {
        return Err(Error::data(
            &train.labels_path,
            format!("label {max_label} means more than {MAX_CLASSES} classes; labels must be class indices 0..K-1"),
        ));
    }
    if let Some(&first) = train.labels.first()
        && train.labels.iter().all(|&l| l == first)
    {
        let reason = format!("every label is {first}: a single class, there is nothing to learn");
        return Err(Error::data(&train.labels_path, reason));
    }
    let num_classes = (max_label as usize + 1).max(2);
    if let Some((i, bad)) = test.labels.iter().enumerate().find(|&(_, &l)| l as usize >= num_classes) {
        return Err(Error::data(
            &test.labels_path,
            format!(
                "label {bad} (sample {i}) is outside the {num_classes} classes of {} (0..{})",
                train.labels_path.display(),
                num_classes - 1
            ),
        ));
    }
    let class_names = is_fashion(dir).then(fashion_mnist_class_names).filter(|n| n.len() == num_classes);
    let build = |split: Split| -> Result<Dataset> {
        let [n, h, w] = split.image_dims;
        let inputs = Tensor::from_vec(split.pixels, &[n, 1, h, w])?;
        let mut ds = Dataset::new(inputs, Target::Classes { labels: split.labels, num_classes })?;
        ds.class_names = class_names.clone();
        Ok(ds)
    };
    Ok((build(train)?, build(test)?))
}

fn is_fashion(dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name().is_some_and(|n| n.to_string_lossy().to_lowercase().contains("fashion"))
}

/// One split (`train` or `t10k`), decoded and checked.
struct Split {
    pixels: Vec<f32>,
    image_dims: [usize; 3],
    labels: Vec<u32>,
    images_path: PathBuf,
    labels_path: PathBuf,
}

impl Split {
    fn load(dir: &Path, prefix: &str) -> Result<Split> {
        let images_path = find_file(dir, prefix, "images", "idx3")?;
        let labels_path = find_file(dir, prefix, "labels", "idx1")?;
        let (images, labels) = (read_idx(&images_path)?, read_idx(&labels_path)?);

        let image_dims: [usize; 3] = images.dims.as_slice().try_into().map_err(|_| {
            let dims = &images.dims;
            let reason = format!("expected images of rank 3 [N, rows, cols], found dims {dims:?}");
            Error::data(&images_path, reason)
        })?;
        let IdxData::U8(bytes) = images.data else {
            let dtype = images.data.dtype();
            let reason = format!("expected unsigned-byte pixels, found {dtype:?}");
            return Err(Error::data(&images_path, reason));
        };
        let (n, label_dims) = (image_dims[0], &labels.dims);
        if label_dims.len() != 1 {
            let reason = format!("expected labels of rank 1 [N], found dims {label_dims:?}");
            return Err(Error::data(&labels_path, reason));
        }
        if label_dims[0] != n {
            let (m, other) = (label_dims[0], labels_path.display());
            let reason = format!("{n} images, but {other} holds {m} labels");
            return Err(Error::data(&images_path, reason));
        }
        let labels = to_labels(labels.data).map_err(|reason| Error::data(&labels_path, reason))?;
        crate::memory::ensure_fits(&format!("{} as 32-bit floats", images_path.display()), bytes.len() as u64 * 4)?;
        // Division (not a multiply by 1/255) keeps 255 at exactly 1.0.
        let pixels = bytes.iter().map(|&b| f32::from(b) / 255.0).collect();
        Ok(Split { pixels, image_dims, labels, images_path, labels_path })
    }
}

/// Class indices from any integer dtype; negative or fractional labels are errors.
fn to_labels(data: IdxData) -> std::result::Result<Vec<u32>, String> {
    fn nonneg<T: Copy + Into<i64>>(v: &[T]) -> std::result::Result<Vec<u32>, String> {
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                let x: i64 = x.into();
                u32::try_from(x).map_err(|_| format!("label {x} at index {i} is negative"))
            })
            .collect()
    }
    match data {
        IdxData::U8(v) => Ok(v.iter().map(|&x| u32::from(x)).collect()),
        IdxData::I8(v) => nonneg(&v),
        IdxData::I16(v) => nonneg(&v),
        IdxData::I32(v) => nonneg(&v),
        other => Err(format!("labels must be integers, found {:?}", other.dtype())),
    }
}

/// The first existing spelling of one file: raw before `.gz` (faster), dashed before dotted.
fn find_file(dir: &Path, prefix: &str, kind: &str, idx: &str) -> Result<PathBuf> {
    let dashed = format!("{prefix}-{kind}-{idx}-ubyte");
    let dotted = format!("{prefix}-{kind}.{idx}-ubyte");
    [dashed.clone(), format!("{dashed}.gz"), dotted.clone(), format!("{dotted}.gz")]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::data(
                dir.join(&dashed),
                format!("missing {prefix} {kind} file (also looked for {dashed}.gz and {dotted}[.gz])"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{tests::TestDir, write_idx_u8};

    /// Writes a split whose pixel `(i, r, c)` is `(i * 7 + r * w + c) % 256`.
    fn write_split(dir: &Path, prefix: &str, labels: &[u8], hw: (usize, usize), gzip: bool) {
        let (h, w) = hw;
        let n = labels.len();
        let pixels: Vec<u8> = (0..n * h * w).map(|k| ((k / (h * w)) * 7 + k % (h * w)) as u8).collect();
        let ext = if gzip { ".gz" } else { "" };
        write_idx_u8(&dir.join(format!("{prefix}-images-idx3-ubyte{ext}")), &[n, h, w], &pixels, gzip).unwrap();
        write_idx_u8(&dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")), &[n], labels, gzip).unwrap();
    }

    fn labels_of(d: &Dataset) -> &[u32] {
        match &d.targets {
            Target::Classes { labels, .. } => labels,
            Target::Values(_) => panic!("expected classes"),
        }
    }

    #[test]
    fn loads_a_generated_directory() {
        let dir = TestDir::new("mnist-ok");
        write_split(&dir.0, "train", &[0, 1, 2, 3, 1], (3, 4), true);
        write_split(&dir.0, "t10k", &[3, 0], (3, 4), false);
        let (train, test) = load_mnist_dir(&dir.0).unwrap();
        assert_eq!(train.inputs.shape(), &[5, 1, 3, 4]);
        assert_eq!(test.inputs.shape(), &[2, 1, 3, 4]);
        assert_eq!(labels_of(&train), &[0, 1, 2, 3, 1]);
        assert_eq!(labels_of(&test), &[3, 0]);
        assert_eq!((train.num_classes(), test.num_classes()), (Some(4), Some(4)));
        // Sample 2, row 1, col 3: (2 * 7 + 1 * 4 + 3) / 255.
        let x = train.inputs.data();
        assert_eq!(x[2 * 12 + 4 + 3], 21.0 / 255.0);
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(train.class_names.is_none());
    }

    #[test]
    fn classes_come_from_the_training_labels() {
        let dir = TestDir::new("mnist-classes");
        write_split(&dir.0, "train", &[0, 1, 2, 1], (2, 2), false);
        write_split(&dir.0, "t10k", &[1, 200], (2, 2), false);
        let err = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(err.contains("t10k-labels") && err.contains("label 200 (sample 1) is outside the 3 classes"), "{err}");
        write_split(&dir.0, "t10k", &[1, 0], (2, 2), false);
        write_split(&dir.0, "train", &[2, 2, 2], (2, 2), false);
        let err = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(err.contains("train-labels") && err.contains("single class"), "{err}");
        // i32 labels (IDX type 0x0C): 0 and 200,000.
        write_split(&dir.0, "train", &[0, 1], (2, 2), false);
        let mut bytes = vec![0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 0];
        bytes.extend(200_000i32.to_be_bytes());
        std::fs::write(dir.0.join("train-labels-idx1-ubyte"), bytes).unwrap();
        let err = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(err.contains("more than 100000 classes"), "{err}");
    }

    #[test]
    fn dotted_names_and_fashion_class_names() {
        let dir = TestDir::new("fashion-mnist-like");
        write_split(&dir.0, "train", &[9, 0, 3], (2, 2), false);
        write_split(&dir.0, "t10k", &[1], (2, 2), true);
        let from = dir.join("train-images-idx3-ubyte");
        std::fs::rename(&from, dir.join("train-images.idx3-ubyte")).unwrap();
        let (train, test) = load_mnist_dir(&dir.0).unwrap();
        assert_eq!(train.len(), 3);
        assert_eq!(train.num_classes(), Some(10));
        let names = test.class_names.expect("fashion dir gets class names");
        assert_eq!((names[0].as_str(), names[9].as_str()), ("T-shirt/top", "Ankle boot"));
    }

    #[test]
    fn count_mismatch_names_both_files_and_counts() {
        let dir = TestDir::new("mnist-mismatch");
        write_split(&dir.0, "train", &[0, 1, 2], (2, 2), false);
        write_split(&dir.0, "t10k", &[0], (2, 2), false);
        write_idx_u8(&dir.join("train-labels-idx1-ubyte"), &[2], &[0, 1], false).unwrap();
        let msg = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
        assert!(msg.contains("train-labels-idx1-ubyte"), "{msg}");
        assert!(msg.contains("3 images") && msg.contains("2 labels"), "{msg}");
    }

    #[test]
    fn wrong_ranks_and_missing_files_are_errors() {
        let dir = TestDir::new("mnist-bad");
        write_split(&dir.0, "train", &[0, 1], (2, 2), false);
        let msg = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("t10k-images-idx3-ubyte") && msg.contains("missing"), "{msg}");

        write_split(&dir.0, "t10k", &[0, 1], (2, 2), false);
        write_idx_u8(&dir.join("t10k-images-idx3-ubyte"), &[2, 4], &[0; 8], false).unwrap();
        let msg = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("rank 3") && msg.contains("t10k-images"), "{msg}");

        write_split(&dir.0, "t10k", &[0, 1], (2, 2), false);
        write_idx_u8(&dir.join("t10k-labels-idx1-ubyte"), &[2, 1], &[0, 1], false).unwrap();
        let msg = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("rank 1") && msg.contains("t10k-labels"), "{msg}");

        write_split(&dir.0, "t10k", &[0, 1], (3, 2), false);
        let msg = load_mnist_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("[3, 2]") && msg.contains("[2, 2]"), "{msg}");

        assert!(load_mnist_dir(&dir.join("absent")).is_err());
    }

    #[test]
    fn resolves_directories_and_names() {
        let sys = TestDir::new("mnist-sys");
        let user = TestDir::new("mnist-user");
        std::fs::create_dir(sys.join("mnist")).unwrap();
        std::fs::create_dir(sys.join("fashion-mnist")).unwrap();
        std::fs::create_dir(user.join("mnist")).unwrap();
        let dir = sys.join("fashion-mnist");
        assert_eq!(resolve_in(dir.to_str().unwrap(), None, &user.0).unwrap(), dir);
        // STRATA_DATA wins when it holds the dataset, else the system folder.
        assert_eq!(resolve_in("mnist", Some(&user.0), &sys.0).unwrap(), user.join("mnist"));
        assert_eq!(resolve_in("fashion-mnist", Some(&user.0), &sys.0).unwrap(), dir);

        let msg = resolve_in("fashion-mnist", Some(&user.0), &user.0).unwrap_err().to_string();
        assert!(msg.contains("apt-get install -y dataset-fashion-mnist"), "{msg}");
        assert!(msg.contains("STRATA_DATA"), "{msg}");
        assert!(resolve_in("cifar-77", None, &sys.0).unwrap_err().to_string().contains("known dataset"));
        assert!(resolve_in("/no/such/dir", None, &sys.0).is_err());
    }

    #[test]
    fn real_fashion_mnist_when_installed() {
        use crate::data::normalize::{FASHION_MNIST_MEAN, FASHION_MNIST_STD, Standardizer};
        let dir = Path::new(SYSTEM_DATA_DIR).join("fashion-mnist");
        if !dir.is_dir() {
            eprintln!("note: {} not installed; skipping", dir.display());
            return;
        }
        let start = std::time::Instant::now();
        let (train, test) = load_mnist_dir(&dir).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!((train.len(), test.len()), (60000, 10000));
        assert_eq!((train.sample_shape(), test.sample_shape()), (&[1, 28, 28][..], &[1, 28, 28][..]));
        assert_eq!((train.num_classes(), test.num_classes()), (Some(10), Some(10)));
        assert_eq!(train.class_names.as_ref().map(Vec::len), Some(10));
        assert!(train.inputs.data().iter().all(|v| (0.0..=1.0).contains(v)));
        // The published constants are the training set's pixel statistics.
        let s = Standardizer::fit_global(&train.inputs).unwrap();
        let (mean, std) = (s.mean[0], s.std[0]);
        eprintln!("loaded Fashion-MNIST in {secs:.3} s; pixel mean {mean:.4}, std {std:.4}");
        assert!((mean - FASHION_MNIST_MEAN).abs() < 5e-4, "{mean}");
        assert!((std - FASHION_MNIST_STD).abs() < 5e-4, "{std}");
    }
}
