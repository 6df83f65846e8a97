//! A saved model is one consistent unit: `strata train` killed at any moment — while it
//! trains, while it writes its checkpoint, its model, its charts — leaves the complete old
//! model or the complete new one, never new weights with an old description, and the next
//! run leaves no temporary file behind.

mod common;
use common::*;
use std::time::Instant;

/// A tiny MNIST-format folder (8 images of 4x4) and a spec whose model file is ~1.6 MB, so
/// a fair share of each run is spent writing it.
fn setup(dir: &Path) -> PathBuf {
    let px: Vec<u8> = (0..8 * 16).map(|i| (i * 7 % 256) as u8).collect();
    let labels: Vec<u8> = (0..8).map(|i| (i % 3) as u8).collect();
    for prefix in ["train", "t10k"] {
        write_idx_u8(&dir.join(format!("{prefix}-images-idx3-ubyte")), &[8, 4, 4], &px, false).unwrap();
        write_idx_u8(&dir.join(format!("{prefix}-labels-idx1-ubyte")), &[8], &labels, false).unwrap();
    }
    let spec = dir.join("big.toml");
    std::fs::write(&spec, "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 20000\nactivation = \"relu\"\n[[layers]]\ntype = \"dense\"\nunits = 3\n").unwrap();
    spec
}

fn train_args<'a>(spec: &'a str, data: &'a str, out: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec!["train", "--model", spec, "--data", data, "--epochs", "1", "--quiet", "--out", out, "--seed", seed]
}

/// The weights of the model in `out` and the seed its description names: the two halves
/// that must come from the same run.
fn model(out: &Path) -> strata::Result<(Vec<Tensor>, u64)> {
    let saved = strata::model::load_model(&out.join("model.safetensors"))?;
    Ok((saved.model.weights(), saved.meta.seed))
}

fn temporaries(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_old_model_or_the_new_one() {
    let d = temp_dir("killed-saves");
    let spec = setup(&d);
    let (spec, data) = (spec.to_str().unwrap(), d.to_str().unwrap());
    // The two complete models: seed 1 ("old") and seed 2 ("new").
    let (old_dir, new_dir, out) = (d.join("old"), d.join("new"), d.join("out"));
    for (dir, seed) in [(&old_dir, "1"), (&new_dir, "2")] {
        let (code, _, err) = strata(&train_args(spec, data, dir.to_str().unwrap(), seed));
        assert_eq!(code, 0, "{err}");
    }
    let (old, new) = (model(&old_dir).unwrap(), model(&new_dir).unwrap());
    assert_ne!(old.0, new.0);
    assert_eq!((old.1, new.1), (1, 2));
    // How long one run takes, so the kills spread over its whole life.
    let start = Instant::now();
    let (code, _, err) = strata(&train_args(spec, data, out.to_str().unwrap(), "1"));
    assert_eq!(code, 0, "{err}");
    let run = start.elapsed();
    let mut rng = Rng::seeded(7);
    let (mut killed, mut saw_new) = (0, false);
    for _ in 0..150 {
        // Two thirds of the kills in the last 40% of a run, where the files are written.
        let at = if rng.uniform() < 0.67 { 0.6 + 0.45 * rng.uniform() } else { 0.6 * rng.uniform() };
        let out_str = out.to_str().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(train_args(spec, data, out_str, "2"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(run.mul_f64(at as f64));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        let w =
            model(&out).unwrap_or_else(|e| panic!("after a kill at {:.0}% of a run the model does not load: {e}", 100.0 * at));
        assert!(w == old || w == new, "a mix of two models after a kill at {:.0}% of a run", 100.0 * at);
        saw_new |= w == new;
        if w == new {
            // Back to the old model for the next try.
            std::fs::copy(old_dir.join("model.safetensors"), out.join("model.safetensors")).unwrap();
        }
    }
    assert!(killed >= 50, "only {killed} of the runs were killed before they ended");
    assert!(saw_new, "no run got as far as its new model");
    // The next complete run leaves no temporary file behind (killed writers' included).
    let (code, _, err) = strata(&train_args(spec, data, out.to_str().unwrap(), "2"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert!(model(&out).unwrap() == new);
    std::fs::remove_dir_all(&d).ok();
}
