//! Recurrent layers: gradient checks through time (finite differences) for every cell, the
//! fused kernels against the step-by-step reference (values and gradients), shapes,
//! masking, stateful continuation, and errors.

use strata::autograd::gradcheck::check_gradients;
use strata::autograd::{RecurrentOptions, RecurrentWeights, Tape, Var};
use strata::nn::recurrent::{Cell, Kernel, RecurrentConfig, StateVars, recurrent_reference, run_stack};
use strata::nn::{Dense, ForwardCtx, Layer, LayerSpec, Lstm, Recurrent, Rnn};
use strata::{Rng, Tensor};

const EPS: f32 = 1e-2;
const ATOL: f32 = 2e-3;
const RTOL: f32 = 1e-2;

const CELLS: [Cell; 4] = [Cell::RnnTanh, Cell::RnnRelu, Cell::Lstm, Cell::Gru];

/// Inputs of one recurrent pass, in the order `pass` reads them: x, w_ih, w_hh, bias,
/// [bias_hh (GRU)], [peep (LSTM with peephole)], [h0, [c0 (LSTM)]].
struct Case {
    cell: Cell,
    peephole: bool,
    with_state: bool,
    inputs: Vec<Tensor>,
}

fn case(cell: Cell, peephole: bool, with_state: bool, (n, t, f, h): (usize, usize, usize, usize), seed: u64) -> Case {
    let mut rng = Rng::seeded(seed);
    let g = cell.gates();
    let mut inputs = vec![
        Tensor::rand_normal(&[n, t, f], 0.0, 1.0, &mut rng),
        Tensor::rand_normal(&[f, g * h], 0.0, 0.5, &mut rng),
        Tensor::rand_normal(&[h, g * h], 0.0, 0.5, &mut rng),
        Tensor::rand_normal(&[g * h], 0.0, 0.3, &mut rng),
    ];
    if cell == Cell::Gru {
        inputs.push(Tensor::rand_normal(&[g * h], 0.0, 0.3, &mut rng));
    }
    if peephole {
        inputs.push(Tensor::rand_normal(&[3, h], 0.0, 0.5, &mut rng));
    }
    if with_state {
        inputs.push(Tensor::rand_normal(&[n, h], 0.0, 0.5, &mut rng));
        if cell == Cell::Lstm {
            inputs.push(Tensor::rand_normal(&[n, h], 0.0, 0.5, &mut rng));
        }
    }
    Case { cell, peephole, with_state, inputs }
}

/// Runs one pass of `c` on `v` (the variables for `c.inputs`) with the fused kernel or the reference.
fn pass(c: &Case, v: &[Var], opts: &RecurrentOptions, kernel: Kernel) -> strata::Result<Var> {
    let mut i = 4;
    let mut next = |yes: bool| {
        yes.then(|| {
            i += 1;
            &v[i - 1]
        })
    };
    let bias_hh = next(c.cell == Cell::Gru);
    let peep = next(c.peephole);
    let h0 = next(c.with_state);
    let c0 = next(c.with_state && c.cell == Cell::Lstm);
    let w = RecurrentWeights { w_ih: &v[1], w_hh: &v[2], bias: &v[3], bias_hh, peep };
    let out = match kernel {
        Kernel::Fused => v[0].recurrent(c.cell, &w, h0, c0, opts)?,
        Kernel::Reference => recurrent_reference(&v[0], c.cell, &w, h0, c0, opts)?,
    };
    Ok(out.0)
}

fn all_options(n: usize, t: usize) -> Vec<RecurrentOptions> {
    let lengths: Vec<usize> = (0..n).map(|i| t - (i % t.max(1)).min(t)).collect(); // t, t-1, ...
    let mut v = Vec::new();
    for reverse in [false, true] {
        for return_sequences in [false, true] {
            for lengths in [None, Some(lengths.clone())] {
                v.push(RecurrentOptions { reverse, return_sequences, lengths });
            }
        }
    }
    v
}

fn variants() -> Vec<(Cell, bool, bool)> {
    let mut v = Vec::new();
    for cell in CELLS {
        for with_state in [false, true] {
            v.push((cell, false, with_state));
            if cell == Cell::Lstm {
                v.push((cell, true, with_state));
            }
        }
    }
    v
}

#[test]
fn gradients_through_time_match_finite_differences_for_every_cell_and_option() {
    for (k, (cell, peephole, with_state)) in variants().into_iter().enumerate() {
        let c = case(cell, peephole, with_state, (3, 4, 3, 2), 100 + k as u64);
        for opts in all_options(3, 4) {
            let r = check_gradients(|v| pass(&c, v, &opts, Kernel::Fused), &c.inputs, EPS, ATOL, RTOL);
            assert!(r.is_ok(), "{cell:?} peephole {peephole} state {with_state} {opts:?}: {r:?}");
        }
    }
}

#[test]
fn fused_kernel_equals_reference_in_values_and_gradients() {
    for (k, (cell, peephole, with_state)) in variants().into_iter().enumerate() {
        // several chunks (batch > 8 rows per thread) and odd sizes
        let c = case(cell, peephole, with_state, (21, 6, 5, 7), 200 + k as u64);
        for opts in all_options(21, 6) {
            let run = |kernel| {
                let tape = Tape::new();
                let vars: Vec<Var> = c.inputs.iter().map(|t| tape.input_with_grad(t.clone())).collect();
                let y = pass(&c, &vars, &opts, kernel).unwrap();
                let w = Tensor::rand_uniform(y.shape(), -1.0, 1.0, &mut Rng::seeded(5));
                let loss = y.mul(&y.constant(w)).unwrap().sum_all().unwrap();
                let refs: Vec<&Var> = vars.iter().collect();
                let (_, grads) = loss.backward_inputs(&refs).unwrap();
                (y.into_value(), grads)
            };
            let (yf, gf) = run(Kernel::Fused);
            let (yr, gr) = run(Kernel::Reference);
            let what = format!("{cell:?} peephole {peephole} state {with_state} {opts:?}");
            assert!(yf.max_abs_diff(&yr).unwrap() < 2e-5, "values differ: {what}");
            for (i, (a, b)) in gf.iter().zip(&gr).enumerate() {
                let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
                let scale = b.data().iter().fold(1.0f32, |m, v| m.max(v.abs()));
                assert!(a.max_abs_diff(b).unwrap() < 1e-4 * scale, "gradient of input {i} differs: {what}");
            }
        }
    }
}

/// Weight variables for a whole stack, from tensors in pass order (w_ih, w_hh, bias, [bias_hh], [peep]).
fn stack_tensors(cfg: &RecurrentConfig, f: usize, rng: &mut Rng) -> Vec<Tensor> {
    let (h, g, dirs) = (cfg.units, cfg.cell.gates(), cfg.directions());
    let mut out = Vec::new();
    for l in 0..cfg.layers {
        let fan_in = if l == 0 { f } else { dirs * h };
        for _ in 0..dirs {
            out.push(Tensor::rand_normal(&[fan_in, g * h], 0.0, 0.5, rng));
            out.push(Tensor::rand_normal(&[h, g * h], 0.0, 0.5, rng));
            out.push(Tensor::rand_normal(&[g * h], 0.0, 0.3, rng));
            if cfg.cell == Cell::Gru {
                out.push(Tensor::rand_normal(&[g * h], 0.0, 0.3, rng));
            }
            if cfg.peephole {
                out.push(Tensor::rand_normal(&[3, h], 0.0, 0.5, rng));
            }
        }
    }
    out
}

fn stack_weights<'a>(cfg: &RecurrentConfig, v: &'a [Var]) -> Vec<RecurrentWeights<'a>> {
    let per = 3 + (cfg.cell == Cell::Gru) as usize + cfg.peephole as usize;
    v.chunks(per)
        .map(|p| RecurrentWeights {
            w_ih: &p[0],
            w_hh: &p[1],
            bias: &p[2],
            bias_hh: (cfg.cell == Cell::Gru).then(|| &p[3]),
            peep: cfg.peephole.then(|| &p[3]),
        })
        .collect()
}

#[test]
fn stacked_bidirectional_layers_with_initial_state_pass_gradient_checks() {
    let (n, t, f, h) = (2, 3, 3, 2);
    for (k, cell) in CELLS.into_iter().enumerate() {
        for (layers, bidirectional, return_sequences) in [(2, false, false), (1, true, true), (2, true, false)] {
            let peephole = cell == Cell::Lstm;
            let cfg = RecurrentConfig { cell, units: h, layers, bidirectional, return_sequences, peephole };
            let mut rng = Rng::seeded(300 + k as u64);
            let mut inputs = vec![Tensor::rand_normal(&[n, t, f], 0.0, 1.0, &mut rng)];
            let passes = layers * cfg.directions();
            let states = passes * (1 + (cell == Cell::Lstm) as usize);
            for _ in 0..states {
                inputs.push(Tensor::rand_normal(&[n, h], 0.0, 0.5, &mut rng));
            }
            inputs.extend(stack_tensors(&cfg, f, &mut rng));
            let lengths = [t, t - 1];
            let run = |v: &[Var], kernel: Kernel| {
                let init = StateVars { h: v[1..1 + passes].to_vec(), c: v[1 + passes..1 + states].to_vec() };
                let w = stack_weights(&cfg, &v[1 + states..]);
                run_stack(&cfg, &v[0], &w, Some(&init), Some(&lengths), kernel).map(|r| r.0)
            };
            let what = format!("{cell:?} layers {layers} bidirectional {bidirectional}");
            // ReLU has a kink at 0: a smaller step keeps a difference from straddling one
            let eps = if cell == Cell::RnnRelu { 1e-3 } else { EPS };
            let r = check_gradients(|v| run(v, Kernel::Fused), &inputs, eps, ATOL, RTOL);
            assert!(r.is_ok(), "{what}: {r:?}");
            let tape = Tape::no_grad();
            let vars: Vec<Var> = inputs.iter().map(|t| tape.input(t.clone())).collect();
            let (a, b) = (run(&vars, Kernel::Fused).unwrap(), run(&vars, Kernel::Reference).unwrap());
            assert!(a.value().max_abs_diff(b.value()).unwrap() < 2e-5, "{what}");
        }
    }
}

fn forward(layer: &Recurrent, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let mut ctx = ForwardCtx::eval(&tape);
    layer.forward(&tape.input(x.clone()), &mut ctx).unwrap().into_value()
}

#[test]
fn layer_shapes_parameter_counts_and_image_rows_as_steps() {
    let mut rng = Rng::seeded(1);
    let mut lstm = Lstm::new(128);
    assert_eq!(lstm.build(&[1, 28, 28], &mut rng).unwrap(), vec![128]);
    // PyTorch's nn.LSTM(28, 128) has 80,896: the same minus its second (redundant) bias
    assert_eq!(lstm.params().iter().map(|p| p.value.numel()).sum::<usize>(), 4 * 128 * (28 + 128) + 4 * 128);
    assert_eq!(lstm.macs(&[1, 28, 28]), 28 * (28 + 128) * 512);
    let mut seq = Lstm::new(8).return_sequences(true).bidirectional(true).layers(2);
    assert_eq!(seq.build(&[5, 3], &mut rng).unwrap(), vec![5, 16]);
    assert_eq!(forward(&seq, &Tensor::zeros(&[4, 5, 3])).shape(), &[4, 5, 16]);
    let mut gru = strata::nn::Gru::new(6);
    assert_eq!(gru.build(&[2, 7, 4], &mut rng).unwrap(), vec![6]);
    // [N, C, H, W] is read as H steps of C*W features: same as feeding the permuted rows
    let x = Tensor::rand_normal(&[3, 2, 7, 4], 0.0, 1.0, &mut rng);
    let rows = x.permute(&[0, 2, 1, 3]).unwrap().reshape(&[3, 7, 8]).unwrap();
    let mut gru_rows = gru.clone();
    gru_rows.build(&[7, 8], &mut rng).unwrap();
    assert_eq!(forward(&gru, &x), forward(&gru_rows, &rows));
    assert!(Rnn::new(4).peephole(true).build(&[3, 2], &mut rng).is_err());
}

#[test]
fn masking_matches_unpadded_sequences_and_stops_gradient_at_padding() {
    let mut rng = Rng::seeded(3);
    for cell in CELLS {
        let mut layer = Recurrent::new(cell, 5).bidirectional(true);
        layer.build(&[6, 3], &mut rng).unwrap();
        let x = Tensor::rand_normal(&[2, 6, 3], 0.0, 1.0, &mut rng);
        let lengths = [6, 4];
        let tape = Tape::new();
        let mut r = Rng::seeded(0);
        let mut ctx = ForwardCtx::train(&tape, &mut r);
        let xv = tape.input_with_grad(x.clone());
        let (y, _) = layer.forward_with_state(&xv, None, Some(&lengths), &mut ctx).unwrap();
        // sample 1 alone, cut to its 4 steps
        let short = x.slice(0, 1, 2).unwrap().slice(1, 0, 4).unwrap();
        let alone = forward(&layer, &short);
        let diff = y.value().slice(0, 1, 2).unwrap().max_abs_diff(&alone).unwrap();
        assert!(diff < 1e-5, "{cell:?}: {diff}");
        let (_, g) = y.sum_all().unwrap().backward_inputs(&[&xv]).unwrap();
        let g = g[0].as_ref().unwrap();
        let pad = g.slice(0, 1, 2).unwrap().slice(1, 4, 6).unwrap();
        assert!(pad.data().iter().all(|&v| v == 0.0), "{cell:?}: padding got gradient");
        assert!(g.slice(0, 1, 2).unwrap().slice(1, 0, 4).unwrap().data().iter().any(|&v| v != 0.0));
    }
}

#[test]
fn a_sequence_run_in_two_windows_with_carried_state_equals_one_run() {
    let mut rng = Rng::seeded(4);
    for cell in CELLS {
        let mut layer = Recurrent::new(cell, 6).layers(2).return_sequences(true);
        layer.build(&[10, 3], &mut rng).unwrap();
        let x = Tensor::rand_normal(&[3, 10, 3], 0.0, 1.0, &mut rng);
        let tape = Tape::no_grad();
        let mut ctx = ForwardCtx::eval(&tape);
        let (whole, end) = layer.forward_with_state(&tape.input(x.clone()), None, None, &mut ctx).unwrap();
        let (a, mid) = layer.forward_with_state(&tape.input(x.slice(1, 0, 4).unwrap()), None, None, &mut ctx).unwrap();
        let init = mid.to_vars(&tape);
        let (b, end2) = layer.forward_with_state(&tape.input(x.slice(1, 4, 10).unwrap()), Some(&init), None, &mut ctx).unwrap();
        let joined = Tensor::concat(&[a.value(), b.value()], 1).unwrap();
        assert!(whole.value().max_abs_diff(&joined).unwrap() < 1e-5, "{cell:?}");
        for (p, q) in end.h.iter().zip(&end2.h).chain(end.c.iter().zip(&end2.c)) {
            assert!(p.max_abs_diff(q).unwrap() < 1e-5, "{cell:?}");
        }
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_op_and_shapes() {
    let tape = Tape::new();
    let x = tape.input(Tensor::zeros(&[2, 3, 4]));
    let w_ih = tape.input(Tensor::zeros(&[5, 8]));
    let w_hh = tape.input(Tensor::zeros(&[2, 8]));
    let b = tape.input(Tensor::zeros(&[8]));
    let w = RecurrentWeights { w_ih: &w_ih, w_hh: &w_hh, bias: &b, bias_hh: None, peep: None };
    let err = x.recurrent(Cell::Lstm, &w, None, None, &RecurrentOptions::default()).unwrap_err().to_string();
    assert!(err.contains("lstm") && err.contains("[4, 8]") && err.contains("[5, 8]"), "{err}");
    let w_ih = tape.input(Tensor::zeros(&[4, 8]));
    let w = RecurrentWeights { w_ih: &w_ih, ..w };
    let err = x.recurrent(Cell::Gru, &w, None, None, &RecurrentOptions::default()).unwrap_err().to_string();
    assert!(err.contains("gru"), "{err}");
    let opts = RecurrentOptions { lengths: Some(vec![3, 4]), ..Default::default() };
    let err = x.recurrent(Cell::Lstm, &w, None, None, &opts).unwrap_err().to_string();
    assert!(err.contains("length 4"), "{err}");
    let mut layer = Lstm::new(3);
    assert!(layer.build(&[7], &mut Rng::seeded(0)).is_err());
}

#[test]
fn specs_round_trip_through_toml_and_json() {
    let text = r#"
        [[layers]]
        type = "lstm"
        units = 32
        peephole = true
        bidirectional = true
        [[layers]]
        type = "rnn"
        units = 8
        activation = "relu"
        [[layers]]
        type = "dense"
        units = 10
    "#;
    let spec = strata::zoo::ModelSpec::parse(text, std::path::Path::new("rnn.toml")).unwrap();
    let mut model = strata::model::Sequential::from_specs(&spec.layers);
    model.build(&[5, 3]).unwrap_err(); // the LSTM returns [64], the RNN needs a sequence
    let text = text.replace("bidirectional = true", "bidirectional = true\nreturn_sequences = true");
    let spec = strata::zoo::ModelSpec::parse(&text, std::path::Path::new("rnn.toml")).unwrap();
    let mut model = strata::model::Sequential::from_specs(&spec.layers);
    model.build(&[5, 3]).unwrap();
    assert_eq!(model.output_shape(), Some(&[10][..]));
    for s in model.specs() {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<LayerSpec>(&json).unwrap(), s);
    }
    let bad = "[[layers]]\ntype = \"rnn\"\nunits = 3\nactivation = \"sigmoid\"\n";
    assert!(strata::zoo::ModelSpec::parse(bad, std::path::Path::new("b.toml")).is_err());
    let _ = Dense::new(1);
}

/// The lectures' long-range dependency: the class is shown at the first of `STEPS` steps
/// (one of two symbols, each on its own channel), then only noise follows on two other
/// channels; the model must name the class after the last step. Returns the test accuracy
/// after 400 Adam updates of batch 32.
fn memory_task(cell: Cell, seed: u64) -> f32 {
    use strata::data::{Dataset, Target};
    use strata::model::{FitOptions, Sequential};
    const STEPS: usize = 60;
    const FEATURES: usize = 4;
    let make = |n: usize, rng: &mut Rng| {
        let mut x = Tensor::rand_normal(&[n, STEPS, FEATURES], 0.0, 1.0, rng).into_vec();
        let labels: Vec<u32> = (0..n).map(|_| rng.below(2) as u32).collect();
        for (i, v) in x.iter_mut().enumerate() {
            let (sample, t, f) = (i / (STEPS * FEATURES), (i / FEATURES) % STEPS, i % FEATURES);
            if t == 0 {
                *v = (f == labels[sample] as usize) as u8 as f32; // the symbol, no noise
            } else if f < 2 {
                *v = 0.0; // the symbol channels stay silent afterwards
            }
        }
        let x = Tensor::from_vec(x, &[n, STEPS, FEATURES]).unwrap();
        Dataset::new(x, Target::Classes { labels, num_classes: 2 }).unwrap()
    };
    let mut rng = Rng::seeded(seed);
    let (train, test) = (make(32 * 400, &mut rng), make(512, &mut rng));
    let mut model = Sequential::new().seed(seed).add(Recurrent::new(cell, 16)).add(Dense::new(2));
    model.compile(strata::Adam::new(3e-3), strata::loss::Loss::SoftmaxCrossEntropy, &[strata::metrics::Metric::Accuracy]);
    model.fit(&train, FitOptions::epochs(1).batch_size(32).silent().clip_norm(1.0)).unwrap();
    model.evaluate(&test, 512).unwrap().accuracy.unwrap()
}

/// Measured over seeds 1-5: the LSTM reaches 1.00 every time, the RNN stays at chance
/// (0.46-0.53). Vanishing gradients: the error signal from step 60 reaches step 1 through
/// 60 tanh derivatives in the RNN, through the (learned, near-1) forget gates in the LSTM.
#[test]
fn a_plain_rnn_forgets_what_an_lstm_remembers_over_60_steps() {
    for seed in 1..=3 {
        let (rnn, lstm) = (memory_task(Cell::RnnTanh, seed), memory_task(Cell::Lstm, seed));
        assert!(lstm >= 0.95, "seed {seed}: the LSTM should solve the task, got accuracy {lstm}");
        assert!(rnn <= 0.65, "seed {seed}: the RNN should stay near chance, got accuracy {rnn}");
    }
}
