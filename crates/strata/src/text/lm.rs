//! A recurrent language model: Embedding -> LSTM/GRU stack -> Dense over the vocabulary,
//! trained to predict each next token with truncated backpropagation through time.

use super::vocab::{Level, Vocab};
use crate::autograd::{Param, Tape, Var};
use crate::io::{load_tensors, save_tensors, write_atomic};
use crate::nn::recurrent::{Cell, RecurrentState};
use crate::nn::{Dense, Embedding, ForwardCtx, Layer, Recurrent};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "strata-textgen";
const VERSION: u32 = 1;

/// The shape of a language model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmConfig {
    /// "lstm" or "gru".
    pub cell: String,
    /// Width of the token embeddings.
    pub embed: usize,
    pub hidden: usize,
    pub layers: usize,
}

impl Default for LmConfig {
    fn default() -> Self {
        LmConfig { cell: "lstm".into(), embed: 32, hidden: 256, layers: 1 }
    }
}

impl LmConfig {
    fn cell(&self) -> Result<Cell> {
        match self.cell.as_str() {
            "lstm" => Ok(Cell::Lstm),
            "gru" => Ok(Cell::Gru),
            "rnn" => Ok(Cell::RnnTanh),
            other => Err(Error::invalid("cell", format!("'{other}' (expected lstm, gru or rnn)"))),
        }
    }
}

/// Figures measured when a model was trained, saved beside it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LmStats {
    /// Held-out bits per token of the model and of the unigram baseline.
    pub heldout_bits: f64,
    pub unigram_bits: f64,
    /// Characters per token of the held-out text (1 at character level), so word-level
    /// figures convert to bits per character.
    pub chars_per_token: f64,
    pub train_tokens: usize,
    pub heldout_tokens: usize,
    pub epochs: usize,
    pub seconds: f64,
}

/// The JSON description saved beside the weights.
#[derive(Serialize, Deserialize)]
struct Description {
    format: String,
    version: u32,
    config: LmConfig,
    vocab: Vocab,
    #[serde(default)]
    stats: Option<LmStats>,
}

/// Embedding -> recurrent stack (sequences) -> Dense(vocabulary) at every step.
pub struct LanguageModel {
    pub config: LmConfig,
    pub vocab: Vocab,
    pub stats: Option<LmStats>,
    embedding: Embedding,
    rnn: Recurrent,
    head: Dense,
}

impl LanguageModel {
    /// A freshly initialized model over `vocab`.
    pub fn new(config: LmConfig, vocab: Vocab, seed: u64) -> Result<LanguageModel> {
        let cell = config.cell()?;
        if config.embed == 0 || config.hidden == 0 || config.layers == 0 {
            return Err(Error::invalid("language model", "embed, hidden and layers must be at least 1"));
        }
        let mut rng = Rng::seeded(seed);
        let v = vocab.len();
        let mut embedding = Embedding::new(v, config.embed);
        let mut rnn = Recurrent::new(cell, config.hidden).layers(config.layers).return_sequences(true);
        let mut head = Dense::new(v);
        let e = embedding.build(&[1], &mut rng)?;
        let h = rnn.build(&e, &mut rng)?;
        head.build(&h, &mut rng)?;
        Ok(LanguageModel { config, vocab, stats: None, embedding, rnn, head })
    }

    fn layers(&self) -> [&dyn Layer; 3] {
        [&self.embedding, &self.rnn, &self.head]
    }

    /// Every trainable parameter.
    pub fn params(&self) -> Vec<&Param> {
        self.layers().into_iter().flat_map(|l| l.params()).collect()
    }
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out: Vec<&mut Param> = self.embedding.params_mut();
        out.extend(self.rnn.params_mut());
        out.extend(self.head.params_mut());
        out
    }
    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.value.numel()).sum()
    }

    /// A zero state for `n` parallel streams.
    pub fn zero_state(&self, n: usize) -> RecurrentState {
        self.rnn.zero_state(n)
    }

    /// Logits [N*T, V] for the tokens `ids` [N, T], continuing from `state`; also returns the
    /// state after the last step.
    pub fn forward(&self, ids: &Tensor, state: Option<&RecurrentState>, ctx: &mut ForwardCtx) -> Result<(Var, RecurrentState)> {
        let (n, t) = match *ids.shape() {
            [n, t] => (n, t),
            _ => {
                return Err(Error::bad_shape("language model", ids.shape(), "needs token ids [streams, steps]"));
            }
        };
        let x = self.embedding.forward(&ctx.tape.input(ids.clone()), ctx)?;
        let init = state.map(|s| s.to_vars(ctx.tape));
        let (hs, next) = self.rnn.forward_with_state(&x, init.as_ref(), None, ctx)?;
        let logits = self.head.forward(&hs.reshape(&[n * t, self.config.hidden * self.rnn.config().directions()])?, ctx)?;
        Ok((logits, next))
    }

    /// Mean cross-entropy in bits per token of predicting `ids[1..]` from what precedes them,
    /// reading the stream in windows of `window` tokens with the state carried across.
    pub fn bits_per_token(&self, ids: &[u32], window: usize) -> Result<f64> {
        if ids.len() < 2 {
            return Err(Error::invalid("held-out text", "needs at least 2 tokens"));
        }
        let mut state = None;
        let (mut total, mut count) = (0.0f64, 0usize);
        let mut rng = Rng::seeded(0);
        for start in (0..ids.len() - 1).step_by(window.max(1)) {
            let end = (start + window.max(1)).min(ids.len() - 1);
            let input = Tensor::from_vec(ids[start..end].iter().map(|&i| i as f32).collect(), &[1, end - start])?;
            let tape = Tape::no_grad();
            let mut ctx = ForwardCtx { tape: &tape, training: false, rng: &mut rng };
            let (logits, next) = self.forward(&input, state.as_ref(), &mut ctx)?;
            let loss = logits.softmax_cross_entropy(&ids[start + 1..end + 1])?;
            total += loss.value().item()? as f64 * (end - start) as f64;
            count += end - start;
            state = Some(next);
        }
        Ok(total / count as f64 / std::f64::consts::LN_2)
    }

    /// Saves the weights to `path` (safetensors) and the configuration, vocabulary and
    /// stats beside it (`model.safetensors` -> `model.json`).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = Vec::new();
        for (prefix, layer) in ["embedding", "rnn", "head"].into_iter().zip(self.layers()) {
            for p in layer.params() {
                tensors.push((format!("{prefix}.{}", p.name), p.value.clone()));
            }
        }
        let desc = Description {
            format: FORMAT.into(),
            version: VERSION,
            config: self.config.clone(),
            vocab: self.vocab.clone(),
            stats: self.stats.clone(),
        };
        let json = serde_json::to_string_pretty(&desc).map_err(|e| Error::Model(e.to_string()))?;
        save_tensors(path, &tensors, None)?;
        write_atomic(&crate::model::description_path(path), json.as_bytes())
    }

    /// Loads a model saved by [`LanguageModel::save`].
    pub fn load(path: &Path) -> Result<LanguageModel> {
        let desc_path = crate::model::description_path(path);
        let text = std::fs::read_to_string(&desc_path).map_err(|e| Error::io(&desc_path, e))?;
        let desc: Description =
            serde_json::from_str(&text).map_err(|e| Error::data(&desc_path, format!("not a strata text model ({e})")))?;
        if desc.format != FORMAT || desc.version > VERSION {
            return Err(Error::data(
                &desc_path,
                format!("format '{}' v{} is not {FORMAT} v{VERSION}", desc.format, desc.version),
            ));
        }
        let mut model = LanguageModel::new(desc.config, desc.vocab.reindex(), 0)?;
        model.stats = desc.stats;
        let mut by_name: std::collections::HashMap<String, Tensor> = load_tensors(path)?.into_iter().collect();
        let prefixes = ["embedding", "rnn", "head"];
        let mut params: Vec<(&str, &mut Param)> = Vec::new();
        params.extend(model.embedding.params_mut().into_iter().map(|p| (prefixes[0], p)));
        params.extend(model.rnn.params_mut().into_iter().map(|p| (prefixes[1], p)));
        params.extend(model.head.params_mut().into_iter().map(|p| (prefixes[2], p)));
        for (prefix, p) in params {
            let name = format!("{prefix}.{}", p.name);
            let t = by_name.remove(&name).ok_or_else(|| Error::data(path, format!("missing tensor '{name}'")))?;
            if t.shape() != p.value.shape() {
                return Err(Error::data(
                    path,
                    format!("tensor '{name}' has shape {:?}, the model expects {:?}", t.shape(), p.value.shape()),
                ));
            }
            p.value = t;
        }
        if let Some(extra) = by_name.keys().next() {
            return Err(Error::data(path, format!("unexpected tensor '{extra}'")));
        }
        Ok(model)
    }

    /// The level of the vocabulary (characters or words).
    pub fn level(&self) -> Level {
        self.vocab.level
    }
}
