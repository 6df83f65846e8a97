//! `strata train --augment`.

mod common;
use common::*;

#[test]
fn cli_train_takes_an_augment_spec() {
    let d = std::env::temp_dir().join(format!("strata-augment-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let px: Vec<u8> = (0..16 * 16).map(|i| (i * 7 % 256) as u8).collect();
    let labels: Vec<u8> = (0..16).map(|i| (i % 3) as u8).collect();
    for prefix in ["train", "t10k"] {
        write_idx_u8(&d.join(format!("{prefix}-images-idx3-ubyte")), &[16, 4, 4], &px, false).unwrap();
        write_idx_u8(&d.join(format!("{prefix}-labels-idx1-ubyte")), &[16], &labels, false).unwrap();
    }
    let dir = d.to_str().unwrap();
    let out = d.join("run");
    let base = ["train", "--model", "mlp", "--data", dir, "--epochs", "1", "--batch-size", "8", "--quiet", "--out"];
    let (code, _, err) = strata(&[&base[..], &[out.to_str().unwrap(), "--augment", "crop:1,flip,translate:1,rotate:5"]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = strata(&[&base[..], &[out.to_str().unwrap(), "--augment", "crop:1,blur"]].concat());
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--augment") && err.contains("'blur'"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}
