//! The measured choice of a convolution algorithm ([`Algorithm::choose`]), as cuDNN's
//! benchmark mode and oneDNN's primitive cache do it: for each distinct layer geometry, every
//! supporting algorithm is timed once (forward + backward at a small representative batch),
//! the fastest is remembered in memory for the process and in a cache file per CPU model,
//! ISA and thread count, so later runs on the same machine skip the timing.
//!
//! - `STRATA_CONV_ALGO=im2col|direct|strip|winograd-f2x2|winograd-f4x4`: that algorithm
//!   wherever it supports the geometry (elsewhere the usual choice); an unknown name is
//!   refused with a one-line warning.
//! - `STRATA_CONV_AUTOTUNE=0`: no timing and no cache; the fixed preference order
//!   ([`Algorithm::preferred`]).
//! - The cache file: `$STRATA_CACHE_DIR/conv-algos.json`, else
//!   `$XDG_CACHE_HOME/strata/conv-algos.json`, else `~/.cache/strata/conv-algos.json`. An
//!   unreadable or corrupt file is ignored (and replaced on the next write); writes go to a
//!   temporary file renamed over the old one.
//!
//! Layers too small for the choice to matter (under [`MIN_MACS`] multiply-adds per sample)
//! and geometries only one algorithm supports are not timed.
//!
//! Every decision of the process is kept ([`decisions`]) for `strata bench --explain`.

use super::Algorithm;
use super::geometry::Conv2dGeom;
use crate::tensor::isa;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The variable that forces an algorithm.
pub const ALGO_VAR: &str = "STRATA_CONV_ALGO";
/// The variable that turns measuring off (`0`).
pub const AUTOTUNE_VAR: &str = "STRATA_CONV_AUTOTUNE";
/// The variable that names the cache directory.
pub const CACHE_DIR_VAR: &str = "STRATA_CACHE_DIR";
/// The cache file's name inside the cache directory.
pub const CACHE_FILE: &str = "conv-algos.json";
/// Layers with fewer multiply-adds per sample are not timed (the fixed order decides).
pub const MIN_MACS: u64 = 50_000;
/// Multiply-adds (forward, whole batch) a timing batch aims at: its batch size is this over
/// the per-sample count, between 2 and 32 samples.
const TIMING_MACS: u64 = 100_000_000;
/// Timed repetitions per algorithm (the fastest counts), after one untimed warm-up.
const REPEATS: usize = 2;

/// How an algorithm was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// By `STRATA_CONV_ALGO`.
    Forced,
    /// Timed in this process.
    Measured,
    /// Read from the cache file (timed by an earlier process on this machine).
    Cached,
    /// The fixed preference order (measuring off, a tiny layer, or one candidate only).
    Fixed,
}

impl Source {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Forced => "forced",
            Source::Measured => "measured",
            Source::Cached => "cached",
            Source::Fixed => "fixed",
        }
    }
}

/// One algorithm's time on a geometry: forward and backward (dx, dw, db), in milliseconds,
/// at the timing batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The algorithm's name ([`Algorithm::name`]).
    pub algorithm: String,
    /// Forward, milliseconds.
    pub forward_ms: f64,
    /// Backward (dx, dw, db), milliseconds.
    pub backward_ms: f64,
}

/// A decision: the algorithm for one geometry, how it was chosen, and the timings behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// How it was chosen.
    pub source: Source,
    /// The timing batch size (0 when nothing was timed).
    pub batch: usize,
    /// Every candidate's time, fastest first (empty when nothing was timed).
    pub timings: Vec<Timing>,
}

/// What the cache file keeps per geometry.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    algorithm: String,
    batch: usize,
    timings: Vec<Timing>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: BTreeMap<String, Entry>,
}

/// The geometry part of a decision's key: everything but the batch size.
pub fn geometry_key(g: &Conv2dGeom) -> String {
    format!(
        "c{} h{} w{} o{} k{}x{} s{}x{} p{},{},{},{} d{}x{} g{}",
        g.c,
        g.h,
        g.w,
        g.o,
        g.kh,
        g.kw,
        g.stride.0,
        g.stride.1,
        g.pad.0,
        g.pad.1,
        g.pad.2,
        g.pad.3,
        g.dilation.0,
        g.dilation.1,
        g.groups
    )
}

/// The machine part of a decision's key: CPU model, ISA, threads.
fn machine_key() -> String {
    format!("{} | {} | {} threads", cpu_model(), isa::active(), rayon::current_num_threads())
}

/// The CPU's model name, family and model (`/proc/cpuinfo`: "AMD EPYC (family 25 model
/// 1)"), or "unknown cpu".
pub fn cpu_model() -> &'static str {
    static MODEL: OnceLock<String> = OnceLock::new();
    MODEL.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match (field("model name"), field("cpu family"), field("model")) {
            (Some(name), Some(family), Some(model)) => format!("{name} (family {family} model {model})"),
            (Some(name), ..) => name,
            _ => "unknown cpu".to_string(),
        }
    })
}

/// The cache file's path (see the module notes), if a directory for it is known.
pub fn cache_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var(CACHE_DIR_VAR)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("strata")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("strata")))?;
    Some(dir.join(CACHE_FILE))
}

/// The algorithm `STRATA_CONV_ALGO` names, read once (an unknown name: a warning, then none).
fn forced() -> Option<Algorithm> {
    static FORCED: OnceLock<Option<Algorithm>> = OnceLock::new();
    *FORCED.get_or_init(|| {
        let v = std::env::var(ALGO_VAR).ok().filter(|v| !v.trim().is_empty())?;
        match v.trim().parse::<Algorithm>() {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("warning: {ALGO_VAR}: {e}; choosing as usual");
                None
            }
        }
    })
}

/// Whether measuring is on (`STRATA_CONV_AUTOTUNE` is not `0`, `false`, `off` or `no`).
pub fn autotune_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        !matches!(std::env::var(AUTOTUNE_VAR).map(|v| v.trim().to_ascii_lowercase()).as_deref(), Ok("0" | "false" | "off" | "no"))
    })
}

/// The decisions of this process, by full key.
fn memo() -> &'static Mutex<BTreeMap<String, (String, Choice)>> {
    static MEMO: OnceLock<Mutex<BTreeMap<String, (String, Choice)>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Every decision of this process so far: (geometry key, choice), in key order.
pub fn decisions() -> Vec<(String, Choice)> {
    memo().lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
}

/// [`Algorithm::choose`]'s full decision for `g` (see the module notes).
pub fn decide(g: &Conv2dGeom) -> Choice {
    let geometry = geometry_key(g);
    let key = format!("{} | {geometry}", machine_key());
    if let Some((_, c)) = memo().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return c.clone();
    }
    let candidates: Vec<Algorithm> = Algorithm::ALL.into_iter().filter(|a| a.supports(g)).collect();
    let untimed = |algorithm, source| Choice { algorithm, source, batch: 0, timings: Vec::new() };
    // Not under the lock: timing runs parallel kernels, which may need other decisions.
    let choice = if let Some(a) = forced().filter(|a| a.supports(g)) {
        untimed(a, Source::Forced)
    } else if !autotune_enabled() || candidates.len() < 2 || g.macs_per_sample() < MIN_MACS {
        untimed(Algorithm::preferred(g), Source::Fixed)
    } else {
        cached(&key).unwrap_or_else(|| {
            let c = measure(g, &candidates);
            store(&key, &c);
            c
        })
    };
    memo().lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert((geometry, choice)).1.clone()
}

/// The cache file's decision for `key`, if the file holds a valid one.
fn cached(key: &str) -> Option<Choice> {
    let entry = read_cache(&cache_path()?).entries.remove(key)?;
    let algorithm = entry.algorithm.parse::<Algorithm>().ok()?;
    Some(Choice { algorithm, source: Source::Cached, batch: entry.batch, timings: entry.timings })
}

/// The cache file's contents; empty if missing, unreadable or corrupt.
fn read_cache(path: &std::path::Path) -> CacheFile {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
        .filter(|c| c.version == 1)
        .unwrap_or_default()
}

/// Adds a measured decision to the cache file (read again first, so entries other
/// processes wrote meanwhile survive), atomically; failures are ignored (the cache only
/// saves time).
fn store(key: &str, c: &Choice) {
    if let Some(path) = cache_path() {
        store_at(&path, key, c);
    }
}

/// [`store`] into the file at `path`.
fn store_at(path: &std::path::Path, key: &str, c: &Choice) {
    let mut file = read_cache(path);
    file.version = 1;
    file.entries
        .insert(key.to_string(), Entry { algorithm: c.algorithm.name().to_string(), batch: c.batch, timings: c.timings.clone() });
    let Ok(text) = serde_json::to_vec_pretty(&file) else { return };
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{CACHE_FILE}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text).is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Times every candidate on `g` at a representative batch; the fastest (forward +
/// backward) wins.
fn measure(g: &Conv2dGeom, candidates: &[Algorithm]) -> Choice {
    let n = (TIMING_MACS / g.macs_per_sample().max(1)).clamp(2, 32) as usize;
    let g = Conv2dGeom { n, ..*g };
    let values =
        |len: usize, seed: usize| (0..len).map(|i| (((i + seed) * 7919 % 1013) as f32 / 506.0) - 1.0).collect::<Vec<f32>>();
    let x = values(n * g.c * g.h * g.w, 1);
    let w = values(g.o * (g.c / g.groups) * g.kh * g.kw, 2);
    let b = values(g.o, 3);
    let dy = values(g.out_shape().iter().product(), 4);
    let time = |f: &mut dyn FnMut()| {
        f();
        (0..REPEATS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let mut timings: Vec<(Algorithm, f64, f64)> = candidates
        .iter()
        .map(|&a| {
            let fwd = time(&mut || _ = std::hint::black_box(a.forward(&g, &x, &w, Some(&b))));
            let bwd = time(&mut || _ = std::hint::black_box(a.backward(&g, &x, &w, &dy, true, true)));
            (a, fwd, bwd)
        })
        .collect();
    timings.sort_by(|p, q| (p.1 + p.2).total_cmp(&(q.1 + q.2)));
    Choice {
        algorithm: timings[0].0,
        source: Source::Measured,
        batch: n,
        timings: timings
            .into_iter()
            .map(|(a, f, b)| Timing { algorithm: a.name().to_string(), forward_ms: f, backward_ms: b })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measuring_picks_a_supporting_candidate_and_records_every_time() {
        let g = Conv2dGeom::new(&[1, 16, 14, 14], &[16, 16, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1).unwrap();
        let candidates: Vec<Algorithm> = Algorithm::ALL.into_iter().filter(|a| a.supports(&g)).collect();
        let c = measure(&g, &candidates);
        assert!(c.algorithm.supports(&g) && c.source == Source::Measured);
        assert_eq!(c.timings.len(), candidates.len());
        assert_eq!(c.timings[0].algorithm, c.algorithm.name());
        assert!(c.timings.windows(2).all(|w| w[0].forward_ms + w[0].backward_ms <= w[1].forward_ms + w[1].backward_ms));
        assert!((2..=32).contains(&c.batch));
    }

    #[test]
    fn the_key_holds_every_setting_but_the_batch() {
        let g = Conv2dGeom::new(&[3, 16, 14, 12], &[32, 8, 3, 1], (2, 1), (1, 0, 2, 3), (1, 2), 2).unwrap();
        let key = geometry_key(&g);
        assert_eq!(key, "c16 h14 w12 o32 k3x1 s2x1 p1,0,2,3 d1x2 g2");
        assert_eq!(geometry_key(&Conv2dGeom { n: 99, ..g }), key);
        assert!(!cpu_model().is_empty());
    }

    #[test]
    fn the_cache_file_round_trips_and_a_corrupt_one_reads_as_empty() {
        let dir = std::env::temp_dir().join(format!("strata-autotune-test-{}", std::process::id()));
        let path = dir.join("sub").join(CACHE_FILE);
        assert!(read_cache(&path).entries.is_empty(), "missing file");
        let timing = Timing { algorithm: "strip".into(), forward_ms: 1.0, backward_ms: 2.0 };
        let c = Choice { algorithm: Algorithm::Strip, source: Source::Measured, batch: 4, timings: vec![timing] };
        store_at(&path, "a", &c);
        store_at(&path, "b", &Choice { algorithm: Algorithm::Im2col, ..c.clone() });
        let file = read_cache(&path);
        assert_eq!(file.entries.len(), 2);
        assert_eq!((file.entries["a"].algorithm.as_str(), file.entries["b"].algorithm.as_str()), ("strip", "im2col"));
        assert_eq!(file.entries["a"].timings, c.timings);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(read_cache(&path).entries.is_empty(), "corrupt file");
        store_at(&path, "c", &c);
        assert_eq!(read_cache(&path).entries.len(), 1, "a corrupt file is replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
