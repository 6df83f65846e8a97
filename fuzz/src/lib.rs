//! What the fuzz targets share: a scratch file per target.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `bytes` to the target's one scratch file `name` and returns its path.
///
/// The folder is `$STRATA_FUZZ_TMP` when set (scripts/fuzz.sh sets it to a folder it removes
/// afterwards), else `strata-fuzz-PID` under the system temp dir. Every input of a process
/// reuses the same file, so a long run does not fill the disk.
pub fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let base = std::env::var_os("STRATA_FUZZ_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("strata-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        dir
    });
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the scratch file");
    path
}
