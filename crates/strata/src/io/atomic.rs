//! Atomic file writes: the bytes go to a fresh temporary file beside the target, are flushed
//! to disk, and the temporary is renamed over the target; then the folder is flushed, so the
//! rename survives a crash. Readers see the old file or the new one, never a mix.
//!
//! The temporary is created exclusively (`create_new`: it fails on any existing path,
//! symlinks included, so a planted link cannot redirect the write), under a name no other
//! writer uses, and removed on every error path. Temporaries left behind by a killed writer
//! of the same file are removed by the next write.

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically. The folder must exist (a misspelt output folder is
/// an error, not a new folder); see [`create_dir`] for folders a command owns.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = folder_of(path);
    if !dir.is_dir() {
        return Err(Error::data(path, format!("the folder {} does not exist", dir.display())));
    }
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| Error::data(path, "not a file name"))?;
    remove_stale_temporaries(dir, name);
    let (tmp, mut file) = create_temporary(dir, name).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is an entry of the folder: flushed with it.
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Creates the output folder `dir` (and its parents) if needed.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The prefix of every temporary of `name`: `.NAME.tmp-PID-RANDOM`.
fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..16 {
        // A fresh random value per try (RandomState is seeded from the OS per instance).
        let random = RandomState::new().hash_one(std::time::SystemTime::now());
        let tmp = dir.join(format!("{}{}-{random:016x}", temporary_prefix(name), std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Removes temporaries of `name` in `dir` whose writer is no longer running (killed
/// mid-write). Only regular files are touched, never symlinks.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if !alive && regular {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("strata-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = scratch("replace");
        let path = dir.join("f.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_error_not_a_new_folder() {
        let dir = scratch("missing");
        let err = write_atomic(&dir.join("nope").join("x.png"), b"x").unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!dir.join("nope").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_temporaries_go_and_planted_links_are_not_followed() {
        let dir = scratch("stale");
        let path = dir.join("m.bin");
        // a temporary of a writer that no longer runs (pid beyond the kernel's limit)
        let stale = dir.join(".m.bin.tmp-4294967-0000000000000001");
        std::fs::write(&stale, b"half").unwrap();
        // a link planted under a temporary-like name pointing elsewhere
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.join(format!(".m.bin.tmp-{}-00000000000000ff", std::process::id()));
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert!(!stale.exists(), "the stale temporary is removed");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep", "the link's target is untouched");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
