//! `strata bench`: the shared benchmark protocol on a named workload (see `strata::bench`).

use super::output::{peak_rss_mib, print_json};
use clap::Args;
use strata::data::normalize::Standardizer;
use strata::metrics::Metric;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, help = super::workload_help())]
    workload: String,
    /// Steps per timed window (default 200; batch 1 defaults to 2000; at most 1,000,000).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    steps: Option<usize>,
    /// Batch size (default 128).
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Dataset (default fashion-mnist, as in the shared protocol).
    #[arg(long, default_value = "fashion-mnist")]
    data: String,
    /// Print JSON on the last line.
    #[arg(long)]
    json: bool,
    /// Train this many replicas of the network, one per thread with its kernels on that
    /// thread, on slices of every batch (data parallelism inside the process; default 1:
    /// one network whose kernels use every thread).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Print each convolution geometry's algorithm: forced (STRATA_CONV_ALGO), measured,
    /// cached or fixed, with its forward/backward time and the other candidates'.
    #[arg(long)]
    explain: bool,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    let (mut train, mut test) = strata::data::mnist::load(&a.data)?;
    // The shared protocol's fixed standardization (not fitted), so every framework sees the same inputs.
    let s = Standardizer::fashion_mnist();
    s.apply(&mut train.inputs)?;
    s.apply(&mut test.inputs)?;
    if strata::bench::is_colour32(&a.workload) {
        (train, test) = (strata::bench::colour32(&train)?, strata::bench::colour32(&test)?);
    }
    let classes = train.num_classes().unwrap_or(10);
    let make = || -> strata::Result<strata::model::Sequential> {
        let w = strata::zoo::workload(&a.workload, train.sample_shape(), classes)?;
        let mut model = w.model;
        model.compile_boxed(w.optimizer, w.loss, &[Metric::Accuracy]);
        Ok(model)
    };
    let default_steps = strata::zoo::workload(&a.workload, train.sample_shape(), classes)?.steps;
    let steps = a.steps.unwrap_or(if a.batch_size == 1 { 2000 } else { default_steps });
    let r = match a.replicas {
        0 => anyhow::bail!("invalid --replicas: must be at least 1"),
        1 => {
            let mut model = make()?;
            let warmup = if a.batch_size == 1 { 100 } else { strata::bench::WARMUP_STEPS };
            strata::bench::run(&a.workload, &mut model, &train, &test, steps, a.batch_size, warmup)?
        }
        n => {
            let (mut model, windows, loss) = strata::bench::train_replicated(n, make, &train, steps, a.batch_size)?;
            strata::bench::report(&a.workload, &mut model, &test, steps, a.batch_size, windows, loss)?
        }
    };
    let rss = peak_rss_mib();
    println!(
        "{}: train {:.0} img/s ({:.3} ms/step, batch {}, {}), infer {:.0} img/s, peak RSS {:.0} MiB",
        r.workload,
        r.train_images_per_sec,
        r.train_ms_per_step,
        r.batch_size,
        if a.replicas > 1 { format!("{} replicas x 1 thread", a.replicas) } else { format!("{} threads", r.threads) },
        r.infer_images_per_sec,
        rss.unwrap_or(f64::NAN)
    );
    let train_gflops = 3.0 * 2.0 * r.forward_macs_per_sample as f64 * r.train_images_per_sec / 1e9;
    // Measured after the timed windows, on the same threads: the ceiling for scale.
    let gemm = strata::bench::gemm_gflops();
    println!(
        "  ~{:.1} GFLOP/s training (3x forward MACs), {:.1} GFLOP/s inference; a 1024^3 matrix product runs at {:.0} GFLOP/s here",
        train_gflops,
        2.0 * r.forward_macs_per_sample as f64 * r.infer_images_per_sec / 1e9,
        gemm
    );
    let choices = strata::nn::conv::autotune::decisions();
    if a.explain {
        explain(&choices, r.threads);
    }
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        v["isa"] = serde_json::json!(strata::nn::conv::isa::active().name());
        v["conv_choices"] = choices
            .iter()
            .map(|(geometry, c)| {
                let best = c.timings.first();
                serde_json::json!({
                    "geometry": geometry,
                    "algorithm": c.algorithm.name(),
                    "source": c.source.name(),
                    "timing_batch": c.batch,
                    "forward_ms": best.map(|t| t.forward_ms),
                    "backward_ms": best.map(|t| t.backward_ms),
                })
            })
            .collect();
        v["peak_rss_mib"] = serde_json::json!(rss);
        v["train_us_per_step"] = serde_json::json!(r.train_ms_per_step * 1000.0);
        v["replicas"] = serde_json::json!(a.replicas);
        v["gemm_gflops"] = serde_json::json!(gemm);
        print_json(&v);
    }
    Ok(())
}

/// `--explain`: one line per distinct convolution geometry the run used (the layers of one
/// geometry share a decision), then every timed candidate.
fn explain(choices: &[(String, strata::nn::conv::autotune::Choice)], threads: usize) {
    use strata::nn::conv::{autotune, isa};
    let cache = autotune::cache_path().map_or("none".to_string(), |p| p.display().to_string());
    println!("convolutions: ISA {}, CPU {}, {} threads; cache {cache}", isa::active(), autotune::cpu_model(), threads);
    if choices.is_empty() {
        println!("  (no convolution chosen through the autotuner: none in this model, or all forced by the layer)");
    }
    for (geometry, c) in choices {
        let time = match c.timings.first() {
            Some(t) => format!("fwd {:7.2} ms  bwd {:7.2} ms  (timing batch {})", t.forward_ms, t.backward_ms, c.batch),
            None => "not timed".to_string(),
        };
        println!("  {geometry:44} {:14} {:8} {time}", c.algorithm.name(), c.source.name());
        for t in c.timings.iter().skip(1) {
            println!("  {:44}   also {:14} fwd {:7.2} ms  bwd {:7.2} ms", "", t.algorithm, t.forward_ms, t.backward_ms);
        }
    }
}
