//! What the command-line tests share: running the binary, scratch folders, fixtures.
#![allow(dead_code, unused_imports)] // each test file uses a different part

pub use std::path::{Path, PathBuf};
pub use std::process::{Command, Stdio};
pub use strata::data::idx::write_idx_u8;
pub use strata::prelude::*;

/// Runs `strata ARGS`: (exit code, stdout, stderr).
pub fn strata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON object on the last line of stdout (`--json`).
pub fn last_json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim().lines().last().expect("some output")).expect("JSON on the last line")
}

/// A fresh scratch folder for one test (the process id keeps parallel runs apart), removed
/// when the test ends (also when it fails).
pub fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("strata-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// A scratch folder, removed on drop; used as a `Path`.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fixture file shipped with the library's tests (`crates/strata/tests/data`).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../strata/tests/data").join(name)
}

/// Whether Fashion-MNIST is installed (CI installs it); says so when it is not.
pub fn dataset_present() -> bool {
    let dir = std::env::var("STRATA_DATA")
        .map(|d| format!("{d}/fashion-mnist"))
        .unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into());
    let ok =
        Path::new(&dir).join("train-images-idx3-ubyte.gz").exists() || Path::new(&dir).join("train-images-idx3-ubyte").exists();
    if !ok {
        eprintln!("note: Fashion-MNIST not found in {dir}; skipping (apt-get install dataset-fashion-mnist)");
    }
    ok
}

/// A valid tiny MNIST-format directory: `n` train and test images of 4x4.
pub fn tiny_mnist(dir: &Path, n_train: usize, n_labels: usize) {
    let px: Vec<u8> = (0..n_train * 16).map(|i| (i * 7 % 256) as u8).collect();
    write_idx_u8(&dir.join("train-images-idx3-ubyte.gz"), &[n_train, 4, 4], &px, true).unwrap();
    let labels: Vec<u8> = (0..n_labels).map(|i| (i % 3) as u8).collect();
    write_idx_u8(&dir.join("train-labels-idx1-ubyte.gz"), &[n_labels], &labels, true).unwrap();
    write_idx_u8(&dir.join("t10k-images-idx3-ubyte"), &[4, 4, 4], &px[..64], false).unwrap();
    write_idx_u8(&dir.join("t10k-labels-idx1-ubyte"), &[4], &labels[..4.min(n_labels)].repeat(4)[..4], false).unwrap();
}

/// A failure as users should see it: non-zero exit, one line naming the culprit, no panic.
pub fn assert_clean_failure(code: i32, stderr: &str, culprit: &str) {
    assert!(code == 1 || code == 2, "exit 1 or 2 expected, got {code}; stderr: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "panic: {stderr}");
    assert!(!stderr.contains("internal error"), "bug path: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.contains(culprit), "'{culprit}' not named in: {stderr}");
}

/// An MNIST-format directory a small network learns in a few epochs: `side`x`side` images of
/// a horizontal bar (class 0), a vertical bar (1) or a diagonal (2) at random places, on
/// noise; class names in `classes.txt` are not written (classes are 0, 1, 2).
pub fn bars_mnist(dir: &Path, n_train: usize, n_test: usize, side: usize) {
    let mut rng = strata::Rng::seeded(11);
    let mut make = |n: usize| {
        let mut px = vec![0u8; n * side * side];
        let mut labels = vec![0u8; n];
        for i in 0..n {
            let class = i % 3;
            labels[i] = class as u8;
            let img = &mut px[i * side * side..(i + 1) * side * side];
            for p in img.iter_mut() {
                *p = (rng.uniform() * 60.0) as u8;
            }
            let at = 2 + (rng.uniform() * (side - 4) as f32) as usize;
            for k in 0..side {
                let (r, c) = match class {
                    0 => (at, k),
                    1 => (k, at),
                    _ => (k, (k + at) % side),
                };
                img[r * side + c] = 200 + (rng.uniform() * 55.0) as u8;
            }
        }
        (px, labels)
    };
    let (px, labels) = make(n_train);
    write_idx_u8(&dir.join("train-images-idx3-ubyte"), &[n_train, side, side], &px, false).unwrap();
    write_idx_u8(&dir.join("train-labels-idx1-ubyte"), &[n_train], &labels, false).unwrap();
    let (px, labels) = make(n_test);
    write_idx_u8(&dir.join("t10k-images-idx3-ubyte"), &[n_test, side, side], &px, false).unwrap();
    write_idx_u8(&dir.join("t10k-labels-idx1-ubyte"), &[n_test], &labels, false).unwrap();
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether a missing tool must fail the test rather than skip it: in CI (`CI` set) or when
/// `STRATA_REQUIRE_TOOLS=1`, where `make test` has installed everything.
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var("STRATA_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}
