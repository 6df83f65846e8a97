//! Model spec files (TOML): the bytes as `spec.toml`, chosen and built for a 1x28x28
//! input with 10 classes and summarized, as `strata summary --model spec.toml` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if std::str::from_utf8(data).is_err() {
        return;
    }
    let path = strata_fuzz::scratch("spec.toml", data);
    if let Ok(mut choice) = strata::zoo::choose(path.to_str().unwrap(), &[1, 28, 28], 10, 0)
        && let Ok(s) = choice.model.summary()
    {
        let _ = format!("{s}\n{s:#}");
    }
});
