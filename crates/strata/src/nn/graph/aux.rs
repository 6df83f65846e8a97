//! An auxiliary classifier: a side head on an intermediate layer whose loss joins the
//! training loss with a small weight and which inference skips (GoogLeNet, Szegedy et al.
//! 2014, section 5: "by adding auxiliary classifiers connected to these intermediate layers,
//! we would expect to encourage discrimination in the lower stages in the classifier,
//! increase the gradient signal that gets propagated back, and provide additional
//! regularization ... their loss gets added to the total loss of the network with a discount
//! weight (the losses of the auxiliary classifiers were weighted by 0.3). At inference time,
//! these auxiliary networks are discarded.").

use super::{Chain, SubLayer};
use crate::autograd::{Param, Var};
use crate::nn::{AuxOutput, ForwardCtx, Layer, LayerSpec};
use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

fn default_weight() -> f32 {
    0.3
}

/// An [`AuxClassifier`]'s configuration, as written in spec files
/// (`type = "aux_classifier"`) and saved models: the head's layers, nested, and the weight
/// of its loss.
///
/// ```toml
/// [[layers]]
/// type = "aux_classifier"
/// weight = 0.3
/// head = [{ type = "global_avg_pool2d" }, { type = "dense", units = 10 }]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuxClassifierConfig {
    /// Weight of the head's loss in the training loss; default 0.3 (GoogLeNet's).
    /// `strata train --aux-weight W` overrides it for every head.
    #[serde(default = "default_weight")]
    pub weight: f32,
    /// The head's layers, applied in order to this point's activations; the last one gives
    /// the class logits (required, at least one).
    pub head: Vec<LayerSpec>,
}

/// Passes its input through unchanged; in a training pass it also runs its head on the
/// input and hands the logits to the loss ([`ForwardCtx::push_aux`]). Evaluation and
/// prediction skip the head, so it costs nothing at inference; its parameters are saved
/// and counted with the model's.
///
/// ```
/// use strata::layers;
/// use strata::nn::{AuxClassifier, Dense, Flatten, Layer};
/// use strata::Rng;
/// let mut aux = AuxClassifier::new(layers![Flatten, Dense::new(10)]);
/// assert_eq!(aux.build(&[8, 4, 4], &mut Rng::seeded(0)).unwrap(), vec![8, 4, 4]);
/// assert_eq!(aux.params().iter().map(|p| p.value.numel()).sum::<usize>(), 128 * 10 + 10);
/// ```
pub struct AuxClassifier {
    weight: f32,
    head: Chain,
    /// The head's output shape, once built.
    classes: Option<Vec<usize>>,
}

impl AuxClassifier {
    /// A head of these layers, its loss weighted 0.3.
    pub fn new(head: Vec<Box<dyn Layer>>) -> AuxClassifier {
        AuxClassifier { weight: default_weight(), head: Chain::new(head), classes: None }
    }
    /// An unbuilt head with fresh layers for this configuration.
    pub fn from_config(config: AuxClassifierConfig) -> AuxClassifier {
        AuxClassifier { weight: config.weight, head: Chain::from_specs(&config.head), classes: None }
    }
    /// The configuration (what [`Layer::spec`] saves), collected from the layers.
    pub fn config(&self) -> AuxClassifierConfig {
        AuxClassifierConfig { weight: self.weight, head: self.head.specs() }
    }
    /// The loss weight.
    pub fn weight(mut self, w: f32) -> Self {
        self.weight = w;
        self
    }
}

impl Layer for AuxClassifier {
    fn kind(&self) -> &'static str {
        "AuxClassifier"
    }
    fn build(&mut self, input: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if self.head.is_empty() {
            return Err(Error::invalid("AuxClassifier", "has no head layers"));
        }
        if !(self.weight >= 0.0 && self.weight.is_finite()) {
            return Err(Error::invalid("AuxClassifier weight", format!("{} is not a finite number >= 0", self.weight)));
        }
        let out = self.head.build("head", input, rng)?;
        if out.len() != 1 {
            return Err(Error::bad_shape("AuxClassifier", &out, "the head must end in flat class scores (e.g. a dense layer)"));
        }
        self.classes = Some(out);
        Ok(input.to_vec())
    }
    fn forward(&self, x: &Var, ctx: &mut ForwardCtx) -> Result<Var> {
        if ctx.training {
            let logits = self.head.forward(x, ctx)?;
            ctx.push_aux(AuxOutput { logits, weight: self.weight });
        }
        Ok(x.clone())
    }
    fn params(&self) -> Vec<&Param> {
        self.head.params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.head.params_mut()
    }
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.head.named_params("head")
    }
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param)> {
        self.head.named_params_mut("head")
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.head.named_buffers("head")
    }
    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        let rest = name.strip_prefix("head.").ok_or_else(|| Error::Model(format!("AuxClassifier has no buffer '{name}'")))?;
        self.head.set_buffer(rest, value)
    }
    fn macs(&self, _input: &[usize]) -> u64 {
        // the head runs in training only; inference skips it
        0
    }
    fn spec(&self) -> LayerSpec {
        LayerSpec::AuxClassifier(self.config())
    }
    fn children(&self) -> Vec<SubLayer<'_>> {
        self.head.children("head")
    }
}
