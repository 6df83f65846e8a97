//! Generating text from a language model, and next-token predictions.

use super::lm::LanguageModel;
use super::vocab::Level;
use crate::autograd::Tape;
use crate::nn::ForwardCtx;
use crate::nn::recurrent::RecurrentState;
use crate::{Error, Result, Rng, Tensor};

/// Runs `ids` through the model from `state`; returns the logits after the last one and
/// the state after it.
fn feed(model: &LanguageModel, ids: &[u32], state: Option<&RecurrentState>) -> Result<(Vec<f32>, RecurrentState)> {
    let input = Tensor::from_vec(ids.iter().map(|&i| i as f32).collect(), &[1, ids.len()])?;
    let tape = Tape::no_grad();
    let mut ctx = ForwardCtx::eval(&tape);
    let (logits, next) = model.forward(&input, state, &mut ctx)?;
    let v = model.vocab.len();
    let last = logits.value().data()[(ids.len() - 1) * v..].to_vec();
    Ok((last, next))
}

/// The prompt's ids; an empty prompt starts after a line break (or a space) at character level.
fn prompt_ids(model: &LanguageModel, prompt: &str) -> Result<Vec<u32>> {
    let mut ids = model.vocab.encode(prompt);
    if ids.is_empty() {
        let start = ["\n", " ", "."].iter().map(|t| model.vocab.id(t)).find(|&i| i != 0);
        ids.push(
            start.ok_or_else(|| {
                Error::invalid("prompt", "is empty and the vocabulary has no line break or space to start from")
            })?,
        );
    }
    Ok(ids)
}

/// Probabilities softmax(logits / temperature), with `<unk>` (id 0) never chosen.
fn probabilities(logits: &[f32], temperature: f32) -> Vec<f32> {
    let t = temperature.max(1e-6);
    let m = logits[1..].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = logits.iter().map(|&z| ((z - m) / t).exp()).collect();
    p[0] = 0.0;
    let sum: f32 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}

fn pick(p: &[f32], temperature: f32, rng: &mut Rng) -> u32 {
    if temperature <= 0.0 {
        return p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i as u32).unwrap_or(0);
    }
    let mut u = rng.uniform();
    for (i, &v) in p.iter().enumerate() {
        u -= v;
        if u <= 0.0 {
            return i as u32;
        }
    }
    (p.len() - 1) as u32
}

/// The prompt followed by `length` generated tokens, each drawn from the model's
/// distribution sharpened (temperature < 1) or flattened (> 1); temperature 0 always takes
/// the most likely token. [`UNK`](super::UNK) is never generated. An empty prompt starts
/// after a line break (or a space, or a full stop) when the vocabulary has one; at word
/// level the generated words are joined to the prompt with a space.
///
/// Errors: a negative or non-finite temperature, or an empty prompt with none of those
/// tokens to start from.
pub fn generate(model: &LanguageModel, prompt: &str, length: usize, temperature: f32, rng: &mut Rng) -> Result<String> {
    if !temperature.is_finite() || temperature < 0.0 {
        return Err(Error::invalid("temperature", format!("{temperature} (must be 0 or more)")));
    }
    let mut ids = prompt_ids(model, prompt)?;
    let given = ids.len();
    let (mut logits, mut state) = feed(model, &ids, None)?;
    for _ in 0..length {
        let next = pick(&probabilities(&logits, temperature), temperature, rng);
        ids.push(next);
        (logits, state) = feed(model, &[next], Some(&state))?;
    }
    let mut text = String::from(prompt);
    let new = model.vocab.decode(&ids[given..]);
    if model.level() == Level::Word && !text.is_empty() && !new.is_empty() && !new.starts_with(['.', ',', '!', '?', ';', ':']) {
        text.push(' ');
    }
    text.push_str(&new);
    Ok(text)
}

/// The `k` most likely next tokens after `prompt`, with their probabilities, most likely
/// first ([`UNK`](super::UNK) excluded; an empty prompt as for [`generate`]).
///
/// Errors: an empty prompt with no token to start from.
pub fn next_tokens(model: &LanguageModel, prompt: &str, k: usize) -> Result<Vec<(String, f32)>> {
    let ids = prompt_ids(model, prompt)?;
    let (logits, _) = feed(model, &ids, None)?;
    let p = probabilities(&logits, 1.0);
    let mut ranked: Vec<(usize, f32)> = p.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(ranked.into_iter().take(k).map(|(i, p)| (model.vocab.token(i as u32).to_string(), p)).collect())
}
