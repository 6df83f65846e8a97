//! Pieces several subcommands share: loading and preprocessing data, JSON output.

use strata::data::normalize::Standardizer;
use strata::data::{Dataset, mnist};

/// Train and test splits of an image dataset, pixels in [0, 1].
pub fn load_images(name_or_dir: &str) -> strata::Result<(Dataset, Dataset)> {
    mnist::load(name_or_dir)
}

/// Standardizes `data` in place with `s`.
pub fn standardize(data: &mut Dataset, s: &Standardizer) -> strata::Result<()> {
    s.apply(&mut data.inputs)
}

/// Prints `value` as the last line of stdout (scripts read it).
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// Peak resident memory of this process in MiB (VmHWM), if the OS tells.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
