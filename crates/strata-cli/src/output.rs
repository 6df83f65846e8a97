//! What several subcommands print: JSON summaries, memory figures, dataset names in titles.

use std::path::Path;

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

/// A dataset's name for chart titles: a file's name without its folders.
pub fn short_name(data: &str) -> String {
    Path::new(data).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| data.to_string())
}
