//! Your own data (issue 15): image folders, CIFAR binary batches and NumPy arrays, read by
//! `train`, `eval` and `predict`; the same images in two formats train to the same
//! figures; every bad input is one line naming the file, folder or array.

mod common;
use common::*;
use std::io::Write;

/// A small deterministic generator (the tests must not depend on a seed's library).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// A coloured shape of class `k` (0: red disc, 1: green square, 2: blue triangle) on a
/// noisy gray background, `w` x `h`.
fn shape_image(k: usize, w: u32, h: u32, rng: &mut Lcg) -> image::RgbImage {
    let colour = [[220, 30, 30], [30, 200, 40], [40, 50, 230]][k];
    let (cx, cy, r) = (w as i64 / 2, h as i64 / 2, (w.min(h) as i64 * 3) / 8);
    image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        let inside = match k {
            0 => dx * dx + dy * dy <= r * r,
            1 => dx.abs() <= r && dy.abs() <= r,
            _ => dy <= r && dy >= -r && dx.abs() <= (dy + r) / 2,
        };
        if inside {
            image::Rgb(colour)
        } else {
            let g = 100 + rng.below(50) as u8;
            image::Rgb([g, g, g])
        }
    })
}

/// An image folder of coloured shapes: `DIR/train/<class>/` and `DIR/test/<class>/`,
/// PNG and JPEG mixed, sizes varied between 20 and 40 pixels a side.
fn shapes_folder(dir: &Path, train_per_class: usize, test_per_class: usize) {
    let mut rng = Lcg(7);
    for (k, class) in ["circle", "square", "triangle"].iter().enumerate() {
        for (part, n) in [("train", train_per_class), ("test", test_per_class)] {
            let folder = dir.join(part).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..n {
                let (w, h) = (20 + rng.below(21), 20 + rng.below(21));
                let ext = if i % 2 == 0 { "png" } else { "jpg" };
                shape_image(k, w, h, &mut rng).save(folder.join(format!("{i:03}.{ext}"))).unwrap();
            }
        }
    }
}

/// A version-1 `.npy` of `descr` and `shape` holding the raw bytes `data`.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while (h.len() + 11) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

/// An `.npz` (deflated, as `np.savez_compressed` writes) of `(name, npy bytes)`.
fn write_npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(format!("{name}.npy"), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn train_json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = strata(args);
    assert_eq!(code, 0, "{err}");
    last_json(&out)
}

#[test]
fn a_folder_of_colour_shapes_trains_evaluates_and_predicts() {
    let dir = temp_dir("formats-shapes");
    shapes_folder(&dir.join("shapes"), 12, 4);
    let data = dir.join("shapes");
    let out = dir.join("run");
    let (data, out) = (data.to_str().unwrap(), out.to_str().unwrap());
    // Mixed sizes need --image-size.
    let (code, _, err) = strata(&["train", "--model", "mlp", "--data", data, "--epochs", "1", "--out", out]);
    assert_clean_failure(code, &err, "--image-size");
    let args = ["train", "--model", "mlp", "--data", data, "--image-size", "16x16", "--batch-size", "8"];
    let j = train_json(&[&args[..], &["--epochs", "8", "--seed", "3", "--out", out, "--json", "--quiet"]].concat());
    let acc = j["test_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.75, "shapes of three colours are easy: {acc}");
    // Saved: 3x16x16 input, class names from the folders, a per-channel standardizer.
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run/model.json")).unwrap()).unwrap();
    assert_eq!(meta["input_shape"], serde_json::json!([3, 16, 16]));
    assert_eq!(meta["class_names"], serde_json::json!(["circle", "square", "triangle"]));
    assert_eq!(meta["standardize"]["mean"].as_array().unwrap().len(), 3);
    assert_eq!(meta["standardize"]["per_channel"], true);
    // eval resizes to the model's input by itself and gets the same figure.
    let model = dir.join("run/model.safetensors");
    let model = model.to_str().unwrap();
    let (code, out_e, err) = strata(&["eval", "--model-file", model, "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(last_json(&out_e)["test_accuracy"].as_f64().unwrap() as f32, acc as f32);
    // So does an ensemble of the model with itself.
    let twice = format!("{model},{model}");
    let (code, out_e, err) = strata(&["eval", "--model-file", &twice, "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(last_json(&out_e)["test_accuracy"].as_f64().unwrap() as f32, acc as f32);
    // predict takes a gray picture for this colour model, saying it converted it.
    let gray = dir.join("gray.png");
    image::GrayImage::from_pixel(30, 25, image::Luma([120])).save(&gray).unwrap();
    let (code, out_p, err) = strata(&["predict", "--model-file", model, gray.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: converted the gray picture") && err.contains("RGB"), "{err}");
    assert!(out_p.starts_with("0: "), "{out_p}");

    // --channels 1 trains a gray model on the same folder; predict converts colour to gray.
    let gray_out = dir.join("gray-run");
    let j = train_json(
        &[&args[..], &["--channels", "1", "--epochs", "1", "--out", gray_out.to_str().unwrap(), "--json", "--quiet"]].concat(),
    );
    assert!(j["test_accuracy"].as_f64().is_some());
    let colour = dir.join("shapes/test/circle/000.png");
    let gm = gray_out.join("model.safetensors");
    let (code, _, err) = strata(&["predict", "--model-file", gm.to_str().unwrap(), colour.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: converted the colour picture") && err.contains("to gray"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_flat_folder_is_split_and_eval_finds_the_same_held_out_images() {
    let dir = temp_dir("formats-flat");
    shapes_folder(&dir.join("all"), 10, 0);
    // No train/test: the class folders are DIR/train/<class>; use them as a flat folder.
    let flat = dir.join("all/train");
    std::fs::remove_dir_all(dir.join("all/test")).unwrap();
    let (data, out) = (flat.to_str().unwrap(), dir.join("run"));
    let (code, stdout, err) = strata(&[
        "train",
        "--model",
        "mlp",
        "--data",
        data,
        "--image-size",
        "12x12",
        "--epochs",
        "2",
        "--test-split",
        "0.3",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note:") && err.contains("9 images held out"), "{err}");
    let acc = last_json(&stdout)["test_accuracy"].as_f64().unwrap();
    let model = out.join("model.safetensors");
    let (code, stdout, err) =
        strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", data, "--test-split", "0.3", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("9 images held out"), "{err}");
    let j = last_json(&stdout);
    assert_eq!((j["samples"].as_u64(), j["test_accuracy"].as_f64().map(|v| v as f32)), (Some(9), Some(acc as f32)));
    std::fs::remove_dir_all(&dir).ok();
}

/// 28x28 digits-like images: a bar whose position is the class.
fn bars(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Lcg(seed);
    let mut px = vec![0u8; n * 784];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let k = rng.below(4) as usize;
        labels.push(k as u8);
        for r in 0..28 {
            for c in 0..28 {
                let on = c / 7 == k && r > 4 && r < 24;
                px[i * 784 + r * 28 + c] = if on { 200 + rng.below(56) as u8 } else { rng.below(60) as u8 };
            }
        }
    }
    (px, labels)
}

#[test]
fn lenet5_on_an_npz_matches_the_same_images_as_idx_files() {
    let dir = temp_dir("formats-npz-idx");
    let (xtr, ytr) = bars(192, 1);
    let (xte, yte) = bars(64, 2);
    let idx = dir.join("idx");
    std::fs::create_dir_all(&idx).unwrap();
    write_idx_u8(&idx.join("train-images-idx3-ubyte.gz"), &[192, 28, 28], &xtr, true).unwrap();
    write_idx_u8(&idx.join("train-labels-idx1-ubyte.gz"), &[192], &ytr, true).unwrap();
    write_idx_u8(&idx.join("t10k-images-idx3-ubyte"), &[64, 28, 28], &xte, false).unwrap();
    write_idx_u8(&idx.join("t10k-labels-idx1-ubyte"), &[64], &yte, false).unwrap();
    let npz = dir.join("bars.npz");
    let y64 = |y: &[u8]| y.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect::<Vec<u8>>();
    write_npz(
        &npz,
        &[
            ("x_train", npy("|u1", &[192, 28, 28], &xtr)),
            ("y_train", npy("<i8", &[192], &y64(&ytr))),
            ("x_test", npy("|u1", &[64, 28, 28], &xte)),
            ("y_test", npy("<i8", &[64], &y64(&yte))),
        ],
    );
    let run = |data: &Path, out: &str| {
        let out = dir.join(out);
        train_json(&[
            "train",
            "--model",
            "lenet5",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--seed",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--quiet",
        ])
    };
    let (a, b) = (run(&idx, "idx-run"), run(&npz, "npz-run"));
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    assert_eq!(a["test_loss"], b["test_loss"]);
    assert!(a["test_accuracy"].as_f64().unwrap() > 0.5, "{a}");
    // eval reads the npz too.
    let model = dir.join("npz-run/model.safetensors");
    let (code, out, err) = strata(&["eval", "--model-file", model.to_str().unwrap(), "--data", npz.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(last_json(&out)["test_accuracy"].as_f64().map(|v| v as f32), b["test_accuracy"].as_f64().map(|v| v as f32));
    std::fs::remove_dir_all(&dir).ok();
}

/// Ten classes of 32x32 RGB images (hue by class, noise), sorted by class: the order an
/// image folder reads them in.
fn colour_set(per_class: usize, seed: u64) -> Vec<(u8, Vec<u8>)> {
    let mut rng = Lcg(seed);
    (0..10u8)
        .flat_map(|k| (0..per_class).map(move |_| k))
        .map(|k| {
            let base = [(k as u32 * 25) % 256, (255 - k as u32 * 20) % 256, (k as u32 * 70) % 256];
            // Planar R, G, B as CIFAR stores them.
            let px = (0..3).flat_map(|c| (0..1024).map(move |_| c)).map(|c| (base[c] + rng.below(40)).min(255) as u8).collect();
            (k, px)
        })
        .collect()
}

#[test]
fn the_same_colour_images_as_folder_cifar_and_npz_train_alike() {
    let dir = temp_dir("formats-three");
    let (train, test) = (colour_set(6, 11), colour_set(2, 12));
    // Image folder: DIR/{train,test}/class_K/NNN.png (PNG: lossless).
    for (part, set) in [("train", &train), ("test", &test)] {
        for (i, (k, px)) in set.iter().enumerate() {
            let folder = dir.join("folder").join(part).join(format!("class_{k}"));
            std::fs::create_dir_all(&folder).unwrap();
            let img = image::RgbImage::from_fn(32, 32, |x, y| {
                let p = (y * 32 + x) as usize;
                image::Rgb([px[p], px[1024 + p], px[2048 + p]])
            });
            img.save(folder.join(format!("{i:04}.png"))).unwrap();
        }
    }
    // CIFAR-10 binary.
    let cifar = dir.join("cifar");
    std::fs::create_dir_all(&cifar).unwrap();
    let records =
        |set: &[(u8, Vec<u8>)]| set.iter().flat_map(|(k, px)| std::iter::once(*k).chain(px.iter().copied())).collect::<Vec<u8>>();
    std::fs::write(cifar.join("data_batch_1.bin"), records(&train)).unwrap();
    std::fs::write(cifar.join("test_batch.bin"), records(&test)).unwrap();
    // NumPy, channels last as Keras' cifar10 has them.
    let nhwc = |set: &[(u8, Vec<u8>)]| {
        set.iter().flat_map(|(_, px)| (0..1024).flat_map(move |p| (0..3).map(move |c| px[c * 1024 + p]))).collect::<Vec<u8>>()
    };
    let labels = |set: &[(u8, Vec<u8>)]| set.iter().map(|(k, _)| *k).collect::<Vec<u8>>();
    let npz = dir.join("colours.npz");
    write_npz(
        &npz,
        &[
            ("x_train", npy("|u1", &[60, 32, 32, 3], &nhwc(&train))),
            ("y_train", npy("|u1", &[60, 1], &labels(&train))),
            ("x_test", npy("|u1", &[20, 32, 32, 3], &nhwc(&test))),
            ("y_test", npy("|u1", &[20, 1], &labels(&test))),
        ],
    );
    let run = |data: &Path, out: &str| {
        train_json(&[
            "train",
            "--model",
            "mlp",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "4",
            "--batch-size",
            "10",
            "--optimizer",
            "adam",
            "--lr",
            "0.001",
            "--seed",
            "2",
            "--out",
            dir.join(out).to_str().unwrap(),
            "--json",
            "--quiet",
        ])
    };
    let (f, c, n) = (run(&dir.join("folder"), "f"), run(&cifar, "c"), run(&npz, "n"));
    assert_eq!(f["test_accuracy"], c["test_accuracy"], "folder vs CIFAR");
    assert_eq!(f["test_accuracy"], n["test_accuracy"], "folder vs npz");
    assert_eq!((&f["test_loss"], &f["test_loss"]), (&c["test_loss"], &n["test_loss"]));
    assert!(f["test_accuracy"].as_f64().unwrap() > 0.3, "{f}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cifar_names_resolve_under_strata_data() {
    let dir = temp_dir("formats-cifar-name");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["train", "--model", "mlp", "--data", "cifar10", "--epochs", "1", "--quiet", "--json"])
            .args(["--out", dir.join("run").to_str().unwrap()])
            .env("STRATA_DATA", &dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run();
    assert_clean_failure(code, &err, "data_batch_1.bin");
    assert!(err.contains(dir.join("cifar10").to_str().unwrap()), "{err}");
    // The archive's folder inside $STRATA_DATA/cifar10 is found.
    let sub = dir.join("cifar10/cifar-10-batches-bin");
    std::fs::create_dir_all(&sub).unwrap();
    let set = colour_set(2, 3);
    let bytes: Vec<u8> = set.iter().flat_map(|(k, px)| std::iter::once(*k).chain(px.iter().copied())).collect();
    std::fs::write(sub.join("data_batch_1.bin"), &bytes).unwrap();
    std::fs::write(sub.join("test_batch.bin"), &bytes).unwrap();
    let (code, out, err) = run();
    assert_eq!(code, 0, "{err}");
    assert!(last_json(&out)["test_accuracy"].as_f64().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

/// Every bad input: one line naming the culprit, exit 1.
#[test]
fn bad_inputs_are_one_line_errors_naming_the_culprit() {
    let dir = temp_dir("formats-bad");
    let train = |data: &Path, extra: &[&str]| {
        let out = dir.join("run");
        let args = ["train", "--model", "mlp", "--data", data.to_str().unwrap(), "--epochs", "1", "--quiet"];
        strata(&[&args[..], &["--out", out.to_str().unwrap()], extra].concat())
    };
    let folder = dir.join("folder");
    let mut rng = Lcg(1);
    for (k, class) in ["a", "b"].iter().enumerate() {
        for i in 0..3 {
            std::fs::create_dir_all(folder.join(class)).unwrap();
            shape_image(k, 8, 8, &mut rng).save(folder.join(class).join(format!("{i}.png"))).unwrap();
        }
    }
    // An empty class folder.
    std::fs::create_dir_all(folder.join("c")).unwrap();
    let (code, _, err) = train(&folder, &[]);
    assert_clean_failure(code, &err, &folder.join("c").display().to_string());
    assert!(err.contains("no pictures"), "{err}");
    std::fs::remove_dir(folder.join("c")).unwrap();
    // A file that is not a picture (by name), then one that is not (by content).
    let notes = folder.join("a/notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let (code, _, err) = train(&folder, &[]);
    assert_clean_failure(code, &err, "notes.txt");
    let (code, _, err) = train(&folder, &["--skip-bad"]);
    assert_eq!(code, 0, "--skip-bad skips it: {err}");
    assert!(err.contains("warning: skipped") && err.contains("notes.txt"), "{err}");
    std::fs::remove_file(&notes).unwrap();
    std::fs::write(folder.join("a/fake.png"), "not a png at all").unwrap();
    let (code, _, err) = train(&folder, &[]);
    assert_clean_failure(code, &err, "fake.png");
    std::fs::remove_file(folder.join("a/fake.png")).unwrap();
    // A truncated JPEG: a whole one cut in half.
    let jpeg = folder.join("b/cut.jpg");
    shape_image(1, 64, 64, &mut rng).save(&jpeg).unwrap();
    let bytes = std::fs::read(&jpeg).unwrap();
    std::fs::write(&jpeg, &bytes[..bytes.len() / 3]).unwrap();
    let (code, _, err) = train(&folder, &["--image-size", "8x8"]);
    assert_clean_failure(code, &err, "cut.jpg");
    let (code, _, err) = train(&folder, &["--image-size", "8x8", "--skip-bad"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: skipped 1 unreadable files") && err.contains("cut.jpg"), "{err}");
    // Mixed sizes without --image-size (the whole JPEG is 64x64, the rest 8x8).
    std::fs::write(&jpeg, &bytes).unwrap();
    let (code, _, err) = train(&folder, &[]);
    assert_clean_failure(code, &err, "cut.jpg");
    assert!(err.contains("--image-size"), "{err}");
    // A CIFAR file of the wrong length.
    let cifar = dir.join("cifar");
    std::fs::create_dir_all(&cifar).unwrap();
    std::fs::write(cifar.join("data_batch_1.bin"), vec![1u8; 3073 * 2]).unwrap();
    std::fs::write(cifar.join("test_batch.bin"), vec![1u8; 3073 + 100]).unwrap();
    let (code, _, err) = train(&cifar, &[]);
    assert_clean_failure(code, &err, "test_batch.bin");
    assert!(err.contains("3173 bytes") && err.contains("3073-byte records"), "{err}");
    // npz without y_test; x and y of different lengths.
    let npz = dir.join("bad.npz");
    let x = npy("|u1", &[4, 2, 2], &[9; 16]);
    write_npz(&npz, &[("x_train", x.clone()), ("y_train", npy("|u1", &[4], &[0, 1, 0, 1])), ("x_test", x.clone())]);
    let (code, _, err) = train(&npz, &[]);
    assert_clean_failure(code, &err, "bad.npz");
    assert!(err.contains("no y_test array"), "{err}");
    write_npz(
        &npz,
        &[
            ("x_train", x.clone()),
            ("y_train", npy("|u1", &[3], &[0, 1, 0])),
            ("x_test", x),
            ("y_test", npy("|u1", &[4], &[0, 1, 0, 1])),
        ],
    );
    let (code, _, err) = train(&npz, &[]);
    assert_clean_failure(code, &err, "bad.npz");
    assert!(err.contains("y_train") && err.contains("x_train holds 4"), "{err}");
    // Flags that do not apply to the format.
    let (code, _, err) = train(&npz, &["--image-size", "4x4"]);
    assert_clean_failure(code, &err, "image-size");
    let (code, _, err) = train(&npz, &["--channels", "2"]);
    assert_clean_failure(code, &err, "--channels");
    std::fs::remove_dir_all(&dir).ok();
}

/// The decoded size is checked against the memory before any picture is decoded, when the
/// cache budget asks for the pictures in memory.
#[test]
fn a_folder_too_large_for_memory_is_refused_before_decoding() {
    let dir = temp_dir("formats-memory");
    let mut rng = Lcg(5);
    for (k, class) in ["a", "b"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        shape_image(k, 8, 8, &mut rng).save(dir.join(class).join("0.png")).unwrap();
        shape_image(k, 8, 8, &mut rng).save(dir.join(class).join("1.png")).unwrap();
    }
    // 4 pictures of 3x4096x4096 floats: 768 MiB.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["train", "--model", "mlp", "--data", dir.to_str().unwrap(), "--image-size", "4096x4096", "--quiet"])
        // A budget above the memory asks for the pictures in memory (the default budget,
        // half the available memory, would stream them instead).
        .args(["--cache-mb", "100000"])
        .env("STRATA_MEMORY_MB", "100")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_clean_failure(out.status.code().unwrap_or(-1), &err, dir.to_str().unwrap());
    assert!(err.contains("needs 768.0 MiB") && err.contains("available"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Trains `args` and returns the JSON summary and stderr.
fn train_with_stderr(args: &[&str]) -> (serde_json::Value, String) {
    let (code, out, err) = strata(args);
    assert_eq!(code, 0, "{err}");
    (last_json(&out), err)
}

/// A folder over the cache budget is streamed from disk (batches decoded ahead on another
/// thread) and trains exactly as the same folder in memory: same standardization, batches,
/// augmentation (with colour jitter), validation split, figures.
#[test]
fn a_folder_over_the_cache_budget_streams_and_trains_exactly_as_cached() {
    let dir = temp_dir("formats-stream");
    shapes_folder(&dir.join("shapes"), 12, 4);
    let data = dir.join("shapes");
    let data = data.to_str().unwrap();
    let run = |cache: &str, out: &str, extra: &[&str]| {
        let out = dir.join(out);
        let args = [
            "train",
            "--model",
            "mlp",
            "--data",
            data,
            "--image-size",
            "12x12",
            "--batch-size",
            "8",
            "--epochs",
            "3",
            "--seed",
            "5",
            "--augment",
            "crop:2,flip,jitter:0.3",
            "--validation-split",
            "0.25",
            "--cache-mb",
            cache,
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--quiet",
        ];
        train_with_stderr(&[&args[..], extra].concat())
    };
    // 48 pictures of 3x12x12 floats: 81 KiB, over a budget of 0 MiB, under one of 64.
    let (cached, err_c) = run("64", "cached", &[]);
    let (streamed, err_s) = run("0", "streamed", &[]);
    assert!(!err_c.contains("streaming"), "{err_c}");
    assert!(err_s.contains("streaming") && err_s.contains("--cache-mb"), "{err_s}");
    assert_eq!(cached["test_accuracy"], streamed["test_accuracy"]);
    assert_eq!(cached["test_loss"], streamed["test_loss"]);
    for epoch in 0..3 {
        for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
            assert_eq!(cached["history"][epoch][key], streamed["history"][epoch][key], "epoch {epoch} {key}");
        }
    }
    assert!(cached["history"][2]["val_loss"].as_f64().is_some(), "{cached}");
    // The standardizer saved with the streamed model is the one fitted in memory.
    let meta = |run: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(run).join("model.json")).unwrap()).unwrap()
    };
    assert_eq!(meta("cached")["standardize"], meta("streamed")["standardize"]);
    // Gray, and a flat folder split by --test-split: still the same.
    let flat = dir.join("flat");
    for class in ["circle", "square", "triangle"] {
        std::fs::create_dir_all(flat.join(class)).unwrap();
        for part in ["train", "test"] {
            for f in std::fs::read_dir(dir.join("shapes").join(part).join(class)).unwrap() {
                let f = f.unwrap().path();
                let name = format!("{part}-{}", f.file_name().unwrap().to_string_lossy());
                std::fs::copy(&f, flat.join(class).join(name)).unwrap();
            }
        }
    }
    let gray = |cache: &str, out: &str| {
        let out = dir.join(out);
        train_json(&[
            "train",
            "--model",
            "mlp",
            "--data",
            flat.to_str().unwrap(),
            "--image-size",
            "12x12",
            "--channels",
            "1",
            "--batch-size",
            "8",
            "--epochs",
            "2",
            "--seed",
            "2",
            "--augment",
            "jitter:0.5",
            "--cache-mb",
            cache,
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--quiet",
        ])
    };
    let (a, b) = (gray("64", "gray-cached"), gray("0", "gray-streamed"));
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    assert_eq!(a["history"][1]["loss"], b["history"][1]["loss"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// What needs the pictures in memory (the baselines, pretraining) says so when they are
/// streamed, naming --cache-mb.
#[test]
fn streamed_pictures_are_refused_where_memory_is_needed() {
    let dir = temp_dir("formats-stream-refused");
    shapes_folder(&dir.join("shapes"), 3, 1);
    let data = dir.join("shapes");
    for model in ["knn", "sae"] {
        let (code, _, err) = strata(&[
            "train",
            "--model",
            model,
            "--data",
            data.to_str().unwrap(),
            "--image-size",
            "8x8",
            "--cache-mb",
            "0",
            "--quiet",
            "--out",
            dir.join(model).to_str().unwrap(),
        ]);
        assert_clean_failure(code, &err, "--cache-mb");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The ten photographs patches are cut from (`crates/strata/tests/data/photos`, 64x64; see
/// LICENCES.txt there), sorted by name: the classes.
fn photos() -> Vec<(String, image::DynamicImage)> {
    let dir = fixture("photos");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 10, "ten photographs in {}", dir.display());
    files.iter().map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), image::open(p).unwrap())).collect()
}

/// A natural-photo image folder: `DIR/train/<photo>/` and `DIR/test/<photo>/`, patches of
/// side 16 to 48 pixels cut at random places of the ten photographs (mirrored at random),
/// PNG and JPEG alternating, gray photographs kept gray.
fn photo_folder(dir: &Path, train_per_class: usize, test_per_class: usize, seed: u64) {
    let mut rng = Lcg(seed);
    for (class, photo) in photos() {
        for (part, n) in [("train", train_per_class), ("test", test_per_class)] {
            let folder = dir.join(part).join(&class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..n {
                let (w, h) = (16 + rng.below(33), 16 + rng.below(33));
                let (x, y) = (rng.below(64 - w + 1), rng.below(64 - h + 1));
                let mut patch = photo.crop_imm(x, y, w, h);
                if rng.below(2) == 1 {
                    patch = patch.fliph();
                }
                let ext = if i % 2 == 0 { "png" } else { "jpg" };
                patch.save(folder.join(format!("{i:05}.{ext}"))).unwrap();
            }
        }
    }
}

/// The pictures of the image folder `folder`, read as strata reads them with
/// `--image-size 32x32` (same decoder, same resize), as CIFAR-10 records (label, planar
/// RGB) of its train and test parts, in strata's order (classes, then files, sorted).
fn folder_as_records(folder: &Path) -> [Vec<(u8, Vec<u8>)>; 2] {
    let read = |part: &str| {
        let mut classes: Vec<PathBuf> = std::fs::read_dir(folder.join(part)).unwrap().map(|e| e.unwrap().path()).collect();
        classes.sort();
        let mut out = Vec::new();
        for (k, class) in classes.iter().enumerate() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(class).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                let img = image::ImageReader::open(&f).unwrap().with_guessed_format().unwrap().decode().unwrap();
                let img = if (img.width(), img.height()) == (32, 32) {
                    img
                } else {
                    img.resize_exact(32, 32, image::imageops::FilterType::Triangle)
                };
                let rgb = img.to_rgb8();
                let px = (0..3).flat_map(|c| rgb.pixels().map(move |p| p.0[c])).collect();
                out.push((k as u8, px));
            }
        }
        out
    };
    [read("train"), read("test")]
}

/// `records` (train, test) as CIFAR-10 binary files in `cifar` and a Keras-layout `.npz`.
fn write_cifar_and_npz(records: &[Vec<(u8, Vec<u8>)>; 2], cifar: &Path, npz: &Path) {
    std::fs::create_dir_all(cifar).unwrap();
    let bin =
        |set: &[(u8, Vec<u8>)]| set.iter().flat_map(|(k, px)| std::iter::once(*k).chain(px.iter().copied())).collect::<Vec<u8>>();
    std::fs::write(cifar.join("data_batch_1.bin"), bin(&records[0])).unwrap();
    std::fs::write(cifar.join("test_batch.bin"), bin(&records[1])).unwrap();
    let nhwc = |set: &[(u8, Vec<u8>)]| {
        set.iter().flat_map(|(_, px)| (0..1024).flat_map(move |p| (0..3).map(move |c| px[c * 1024 + p]))).collect::<Vec<u8>>()
    };
    let labels = |set: &[(u8, Vec<u8>)]| set.iter().map(|(k, _)| *k).collect::<Vec<u8>>();
    let (ntr, nte) = (records[0].len(), records[1].len());
    write_npz(
        npz,
        &[
            ("x_train", npy("|u1", &[ntr, 32, 32, 3], &nhwc(&records[0]))),
            ("y_train", npy("|u1", &[ntr], &labels(&records[0]))),
            ("x_test", npy("|u1", &[nte, 32, 32, 3], &nhwc(&records[1]))),
            ("y_test", npy("|u1", &[nte], &labels(&records[1]))),
        ],
    );
}

/// Done means of issue 15 in small: resnet20 on a folder of natural-photo patches (ten
/// classes, PNG and JPEG, sizes 16 to 48 resized to 32x32) trains to the same accuracy as
/// the same pictures as CIFAR-10 binary files and as an `.npz`.
#[test]
fn resnet20_on_photo_patches_matches_as_folder_cifar_and_npz() {
    let dir = temp_dir("formats-photos");
    let folder = dir.join("photos");
    photo_folder(&folder, 4, 2, 3);
    let records = folder_as_records(&folder);
    assert_eq!((records[0].len(), records[1].len()), (40, 20));
    write_cifar_and_npz(&records, &dir.join("cifar"), &dir.join("photos.npz"));
    let run = |data: &Path, out: &str, size: &[&str]| {
        let out = dir.join(out);
        let args = [
            "train",
            "--model",
            "resnet20",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "20",
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--quiet",
        ];
        train_json(&[&args[..], size].concat())
    };
    let f = run(&folder, "f", &["--image-size", "32x32"]);
    let c = run(&dir.join("cifar"), "c", &[]);
    let n = run(&dir.join("photos.npz"), "n", &[]);
    let acc = |j: &serde_json::Value| j["test_accuracy"].as_f64().unwrap();
    assert!((acc(&f) - acc(&c)).abs() <= 0.01 && (acc(&f) - acc(&n)).abs() <= 0.01, "{f} {c} {n}");
    // The same bytes in: the very same run.
    assert_eq!((&f["test_loss"], &c["test_loss"]), (&n["test_loss"], &n["test_loss"]));
    assert!(f["params"].as_u64().unwrap() > 270_000, "{f}");
    // `filters` draws the colour first-layer kernels as RGB composites: 16 kernels of 3x3.
    let png = dir.join("filters.png");
    let model = dir.join("f/model.safetensors");
    let (code, out, err) = strata(&["filters", "--model-file", model.to_str().unwrap(), "--out", png.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("16 filters"), "{out}");
    let img = image::open(&png).unwrap().to_rgb8();
    let coloured = img.pixels().filter(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2]).count();
    assert!(coloured > img.pixels().len() / 4, "RGB kernels are drawn in colour: {coloured} coloured pixels");
}

/// Writes bigger photo folders for BENCHMARKS.md: `STRATA_PHOTOS_DIR=DIR
/// STRATA_PHOTOS_PER_CLASS=N cargo test --release -p strata-cli --test formats -- --ignored
/// write_photo_folders` makes DIR/photos (N train and N/5 test patches per class),
/// DIR/cifar and DIR/photos.npz.
#[test]
#[ignore]
fn write_photo_folders() {
    let dir = PathBuf::from(std::env::var("STRATA_PHOTOS_DIR").expect("STRATA_PHOTOS_DIR"));
    let n: usize = std::env::var("STRATA_PHOTOS_PER_CLASS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let folder = dir.join("photos");
    photo_folder(&folder, n, (n / 5).max(1), 1);
    if std::env::var("STRATA_PHOTOS_FOLDER_ONLY").is_err() {
        write_cifar_and_npz(&folder_as_records(&folder), &dir.join("cifar"), &dir.join("photos.npz"));
    }
}

/// A picture whose header reads but whose pixels do not (a truncated PNG) is found by the
/// opening pass of a streamed folder: an error naming it, or skipped under --skip-bad.
#[test]
fn a_truncated_picture_in_a_streamed_folder_is_named_or_skipped() {
    let dir = temp_dir("formats-stream-bad");
    shapes_folder(&dir.join("shapes"), 4, 2);
    let bad = dir.join("shapes/train/square/000.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let (data, out) = (dir.join("shapes"), dir.join("run"));
    let args = [
        "train",
        "--model",
        "mlp",
        "--data",
        data.to_str().unwrap(),
        "--image-size",
        "8x8",
        "--cache-mb",
        "0",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let (code, _, err) = strata(&args);
    assert_clean_failure(code, &err, "square/000.png");
    let (code, _, err) = strata(&[&args[..], &["--skip-bad", "--json"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped 1") && err.contains("000.png") && err.contains("streaming"), "{err}");
}
