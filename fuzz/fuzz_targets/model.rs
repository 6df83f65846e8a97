//! Saved models: the bytes as a `model.safetensors` (weights, with the model description
//! embedded in the header metadata under "strata-model") for `strata::model::load_model`.
//! A model that loads is also run on one input, as `strata predict` would.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = strata_fuzz::scratch("model.safetensors", data);
    // load_model falls back to the model.json beside the weights; there is none.
    let _ = std::fs::remove_file(path.with_extension("json"));
    if let Ok(mut saved) = strata::model::load_model(&path) {
        let shape = saved.meta.input_shape.clone();
        let mut full = vec![1];
        full.extend(&shape);
        let n: usize = shape.iter().product();
        if n <= 1 << 16
            && let Ok(x) = strata::Tensor::from_vec(vec![0.5; n], &full)
        {
            let _ = saved.model.predict(&x);
        }
    }
});
