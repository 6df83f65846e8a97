//! Data-parallel training over MPI (`--features mpi`; needs OpenMPI's `mpirun`).
//!
//! Each test drives `mpirun` on the built `strata` binary under `timeout`, so a hang fails
//! the test instead of blocking it.
#![cfg(feature = "mpi")]

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::data::idx::write_idx_u8;
use strata::io::load_tensors;

const STRATA: &str = env!("CARGO_BIN_EXE_strata");
/// Seconds before a run counts as hung (and `timeout` stops it).
const HANG_SECONDS: u64 = 120;

/// MNIST-format data: 100 train and 20 test images of 8x8 in 3 classes, each class a
/// brighter band in its own rows (learnable), with some noise.
fn tiny_images(dir: &Path, flip_label: bool) {
    let make = |n: usize, salt: usize| {
        let labels: Vec<u8> = (0..n).map(|i| ((i * 7 + salt) % 3) as u8).collect();
        let px: Vec<u8> = (0..n * 64)
            .map(|k| {
                let (i, p) = (k / 64, k % 64);
                let band = (p / 8) / 3 == labels[i] as usize;
                ((if band { 150 } else { 30 }) + (k * 37 + salt) % 60) as u8
            })
            .collect();
        (px, labels)
    };
    let (px, mut labels) = make(100, 0);
    if flip_label {
        labels[99] = (labels[99] + 1) % 3;
    }
    write_idx_u8(&dir.join("train-images-idx3-ubyte"), &[100, 8, 8], &px, false).unwrap();
    write_idx_u8(&dir.join("train-labels-idx1-ubyte"), &[100], &labels, false).unwrap();
    let (px, labels) = make(20, 1);
    write_idx_u8(&dir.join("t10k-images-idx3-ubyte"), &[20, 8, 8], &px, false).unwrap();
    write_idx_u8(&dir.join("t10k-labels-idx1-ubyte"), &[20], &labels, false).unwrap();
}

/// A small conv net (no dropout or batch norm, so any number of ranks gives the same weights).
fn tiny_convnet(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.toml");
    std::fs::write(
        &p,
        r#"name = "tiny"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
padding = "same"
activation = "relu"
[[layers]]
type = "pool2d"
pool = "max"
window = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 16
activation = "tanh"
[[layers]]
type = "dense"
units = 3
[training]
optimizer = "sgd"
lr = 0.05
momentum = 0.9
"#,
    )
    .unwrap();
    p
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `timeout mpirun ARGS`, allowed to run as root (CI containers) and on few cores.
fn mpirun(args: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let out = Command::new("timeout")
        .args(["-k", "10", &HANG_SECONDS.to_string(), "mpirun", "--oversubscribe"])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("RAYON_NUM_THREADS", "1")
        // Containers often forbid the cross-process memory reads (CMA) of OpenMPI's
        // shared-memory transport; plain copies work everywhere.
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .output()
        .expect("run mpirun (install openmpi-bin)");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // (Exit codes cannot tell: mpirun itself exits 137 when a rank was killed by SIGKILL.)
    assert!(start.elapsed().as_secs() < HANG_SECONDS, "mpirun hung (stopped after {HANG_SECONDS}s); stderr: {}", run.stderr);
    run
}

fn train_args<'a>(model: &'a str, data: &'a str, out: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![STRATA, "train", "--model", model, "--data", data, "--epochs", "3", "--batch-size", "10", "--seed", seed, "--out", out]
}

fn max_relative_difference(a: &Path, b: &Path) -> f32 {
    let (ta, tb) = (load_tensors(a).unwrap(), load_tensors(b).unwrap());
    assert_eq!(ta.len(), tb.len());
    assert!(!ta.is_empty());
    let mut worst = 0.0f32;
    for ((na, x), (nb, y)) in ta.iter().zip(&tb) {
        assert_eq!((na, x.shape()), (nb, y.shape()));
        // Relative to the tensor's largest weight, so a weight near zero is not divided by ~0.
        let scale = x.data().iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        for (u, v) in x.data().iter().zip(y.data()) {
            worst = worst.max((u - v).abs() / scale);
        }
    }
    worst
}

fn losses(history_csv: &Path) -> Vec<f32> {
    let text = std::fs::read_to_string(history_csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "loss").unwrap();
    lines.map(|l| l.split(',').nth(col).unwrap().parse().unwrap()).collect()
}

#[test]
fn two_and_three_ranks_train_the_same_weights_as_one_process() {
    let d = temp_dir("same");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let one = d.join("one");
    let mut args = train_args(model, data, one.to_str().unwrap(), "3");
    args.push("--quiet");
    let out = Command::new(STRATA).args(&args[1..]).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 100 samples in global batches of 10: slices of 5+5 on 2 ranks, 4+3+3 on 3 ranks.
    for n in ["2", "3"] {
        let dir = d.join(format!("ranks{n}"));
        let mut args = vec!["-n", n];
        args.extend(train_args(model, data, dir.to_str().unwrap(), "3"));
        args.push("--distributed");
        let r = mpirun(&args);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
        assert!(r.stdout.contains(&format!("distributed: {n} ranks")), "{}", r.stdout);
        // Rank 0 alone prints: one summary line, not n.
        assert_eq!(r.stdout.matches("test accuracy").count(), 1, "{}", r.stdout);
        let diff = max_relative_difference(&one.join("model.safetensors"), &dir.join("model.safetensors"));
        assert!(diff <= 1e-5, "{n} ranks: weights differ from one process by {diff:e} (relative)");
        let (l1, ln) = (losses(&one.join("history.csv")), losses(&dir.join("history.csv")));
        assert_eq!(l1.len(), 3);
        for (a, b) in l1.iter().zip(&ln) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{n} ranks: epoch losses {l1:?} vs {ln:?}");
        }
        assert!(l1[2] < l1[0], "training should lower the loss: {l1:?}");
    }
    // The all-reduce in buckets started during the backward pass (1 KiB: the last two
    // layers, then the first with the flags and statistics) sums the same numbers.
    for n in ["2", "3"] {
        let dir = d.join(format!("buckets{n}"));
        let mut args = vec!["-n", n];
        args.extend(train_args(model, data, dir.to_str().unwrap(), "3"));
        args.extend(["--distributed", "--bucket-kib", "1", "--json"]);
        let r = mpirun(&args);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
        let json = last_json(&r.stdout);
        assert_eq!(json["distributed"]["allreduce_buckets_per_step"], 2, "{json}");
        assert_eq!(json["distributed"]["allreduce_steps"], 30, "{json}");
        let diff = max_relative_difference(&one.join("model.safetensors"), &dir.join("model.safetensors"));
        assert!(diff <= 1e-5, "{n} ranks in buckets: weights differ from one process by {diff:e} (relative)");
    }
}

#[test]
fn a_global_batch_smaller_than_the_ranks_leaves_some_ranks_idle_but_correct() {
    let d = temp_dir("idle");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let run = |n: &str, out: &Path| {
        let mut args = vec!["-n", n, STRATA, "train", "--model", model, "--data", data, "--epochs", "1", "--batch-size", "2"];
        args.extend(["--seed", "5", "--quiet", "--distributed", "--out", out.to_str().unwrap()]);
        let r = mpirun(&args);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    };
    // Batch 2 on 3 ranks: rank 2 never has a sample, and still takes part in every step.
    run("1", &d.join("one"));
    run("3", &d.join("three"));
    let diff = max_relative_difference(&d.join("one/model.safetensors"), &d.join("three/model.safetensors"));
    assert!(diff <= 1e-5, "weights differ by {diff:e}");
}

/// The lines strata itself printed to stderr (OpenMPI adds its own banners).
fn strata_errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error:")).collect()
}

fn assert_no_panic(r: &Run) {
    assert!(!r.stderr.contains("panicked") && !r.stderr.contains("internal error"), "panic: {}", r.stderr);
}

#[test]
fn a_different_seed_on_one_rank_stops_every_rank_with_one_line() {
    let d = temp_dir("seed");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let out = d.join("out");
    let mut args = vec!["-n", "1"];
    args.extend(train_args(model, data, out.to_str().unwrap(), "1"));
    args.extend(["--distributed", ":", "-n", "1"]);
    args.extend(train_args(model, data, out.to_str().unwrap(), "2"));
    args.push("--distributed");
    let r = mpirun(&args);
    assert_ne!(r.code, 0);
    assert_no_panic(&r);
    assert_eq!(strata_errors(&r.stderr), vec!["error: distributed: rank 1 differs from rank 0 in seed (2 vs 1)"], "{}", r.stderr);
    assert!(!out.join("model.safetensors").exists(), "nothing should be trained");
}

#[test]
fn different_data_on_one_rank_is_named() {
    let d = temp_dir("data");
    let (a, b) = (d.join("a"), d.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    tiny_images(&a, false);
    tiny_images(&b, true); // one label differs
    let model = tiny_convnet(&d);
    let model = model.to_str().unwrap();
    let out = d.join("out");
    let mut args = vec!["-n", "1"];
    args.extend(train_args(model, a.to_str().unwrap(), out.to_str().unwrap(), "1"));
    args.extend(["--distributed", ":", "-n", "1"]);
    args.extend(train_args(model, b.to_str().unwrap(), out.to_str().unwrap(), "1"));
    args.push("--distributed");
    let r = mpirun(&args);
    assert_ne!(r.code, 0);
    assert_no_panic(&r);
    let errors = strata_errors(&r.stderr);
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].starts_with("error: distributed: rank 1 differs from rank 0 in training data contents"), "{}", errors[0]);
}

#[test]
fn a_rank_whose_data_is_missing_ends_the_whole_job() {
    let d = temp_dir("missing");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let out = d.join("out");
    let mut args = vec!["-n", "1"];
    args.extend(train_args(model, data, out.to_str().unwrap(), "1"));
    args.extend(["--distributed", ":", "-n", "1"]);
    args.extend(train_args(model, "/nonexistent/strata-data", out.to_str().unwrap(), "1"));
    args.push("--distributed");
    // Rank 0 loads its data and waits for rank 1 in the first collective; rank 1 fails.
    let r = mpirun(&args);
    assert_ne!(r.code, 0);
    assert_no_panic(&r);
    let errors = strata_errors(&r.stderr);
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].starts_with("error: rank 1 of 2: ") && errors[0].contains("/nonexistent/strata-data"), "{}", errors[0]);
}

#[test]
fn a_rank_killed_during_training_ends_the_whole_job() {
    let d = temp_dir("killed");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let out = d.join("out");
    let long = |out: &Path| -> Vec<String> {
        let mut v: Vec<String> = train_args(model, data, out.to_str().unwrap(), "1").iter().map(|s| s.to_string()).collect();
        v[7] = "100000".into(); // --epochs: far longer than the test may take
        v.extend(["--distributed".into(), "--quiet".into()]);
        v
    };
    let mut args: Vec<String> = ["-n", "1"].iter().map(|s| s.to_string()).collect();
    args.extend(long(&out));
    // Rank 1 is killed (SIGKILL) two seconds in, in the middle of training.
    args.extend([":", "-n", "1", "timeout", "-s", "KILL", "2"].iter().map(|s| s.to_string()));
    args.extend(long(&d.join("out1")));
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let start = std::time::Instant::now();
    let r = mpirun(&args);
    assert_ne!(r.code, 0, "rank 0 cannot finish without rank 1");
    assert_no_panic(&r);
    assert!(r.stderr.contains("signal 9"), "mpirun should report the killed rank: {}", r.stderr);
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}

#[test]
fn a_diverging_loss_stops_every_rank_with_one_line() {
    let d = temp_dir("diverge");
    let iris = &fixture("iris.csv").to_string_lossy().into_owned();
    let out = d.join("out");
    let args = ["-n", "2", STRATA, "train", "--model", "mlp", "--data", iris, "--epochs", "3", "--batch-size", "10"];
    let args: Vec<&str> = args.iter().copied().chain(["--lr", "1e30", "--out", out.to_str().unwrap(), "--distributed"]).collect();
    // The summed loss is the same on every rank, so all stop in the same step.
    let r = mpirun(&args);
    assert_ne!(r.code, 0);
    assert_no_panic(&r);
    let errors = strata_errors(&r.stderr);
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].starts_with("error: loss became NaN at epoch 1") && errors[0].contains("diverged"), "{}", errors[0]);
}

// ---- Several hosts: scripts/multihost.sh, network namespaces joined by a bridge, TCP only ----

/// Why the multi-host tests cannot run here (they need root and network namespaces), if so.
fn netns_unavailable() -> Option<String> {
    let probe = format!("strata-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(o) if o.status.success() => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).status();
            None
        }
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Some(format!("cannot run `ip`: {e}")),
    }
}

/// `scripts/multihost.sh N ARGS` with this build of strata, under `timeout`.
fn multihost(n: usize, args: &[&str]) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/multihost.sh");
    let start = std::time::Instant::now();
    let out = Command::new("timeout")
        .args(["-k", "10", &HANG_SECONDS.to_string()])
        .arg(&script)
        .arg(n.to_string())
        .args(args)
        .env("STRATA_BIN", STRATA)
        .env("MULTIHOST_TIMEOUT", (HANG_SECONDS - 20).to_string())
        .output()
        .expect("run scripts/multihost.sh");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(start.elapsed().as_secs() < HANG_SECONDS, "multihost.sh hung; stderr: {}", run.stderr);
    // The script removes what it made, whatever happened (other tests' hosts may be up).
    let first_host = run.stderr.split_whitespace().find(|w| w.starts_with("mh") && w.contains("h0..")).expect("the hosts' names");
    let prefix = &first_host[..first_host.find("h0..").unwrap() + 1];
    let left = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(!left.lines().any(|l| l.starts_with(prefix)), "namespaces {prefix}* left behind: {left}");
    run
}

#[test]
fn two_hosts_over_tcp_train_the_same_weights_as_one_process() {
    if let Some(why) = netns_unavailable() {
        eprintln!("skipped: network namespaces are not available here ({why})");
        return;
    }
    let d = temp_dir("hosts");
    tiny_images(&d, false);
    let model = tiny_convnet(&d);
    let (data, model) = (d.to_str().unwrap(), model.to_str().unwrap());
    let one = d.join("one");
    let args = train_args(model, data, one.to_str().unwrap(), "4");
    let out = Command::new(STRATA).args(&args[1..]).arg("--quiet").env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let two = d.join("two");
    let r = multihost(2, &train_args(model, data, two.to_str().unwrap(), "4")[2..]); // the script says `strata train`
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stderr.contains("2 hosts"), "{}", r.stderr);
    let json = last_json(&r.stdout);
    assert_eq!(json["distributed"]["ranks"], 2, "{json}");
    assert!(json["distributed"]["allreduce_calls"].as_u64().unwrap() >= 30, "{json}");
    let diff = max_relative_difference(&one.join("model.safetensors"), &two.join("model.safetensors"));
    assert!(diff <= 1e-5, "2 hosts: weights differ from one process by {diff:e} (relative)");
}

/// A long run on 3 hosts, the failure injected 4 s in; returns the run and its --out.
fn failing_run(d: &Path, failure: &str, rank: &str) -> (Run, std::path::PathBuf) {
    tiny_images(d, false);
    let model = tiny_convnet(d);
    let out = d.join("out");
    let mut args = vec![failure, rank, "--after", "4"];
    let train = train_args(model.to_str().unwrap(), d.to_str().unwrap(), out.to_str().unwrap(), "1");
    args.extend(&train[2..]); // the script says `strata train`
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let epochs = args.iter().position(|a| *a == "--epochs").unwrap() + 1;
    args[epochs] = "100000"; // far longer than the test may take
    args.extend(["--quiet", "--comm-timeout", "5"]);
    let start = std::time::Instant::now();
    let r = multihost(3, &args);
    assert!(start.elapsed().as_secs() < 60, "the job took {:?} to end", start.elapsed());
    assert_ne!(r.code, 0, "the job cannot finish without a rank");
    assert_no_panic(&r);
    (r, out)
}

/// The last checkpoint of a failed run loads, and training resumes from it on one process.
/// (On a slow machine the failure can come before the first epoch ends: then there is no
/// checkpoint to check, which is said rather than failed.)
fn resumes_after(out: &Path, data: &Path) {
    let checkpoint = strata::model::checkpoint_path(out);
    if !checkpoint.exists() {
        eprintln!("note: the failure came before the first checkpoint; resume not checked");
        return;
    }
    let (_, epoch) = strata::model::Checkpoint::read_training(&checkpoint).expect("the last checkpoint loads");
    assert!(epoch >= 1, "a checkpoint after epoch {epoch}");
    let model = data.join("tiny.toml");
    let target = (epoch + 2).to_string();
    let args = ["train", "--model", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "--epochs", &target];
    let r = Command::new(STRATA)
        .args(args)
        .args(["--batch-size", "10", "--seed", "1", "--out", out.to_str().unwrap(), "--resume", "--quiet"])
        .output()
        .unwrap();
    assert!(r.status.success(), "resume: {}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains(&format!("resuming after epoch {epoch}")));
}

#[test]
fn a_rank_killed_on_another_host_ends_the_job_and_the_checkpoint_resumes() {
    if let Some(why) = netns_unavailable() {
        eprintln!("skipped: network namespaces are not available here ({why})");
        return;
    }
    let d = temp_dir("host-killed");
    let (r, out) = failing_run(&d, "--kill-rank", "2");
    assert!(r.stderr.contains("killing rank 2"), "{}", r.stderr);
    resumes_after(&out, &d);
}

#[test]
fn a_host_cut_off_the_network_ends_the_job_with_one_line_per_rank() {
    if let Some(why) = netns_unavailable() {
        eprintln!("skipped: network namespaces are not available here ({why})");
        return;
    }
    let d = temp_dir("host-cut");
    let (r, out) = failing_run(&d, "--cut-link", "1");
    // MPI has no time-outs: the watchdog (--comm-timeout 5) stops the ranks left waiting.
    let errors = strata_errors(&r.stderr);
    assert!(!errors.is_empty(), "{}", r.stderr);
    for e in &errors {
        assert!(e.starts_with("error: rank ") && e.contains("no answer from the other ranks for"), "{e}");
    }
    resumes_after(&out, &d);
}

#[test]
fn cv_folds_shared_out_over_ranks_give_the_plain_figures() {
    let iris = fixture("iris.csv").to_string_lossy().into_owned();
    let args = ["cv", "--model", "mlp", "--data", &iris, "--folds", "4", "--seed", "2", "--epochs", "5", "--json"];
    let plain = Command::new(STRATA).args(args).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    let plain = last_json(&String::from_utf8_lossy(&plain.stdout));
    for n in ["2", "3"] {
        let mut mpi = vec!["-n", n, STRATA];
        mpi.extend(args);
        mpi.push("--distributed");
        let r = mpirun(&mpi);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
        // Rank 0 alone prints.
        assert_eq!(r.stdout.matches("-fold cross-validation").count(), 1, "{}", r.stdout);
        let shared = last_json(&r.stdout);
        let figures = |j: &serde_json::Value| -> Vec<serde_json::Value> {
            j["fold_results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| serde_json::json!([f["fold"], f["accuracy"], f["log_loss"], f["auc"]]))
                .collect()
        };
        assert_eq!(figures(&shared), figures(&plain), "{n} ranks");
        assert_eq!(shared["confusion"], plain["confusion"]);
        assert_eq!(shared["mean_accuracy"], plain["mean_accuracy"]);
    }
}
