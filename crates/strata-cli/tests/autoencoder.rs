//! `strata train` on the reconstruction models: pictures, eval, predict.

mod common;
use common::*;

fn squares(n: usize, seed: u64) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let mut data = vec![0.0; n * 64];
    for img in data.chunks_exact_mut(64) {
        let (r, c) = (rng.below(5), rng.below(5));
        for y in r..r + 4 {
            for x in c..c + 4 {
                img[y * 8 + x] = 1.0;
            }
        }
    }
    Tensor::from_vec(data, &[n, 1, 8, 8]).unwrap()
}

/// An MNIST-format directory of 8x8 squares.
fn square_mnist(dir: &Path) {
    let to_u8 = |t: &Tensor| t.data().iter().map(|&v| (v * 255.0) as u8).collect::<Vec<u8>>();
    let (train, test) = (squares(120, 7), squares(20, 8));
    write_idx_u8(&dir.join("train-images-idx3-ubyte"), &[120, 8, 8], &to_u8(&train), false).unwrap();
    write_idx_u8(&dir.join("train-labels-idx1-ubyte"), &[120], &(0..120).map(|i| (i % 3) as u8).collect::<Vec<_>>(), false)
        .unwrap();
    write_idx_u8(&dir.join("t10k-images-idx3-ubyte"), &[20, 8, 8], &to_u8(&test), false).unwrap();
    write_idx_u8(&dir.join("t10k-labels-idx1-ubyte"), &[20], &(0..20).map(|i| (i % 3) as u8).collect::<Vec<_>>(), false).unwrap();
}

#[test]
fn cli_trains_reconstruction_models_and_writes_pictures() {
    let d = temp_dir("cli");
    square_mnist(&d);
    for (model, extra) in [
        ("autoencoder:16", vec!["--noise", "mask:0.2"]),
        ("conv-autoencoder", vec![]),
        ("dbn:16-8", vec!["--pretrain-epochs", "2"]),
    ] {
        let out_dir = d.join(model.replace(':', "_"));
        let mut args = vec!["train", "--model", model, "--data", d.to_str().unwrap(), "--epochs", "2", "--json", "--quiet"];
        args.extend(["--out", out_dir.to_str().unwrap()]);
        args.extend(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(&args).output().unwrap();
        assert!(out.status.success(), "{model}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let r: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
        for key in ["model", "params", "epochs", "test_accuracy", "test_loss", "train_seconds", "train_images_per_sec"] {
            assert!(r.get(key).is_some(), "{model}: JSON lacks {key}: {r}");
        }
        let reconstruction = !model.starts_with("dbn");
        assert_eq!(r["test_accuracy"].is_null(), reconstruction, "{model}: {r}");
        assert!(r["test_loss"].as_f64().unwrap().is_finite());
        assert_eq!(r["pretrain_epochs"].as_u64(), if reconstruction { None } else { Some(2) });
        let pictures: Vec<&str> = r["pictures"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert!(pictures.iter().any(|p| p.ends_with("reconstructions.png")), "{model}: {pictures:?}");
        assert!(pictures.iter().all(|p| Path::new(p).exists()));
        // The saved model evaluates (no standardization for reconstruction models).
        let weights = out_dir.join("model.safetensors");
        let ev = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["eval", "--model-file", weights.to_str().unwrap(), "--data", d.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert!(ev.status.success(), "{model} eval: {}", String::from_utf8_lossy(&ev.stderr));
    }
    // --noise and --pretrain-epochs belong to these models only.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["train", "--model", "mlp", "--data", d.to_str().unwrap(), "--pretrain-epochs", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--pretrain-epochs"));
    for (model, flag, value) in [("autoencoder", "--pretrain-epochs", "1"), ("dbn", "--noise", "mask:0.1")] {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["train", "--model", model, "--data", d.to_str().unwrap(), flag, value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(flag), "{model} {flag}: {err}");
    }
    std::fs::remove_dir_all(&d).ok();
}
