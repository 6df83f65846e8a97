//! Training a language model with truncated backpropagation through time ([`train_lm`]
//! describes the scheme), and held-out evaluation ([`evaluate_bits`]).

use super::lm::LanguageModel;
use crate::autograd::Tape;
use crate::nn::ForwardCtx;
use crate::nn::recurrent::RecurrentState;
use crate::optim::{Adam, Optimizer};
use crate::{Error, Result, Rng, Tensor};
use std::time::Instant;

/// Options for [`train_lm`].
#[derive(Clone, Debug)]
pub struct LmTrainOptions {
    /// Passes over the training text (default 3).
    pub epochs: usize,
    /// Parallel streams, the batch size (default 64).
    pub streams: usize,
    /// Truncation length of backpropagation through time, in tokens (default 64).
    pub seq_len: usize,
    /// Adam's learning rate in the first epoch (default 2e-3).
    pub lr: f32,
    /// Factor applied to the learning rate after every epoch (default 0.7).
    pub lr_decay: f32,
    /// Rescale gradients to at most this global norm (default 5: even gated cells produce
    /// the occasional exploding gradient).
    pub clip_norm: Option<f32>,
    /// Stop an epoch after this many steps (tests, quick looks; default `None`).
    pub max_steps_per_epoch: Option<usize>,
    /// Seed of the training's randomness, the window offsets of epochs after the first
    /// (default 1).
    pub seed: u64,
}

impl Default for LmTrainOptions {
    fn default() -> Self {
        LmTrainOptions {
            epochs: 3,
            streams: 64,
            seq_len: 64,
            lr: 2e-3,
            lr_decay: 0.7,
            clip_norm: Some(5.0),
            max_steps_per_epoch: None,
            seed: 1,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LmEpoch {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// Mean training loss, bits per token.
    pub train_bits: f64,
    /// Bits per token on the held-out text after the epoch.
    pub heldout_bits: f64,
    /// Wall-clock time of the epoch, held-out evaluation included.
    pub seconds: f64,
    /// Training tokens predicted per second.
    pub tokens_per_sec: f64,
}

/// `ids` cut into `streams` equal pieces, read in windows of `len` tokens from `start`:
/// inputs `[streams, T]` and the tokens that follow each, flattened row-major (`[streams*T]`).
fn window(ids: &[u32], streams: usize, piece: usize, start: usize, len: usize) -> Result<(Tensor, Vec<u32>)> {
    let t = len.min(piece - start);
    let mut inputs = Vec::with_capacity(streams * t);
    let mut targets = Vec::with_capacity(streams * t);
    for b in 0..streams {
        let base = b * piece + start;
        inputs.extend(ids[base..base + t].iter().map(|&i| i as f32));
        targets.extend_from_slice(&ids[base + 1..base + t + 1]);
    }
    Ok((Tensor::from_vec(inputs, &[streams, t])?, targets))
}

/// Length of each of `streams` pieces of `n` tokens, keeping one token for the last target.
fn piece_len(n: usize, streams: usize) -> usize {
    n.saturating_sub(1) / streams.max(1)
}

/// Bits per token of `model` predicting each token of `ids` from those before it, read as
/// `streams` pieces side by side (each starts from a zero state, so fewer streams see more
/// context; at most one per 64 tokens) in windows of `window_len` tokens with the state
/// carried across.
///
/// Errors: fewer than 2 tokens.
pub fn evaluate_bits(model: &LanguageModel, ids: &[u32], streams: usize, window_len: usize) -> Result<f64> {
    let streams = streams.clamp(1, (ids.len() / 64).max(1));
    let piece = piece_len(ids.len(), streams);
    if piece == 0 {
        return Err(Error::invalid("held-out text", "needs at least 2 tokens"));
    }
    let mut state: Option<RecurrentState> = None;
    let (mut total, mut count) = (0.0f64, 0usize);
    for start in (0..piece).step_by(window_len.max(1)) {
        let (inputs, targets) = window(ids, streams, piece, start, window_len.max(1))?;
        let tape = Tape::no_grad();
        let mut ctx = ForwardCtx::eval(&tape);
        let (logits, next) = model.forward(&inputs, state.as_ref(), &mut ctx)?;
        let loss = logits.softmax_cross_entropy(&targets)?;
        total += loss.value().item()? as f64 * targets.len() as f64;
        count += targets.len();
        state = Some(next);
    }
    Ok(total / count as f64 / std::f64::consts::LN_2)
}

/// Trains `model` on the token stream `train` (ids of its vocabulary), evaluating on
/// `heldout` after each epoch; `report` is called with each epoch's figures as they come.
/// Returns every epoch's figures.
///
/// The stream is cut into `streams` contiguous pieces read side by side. Each step takes
/// the next `seq_len` tokens of every piece, predicts each following token, and
/// backpropagates through those steps only; the hidden state is carried into the next
/// window as a plain value, so the model sees unbounded context while gradients flow
/// through at most `seq_len` steps. Each epoch after the first starts its windows at a
/// random offset, so no boundary is always a boundary.
///
/// Errors: zero epochs, streams or `seq_len`; a training text too short for `streams`
/// pieces of 2 tokens; fewer than 2 held-out tokens; a loss that becomes non-finite.
pub fn train_lm(
    model: &mut LanguageModel,
    train: &[u32],
    heldout: &[u32],
    opts: &LmTrainOptions,
    mut report: impl FnMut(&LmEpoch),
) -> Result<Vec<LmEpoch>> {
    if opts.streams == 0 || opts.seq_len == 0 || opts.epochs == 0 {
        return Err(Error::invalid("textgen training", "epochs, streams and seq_len must be at least 1"));
    }
    let piece = piece_len(train.len(), opts.streams);
    if piece < 2 {
        return Err(Error::invalid("training text", format!("{} tokens are too few for {} streams", train.len(), opts.streams)));
    }
    let mut optimizer = Adam::new(opts.lr);
    let mut rng = Rng::seeded(opts.seed);
    let mut history = Vec::new();
    for epoch in 1..=opts.epochs {
        let started = Instant::now();
        // a different cut into windows each epoch, so no boundary is always a boundary
        let offset = if epoch == 1 { 0 } else { rng.below(opts.seq_len.min(piece - 1)) };
        let mut state = Some(model.zero_state(opts.streams));
        let (mut loss_sum, mut tokens) = (0.0f64, 0usize);
        let starts: Vec<usize> = (offset..piece).step_by(opts.seq_len).collect();
        for (step, &start) in starts.iter().enumerate() {
            if opts.max_steps_per_epoch.is_some_and(|m| step >= m) {
                break;
            }
            let (inputs, targets) = window(train, opts.streams, piece, start, opts.seq_len)?;
            let (loss, mut grads, next) = {
                let tape = Tape::new();
                let mut ctx = ForwardCtx::train(&tape, &mut rng);
                let (logits, next) = model.forward(&inputs, state.as_ref(), &mut ctx)?;
                let loss = logits.softmax_cross_entropy(&targets)?;
                (loss.value().item()?, loss.backward()?, next)
                // the tape is dropped here, so the update below writes in place
            };
            if !loss.is_finite() {
                return Err(Error::NonFinite { value: loss, epoch, step: step + 1 });
            }
            if let Some(c) = opts.clip_norm {
                grads.clip_global_norm(c);
            }
            optimizer.step(&mut model.params_mut(), &grads)?;
            state = Some(next);
            loss_sum += loss as f64 * targets.len() as f64;
            tokens += targets.len();
        }
        let heldout_bits = evaluate_bits(model, heldout, opts.streams, opts.seq_len * 4)?;
        let seconds = started.elapsed().as_secs_f64();
        let record = LmEpoch {
            epoch,
            train_bits: loss_sum / tokens.max(1) as f64 / std::f64::consts::LN_2,
            heldout_bits,
            seconds,
            tokens_per_sec: tokens as f64 / seconds.max(1e-9),
        };
        report(&record);
        history.push(record);
        optimizer.set_learning_rate(optimizer.learning_rate() * opts.lr_decay);
    }
    Ok(history)
}
