//! WEKA ARFF tables: `strata::data::arff::read_arff`, then the table becomes a dataset as
//! `strata train --data FILE.arff` makes it (default target: the last attribute).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = strata_fuzz::scratch("input.arff", data);
    if let Ok(table) = strata::data::arff::read_arff(&path) {
        let _ = table.to_dataset(None);
    }
});
