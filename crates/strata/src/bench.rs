//! The benchmark protocol of `../shared/bench` (so strata and PyTorch are timed alike):
//! training throughput = 20 warm-up steps, then 3 timed windows of N steps, median
//! images/s, batch gathering inside the window; inference = the test set at batch 1000 in
//! eval mode, median of 3 after one warm pass.

use crate::data::Dataset;
use crate::model::Sequential;
use crate::{Error, Result, Rng};
use serde::Serialize;
use std::time::Instant;

/// Warm-up steps before timing.
pub const WARMUP_STEPS: usize = 20;
/// Timed windows; the median is reported.
pub const REPEATS: usize = 3;
/// Inference batch size.
pub const INFER_BATCH: usize = 1000;

/// What a benchmark run measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Workload name as given.
    pub workload: String,
    /// Samples per training step.
    pub batch_size: usize,
    /// Steps per timed window.
    pub steps: usize,
    /// Worker threads.
    pub threads: usize,
    /// Trainable parameters of the network.
    pub params: usize,
    /// Median over the timed windows.
    pub train_images_per_sec: f64,
    /// Each timed window's images/s.
    pub train_images_per_sec_all: Vec<f64>,
    /// Milliseconds per training step at the median.
    pub train_ms_per_step: f64,
    /// Inference images/s on the test set at batch [`INFER_BATCH`], median.
    pub infer_images_per_sec: f64,
    /// Each inference pass's images/s.
    pub infer_images_per_sec_all: Vec<f64>,
    /// Multiply-accumulates per sample of one forward pass.
    pub forward_macs_per_sample: u64,
    /// Loss after the timed steps (a sanity check that training did something).
    pub final_loss: f32,
    /// Test accuracy after the timed steps.
    pub accuracy_after: Option<f32>,
}

/// Whether a workload trains on W6's colour inputs ([`colour32`]) rather than the 1x28x28
/// images.
pub fn is_colour32(workload: &str) -> bool {
    matches!(workload, "resnet20-rgb32" | "W6")
}

/// W6's inputs, as the shared protocol's `data.colour32` makes them: each 1x28x28 image
/// zero-padded by 2 pixels to 32x32, its grey plane copied to 3 channels.
pub fn colour32(d: &Dataset) -> Result<Dataset> {
    let [n, 1, h, w] = d.inputs.shape()[..] else {
        return Err(Error::invalid(
            "workload W6",
            format!("needs 1-channel images, not samples of shape {:?}", d.sample_shape()),
        ));
    };
    let (oh, ow) = (h + 4, w + 4);
    let mut out = vec![0.0f32; n * 3 * oh * ow];
    for (src, dst) in d.inputs.data().chunks_exact(h * w).zip(out.chunks_exact_mut(3 * oh * ow)) {
        for plane in dst.chunks_exact_mut(oh * ow) {
            for (row, line) in src.chunks_exact(w).enumerate() {
                plane[(row + 2) * ow + 2..(row + 2) * ow + 2 + w].copy_from_slice(line);
            }
        }
    }
    Dataset::new(crate::Tensor::from_vec(out, &[n, 3, oh, ow])?, d.targets.clone())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

/// Runs the protocol on a compiled model. `train`/`test` must already be preprocessed.
pub fn run(
    workload: &str,
    model: &mut Sequential,
    train: &Dataset,
    test: &Dataset,
    steps: usize,
    batch: usize,
    warmup: usize,
) -> Result<BenchReport> {
    if batch == 0 || steps == 0 {
        return Err(Error::invalid("bench", "steps and batch size must be at least 1"));
    }
    if train.len() < batch {
        return Err(Error::invalid("batch size", format!("{batch} exceeds the {} training samples", train.len())));
    }
    model.build(train.sample_shape())?;
    let perm = Rng::seeded(1234).permutation(train.len());
    let n = train.len();
    let mut pos = 0usize;
    let mut run_steps = |model: &mut Sequential, count: usize| -> Result<f32> {
        let mut loss = f32::NAN;
        for _ in 0..count {
            let s = (pos * batch) % (n - batch + 1);
            let b = train.batch(&perm[s..s + batch])?;
            loss = model.train_step(&b)?.loss;
            pos += 1;
        }
        Ok(loss)
    };
    run_steps(model, warmup)?;
    let mut times = Vec::new();
    let mut loss = f32::NAN;
    for _ in 0..REPEATS {
        let t = Instant::now();
        loss = run_steps(model, steps)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let train_ips: Vec<f64> = times.iter().map(|t| (steps * batch) as f64 / t).collect();
    report(workload, model, test, steps, batch, train_ips, loss)
}

/// The training half of the protocol with `replicas` copies of the network, each on its own
/// thread with one kernel thread ([`crate::model::fit_replicated`]): one warm-up window,
/// then [`REPEATS`] timed windows of `steps` global batches, each window one epoch of
/// `fit` (batch gathering included). `make` builds one compiled copy. Returns replica 0's
/// trained network (for the inference half) and the windows' images/s.
pub fn train_replicated(
    replicas: usize,
    make: impl Fn() -> Result<Sequential> + Sync,
    train: &Dataset,
    steps: usize,
    batch: usize,
) -> Result<(Sequential, Vec<f64>, f32)> {
    if batch < replicas || steps == 0 {
        return Err(Error::invalid(
            "bench",
            format!("batch size {batch} must be at least the {replicas} replicas, steps at least 1"),
        ));
    }
    let options = || {
        crate::model::FitOptions::epochs(1 + REPEATS)
            .batch_size(batch)
            .max_steps_per_epoch(steps)
            .verbosity(crate::model::Verbosity::Silent)
    };
    let (model, history) = crate::model::fit_replicated(replicas, make, train, options)?;
    let windows: Vec<f64> = history.epochs.iter().skip(1).map(|e| e.images_per_sec).collect();
    let loss = history.last().map_or(f32::NAN, |e| e.loss);
    Ok((model, windows, loss))
}

/// Finishes a report: the inference half of the protocol on `model` (all threads of the
/// pool), with the training windows' images/s measured before (one network or replicas).
pub fn report(
    workload: &str,
    model: &mut Sequential,
    test: &Dataset,
    steps: usize,
    batch: usize,
    train_ips: Vec<f64>,
    final_loss: f32,
) -> Result<BenchReport> {
    let _ = model.evaluate(test, INFER_BATCH)?;
    let mut infer = Vec::new();
    let mut accuracy = None;
    for _ in 0..REPEATS {
        let t = Instant::now();
        let e = model.evaluate(test, INFER_BATCH)?;
        infer.push(test.len() as f64 / t.elapsed().as_secs_f64());
        accuracy = e.accuracy;
    }
    let median_ips = median(&train_ips);
    Ok(BenchReport {
        workload: workload.to_string(),
        batch_size: batch,
        steps,
        threads: rayon::current_num_threads(),
        params: model.num_params(),
        train_images_per_sec: median_ips,
        train_images_per_sec_all: train_ips,
        // The median window's time per step (the windows have equal step counts).
        train_ms_per_step: 1000.0 * batch as f64 / median_ips,
        infer_images_per_sec: median(&infer),
        infer_images_per_sec_all: infer,
        forward_macs_per_sample: model.summary().map(|s| s.macs).unwrap_or(0),
        final_loss,
        accuracy_after: accuracy,
    })
}

/// GFLOP/s of a 1024^3 single-precision matrix product on the current thread pool (best of
/// three): the yardstick the per-workload GFLOP/s figures are printed against.
pub fn gemm_gflops() -> f64 {
    let d = 1024;
    let a: Vec<f32> = (0..d * d).map(|i| (i % 17) as f32 * 0.1).collect();
    let mut c = vec![0.0; d * d];
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            crate::tensor::gemm(d, d, d, &a, false, &a, false, &mut c, false);
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (d * d * d) as f64 / best / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Target;

    #[test]
    fn colour32_pads_by_two_and_copies_the_grey_plane() {
        let px: Vec<f32> = (0..2 * 28 * 28).map(|i| 1.0 + i as f32).collect();
        let d = Dataset::new(
            crate::Tensor::from_vec(px.clone(), &[2, 1, 28, 28]).unwrap(),
            Target::Classes { labels: vec![0, 1], num_classes: 2 },
        )
        .unwrap();
        let c = colour32(&d).unwrap();
        assert_eq!(c.inputs.shape(), &[2, 3, 32, 32]);
        let out = c.inputs.data();
        for s in 0..2 {
            for ch in 0..3 {
                for y in 0..32 {
                    for x in 0..32 {
                        let inside = (2..30).contains(&y) && (2..30).contains(&x);
                        let want = if inside { px[s * 784 + (y - 2) * 28 + (x - 2)] } else { 0.0 };
                        assert_eq!(out[((s * 3 + ch) * 32 + y) * 32 + x], want, "sample {s} channel {ch} at ({y}, {x})");
                    }
                }
            }
        }
        assert_eq!(c.targets, d.targets);
        assert!(colour32(&c).is_err(), "3-channel input is refused");
    }
}
