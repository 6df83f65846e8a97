//! CSV and TSV tables: `strata::data::csv::read_csv`, then the table becomes a dataset as
//! `strata train --data FILE.csv` makes it (default target: the last column).
//!
//! The first byte picks the file name: odd, `.tsv` (tab-separated); even, `.csv`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let name = if mode & 1 == 1 { "input.tsv" } else { "input.csv" };
    let path = strata_fuzz::scratch(name, rest);
    if let Ok(table) = strata::data::csv::read_csv(&path) {
        let _ = table.to_dataset(None);
    }
});
