//! A recurrent language model: Embedding -> LSTM/GRU stack -> Dense over the vocabulary,
//! trained to predict each next token with truncated backpropagation through time
//! (`train.rs`).

use super::vocab::{Level, Vocab};
use crate::autograd::{Param, Var};
use crate::io::{load_tensors, save_tensors, write_atomic};
use crate::nn::recurrent::{Cell, RecurrentState};
use crate::nn::{Dense, Embedding, ForwardCtx, Layer, Recurrent};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "strata-textgen";
const VERSION: u32 = 1;

/// The shape of a language model. Default: one LSTM layer of 256 units over embeddings
/// of width 32.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmConfig {
    /// The recurrent cell: `"lstm"`, `"gru"` or `"rnn"` (tanh).
    pub cell: String,
    /// Width of the token embeddings.
    pub embed: usize,
    /// Hidden units per recurrent layer.
    pub hidden: usize,
    /// Stacked recurrent layers.
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

/// Figures measured when a model was trained, saved beside it by [`LanguageModel::save`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LmStats {
    /// Held-out bits per token of the model.
    pub heldout_bits: f64,
    /// Held-out bits per token of the unigram baseline ([`unigram_bits`](super::unigram_bits)).
    pub unigram_bits: f64,
    /// Characters per token of the held-out text (1 at character level), so word-level
    /// figures convert to bits per character.
    pub chars_per_token: f64,
    /// Tokens of the training text.
    pub train_tokens: usize,
    /// Tokens of the held-out text.
    pub heldout_tokens: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Wall-clock training time.
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

/// A recurrent language model: Embedding -> recurrent stack -> Dense(vocabulary) at every
/// step, giving the logits of the next token. Train it with
/// [`train_lm`](super::train_lm), sample with [`generate`](super::generate).
pub struct LanguageModel {
    /// The model's shape.
    pub config: LmConfig,
    /// The tokens it reads and predicts.
    pub vocab: Vocab,
    /// Figures of its training, if recorded (saved and loaded with the model).
    pub stats: Option<LmStats>,
    embedding: Embedding,
    rnn: Recurrent,
    head: Dense,
}

impl LanguageModel {
    /// A freshly initialized model over `vocab`, its weights drawn from `seed`.
    ///
    /// Errors: an unknown cell, or a zero size in `config`.
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
    fn params(&self) -> Vec<&Param> {
        self.layers().into_iter().flat_map(|l| l.params()).collect()
    }
    /// Every trainable parameter, for the optimizer.
    pub(super) fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out: Vec<&mut Param> = self.embedding.params_mut();
        out.extend(self.rnn.params_mut());
        out.extend(self.head.params_mut());
        out
    }
    /// Number of trainable values (weights and biases).
    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.value.numel()).sum()
    }

    /// A zero state for `n` parallel streams.
    pub(super) fn zero_state(&self, n: usize) -> RecurrentState {
        self.rnn.zero_state(n)
    }

    /// Logits `[N*T, V]` for the tokens `ids` `[N, T]`, continuing from `state`; also returns the
    /// state after the last step.
    pub(super) fn forward(
        &self,
        ids: &Tensor,
        state: Option<&RecurrentState>,
        ctx: &mut ForwardCtx,
    ) -> Result<(Var, RecurrentState)> {
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

    /// Saves the weights to `path` (safetensors) and the configuration, vocabulary and
    /// stats beside it (`model.safetensors` -> `model.json`).
    ///
    /// Errors: a file cannot be written.
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
    ///
    /// Errors: a file cannot be read, the description is not a strata text model of a
    /// supported version, or the weights are missing, extra or of the wrong shape.
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
