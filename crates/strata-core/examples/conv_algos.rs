//! Every supporting convolution algorithm on the convolution shapes of the benchmark
//! workloads W2 (lenet5), W3 (cnn) and W5 (resnet20 on 1x28x28), at batch 128: forward and
//! backward, median of interleaved rounds (the algorithms of a shape take turns, so a burst
//! of load from other processes hits all of them alike).
//!
//! `cargo run --release --example conv_algos [-- ROUNDS [FILTER [ALGORITHM]]]` (FILTER: a
//! substring of the shape names, e.g. `W5`; ALGORITHM: only that one, e.g. for instruction
//! counts under `valgrind --tool=callgrind` with `RAYON_NUM_THREADS=1`). `STRATA_ISA=avx2|avx512|scalar` picks the kernels' ISA.
use std::time::Instant;
use strata_core::tensor::conv::{Algorithm, Conv2dGeom};

type Shape = (&'static str, [usize; 3], [usize; 4], usize, usize, bool);

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let filter = std::env::args().nth(2).unwrap_or_default();
    let only: Option<Algorithm> = std::env::args().nth(3).map(|a| a.parse().expect("an algorithm name"));
    let n = 128;
    // (name, per-sample input CHW, weight, stride, padding, needs dx)
    let shapes: [Shape; 12] = [
        ("W2 conv1 1->6 5x5 p2 28", [1, 28, 28], [6, 1, 5, 5], 1, 2, false),
        ("W2 conv2 6->16 5x5 14", [6, 14, 14], [16, 6, 5, 5], 1, 0, true),
        ("W3 conv1 1->32 3x3 28", [1, 28, 28], [32, 1, 3, 3], 1, 0, false),
        ("W3 conv2 32->64 3x3 26", [32, 26, 26], [64, 32, 3, 3], 1, 0, true),
        ("W5 stem 1->16 3x3 p1 28", [1, 28, 28], [16, 1, 3, 3], 1, 1, false),
        ("W5 16->16 3x3 p1 28", [16, 28, 28], [16, 16, 3, 3], 1, 1, true),
        ("W5 16->32 3x3 s2 p1 28", [16, 28, 28], [32, 16, 3, 3], 2, 1, true),
        ("W5 16->32 1x1 s2 28", [16, 28, 28], [32, 16, 1, 1], 2, 0, true),
        ("W5 32->32 3x3 p1 14", [32, 14, 14], [32, 32, 3, 3], 1, 1, true),
        ("W5 32->64 3x3 s2 p1 14", [32, 14, 14], [64, 32, 3, 3], 2, 1, true),
        ("W5 32->64 1x1 s2 14", [32, 14, 14], [64, 32, 1, 1], 2, 0, true),
        ("W5 64->64 3x3 p1 7", [64, 7, 7], [64, 64, 3, 3], 1, 1, true),
    ];
    let rnd = |len: usize| (0..len).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect::<Vec<f32>>();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "batch {n}, {} threads, ISA {}, median of {rounds} interleaved rounds; times in ms",
        rayon::current_num_threads(),
        strata_core::tensor::isa::active()
    );
    println!("{:26} {:14} {:>8} {:>8} {:>8}", "shape", "algorithm", "fwd", "bwd", "sum");
    for (name, [c, h, w], ws, s, p, need_dx) in shapes {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let g = Conv2dGeom::new(&[n, c, h, w], &ws, (s, s), (p, p, p, p), (1, 1), 1).unwrap();
        let (x, wt, b) = (rnd(n * c * h * w), rnd(ws.iter().product()), rnd(ws[0]));
        let dy = rnd(g.out_shape().iter().product());
        let algos: Vec<Algorithm> =
            Algorithm::ALL.into_iter().filter(|a| a.supports(&g) && only.is_none_or(|o| o == *a)).collect();
        let mut fwd = vec![Vec::new(); algos.len()];
        let mut bwd = vec![Vec::new(); algos.len()];
        for round in 0..=rounds {
            for (i, a) in algos.iter().enumerate() {
                let t = Instant::now();
                std::hint::black_box(a.forward(&g, &x, &wt, Some(&b)));
                let f = t.elapsed().as_secs_f64();
                let t = Instant::now();
                std::hint::black_box(a.backward(&g, &x, &wt, &dy, need_dx, true));
                let bk = t.elapsed().as_secs_f64();
                if round > 0 {
                    fwd[i].push(f * 1e3);
                    bwd[i].push(bk * 1e3);
                }
            }
        }
        let chosen = Algorithm::choose(&g);
        for (i, a) in algos.iter().enumerate() {
            let (f, bk) = (median(fwd[i].clone()), median(bwd[i].clone()));
            let mark = if *a == chosen { " <- choose()" } else { "" };
            println!("{name:26} {:14} {f:8.2} {bk:8.2} {:8.2}{mark}", a.name(), f + bk);
        }
    }
}
