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

/// A fresh scratch folder for one test (the process id keeps parallel runs apart).
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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
