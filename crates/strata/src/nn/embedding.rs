//! Embedding: token ids -> learned dense vectors (the first layer of a language model).

use super::{ForwardCtx, Layer, LayerSpec};
use crate::autograd::{Param, Var};
use crate::{Error, Result, Rng, Tensor};

/// An [`Embedding`] layer's configuration, as written in spec files (`type = "embedding"`)
/// and saved models.
///
/// ```toml
/// [[layers]]
/// type = "embedding"
/// vocab = 100
/// dim = 8
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Number of token ids, 0 to `vocab - 1` (required).
    pub vocab: usize,
    /// Values per vector (required).
    pub dim: usize,
    /// Put the vectors' values first: output `[N, dim, ...]` instead of `[N, ..., dim]`,
    /// so a following convolution reads them as channels (a text's word vectors `[E, T]`:
    /// a 1-D convolution over time is then a `w x 1` convolution with E input channels).
    /// Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub channels_first: bool,
}

/// A table of `vocab` vectors of `dim` values; input [N, ...] holds token ids (as f32 whole
/// numbers below `vocab`), output [N, ..., dim]. Backward adds each position's gradient
/// into its token's row (repeated tokens accumulate).
///
/// ```
/// use strata::nn::{Embedding, Layer};
/// let mut e = Embedding::new(100, 8);
/// assert_eq!(e.build(&[20], &mut strata::Rng::seeded(0)).unwrap(), vec![20, 8]);
/// ```
#[derive(Clone, Debug)]
pub struct Embedding {
    config: EmbeddingConfig,
    weight: Option<Param>,
}

impl Embedding {
    /// A table of `vocab` vectors of `dim` values.
    /// With the vectors' values first (see [`EmbeddingConfig::channels_first`]).
    pub fn channels_first(mut self, yes: bool) -> Embedding {
        self.config.channels_first = yes;
        self
    }
    /// A table of `vocab` vectors of `dim` values.
    pub fn new(vocab: usize, dim: usize) -> Embedding {
        Embedding::from_config(EmbeddingConfig { vocab, dim, channels_first: false })
    }
    /// An unbuilt layer with this configuration.
    pub fn from_config(config: EmbeddingConfig) -> Embedding {
        Embedding { config, weight: None }
    }
    /// The configuration (what [`Layer::spec`] saves).
    pub fn config(&self) -> &EmbeddingConfig {
        &self.config
    }
    /// Number of token ids.
    pub fn vocab(&self) -> usize {
        self.config.vocab
    }
    /// Values per vector.
    pub fn dim(&self) -> usize {
        self.config.dim
    }
    /// The table [vocab, dim], once built.
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }

    /// The ids in `x`, checked to be whole numbers in range.
    fn ids(&self, x: &Tensor) -> Result<Vec<usize>> {
        x.data()
            .iter()
            .map(|&v| {
                if v >= 0.0 && v.fract() == 0.0 && (v as usize) < self.vocab() {
                    Ok(v as usize)
                } else {
                    Err(Error::invalid(
                        "Embedding input",
                        format!("{v} is not a token id below the vocabulary size {}", self.vocab()),
                    ))
                }
            })
            .collect()
    }
}

impl Layer for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let EmbeddingConfig { vocab, dim, channels_first } = self.config;
        if vocab == 0 || dim == 0 {
            return Err(Error::invalid("Embedding", "vocab and dim must be at least 1"));
        }
        if self.weight.as_ref().map(|w| w.value.shape()) != Some(&[vocab, dim][..]) {
            super::init::check_weights(&[vocab, dim])?;
            // N(0, 1) like PyTorch: inputs of unit scale for the layer that follows
            self.weight = Some(Param::new("weight", Tensor::rand_normal(&[vocab, dim], 0.0, 1.0, rng)));
        }
        let mut out = input.to_vec();
        if channels_first {
            out.insert(0, dim);
        } else {
            out.push(dim);
        }
        Ok(out)
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        let w = self.weight.as_ref().ok_or_else(|| Error::Model("Embedding used before build".into()))?;
        let ids = self.ids(x.value())?;
        let mut shape = x.shape().to_vec();
        shape.push(self.dim());
        let y = ctx.param(w).gather_rows(&ids)?.reshape(&shape)?;
        if !self.config.channels_first {
            return Ok(y);
        }
        // [N, ..., dim] -> [N, dim, ...]
        let last = shape.len() - 1;
        let perm: Vec<usize> = [0, last].into_iter().chain(1..last).collect();
        y.permute(&perm)
    }
    fn params(&self) -> Vec<&Param> {
        self.weight.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().collect()
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::Embedding(self.config.clone())
    }
}
