//! All-reduce time against message size, for the ring cost model in BENCHMARKS.md.
//!
//! ```text
//! cargo build --release --features mpi --example allreduce_sizes
//! mpirun -n 2 target/release/examples/allreduce_sizes [--json]
//! ```
//! For each size (256 B to 64 MiB of f32) every rank sums a buffer with the others'
//! (`Communicator::all_reduce_sum`, as training does once per step), repeated; rank 0
//! prints the median time and fits `t(n) = a + b * n` (least squares on relative error).

use std::time::Instant;
use strata::distributed::{Communicator, MpiComm};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> strata::Result<()> {
    let json = std::env::args().any(|a| a == "--json");
    let comm = MpiComm::init()?;
    let (rank, p) = (comm.rank(), comm.size());
    let mut rows = Vec::new();
    for exp in (6..=24).step_by(2) {
        let n = 1usize << exp; // f32 elements
        let mut buf = vec![1.0f32; n];
        let reps = (2_000_000 / n).clamp(5, 200);
        for _ in 0..3 {
            comm.all_reduce_sum(&mut buf); // warm-up
        }
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            comm.barrier();
            let t = Instant::now();
            comm.all_reduce_sum(&mut buf);
            times.push(t.elapsed().as_secs_f64());
        }
        // Each rank's median, averaged over the ranks.
        let mut t = [median(times)];
        comm.all_reduce_sum_f64(&mut t);
        rows.push((n * 4, t[0] / p as f64));
    }
    if rank != 0 {
        return Ok(());
    }
    // t = a + b * bytes, by least squares on the relative error (rows divided by t), so the
    // small messages decide the latency a and the large ones the bandwidth 1/b.
    let (mut s11, mut s1n, mut snn, mut s1t, mut snt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(bytes, t) in &rows {
        let (w, x) = (1.0 / t, bytes as f64 / t); // the scaled row [1/t, n/t] against 1
        s11 += w * w;
        s1n += w * x;
        snn += x * x;
        s1t += w;
        snt += x;
    }
    let det = s11 * snn - s1n * s1n;
    let a = (snn * s1t - s1n * snt) / det;
    let b = (s11 * snt - s1n * s1t) / det;
    println!("all-reduce (sum, f32) on {p} ranks; median of repeated calls, mean over ranks");
    println!("{:>12} {:>12} {:>12}", "bytes", "microseconds", "GB/s (n/t)");
    for &(bytes, t) in &rows {
        println!("{:>12} {:>12.1} {:>12.2}", bytes, t * 1e6, bytes as f64 / t / 1e9);
    }
    println!("fit: t = {:.1} us + n / {:.2} GB/s", a * 1e6, 1.0 / b / 1e9);
    if json {
        let r: Vec<String> = rows.iter().map(|(b, t)| format!("[{b},{t:e}]")).collect();
        println!("{{\"ranks\":{p},\"bytes_seconds\":[{}],\"alpha_seconds\":{a:e},\"seconds_per_byte\":{b:e}}}", r.join(","));
    }
    Ok(())
}
