//! Data-parallel `fit` without MPI: ranks are threads of this test, joined by an
//! in-process communicator, so the sharding, the fused gradient sum, the per-rank
//! generators and the distributed evaluation are checked in every build.

use std::rc::Rc;
use strata::Adam;
use strata::distributed::{SharedComm, ThreadWorld};
use strata::model::History;
use strata::model::fit_replicated;
use strata::prelude::*;

fn blobs(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seeded(seed);
    let centers = [(-1.0, -1.0, 0), (1.0, 1.0, 0), (-1.0, 1.0, 1), (1.0, -1.0, 1)];
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (cx, cy, label) = centers[i % 4];
        x.push(cx + rng.normal(0.0, 0.3));
        x.push(cy + rng.normal(0.0, 0.3));
        y.push(label);
    }
    Dataset::new(Tensor::from_vec(x, &[n, 2]).unwrap(), Target::Classes { labels: y, num_classes: 2 }).unwrap()
}

/// The network every test trains: Adam is stateful, so a rank whose update differed
/// would drift.
fn network(seed: u64) -> Sequential {
    let mut m = Sequential::new()
        .seed(seed)
        .add(Dense::new(16).input_dim(2).activation(Relu))
        .add(Dense::new(8).activation(Tanh))
        .add(Dense::new(2).activation(Softmax));
    m.compile(Adam::new(0.01), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    m
}

/// An epoch's loss, accuracy, validation loss and validation accuracy.
type EpochFigures = (f32, Option<f32>, Option<f32>, Option<f32>);

struct Outcome {
    weights: Vec<Vec<f32>>,
    history: Vec<EpochFigures>,
}

fn outcome(m: &Sequential, h: &History) -> Outcome {
    Outcome {
        weights: m.weights().iter().map(|t| t.data().to_vec()).collect(),
        history: h.epochs.iter().map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy)).collect(),
    }
}

/// Trains the same network with Adam (stateful) on `ranks` thread-ranks, or in one plain
/// process for `ranks == 0`; the global batch of 30 leaves a last partial batch of 10.
fn train(ranks: usize, seed: u64) -> Vec<Outcome> {
    let (data, val) = (blobs(250, 1), blobs(97, 2));
    let run = |comm: Option<SharedComm>, seed: u64| {
        let mut m = network(seed);
        let mut opts = FitOptions::epochs(4).batch_size(30).validation(&val).silent();
        if let Some(c) = comm {
            opts = opts.distributed(c);
        }
        m.fit(&data, opts).map(|h| outcome(&m, &h))
    };
    if ranks == 0 {
        return vec![run(None, seed).unwrap()];
    }
    let world = ThreadWorld::new(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..ranks)
            .map(|rank| {
                let comm = world.comm(rank);
                let run = &run;
                s.spawn(move || run(Some(Rc::new(comm)), seed))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
    })
}

fn max_relative_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let scale = x.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
            x.iter().zip(y).map(|(u, v)| (u - v).abs() / scale).fold(0.0, f32::max)
        })
        .fold(0.0, f32::max)
}

#[test]
fn any_number_of_ranks_follows_the_one_process_trajectory() {
    let one = train(0, 7).pop().unwrap();
    assert!(one.history[3].0 < one.history[0].0, "training should lower the loss: {:?}", one.history);
    for ranks in [1, 2, 3, 4] {
        let outs = train(ranks, 7);
        for (r, o) in outs.iter().enumerate() {
            // Every rank applies the same summed gradients: bit-identical weights.
            assert_eq!(o.weights, outs[0].weights, "{ranks} ranks: rank {r} drifted from rank 0");
            assert_eq!(o.history, outs[0].history, "{ranks} ranks: rank {r} reports other figures");
        }
        let diff = max_relative_difference(&one.weights, &outs[0].weights);
        assert!(diff <= 1e-5, "{ranks} ranks: weights differ from one process by {diff:e}");
        for ((l1, a1, vl1, va1), (l, a, vl, va)) in one.history.iter().zip(&outs[0].history) {
            assert!((l1 - l).abs() <= 1e-5 * l1.abs().max(1.0), "{ranks} ranks: loss {l} vs {l1}");
            assert!((vl1.unwrap() - vl.unwrap()).abs() <= 1e-5 * vl1.unwrap().abs().max(1.0));
            assert_eq!((a1, va1), (a, va), "{ranks} ranks: accuracies");
        }
    }
}

#[test]
fn a_different_seed_on_one_rank_is_an_error_on_every_rank() {
    let (data, world) = (blobs(40, 1), ThreadWorld::new(2));
    let errors: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|rank| {
                let (comm, data) = (world.comm(rank), &data);
                s.spawn(move || {
                    let mut m = Sequential::new().seed(rank as u64).add(Dense::new(2).input_dim(2));
                    m.compile(Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[]);
                    let comm: SharedComm = Rc::new(comm);
                    m.fit(data, FitOptions::epochs(1).silent().distributed(comm)).unwrap_err().to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(errors[0], errors[1]);
    assert!(errors[0].starts_with("distributed: rank 1 differs from rank 0 in initial weights"), "{}", errors[0]);
}

#[test]
fn replicas_in_one_process_follow_the_one_process_trajectory() {
    let one = train(0, 7).pop().unwrap();
    let (data, val) = (blobs(250, 1), blobs(97, 2));
    let options = || FitOptions::epochs(4).batch_size(30).validation(&val).silent();
    for replicas in [2, 3] {
        let (m, h) = fit_replicated(replicas, || Ok(network(7)), &data, options).unwrap();
        let o = outcome(&m, &h);
        let diff = max_relative_difference(&one.weights, &o.weights);
        assert!(diff <= 1e-5, "{replicas} replicas: weights differ from one process by {diff:e}");
        assert_eq!(one.history.len(), o.history.len());
        for ((l1, ..), (l, ..)) in one.history.iter().zip(&o.history) {
            assert!((l1 - l).abs() <= 1e-5 * l1.abs().max(1.0), "{replicas} replicas: loss {l} vs {l1}");
        }
    }
    assert!(fit_replicated(0, || Ok(network(7)), &data, options).is_err());
    // Copies that differ are refused on every replica, not trained.
    let seeds = std::sync::atomic::AtomicU64::new(1);
    let err = match fit_replicated(2, || Ok(network(seeds.fetch_add(1, std::sync::atomic::Ordering::SeqCst))), &data, options) {
        Ok(_) => panic!("replicas with different initial weights trained"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("differs from rank 0"), "{err}");
}
