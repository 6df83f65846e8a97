//! The IDX format of MNIST-style datasets, raw or gzip-compressed.
//!
//! Layout: two zero bytes, a dtype byte, a rank byte, `rank` big-endian `u32` dims, then
//! the values in row-major order, big-endian. Gzip is detected by its magic bytes
//! (`1f 8b`), not by the file name.
//!
//! Every defect of a file (bad magic, short header, short or overlong data, a cut gzip
//! stream, dims that cannot fit the file) is an [`Error::Data`] naming the file.
//!
//! ```
//! # use strata::data::idx::{read_idx, write_idx_u8, IdxData};
//! let path = std::env::temp_dir().join(format!("strata-idx-doc-{}.gz", std::process::id()));
//! write_idx_u8(&path, &[2, 3], &[1, 2, 3, 4, 5, 6], true).unwrap();
//! let a = read_idx(&path).unwrap();
//! assert_eq!(a.dims, vec![2, 3]);
//! assert_eq!(a.data, IdxData::U8(vec![1, 2, 3, 4, 5, 6]));
//! # std::fs::remove_file(&path).ok();
//! ```

use crate::{Error, Result};
use flate2::Compression;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The largest expansion deflate can achieve (~1032:1); it bounds what a gzip file can hold.
const MAX_DEFLATE_RATIO: u64 = 1032;
/// Up-front reservation for decompressed data, as a multiple of the gzip file size
/// (MNIST-style images compress 2-5x).
const GZIP_RESERVE_RATIO: u64 = 16;

/// The element type named by the third magic byte (the discriminant is that byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IdxDtype {
    /// Unsigned byte (`0x08`): the pixels and labels of MNIST-style files.
    U8 = 0x08,
    /// Signed byte (`0x09`).
    I8 = 0x09,
    /// Big-endian `i16` (`0x0B`).
    I16 = 0x0B,
    /// Big-endian `i32` (`0x0C`).
    I32 = 0x0C,
    /// Big-endian `f32` (`0x0D`).
    F32 = 0x0D,
    /// Big-endian `f64` (`0x0E`).
    F64 = 0x0E,
}

impl IdxDtype {
    /// The dtype for a magic byte, if it is one the format defines.
    fn from_code(code: u8) -> Option<IdxDtype> {
        use IdxDtype::*;
        [U8, I8, I16, I32, F32, F64].into_iter().find(|&d| d as u8 == code)
    }
    /// The magic byte for this dtype.
    fn code(self) -> u8 {
        self as u8
    }
    /// Bytes per value.
    fn size(self) -> usize {
        match self {
            IdxDtype::U8 | IdxDtype::I8 => 1,
            IdxDtype::I16 => 2,
            IdxDtype::I32 | IdxDtype::F32 => 4,
            IdxDtype::F64 => 8,
        }
    }
}

/// The values of an IDX file, in their stored type (so nothing is lost in reading;
/// `u8` images stay one byte per pixel until the caller scales them).
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// [`IdxDtype::U8`] values.
    U8(Vec<u8>),
    /// [`IdxDtype::I8`] values.
    I8(Vec<i8>),
    /// [`IdxDtype::I16`] values.
    I16(Vec<i16>),
    /// [`IdxDtype::I32`] values.
    I32(Vec<i32>),
    /// [`IdxDtype::F32`] values.
    F32(Vec<f32>),
    /// [`IdxDtype::F64`] values.
    F64(Vec<f64>),
}

impl IdxData {
    /// The stored element type.
    pub fn dtype(&self) -> IdxDtype {
        match self {
            IdxData::U8(_) => IdxDtype::U8,
            IdxData::I8(_) => IdxDtype::I8,
            IdxData::I16(_) => IdxDtype::I16,
            IdxData::I32(_) => IdxDtype::I32,
            IdxData::F32(_) => IdxDtype::F32,
            IdxData::F64(_) => IdxDtype::F64,
        }
    }
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }
    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The values as `f32`, unscaled (`i32` beyond 2^24 and `f64` lose precision).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            IdxData::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::F32(v) => v.clone(),
            IdxData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// The contents of one IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]` for MNIST training images).
    pub dims: Vec<usize>,
    /// The values in row-major order; as many as the product of `dims`.
    pub data: IdxData,
}

/// Reads an IDX file, raw or gzip-compressed.
///
/// Errors: [`Error::Io`] when the file cannot be opened or read, [`Error::Data`] (naming
/// the file) for any defect of its contents.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let (mut src, file_len) = Source::open(path)?;
    let (dtype, dims) = src.read_header()?;

    // Size checks before any allocation, so absurd dims cannot exhaust memory.
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let bytes = count.and_then(|n| n.checked_mul(dtype.size()));
    let (Some(count), Some(bytes)) = (count, bytes) else {
        return Err(src.corrupt(format!("dims {dims:?} overflow: too many values")));
    };
    let truncated = |found: u64| format!("truncated data: expected {count} values for dims {dims:?}, found {found}");
    let header = 4 + 4 * dims.len() as u64;
    let capacity = if src.gzip {
        if bytes as u64 > file_len.saturating_mul(MAX_DEFLATE_RATIO) {
            return Err(src.corrupt(format!(
                "dims {dims:?} declare {count} values, far more than a {file_len}-byte gzip \
                 file can hold"
            )));
        }
        // Reserve what typical data needs; a lying header costs regrowth, not memory.
        let typical = file_len.saturating_mul(GZIP_RESERVE_RATIO);
        bytes.min(usize::try_from(typical).unwrap_or(bytes))
    } else {
        let available = file_len.saturating_sub(header);
        if bytes as u64 > available {
            return Err(src.corrupt(truncated(available / dtype.size() as u64)));
        }
        bytes
    };

    crate::memory::ensure_fits(&format!("{} (dims {dims:?})", src.path.display()), bytes as u64)?;
    let mut raw = Vec::with_capacity(capacity);
    (&mut src.reader).take(bytes as u64).read_to_end(&mut raw).map_err(|e| src.read_error(e))?;
    raw.shrink_to_fit();
    if raw.len() < bytes {
        return Err(src.corrupt(truncated((raw.len() / dtype.size()) as u64)));
    }
    // One more read: finds trailing bytes, and for gzip verifies the stream's checksum.
    if src.read_up_to(&mut [0u8; 1])? > 0 {
        let extra = match src.gzip {
            // Reading stops at the declared size: a bomb costs no more memory than an honest file.
            true => "decompresses to more than its header declares: trailing data".to_string(),
            false => format!("{} trailing bytes", file_len.saturating_sub(header + bytes as u64)),
        };
        return Err(src.corrupt(format!("{extra} after the {count} values of dims {dims:?}")));
    }
    let data = decode(dtype, raw);
    Ok(IdxArray { dims, data })
}

/// Writes `u8` values as an IDX file (gzip-compressed when `gzip`), e.g. to make fixtures
/// or to export images in MNIST format.
///
/// Errors: `dims` do not multiply to `data.len()`, a rank above 255 or a dim above
/// `u32::MAX` (which the format cannot hold), or the file cannot be written.
pub fn write_idx_u8(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return Err(Error::invalid("IDX dims", format!("{dims:?} do not describe {} values", data.len())));
    }
    let rank = u8::try_from(dims.len()).map_err(|_| Error::invalid("IDX dims", format!("rank {} exceeds 255", dims.len())))?;
    let mut header = vec![0, 0, IdxDtype::U8.code(), rank];
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| Error::invalid("IDX dims", format!("dim {d} exceeds u32")))?;
        header.extend_from_slice(&d.to_be_bytes());
    }
    let io_err = |e| Error::io(path, e);
    let out = BufWriter::new(File::create(path).map_err(io_err)?);
    if gzip {
        let mut enc = GzEncoder::new(out, Compression::default());
        enc.write_all(&header).map_err(io_err)?;
        enc.write_all(data).map_err(io_err)?;
        enc.finish().map_err(io_err)?.flush().map_err(io_err)
    } else {
        let mut out = out;
        out.write_all(&header).map_err(io_err)?;
        out.write_all(data).map_err(io_err)?;
        out.flush().map_err(io_err)
    }
}

/// The open file, and how to word its failures.
struct Source {
    reader: Box<dyn Read>,
    gzip: bool,
    path: PathBuf,
}

impl Source {
    /// Opens `path`, sniffing the gzip magic; also returns the file's size.
    fn open(path: &Path) -> Result<(Source, u64)> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        let head = buffered.fill_buf().map_err(|e| Error::io(path, e))?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = match gzip {
            true => Box::new(MultiGzDecoder::new(buffered)),
            false => Box::new(buffered),
        };
        let path = path.to_path_buf();
        Ok((Source { reader, gzip, path }, file_len))
    }

    /// Magic (`00 00 dtype rank`) and `rank` big-endian `u32` dims.
    fn read_header(&mut self) -> Result<(IdxDtype, Vec<usize>)> {
        let mut magic = [0u8; 4];
        let got = self.read_up_to(&mut magic)?;
        if got < 4 {
            let reason = format!("truncated header: {got} bytes, an IDX header needs at least 4");
            return Err(self.corrupt(reason));
        }
        if magic[0] != 0 || magic[1] != 0 {
            let (a, b) = (magic[0], magic[1]);
            let reason = format!("not an IDX file: magic starts {a:02x} {b:02x}, expected 00 00");
            return Err(self.corrupt(reason));
        }
        let Some(dtype) = IdxDtype::from_code(magic[2]) else {
            let reason = format!("unknown IDX data type 0x{:02x} (expected 08, 09, 0b, 0c, 0d or 0e)", magic[2]);
            return Err(self.corrupt(reason));
        };
        let rank = usize::from(magic[3]);
        let mut dim_bytes = vec![0u8; 4 * rank];
        let got = self.read_up_to(&mut dim_bytes)?;
        if got < dim_bytes.len() {
            let need = dim_bytes.len();
            let reason = format!("truncated header: rank {rank} needs {need} bytes of dims, found {got}");
            return Err(self.corrupt(reason));
        }
        let dims = (dim_bytes.chunks_exact(4)).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
        Ok((dtype, dims))
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::data(&self.path, reason)
    }
    /// A failed read: for gzip the stream itself is damaged (cut short, bad checksum).
    fn read_error(&self, e: io::Error) -> Error {
        if self.gzip { self.corrupt(format!("corrupt or truncated gzip stream: {e}")) } else { Error::io(&self.path, e) }
    }
    /// Fills `buf` as far as the stream allows; returns how many bytes were read.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }
}

/// Big-endian bytes to values; `raw.len()` is a multiple of the dtype size.
fn decode(dtype: IdxDtype, raw: Vec<u8>) -> IdxData {
    fn be<const N: usize, T>(raw: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
        raw.chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect()
    }
    match dtype {
        IdxDtype::U8 => IdxData::U8(raw),
        IdxDtype::I8 => IdxData::I8(raw.iter().map(|&b| b as i8).collect()),
        IdxDtype::I16 => IdxData::I16(be(&raw, i16::from_be_bytes)),
        IdxDtype::I32 => IdxData::I32(be(&raw, i32::from_be_bytes)),
        IdxDtype::F32 => IdxData::F32(be(&raw, f32::from_be_bytes)),
        IdxDtype::F64 => IdxData::F64(be(&raw, f64::from_be_bytes)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TestDir(pub PathBuf);

    impl TestDir {
        pub(crate) fn new(tag: &str) -> TestDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("strata-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TestDir(dir)
        }
        pub(crate) fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `read_idx` must fail, naming the file; returns the message.
    fn err_of(path: &Path) -> String {
        let msg = read_idx(path).expect_err("corrupt file was accepted").to_string();
        assert!(msg.contains(&path.display().to_string()), "no path in: {msg}");
        msg
    }

    /// Writes `bytes` to `dir/name`, gzip-compressed when `gzip`.
    fn fixture(dir: &TestDir, name: &str, bytes: &[u8], gzip: bool) -> PathBuf {
        let path = dir.join(&format!("{name}-{gzip}"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        let bytes = if gzip { enc.finish().unwrap() } else { bytes.to_vec() };
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A valid 3x2x4 u8 file and its contents.
    fn sample(dir: &TestDir, name: &str, gzip: bool) -> (PathBuf, Vec<usize>, Vec<u8>) {
        let (dims, data) = (vec![3, 2, 4], (0..24).map(|v| (v * 11) as u8).collect::<Vec<_>>());
        let path = dir.join(name);
        write_idx_u8(&path, &dims, &data, gzip).unwrap();
        (path, dims, data)
    }

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = TestDir::new("idx-rt");
        for (name, gzip) in [("a-idx3-ubyte", false), ("a-idx3-ubyte.gz", true), ("b", true)] {
            let (path, dims, data) = sample(&dir, name, gzip);
            assert_eq!(std::fs::read(&path).unwrap().starts_with(&[0x1f, 0x8b]), gzip);
            assert_eq!(read_idx(&path).unwrap(), IdxArray { dims, data: IdxData::U8(data) });
        }
        // Empty arrays are legal; dims that do not describe the data are not.
        let path = dir.join("empty");
        write_idx_u8(&path, &[0, 28, 28], &[], false).unwrap();
        assert!(read_idx(&path).unwrap().data.is_empty());
        assert!(write_idx_u8(&dir.join("bad"), &[2, 2], &[1, 2, 3], false).is_err());
    }

    #[test]
    fn reads_every_dtype_big_endian() {
        let dir = TestDir::new("idx-dtypes");
        let cases: [(u8, Vec<u8>, IdxData); 5] = [
            (0x09, vec![0xff, 0x02], IdxData::I8(vec![-1, 2])),
            (0x0B, vec![0x01, 0x00, 0xff, 0xfe], IdxData::I16(vec![256, -2])),
            (0x0C, [7i32.to_be_bytes(), (-3i32).to_be_bytes()].concat(), IdxData::I32(vec![7, -3])),
            (0x0D, [1.5f32.to_be_bytes(), 2f32.to_be_bytes()].concat(), IdxData::F32(vec![1.5, 2.0])),
            (0x0E, [0.25f64.to_be_bytes(), 4f64.to_be_bytes()].concat(), IdxData::F64(vec![0.25, 4.0])),
        ];
        for (code, payload, want) in cases {
            let bytes = [&[0, 0, code, 1, 0, 0, 0, 2][..], &payload].concat();
            let a = read_idx(&fixture(&dir, &format!("t{code}"), &bytes, true)).unwrap();
            assert_eq!((a.dims, a.data.dtype().code()), (vec![2], code));
            assert_eq!(a.data.to_f32(), want.to_f32());
            assert_eq!(a.data, want);
        }
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = TestDir::new("idx-missing");
        let e = read_idx(&dir.join("nope-idx1-ubyte")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("nope-idx1-ubyte"));
    }

    #[test]
    fn corrupt_headers_are_data_errors() {
        let dir = TestDir::new("idx-header");
        let cases: [(&str, &[u8], &str); 6] = [
            ("empty", &[], "truncated header"),
            ("short", &[0, 0, 8], "truncated header"),
            ("magic", &[1, 2, 8, 1, 0, 0, 0, 0], "not an IDX file"),
            ("dtype", &[0, 0, 0x42, 1, 0, 0, 0, 0], "unknown IDX data type 0x42"),
            ("dims", &[0, 0, 8, 3, 0, 0, 0, 1, 0, 0], "rank 3 needs 12 bytes of dims, found 6"),
            ("text", b"hello world", "not an IDX file"),
        ];
        for (name, bytes, want) in cases {
            for gzip in [false, true] {
                let msg = err_of(&fixture(&dir, name, bytes, gzip));
                assert!(msg.contains(want), "{name}: {msg}");
            }
        }
    }

    #[test]
    fn truncated_and_overlong_data_are_data_errors() {
        let dir = TestDir::new("idx-data");
        let bytes = std::fs::read(sample(&dir, "good", false).0).unwrap();
        for gzip in [false, true] {
            let msg = err_of(&fixture(&dir, "cut", &bytes[..bytes.len() - 5], gzip));
            assert!(msg.contains("truncated data: expected 24 values"), "{msg}");
            assert!(msg.contains("found 19"), "{msg}");
            let msg = err_of(&fixture(&dir, "long", &[&bytes[..], b"junk"].concat(), gzip));
            let want = if gzip { "trailing data" } else { "4 trailing bytes" };
            assert!(msg.contains(want), "{msg}");
        }
    }

    #[test]
    fn truncated_or_damaged_gzip_is_a_data_error() {
        let dir = TestDir::new("idx-gz");
        let mut bytes = std::fs::read(sample(&dir, "good.gz", true).0).unwrap();
        // Cut inside the deflate stream and inside the 8-byte trailer.
        let n = bytes.len();
        for keep in [12, n / 2, n - 6, n - 1] {
            let msg = err_of(&fixture(&dir, &format!("cut{keep}"), &bytes[..keep], false));
            assert!(msg.contains("corrupt or truncated gzip"), "keep {keep}: {msg}");
        }
        bytes[n - 8] ^= 0xff; // the CRC
        let msg = err_of(&fixture(&dir, "crc", &bytes, false));
        assert!(msg.contains("corrupt or truncated gzip"), "{msg}");
    }

    #[test]
    fn absurd_dims_are_rejected_without_allocating() {
        let dir = TestDir::new("idx-absurd");
        let max = u32::MAX.to_be_bytes();
        // The product overflows usize: (2^32)^3 f64 values.
        let overflow = [&[0, 0, 0x0E, 3][..], &max, &max, &max].concat();
        // Fits in usize but not in the file: 2^64 bytes promised, 3 present.
        let huge = [&[0, 0, 8, 2][..], &max, &max, &[1, 2, 3]].concat();
        for gzip in [false, true] {
            assert!(err_of(&fixture(&dir, "overflow", &overflow, gzip)).contains("overflow"));
            let msg = err_of(&fixture(&dir, "huge", &huge, gzip));
            let want = if gzip { "far more than" } else { "found 3" };
            assert!(msg.contains(want), "{msg}");
        }
    }
}
