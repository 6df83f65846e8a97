//! NumPy arrays: `.npy` files and `.npz` archives with Keras' `mnist.npz` convention.
//!
//! An `.npz` (a zip of `.npy` members, stored or deflated) or a directory of `.npy` files
//! holds `x_train`, `y_train`, `x_test` and `y_test`. Images are `(N, H, W)`,
//! `(N, H, W, C)` (channels last, the default) or `(N, C, H, W)` with
//! [`Layout::Nchw`]; `uint8` pixels are scaled to `[0, 1]` as MNIST's are, floats are used
//! as they are. Labels are non-negative integers `(N,)` or `(N, 1)`.
//!
//! The `.npy` parser reads format versions 1-3 with a little- or big-endian `descr` of
//! `u1`, `i4`, `i8`, `f4` or `f8` and `fortran_order: False`. Every size is checked
//! before anything is allocated: the shape's product (checked), the bytes it needs against
//! what the file or member holds, and the memory against what is available.
//!
//! ```no_run
//! use strata::data::numpy::{Layout, load_npz};
//! let (train, test) = load_npz(std::path::Path::new("mnist.npz"), Layout::Nhwc)?;
//! # Ok::<(), strata::Error>(())
//! ```

use super::formats::classes_from_labels;
use crate::{Dataset, Error, Result, Target, Tensor};
use std::io::Read;
use std::path::Path;

/// The four arrays a dataset holds, in the order they are read.
const ARRAYS: [&str; 4] = ["x_train", "y_train", "x_test", "y_test"];

/// Where the channels of rank-4 images are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// `(N, H, W, C)`: channels last (Keras, TensorFlow, PIL).
    #[default]
    Nhwc,
    /// `(N, C, H, W)`: channels first (PyTorch).
    Nchw,
}

impl std::str::FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Layout> {
        match s.to_ascii_lowercase().as_str() {
            "nhwc" => Ok(Layout::Nhwc),
            "nchw" => Ok(Layout::Nchw),
            other => Err(Error::invalid("layout", format!("unknown '{other}' (expected nhwc or nchw)"))),
        }
    }
}

/// The values of an `.npy` array, in their stored type.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `u1`.
    U8(Vec<u8>),
    /// `i4`.
    I32(Vec<i32>),
    /// `i8`.
    I64(Vec<i64>),
    /// `f4`.
    F32(Vec<f32>),
    /// `f8`.
    F64(Vec<f64>),
}

/// One `.npy` array.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Its shape (C order).
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: NpyData,
}

/// The element types read, by `descr` without its byte-order mark, and their sizes.
const DTYPES: [(&str, usize); 5] = [("u1", 1), ("i4", 4), ("i8", 8), ("f4", 4), ("f8", 8)];

/// Reads one `.npy` array of `len` bytes from `r`; errors name `file` and `array`.
///
/// Errors: a bad magic string or header, a dtype other than `u1`, `i4`, `i8`, `f4`, `f8`,
/// Fortran order, a shape whose bytes differ from what the file holds, or more than the
/// available memory.
pub fn read_npy(mut r: impl Read, len: u64, file: &Path, array: &str) -> Result<NpyArray> {
    let err = |reason: String| Error::data(file, format!("{array}: {reason}"));
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre).map_err(|_| err("too short for a .npy header".into()))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(err("not a .npy array (no \\x93NUMPY magic)".into()));
    }
    let header_len = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(|_| err("truncated .npy header".into()))?;
            u16::from_le_bytes(b) as u64 + 10
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(|_| err("truncated .npy header".into()))?;
            u32::from_le_bytes(b) as u64 + 12
        }
        v => return Err(err(format!(".npy format version {v} is not supported (1-3)"))),
    };
    let prefix: u64 = if pre[6] == 1 { 10 } else { 12 };
    if header_len > len || header_len - prefix > 1 << 20 {
        return Err(err(format!("header of {header_len} bytes does not fit the {len}-byte array")));
    }
    let mut header = vec![0u8; (header_len - prefix) as usize];
    r.read_exact(&mut header).map_err(|_| err("truncated .npy header".into()))?;
    let header = String::from_utf8_lossy(&header);
    let (descr, shape) = parse_header(&header).map_err(err)?;
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'|') | Some(b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr.as_str()),
    };
    let Some(&(_, size)) = DTYPES.iter().find(|(c, _)| *c == code) else {
        return Err(err(format!("dtype '{descr}' is not supported (uint8, int32, int64, float32 or float64)")));
    };
    let count = crate::memory::checked_element_count(array, &shape)?;
    let bytes = (count as u64).checked_mul(size as u64).ok_or_else(|| err(format!("shape {shape:?} is too large")))?;
    let held = len - header_len;
    if bytes != held {
        return Err(err(format!("shape {shape:?} of '{descr}' needs {bytes} bytes of data, the array holds {held}")));
    }
    // The raw bytes and the f32 copy made of them.
    crate::memory::ensure_fits(&format!("{} {array}", file.display()), bytes + count as u64 * 4)?;
    let mut raw = vec![0u8; bytes as usize];
    r.read_exact(&mut raw).map_err(|_| err(format!("truncated: expected {bytes} bytes of data")))?;
    macro_rules! decode {
        ($t:ty, $n:expr) => {
            raw.chunks_exact($n)
                .map(|c| {
                    let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                    if big_endian { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }
                })
                .collect()
        };
    }
    let data = match code {
        "u1" => NpyData::U8(raw),
        "i4" => NpyData::I32(decode!(i32, 4)),
        "i8" => NpyData::I64(decode!(i64, 8)),
        "f4" => NpyData::F32(decode!(f32, 4)),
        _ => NpyData::F64(decode!(f64, 8)),
    };
    Ok(NpyArray { shape, data })
}

/// `descr` and `shape` of a header dict; `fortran_order: True` is refused.
fn parse_header(h: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let value_after = |key: &str| -> Option<&str> {
        let at = h.find(&format!("'{key}'")).or_else(|| h.find(&format!("\"{key}\"")))?;
        let rest = &h[at + key.len() + 2..];
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = value_after("descr").ok_or("the .npy header has no 'descr'")?;
    let quote = descr.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("'descr' is not a simple type")?;
    let descr = descr[1..].split(quote).next().unwrap_or("").to_string();
    let fortran = value_after("fortran_order").ok_or("the .npy header has no 'fortran_order'")?;
    if fortran.starts_with("True") {
        return Err("fortran_order True is not supported (save with np.ascontiguousarray)".into());
    }
    let shape = value_after("shape").ok_or("the .npy header has no 'shape'")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("'shape' is not a tuple")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<usize>().map_err(|_| format!("bad dimension '{d}' in the shape")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((descr, shape))
}

/// Reads the `.npy` file at `path` (errors name it).
pub fn read_npy_file(path: &Path) -> Result<NpyArray> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    read_npy(std::io::BufReader::new(f), len, path, &name)
}

/// Loads an `.npz` archive holding `x_train`, `y_train`, `x_test`, `y_test`: `(train, test)`.
///
/// Errors: the archive cannot be read, an array is missing or malformed, or the arrays do
/// not fit together (each message names the file and the array).
pub fn load_npz(path: &Path, layout: Layout) -> Result<(Dataset, Dataset)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| Error::data(path, format!("not a readable .npz: {e}")))?;
    let mut arrays = Vec::with_capacity(4);
    for name in ARRAYS {
        let mut member = zip.by_name(&format!("{name}.npy")).map_err(|_| {
            Error::data(path, format!("no {name} array (an .npz dataset holds x_train, y_train, x_test and y_test)"))
        })?;
        let len = member.size();
        arrays.push(read_npy(&mut member, len, path, name)?);
    }
    to_datasets(arrays, path, layout)
}

/// Loads a directory holding `x_train.npy`, `y_train.npy`, `x_test.npy` and `y_test.npy`.
///
/// Errors: as for [`load_npz`], naming the `.npy` file.
pub fn load_npy_dir(dir: &Path, layout: Layout) -> Result<(Dataset, Dataset)> {
    let arrays = ARRAYS
        .iter()
        .map(|name| {
            let p = dir.join(format!("{name}.npy"));
            if !p.is_file() {
                return Err(Error::data(&p, format!("missing (a .npy dataset holds {}.npy)", ARRAYS.join(".npy, "))));
            }
            read_npy_file(&p)
        })
        .collect::<Result<Vec<_>>>()?;
    to_datasets(arrays, dir, layout)
}

/// Whether `dir` holds `.npy` dataset files.
pub fn is_npy_dir(dir: &Path) -> bool {
    dir.join("x_train.npy").is_file()
}

fn to_datasets(arrays: Vec<NpyArray>, file: &Path, layout: Layout) -> Result<(Dataset, Dataset)> {
    let mut it = arrays.into_iter();
    let (Some(xtr), Some(ytr), Some(xte), Some(yte)) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(Error::data(file, "expected four arrays"));
    };
    let (xtr_shape, xte_shape) = (xtr.shape.clone(), xte.shape.clone());
    let x_train = images(xtr, file, "x_train", layout)?;
    let x_test = images(xte, file, "x_test", layout)?;
    if x_train.shape()[1..] != x_test.shape()[1..] {
        return Err(Error::data(
            file,
            format!("x_test has shape {xte_shape:?} but x_train has {xtr_shape:?}: the samples must be the same size"),
        ));
    }
    let y_train = labels(ytr, file, "y_train", x_train.shape()[0], "x_train")?;
    let y_test = labels(yte, file, "y_test", x_test.shape()[0], "x_test")?;
    let num_classes =
        classes_from_labels(&y_train, &y_test, &format!("{}: y_train", file.display()), &format!("{}: y_test", file.display()))?;
    let train = Dataset::new(x_train, Target::Classes { labels: y_train, num_classes })?;
    let test = Dataset::new(x_test, Target::Classes { labels: y_test, num_classes })?;
    Ok((train, test))
}

/// `x` as `[N, C, H, W]` (or `[N, F]` for rank 2), bytes scaled to [0, 1].
fn images(a: NpyArray, file: &Path, name: &str, layout: Layout) -> Result<Tensor> {
    let err = |reason: String| Error::data(file, format!("{name}: {reason}"));
    let shape = a.shape.clone();
    let values: Vec<f32> = match a.data {
        NpyData::U8(v) => v.iter().map(|&b| f32::from(b) / 255.0).collect(),
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        NpyData::I32(v) => v.iter().map(|&x| x as f32).collect(),
        NpyData::I64(v) => v.iter().map(|&x| x as f32).collect(),
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(err(format!("value {} at index {i} is not finite", values[i])));
    }
    match (shape.as_slice(), layout) {
        (&[n, f], _) => Tensor::from_vec(values, &[n, f]),
        (&[n, h, w], _) => Tensor::from_vec(values, &[n, 1, h, w]),
        (&[n, c, h, w], Layout::Nchw) => Tensor::from_vec(values, &[n, c, h, w]),
        (&[n, h, w, c], Layout::Nhwc) => {
            if c > 4 && h <= 4 {
                return Err(err(format!("shape {shape:?} looks channels-first (N, C, H, W): add --layout nchw")));
            }
            let mut out = vec![0f32; values.len()];
            let per = (h * w * c).max(1);
            for (src, dst) in values.chunks_exact(per).zip(out.chunks_exact_mut(per)) {
                for p in 0..h * w {
                    for ch in 0..c {
                        dst[ch * h * w + p] = src[p * c + ch];
                    }
                }
            }
            Tensor::from_vec(out, &[n, c, h, w])
        }
        _ => Err(err(format!("shape {shape:?}: expected images (N, H, W), (N, H, W, C) or (N, C, H, W), or rows (N, F)"))),
    }
}

/// Class indices `[N]` from `y` of shape `(N,)` or `(N, 1)`.
fn labels(a: NpyArray, file: &Path, name: &str, n: usize, x_name: &str) -> Result<Vec<u32>> {
    let err = |reason: String| Error::data(file, format!("{name}: {reason}"));
    let shape = &a.shape;
    let len = match shape.as_slice() {
        &[m] | &[m, 1] => m,
        _ => return Err(err(format!("shape {shape:?}: expected labels (N,) or (N, 1)"))),
    };
    if len != n {
        return Err(err(format!("{len} labels (shape {shape:?}) but {x_name} holds {n} samples")));
    }
    let ints: Vec<i64> = match a.data {
        NpyData::U8(v) => v.iter().map(|&x| i64::from(x)).collect(),
        NpyData::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
        NpyData::I64(v) => v,
        NpyData::F32(_) | NpyData::F64(_) => return Err(err("labels must be integers, found floats".into())),
    };
    ints.iter()
        .enumerate()
        .map(|(i, &x)| u32::try_from(x).map_err(|_| err(format!("label {x} at index {i} is not a class index"))))
        .collect()
}

/// Test helpers: `.npy` bytes and `.npz` archives written the way NumPy writes them.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::idx::tests::TestDir;
    use std::io::Write;

    /// A version-1 `.npy` of `descr` (e.g. "|u1") and `shape` holding `data` (raw bytes).
    pub(crate) fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
        while (h.len() + 11) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h.as_bytes());
        out.extend(data);
        out
    }

    /// Writes an `.npz` of `(name, npy bytes)` members, deflated or stored.
    pub(crate) fn write_npz(path: &Path, members: &[(&str, Vec<u8>)], deflate: bool) {
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            z.start_file(format!("{name}.npy"), opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }

    fn labels_of(d: &Dataset) -> Vec<u32> {
        crate::data::split::labels_of(d).unwrap().to_vec()
    }

    #[test]
    fn parses_headers_and_dtypes() {
        let f32s: Vec<u8> = [1.5f32, -2.0, 0.25, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = npy_bytes("<f4", &[2, 2], &f32s);
        let a = read_npy(&b[..], b.len() as u64, Path::new("a.npy"), "a").unwrap();
        assert_eq!(a.shape, vec![2, 2]);
        assert_eq!(a.data, NpyData::F32(vec![1.5, -2.0, 0.25, 4.0]));
        let i64s: Vec<u8> = [3i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = npy_bytes("<i8", &[2], &i64s);
        assert_eq!(read_npy(&b[..], b.len() as u64, Path::new("y.npy"), "y").unwrap().data, NpyData::I64(vec![3, 7]));
        // Wrong sizes and unsupported headers are errors naming the array.
        let b = npy_bytes("|u1", &[2, 3], &[0; 5]);
        let e = read_npy(&b[..], b.len() as u64, Path::new("f.npz"), "x_train").unwrap_err().to_string();
        assert!(e.contains("f.npz") && e.contains("x_train") && e.contains("needs 6 bytes"), "{e}");
        let b = npy_bytes("|u1", &[usize::MAX, 3], &[]);
        assert!(read_npy(&b[..], b.len() as u64, Path::new("f"), "x").is_err());
        let b = npy_bytes("<c8", &[1], &[0; 8]);
        let e = read_npy(&b[..], b.len() as u64, Path::new("f"), "x").unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        let mut b = npy_bytes("|u1", &[1], &[0]);
        let at = b.windows(5).position(|w| w == b"False").unwrap();
        b[at..at + 5].copy_from_slice(b"True ");
        assert!(read_npy(&b[..], b.len() as u64, Path::new("f"), "x").unwrap_err().to_string().contains("fortran"));
        assert!(read_npy(&b"junk"[..], 4, Path::new("f"), "x").is_err());
    }

    #[test]
    fn npz_stored_and_deflated_nhwc_and_nchw() {
        let dir = TestDir::new("npz");
        // Two 2x2 RGB images, channels last: pixel value = 10 * channel + position.
        let nhwc: Vec<u8> = (0..2).flat_map(|_| (0..4).flat_map(|p| (0..3).map(move |c| (10 * c + p) as u8))).collect();
        let members = |x: Vec<u8>, shape: &[usize]| {
            vec![
                ("x_train", npy_bytes("|u1", shape, &x)),
                ("y_train", npy_bytes("|u1", &[2], &[0, 1])),
                ("x_test", npy_bytes("|u1", shape, &x)),
                ("y_test", npy_bytes("<i8", &[2, 1], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            ]
        };
        for deflate in [false, true] {
            let p = dir.join(&format!("d{deflate}.npz"));
            write_npz(&p, &members(nhwc.clone(), &[2, 2, 2, 3]), deflate);
            let (train, test) = load_npz(&p, Layout::Nhwc).unwrap();
            assert_eq!(train.inputs.shape(), &[2, 3, 2, 2]);
            assert_eq!(train.inputs.data()[4..8], [10.0 / 255.0, 11.0 / 255.0, 12.0 / 255.0, 13.0 / 255.0]);
            assert_eq!((labels_of(&test), test.num_classes()), (vec![1, 0], Some(2)));
        }
        let p = dir.join("nchw.npz");
        write_npz(&p, &members(vec![0; 150], &[2, 3, 5, 5]), true);
        assert_eq!(load_npz(&p, Layout::Nchw).unwrap().0.inputs.shape(), &[2, 3, 5, 5]);
        let e = load_npz(&p, Layout::Nhwc).unwrap_err().to_string();
        assert!(e.contains("x_train") && e.contains("--layout nchw"), "{e}");
    }

    #[test]
    fn npz_errors_name_the_file_and_array() {
        let dir = TestDir::new("npz-bad");
        let p = dir.join("bad.npz");
        let x = npy_bytes("|u1", &[3, 2, 2], &[0; 12]);
        write_npz(&p, &[("x_train", x.clone()), ("y_train", npy_bytes("|u1", &[3], &[0, 1, 0])), ("x_test", x.clone())], true);
        let e = load_npz(&p, Layout::Nhwc).unwrap_err().to_string();
        assert!(e.contains("bad.npz") && e.contains("no y_test array"), "{e}");
        write_npz(
            &p,
            &[
                ("x_train", x.clone()),
                ("y_train", npy_bytes("|u1", &[2], &[0, 1])),
                ("x_test", x.clone()),
                ("y_test", npy_bytes("|u1", &[3], &[0, 1, 1])),
            ],
            false,
        );
        let e = load_npz(&p, Layout::Nhwc).unwrap_err().to_string();
        assert!(e.contains("y_train") && e.contains("2 labels") && e.contains("x_train holds 3"), "{e}");
        write_npz(
            &p,
            &[
                ("x_train", x),
                ("y_train", npy_bytes("|u1", &[3], &[0, 1, 0])),
                ("x_test", npy_bytes("|u1", &[1, 3, 2], &[0; 6])),
                ("y_test", npy_bytes("|u1", &[1], &[1])),
            ],
            false,
        );
        let e = load_npz(&p, Layout::Nhwc).unwrap_err().to_string();
        assert!(e.contains("[1, 3, 2]") && e.contains("[3, 2, 2]"), "{e}");
        std::fs::write(&p, b"not a zip").unwrap();
        assert!(load_npz(&p, Layout::Nhwc).unwrap_err().to_string().contains("bad.npz"));
    }

    #[test]
    fn npy_directory() {
        let dir = TestDir::new("npy-dir");
        let x: Vec<u8> = [0.5f32; 8].iter().flat_map(|v| v.to_le_bytes()).collect();
        for (name, b) in [
            ("x_train", npy_bytes("<f4", &[2, 2, 2], &x)),
            ("y_train", npy_bytes("<i4", &[2], &[0, 0, 0, 0, 2, 0, 0, 0])),
            ("x_test", npy_bytes("<f4", &[2, 2, 2], &x)),
            ("y_test", npy_bytes("<i4", &[2], &[2, 0, 0, 0, 0, 0, 0, 0])),
        ] {
            std::fs::File::create(dir.join(&format!("{name}.npy"))).unwrap().write_all(&b).unwrap();
        }
        assert!(is_npy_dir(&dir.0));
        let (train, _) = load_npy_dir(&dir.0, Layout::Nhwc).unwrap();
        assert_eq!(train.inputs.shape(), &[2, 1, 2, 2]);
        assert_eq!(train.inputs.data()[0], 0.5);
        assert_eq!(train.num_classes(), Some(3));
        std::fs::remove_file(dir.join("y_test.npy")).unwrap();
        assert!(load_npy_dir(&dir.0, Layout::Nhwc).unwrap_err().to_string().contains("y_test.npy"));
    }
}
