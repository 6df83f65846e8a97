//! Model spec files (TOML): the bytes as `spec.toml`, chosen and built for a 1x28x28
//! input with 10 classes and summarized, as `strata summary --model spec.toml` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // TEMPORARY filter (see strata_fuzz::MAX_INTEGER): absurd layer sizes and a stride of 0 are
    // known, separately tracked faults of model building.
    if text.parse::<toml::Table>().is_ok_and(|t| strata_fuzz::toml_is_known_fault(&toml::Value::Table(t))) {
        return;
    }
    let path = strata_fuzz::scratch("spec.toml", data);
    if let Ok(mut choice) = strata::zoo::choose(path.to_str().unwrap(), &[1, 28, 28], 10, 0)
        && let Ok(s) = choice.model.summary()
    {
        let _ = format!("{s}\n{s:#}");
    }
});
