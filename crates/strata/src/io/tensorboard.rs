//! TensorBoard event files: what `tf.summary` writes and TensorBoard reads — scalars,
//! histograms and PNG images, each an `Event` protobuf in a TFRecord.
//!
//! Framing (TFRecord, tensorflow/core/lib/io/record_writer.cc): per record, the length as a
//! little-endian u64, its masked CRC-32C, the bytes, their masked CRC-32C; masking is
//! `((crc >> 15) | (crc << 17)) + 0xa282ead8`. Messages and field numbers from
//! tensorflow/core/util/event.proto (`Event`), tensorflow/core/framework/summary.proto
//! (`Summary`, `Summary.Value`, `Summary.Image`) and histogram.proto (`HistogramProto`);
//! fields strata never writes are left out. The first event of a file carries
//! `file_version = "brain.Event:2"`, as TensorFlow's writers do.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `Event`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// `wall_time = 1`: seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// `step = 2`.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// `file_version = 3` (oneof `what`).
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// `summary = 5` (oneof `what`).
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// `value = 1`.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `Summary.Value`: one tagged scalar, image or histogram.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// `tag = 1`.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// `simple_value = 2` (oneof `value`).
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// `image = 4` (oneof `value`).
    #[prost(message, optional, tag = "4")]
    pub image: Option<SummaryImage>,
    /// `histo = 5` (oneof `value`).
    #[prost(message, optional, tag = "5")]
    pub histo: Option<HistogramProto>,
}

/// `Summary.Image`: an encoded (PNG) picture.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryImage {
    /// `height = 1`.
    #[prost(int32, tag = "1")]
    pub height: i32,
    /// `width = 2`.
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// `colorspace = 3`: 1 gray, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    /// `encoded_image_string = 4`.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

/// `HistogramProto`: counts `bucket[i]` of values in `(bucket_limit[i-1], bucket_limit[i]]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    /// `min = 1`.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// `max = 2`.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// `num = 3`: how many values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// `sum = 4`.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// `sum_squares = 5`.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// `bucket_limit = 6` (packed): each bucket's right edge, increasing.
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// `bucket = 7` (packed): each bucket's count.
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

impl HistogramProto {
    /// The histogram of `values` over `buckets` equal-width buckets between their minimum
    /// and maximum (non-finite values are left out).
    pub fn of(values: &[f32], buckets: usize) -> HistogramProto {
        let finite: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64).collect();
        let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let (lo, hi) = if finite.is_empty() { (0.0, 0.0) } else { (lo, hi) };
        let k = buckets.max(1);
        let width = if hi > lo { (hi - lo) / k as f64 } else { 1.0 };
        let mut counts = vec![0.0; k];
        for &v in &finite {
            let i = (((v - lo) / width) as usize).min(k - 1);
            counts[i] += 1.0;
        }
        HistogramProto {
            min: lo,
            max: hi,
            num: finite.len() as f64,
            sum: finite.iter().sum(),
            sum_squares: finite.iter().map(|v| v * v).sum(),
            bucket_limit: (1..=k).map(|i| if i == k { hi } else { lo + width * i as f64 }).collect(),
            bucket: counts,
        }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit per byte through a
/// table: what TFRecord checksums use.
pub fn crc32c(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    !bytes.iter().fold(!0u32, |c, &b| table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// The masked CRC TFRecord stores (a CRC of data holding CRCs is otherwise weak).
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let c = crc32c(bytes);
    ((c >> 15) | (c << 17)).wrapping_add(0xa282_ead8)
}

/// One TFRecord: length, its masked CRC, the data, its masked CRC.
pub fn tfrecord(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// Appends events to `DIR/events.out.tfevents.<seconds>.<host>.strata`, the name pattern
/// TensorBoard scans a log folder for. Each event is written and flushed at once, so a
/// TensorBoard watching the folder sees training as it goes.
pub struct EventWriter {
    file: std::fs::File,
    path: PathBuf,
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl EventWriter {
    /// A new event file in `dir` (created if missing), starting with the file-version event.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let name = format!("events.out.tfevents.{}.{}.{}.strata", now() as u64, host, std::process::id());
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = EventWriter { file, path };
        w.write(Event { wall_time: now(), step: 0, file_version: Some("brain.Event:2".into()), summary: None })?;
        Ok(w)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, event: Event) -> Result<()> {
        let bytes = prost::Message::encode_to_vec(&event);
        self.file.write_all(&tfrecord(&bytes)).and_then(|_| self.file.flush()).map_err(|e| Error::io(&self.path, e))
    }

    fn summary(&mut self, step: i64, value: SummaryValue) -> Result<()> {
        self.write(Event { wall_time: now(), step, file_version: None, summary: Some(Summary { value: vec![value] }) })
    }

    /// A scalar (`tf.summary.scalar`).
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> Result<()> {
        self.summary(step, SummaryValue { tag: tag.into(), simple_value: Some(value), image: None, histo: None })
    }

    /// A histogram of `values` (`tf.summary.histogram`, 30 buckets).
    pub fn histogram(&mut self, tag: &str, step: i64, values: &[f32]) -> Result<()> {
        let h = HistogramProto::of(values, 30);
        self.summary(step, SummaryValue { tag: tag.into(), simple_value: None, image: None, histo: Some(h) })
    }

    /// A PNG picture of `width` x `height` with `colorspace` channels.
    pub fn image(&mut self, tag: &str, step: i64, png: Vec<u8>, (width, height): (u32, u32), colorspace: i32) -> Result<()> {
        let image = SummaryImage { height: height as i32, width: width as i32, colorspace, encoded_image_string: png };
        self.summary(step, SummaryValue { tag: tag.into(), simple_value: None, image: Some(image), histo: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_values() {
        // RFC 3720 (iSCSI) B.4 and the usual "123456789" check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn record_framing_round_trips() {
        let r = tfrecord(b"hello");
        assert_eq!(r.len(), 5 + 16);
        assert_eq!(u64::from_le_bytes(r[..8].try_into().unwrap()), 5);
        assert_eq!(u32::from_le_bytes(r[8..12].try_into().unwrap()), masked_crc32c(&5u64.to_le_bytes()));
        assert_eq!(&r[12..17], b"hello");
        assert_eq!(u32::from_le_bytes(r[17..].try_into().unwrap()), masked_crc32c(b"hello"));
    }

    #[test]
    fn histogram_counts_every_value_once() {
        let v: Vec<f32> = (0..100).map(|i| i as f32).chain([f32::NAN]).collect();
        let h = HistogramProto::of(&v, 10);
        assert_eq!(h.num, 100.0);
        assert_eq!(h.bucket.iter().sum::<f64>(), 100.0);
        assert!(h.bucket.iter().all(|&c| c == 10.0), "{:?}", h.bucket);
        assert_eq!((h.min, h.max, *h.bucket_limit.last().unwrap()), (0.0, 99.0, 99.0));
        assert_eq!(h.sum, 4950.0);
    }
}
