//! Named tensors to and from safetensors files (f32, little-endian).

use super::atomic::write_atomic;
use crate::{Error, Result, Tensor};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Writes `(name, tensor)` pairs to a safetensors file, atomically.
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor)], metadata: Option<HashMap<String, String>>) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.data().iter().flat_map(|v| v.to_le_bytes()).collect(), t.shape().to_vec()))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, s)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::data(path, format!("cannot encode tensors: {e}")))?;
    let out = safetensors::serialize(views, metadata).map_err(|e| Error::data(path, format!("cannot encode tensors: {e}")))?;
    write_atomic(path, &out)
}

/// Reads every tensor of a safetensors file (f32 only), in file order of names.
pub fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::data(path, format!("not a valid safetensors file ({e})")))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::data(path, format!("tensor '{name}' has dtype {:?}; only F32 is supported", view.dtype())));
        }
        let data: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        out.push((name, Tensor::from_vec(data, view.shape())?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_file() {
        let dir = std::env::temp_dir().join(format!("strata-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.safetensors");
        let a = Tensor::from_vec(vec![1.5, -2.0, 3.25, 0.0, 7.0, 8.0], &[2, 3]).unwrap();
        let b = Tensor::from_vec(vec![9.0], &[1]).unwrap();
        save_tensors(&path, &[("a".into(), a.clone()), ("b".into(), b.clone())], None).unwrap();
        let back = load_tensors(&path).unwrap();
        assert_eq!(back, vec![("a".to_string(), a), ("b".to_string(), b)]);
        std::fs::write(&path, b"garbage").unwrap();
        let err = load_tensors(&path).unwrap_err().to_string();
        assert!(err.contains("w.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
