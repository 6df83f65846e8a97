//! What this machine can hold: sizes from files and flags are checked against it before
//! anything is allocated, so an absurd size is a one-line error ("needs 7.5 GiB, this
//! machine has 3.1 GiB available") rather than an allocation abort or the kernel's OOM
//! killer.
//!
//! ```
//! use strata_core::memory;
//! assert_eq!(memory::element_count(&[2, 3, 4]), Some(24));
//! assert_eq!(memory::element_count(&[1 << 32, 1 << 32]), None); // beyond any tensor
//! assert!(memory::ensure_fits("a small buffer", 1024).is_ok());
//! ```

use crate::{Error, Result};

/// The most elements one tensor may have: 2^40 (4 TiB of `f32`), beyond any machine strata
/// runs on. Sizes past it are typos or hostile files; products of sizes below it cannot
/// overflow `usize`, so shape arithmetic stays exact.
pub const MAX_ELEMENTS: usize = 1 << 40;

/// Requests below this many bytes are not checked against the free memory: reading it costs
/// a system call, and small buffers are never what exhausts a machine.
const CHECK_FROM_BYTES: u64 = 16 << 20;

/// Environment variable that caps what strata assumes is available, in MiB (for tests and
/// for sharing a machine): `STRATA_MEMORY_MB=512`.
pub const LIMIT_VAR: &str = "STRATA_MEMORY_MB";

/// The number of elements of a tensor of `shape`, or `None` when the product passes
/// [`MAX_ELEMENTS`] (or overflows).
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS)
}

/// [`element_count`] as a `Result`: `what` names the tensor in the error.
pub fn checked_element_count(what: &str, shape: &[usize]) -> Result<usize> {
    element_count(shape).ok_or_else(|| {
        Error::invalid(what, format!("shape {shape:?} has more than {MAX_ELEMENTS} elements (2^40); is a size mistyped?"))
    })
}

/// Bytes this process can still allocate without swapping: the kernel's `MemAvailable`,
/// lowered by a cgroup (container) limit and by `STRATA_MEMORY_MB`. `None` where none of
/// them can be read (not Linux): then nothing is refused for memory.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
    });
    let cgroup = cgroup_headroom();
    let user = std::env::var(LIMIT_VAR).ok().and_then(|v| v.trim().parse::<u64>().ok()).map(|mib| mib << 20);
    [meminfo, cgroup, user].into_iter().flatten().min()
}

/// A cgroup v2 limit minus what the group already uses (`None` without a limit).
fn cgroup_headroom() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" (no limit) does not parse
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// Refuses `bytes` for `what` when they would not fit in the available memory: the error
/// reads "{what} needs 7.5 GiB, this machine has 3.1 GiB available".
pub fn ensure_fits(what: &str, bytes: u64) -> Result<()> {
    if bytes < CHECK_FROM_BYTES {
        return Ok(());
    }
    match available_bytes() {
        Some(available) if bytes > available => Err(Error::TooLarge { what: what.to_string(), needed: bytes, available }),
        _ => Ok(()),
    }
}

/// `bytes` for people: "512 B", "3.0 MiB", "7.5 GiB", "2.0 TiB".
pub fn human_bytes(bytes: u64) -> String {
    crate::error::human_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_counts_stop_at_the_cap_and_never_wrap() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[0, usize::MAX]), Some(0));
        assert_eq!(element_count(&[1 << 20, 1 << 20]), Some(MAX_ELEMENTS));
        assert_eq!(element_count(&[(1 << 20) + 1, 1 << 20]), None);
        assert_eq!(element_count(&[4294967296, 4294967296]), None); // wraps to 0 unchecked
        let err = checked_element_count("--input", &[usize::MAX, 2]).unwrap_err().to_string();
        assert!(err.starts_with("invalid --input: shape"), "{err}");
    }

    #[test]
    fn requests_beyond_the_available_memory_are_refused_with_both_sizes() {
        let available = available_bytes().expect("Linux has /proc/meminfo");
        assert!(ensure_fits("a model", available / 4).is_ok());
        let err = ensure_fits("a model", available.saturating_mul(2).max(1 << 40)).unwrap_err().to_string();
        assert!(err.starts_with("a model needs ") && err.contains("available"), "{err}");
        assert!(ensure_fits("a tiny buffer", 1000).is_ok());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(15 << 29), "7.5 GiB");
    }
}
