//! IDX files, raw or gzip: `strata::data::idx::read_idx`.
//!
//! The first byte picks how the rest becomes the file: odd, gzip-compressed here (so the
//! fuzzer mutates what the decompressed stream holds); even, written as it is (raw IDX, or
//! a gzip stream the fuzzer damages itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode & 1 == 1 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(rest).unwrap();
        enc.finish().unwrap()
    } else {
        rest.to_vec()
    };
    let path = strata_fuzz::scratch("input-idx", &bytes);
    if let Ok(a) = strata::data::idx::read_idx(&path) {
        assert_eq!(a.dims.iter().product::<usize>(), a.data.len(), "dims and values disagree");
        let _ = a.data.to_f32();
    }
});
