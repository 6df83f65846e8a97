//! The binary version of CIFAR-10 and CIFAR-100.
//!
//! CIFAR-10: `data_batch_1.bin` ... `data_batch_5.bin` (training) and `test_batch.bin`,
//! records of 1 label byte and 3,072 pixel bytes (32x32 red, then green, then blue), class
//! names from `batches.meta.txt` when present. CIFAR-100: `train.bin` and `test.bin`,
//! records of a coarse and a fine label byte and the pixels; the fine label (100 classes)
//! is used, names from `fine_label_names.txt` when present. The archives' own folders
//! (`cifar-10-batches-bin/`, `cifar-100-binary/`) may be given or contain the files.
//!
//! Images load as `[N, 3, 32, 32]` in `[0, 1]`. By name (`cifar10`, `cifar100`) the
//! directory is `$STRATA_DATA/<name>` (see [`mnist::resolve_dataset`](super::mnist::resolve_dataset)).

use crate::{Dataset, Error, Result, Target, Tensor};
use std::path::{Path, PathBuf};

/// Pixels of one image: 3 channels of 32x32.
const PIXELS: usize = 3 * 32 * 32;

/// The archives' folder names, looked into when a directory holds one.
const SUBFOLDERS: [&str; 2] = ["cifar-10-batches-bin", "cifar-100-binary"];

/// Which of the two datasets a directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cifar10,
    Cifar100,
}

impl Kind {
    fn label_bytes(self) -> usize {
        match self {
            Kind::Cifar10 => 1,
            Kind::Cifar100 => 2,
        }
    }
    fn classes(self) -> usize {
        match self {
            Kind::Cifar10 => 10,
            Kind::Cifar100 => 100,
        }
    }
}

/// What to do to install `name` (`cifar10` or `cifar100`) in `dir`, for the error of a
/// dataset name that is not found.
pub fn install_hint(name: &str, dir: &Path) -> String {
    let files = if name == "cifar100" {
        "train.bin, test.bin and fine_label_names.txt of the CIFAR-100 binary version (cifar-100-binary.tar.gz)"
    } else {
        "data_batch_1.bin ... data_batch_5.bin, test_batch.bin and batches.meta.txt of the CIFAR-10 binary version (cifar-10-binary.tar.gz)"
    };
    format!("put {files} in {}", dir.display())
}

/// The folder holding the files: `dir` or its archive subfolder.
fn files_dir(dir: &Path) -> Option<(PathBuf, Kind)> {
    let kind_of = |d: &Path| {
        if d.join("data_batch_1.bin").is_file() || d.join("test_batch.bin").is_file() {
            Some(Kind::Cifar10)
        } else if d.join("train.bin").is_file() && d.join("test.bin").is_file() {
            Some(Kind::Cifar100)
        } else {
            None
        }
    };
    std::iter::once(dir.to_path_buf()).chain(SUBFOLDERS.iter().map(|s| dir.join(s))).find_map(|d| kind_of(&d).map(|k| (d, k)))
}

/// Whether `dir` (or its archive subfolder) holds CIFAR binary files.
pub fn is_cifar_dir(dir: &Path) -> bool {
    files_dir(dir).is_some()
}

/// Loads a CIFAR-10 or CIFAR-100 binary directory as `(train, test)`.
///
/// Errors: a file is missing, its length is not a whole number of records, a label is out
/// of range, or the data would not fit in memory (each message names the file).
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    let Some((dir, kind)) = files_dir(dir) else {
        return Err(Error::data(dir, "no CIFAR files (data_batch_1.bin ... test_batch.bin, or train.bin and test.bin)"));
    };
    let (train_files, test_file, names_file) = match kind {
        Kind::Cifar10 => {
            let batches: Vec<PathBuf> =
                (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).take_while(|p| p.is_file()).collect();
            if batches.is_empty() {
                return Err(Error::data(dir.join("data_batch_1.bin"), "missing (the CIFAR-10 training batches)"));
            }
            (batches, dir.join("test_batch.bin"), dir.join("batches.meta.txt"))
        }
        Kind::Cifar100 => (vec![dir.join("train.bin")], dir.join("test.bin"), dir.join("fine_label_names.txt")),
    };
    if !test_file.is_file() {
        return Err(Error::data(&test_file, "missing (the CIFAR test batch)"));
    }
    // Sizes first, so nothing is read from a set of files that cannot all be used.
    let record = PIXELS + kind.label_bytes();
    let mut total = 0u64;
    for p in train_files.iter().chain([&test_file]) {
        let len = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
        if len == 0 || len % record as u64 != 0 {
            let labels = if kind == Kind::Cifar10 { "1 label byte" } else { "2 label bytes" };
            return Err(Error::data(
                p,
                format!("{len} bytes is not a whole number of {record}-byte records ({labels} + 3x32x32 pixels)"),
            ));
        }
        total += len;
    }
    crate::memory::ensure_fits(&format!("{} as 32-bit floats", dir.display()), total * 4 + total)?;
    let names = read_names(&names_file, kind.classes())?;
    let read = |files: &[PathBuf]| -> Result<Dataset> {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for p in files {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            for (i, r) in bytes.chunks_exact(record).enumerate() {
                let label = r[kind.label_bytes() - 1];
                if label as usize >= kind.classes() {
                    let reason = format!("label {label} of record {i} is not one of the {} classes", kind.classes());
                    return Err(Error::data(p, reason));
                }
                labels.push(u32::from(label));
                pixels.extend(r[kind.label_bytes()..].iter().map(|&b| f32::from(b) / 255.0));
            }
        }
        let n = labels.len();
        let inputs = Tensor::from_vec(pixels, &[n, 3, 32, 32])?;
        let mut ds = Dataset::new(inputs, Target::Classes { labels, num_classes: kind.classes() })?;
        ds.class_names = names.clone();
        Ok(ds)
    };
    let (train, test) = rayon::join(|| read(&train_files), || read(std::slice::from_ref(&test_file)));
    Ok((train?, test?))
}

/// Class names, one a line, when the file exists and has one per class.
fn read_names(path: &Path, classes: usize) -> Result<Option<Vec<String>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    Ok((names.len() == classes).then_some(names))
}

/// Test helpers: CIFAR files written as the dataset ships them.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::idx::tests::TestDir;

    /// CIFAR records: per image its label bytes then pixel `k` = `(seed + k) % 256`.
    pub(crate) fn records(labels: &[&[u8]], seed: usize) -> Vec<u8> {
        labels
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.iter().copied().chain((0..PIXELS).map(move |k| ((seed + i + k) % 256) as u8)))
            .collect()
    }

    #[test]
    fn cifar10_batches_and_names() {
        let dir = TestDir::new("cifar10");
        std::fs::write(dir.join("data_batch_1.bin"), records(&[&[0], &[1]], 0)).unwrap();
        std::fs::write(dir.join("data_batch_2.bin"), records(&[&[9]], 5)).unwrap();
        std::fs::write(dir.join("test_batch.bin"), records(&[&[3]], 1)).unwrap();
        let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
        std::fs::write(dir.join("batches.meta.txt"), names).unwrap();
        assert!(is_cifar_dir(&dir.0));
        let (train, test) = load_dir(&dir.0).unwrap();
        assert_eq!(train.inputs.shape(), &[3, 3, 32, 32]);
        assert_eq!(crate::data::split::labels_of(&train).unwrap(), &[0, 1, 9]);
        assert_eq!(train.inputs.data()[PIXELS + 1], 2.0 / 255.0);
        assert_eq!(test.num_classes(), Some(10));
        assert_eq!(test.class_names.as_ref().unwrap()[9], "truck");
        std::fs::write(dir.join("test_batch.bin"), vec![0u8; 3072]).unwrap();
        let e = load_dir(&dir.0).unwrap_err().to_string();
        assert!(e.contains("test_batch.bin") && e.contains("3072 bytes") && e.contains("3073-byte"), "{e}");
    }

    #[test]
    fn cifar100_fine_labels_in_the_archive_folder() {
        let dir = TestDir::new("cifar100");
        let sub = dir.join("cifar-100-binary");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("train.bin"), records(&[&[1, 42], &[2, 99]], 0)).unwrap();
        std::fs::write(sub.join("test.bin"), records(&[&[3, 7]], 0)).unwrap();
        let (train, test) = load_dir(&dir.0).unwrap();
        assert_eq!(crate::data::split::labels_of(&train).unwrap(), &[42, 99]);
        assert_eq!(crate::data::split::labels_of(&test).unwrap(), &[7]);
        assert_eq!(train.num_classes(), Some(100));
        std::fs::write(sub.join("test.bin"), records(&[&[3, 100]], 0)).unwrap();
        assert!(load_dir(&dir.0).unwrap_err().to_string().contains("label 100 of record 0"));
    }
}
