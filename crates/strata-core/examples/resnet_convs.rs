//! Per-kernel timings of resnet20's 3x3 convolutions at one replica's batch (64): the chosen
//! algorithm (Winograd) against im2col + GEMM. `RAYON_NUM_THREADS=1 cargo run --release --example resnet_convs`
use std::time::Instant;
use strata_core::tensor::conv::{Algorithm, Conv2dGeom};

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    std::hint::black_box(f());
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n = 64;
    let rnd = |len: usize| (0..len).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect::<Vec<f32>>();
    for (c, hw) in [(16, 28), (32, 14), (64, 7)] {
        let g = Conv2dGeom::new(&[n, c, hw, hw], &[c, c, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1).unwrap();
        let (x, w, b) = (rnd(n * c * hw * hw), rnd(c * c * 9), rnd(c));
        let dy = rnd(g.out_shape().iter().product());
        let us = |t: f64| t * 1e6;
        let (chosen, im2col) = (Algorithm::choose(&g), Algorithm::Im2col);
        println!(
            "{c:2}ch {hw:2}x{hw:2}: fwd {chosen} {:7.0} us im2col {:7.0} | bwd {chosen} {:7.0} im2col {:7.0}",
            us(best(30, || chosen.forward(&g, &x, &w, Some(&b)))),
            us(best(30, || im2col.forward(&g, &x, &w, Some(&b)))),
            us(best(30, || chosen.backward(&g, &x, &w, &dy, true, false))),
            us(best(30, || im2col.backward(&g, &x, &w, &dy, true, false))),
        );
    }
}
