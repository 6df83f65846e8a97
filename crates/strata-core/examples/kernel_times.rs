//! Per-kernel timings of the LeNet-5 workload (W2) at batch 128: where a training step's
//! time goes. `cargo run --release --example kernel_times [-- REPEATS]`
use std::time::Instant;
use strata_core::tensor::conv::{Algorithm, Conv2dGeom};
use strata_core::tensor::pool::{PoolGeom, PoolKind, pool2d_backward, pool2d_forward};

fn time<T>(label: &str, reps: usize, mut f: impl FnMut() -> T) {
    // The best of `reps` calls: robust against other processes taking the cores.
    std::hint::black_box(f());
    let best = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    println!("{label:36} {:8.1} us", best * 1e6);
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let n = 128;
    let rnd = |len: usize| (0..len).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect::<Vec<f32>>();
    for (name, input, weight, pad) in [
        ("conv1 1->6 5x5 p2 28x28", [n, 1, 28, 28], [6, 1, 5, 5], 2),
        ("conv2 6->16 5x5 14x14", [n, 6, 14, 14], [16, 6, 5, 5], 0),
        ("cnn1 1->32 3x3 28x28", [n, 1, 28, 28], [32, 1, 3, 3], 0),
        ("cnn2 32->64 3x3 26x26", [n, 32, 26, 26], [64, 32, 3, 3], 0),
    ] {
        let g = Conv2dGeom::new(&input, &weight, (1, 1), (pad, pad, pad, pad), (1, 1), 1).unwrap();
        let x = rnd(input.iter().product());
        let w = rnd(weight.iter().product());
        let b = rnd(weight[0]);
        let dy = rnd(g.out_shape().iter().product());
        let gf = 2.0 * g.macs_per_sample() as f64 * n as f64 / 1e9;
        let (chosen, im2col) = (Algorithm::choose(&g), Algorithm::Im2col);
        time(&format!("{name} fwd"), reps, || chosen.forward(&g, &x, &w, Some(&b)));
        time(&format!("{name} fwd im2col"), reps, || im2col.forward(&g, &x, &w, Some(&b)));
        time(&format!("{name} bwd im2col"), reps, || im2col.backward(&g, &x, &w, &dy, input[1] > 1, true));
        time(&format!("{name} bwd dx={}", input[1] > 1), reps, || chosen.backward(&g, &x, &w, &dy, input[1] > 1, true));
        time(&format!("{name} bwd dW only"), reps, || chosen.backward(&g, &x, &w, &dy, false, true));
        println!("{:36} {:8.3} GFLOP per pass, chosen: {chosen}", "", gf);
    }
    {
        let d = 1024;
        let (a, b) = (rnd(d * d), rnd(d * d));
        let mut c = vec![0.0; d * d];
        let label = format!("gemm {d}^3 ({} threads)", rayon::current_num_threads());
        time(&label, reps.min(20), || strata_core::tensor::gemm(d, d, d, &a, false, &b, false, &mut c, false));
        println!("{:36} {:8.3} GFLOP per product", "", 2.0 * (d * d * d) as f64 / 1e9);
    }
    for (name, input) in [("pool1 6x28x28", [n, 6, 28, 28]), ("pool2 16x10x10", [n, 16, 10, 10])] {
        let g = PoolGeom::new(&input, (2, 2), (2, 2), (0, 0)).unwrap();
        let x = rnd(input.iter().product());
        let (y, arg) = pool2d_forward(&g, PoolKind::Max, &x);
        time(&format!("{name} fwd"), reps, || pool2d_forward(&g, PoolKind::Max, &x));
        time(&format!("{name} bwd"), reps, || pool2d_backward(&g, PoolKind::Max, &[], &y, &arg, &y));
    }
}
