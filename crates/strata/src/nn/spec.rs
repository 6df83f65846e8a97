//! Serializable layer descriptions: the one format for TOML spec files written by users
//! and for the JSON description saved beside a model's weights.
//!
//! Each layer type owns its configuration: an `XConfig` struct in the layer's own file,
//! with its fields, their serde defaults and their documentation. [`LayerSpec`] is the
//! tagged union of those configurations, and everything that has to know every layer type
//! (the enum, [`LayerSpec::to_layer`], the `From<XConfig>` conversions, the variant names)
//! is generated from ONE registry below, a line per layer type. A new layer type is its own
//! file (layer and config), its line in the registry, and its `mod`/`pub use` in `nn/mod.rs`.

// Every layer type and its config, by glob: the registry below names them all, and a list
// here would be a second registry to keep in step.
use super::conv::{PaddingMode, Pair};
use super::*;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The serde default of the `use_bias` fields (`true`), shared by the configs that have one.
pub(super) fn yes() -> bool {
    true
}

/// The serde default of the `activation` fields (`"linear"`).
pub(super) fn linear() -> Activation {
    Activation::Linear
}

/// The serde default of the stride and dilation fields (1).
pub(super) fn one() -> Pair {
    Pair::Same(1)
}

/// The serde default of the `padding` fields (`"valid"`).
pub(super) fn valid() -> Padding {
    Padding::Named(PaddingMode::Valid)
}

/// Generates [`LayerSpec`] from `Variant(Config) => Layer` lines: the enum of newtype
/// variants (the variant's snake_case name is the `type` of spec files), `to_layer` (by the
/// layer type's `from_config`, which takes the config), `From<Config> for LayerSpec`, and
/// the variant names.
macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident($config:ident) => $layer:ident,)*) => {
        /// One layer, as written in a spec file:
        ///
        /// ```toml
        /// [[layers]]
        /// type = "dense"
        /// units = 128
        /// activation = "relu"
        /// ```
        ///
        /// `type` names the variant (snake_case); the other fields are the layer's
        /// configuration (e.g. [`DenseConfig`]), which rejects fields it does not know.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        pub enum LayerSpec {
            $($(#[$doc])* $variant($config),)*
        }

        impl LayerSpec {
            /// The name of every variant, in registry order (`"Dense"`, `"Conv2d"`, ...).
            pub const VARIANTS: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// A fresh (unbuilt) layer for this description.
            pub fn to_layer(&self) -> Box<dyn Layer> {
                match self.clone() {
                    $(LayerSpec::$variant(config) => Box::new($layer::from_config(config)),)*
                }
            }

            /// This description's variant name, one of [`LayerSpec::VARIANTS`].
            pub fn variant(&self) -> &'static str {
                match self {
                    $(LayerSpec::$variant(_) => stringify!($variant),)*
                }
            }
        }

        $(impl From<$config> for LayerSpec {
            fn from(config: $config) -> LayerSpec {
                LayerSpec::$variant(config)
            }
        })*
    };
}

registry! {
    /// `dense`: [`Dense`], a fully connected layer.
    Dense(DenseConfig) => Dense,
    /// `activation`: [`ActivationLayer`], an activation function on its own.
    Activation(ActivationConfig) => ActivationLayer,
    /// `dropout`: [`Dropout`].
    Dropout(DropoutConfig) => Dropout,
    /// `flatten`: [`Flatten`], no fields.
    Flatten(FlattenConfig) => Flatten,
    /// `maxout`: [`Maxout`].
    Maxout(MaxoutConfig) => Maxout,
    /// `conv2d`: [`Conv2d`].
    Conv2d(Conv2dConfig) => Conv2d,
    /// `locally_connected2d`: [`LocallyConnected2d`], a convolution without weight sharing.
    LocallyConnected2d(LocallyConnected2dConfig) => LocallyConnected2d,
    /// `pool2d`: [`Pool2d`], max, average or L2 pooling; the stride defaults to the window.
    Pool2d(Pool2dConfig) => Pool2d,
    /// `global_avg_pool2d`: [`GlobalAvgPool2d`], no fields.
    GlobalAvgPool2d(GlobalAvgPool2dConfig) => GlobalAvgPool2d,
    /// `batch_norm`: [`BatchNorm`].
    BatchNorm(BatchNormConfig) => BatchNorm,
    /// `local_response_norm`: [`LocalResponseNorm`].
    LocalResponseNorm(LocalResponseNormConfig) => LocalResponseNorm,
    /// `rnn`: simple [`Recurrent`] layer(s), tanh (default) or ReLU.
    Rnn(RnnConfig) => Recurrent,
    /// `lstm`: LSTM [`Recurrent`] layer(s).
    Lstm(LstmConfig) => Recurrent,
    /// `gru`: GRU [`Recurrent`] layer(s).
    Gru(GruConfig) => Recurrent,
    /// `embedding`: [`Embedding`], token ids to vectors.
    Embedding(EmbeddingConfig) => Embedding,
    /// `upsample2d`: [`Upsample2d`], nearest-neighbour upsampling.
    Upsample2d(Upsample2dConfig) => Upsample2d,
    /// `unflatten`: [`Unflatten`], flat features back to a per-sample shape.
    Unflatten(UnflattenConfig) => Unflatten,
    /// `noise`: [`Noise`], training-time input corruption.
    Noise(NoiseConfig) => Noise,
    /// `residual`: [`Residual`], `activation(body(x) + shortcut(x))`.
    Residual(ResidualConfig) => Residual,
    /// `concat`: [`Concat`], branches joined along the channels (Inception).
    Concat(ConcatConfig) => Concat,
    /// `block`: [`Block`], layers applied in order as one unit (VGG block, NiN block).
    Block(BlockConfig) => Block,
    /// `channel_maxout`: [`ChannelMaxout`], maxout over groups of channels (maxout convolutions).
    ChannelMaxout(ChannelMaxoutConfig) => ChannelMaxout,
    /// `sparse_conv2d`: [`SparseConv2d`], a convolution with a connection table (LeNet-5's C3).
    SparseConv2d(SparseConv2dConfig) => SparseConv2d,
    /// `subsampling2d`: [`Subsampling2d`], LeNet-5's trainable subsampling.
    Subsampling2d(Subsampling2dConfig) => Subsampling2d,
    /// `rbf`: [`Rbf`], Euclidean radial basis function output units (LeNet-5's output layer).
    Rbf(RbfConfig) => Rbf,
    /// `aux_classifier`: [`AuxClassifier`], a side head trained with the network and
    /// skipped at inference (GoogLeNet).
    AuxClassifier(AuxClassifierConfig) => AuxClassifier,
}

impl LayerSpec {
    /// The configuration in one line, `key=value` for every field that differs from its
    /// default, in the order of the config struct: `filters=16 kernel=3 padding=1
    /// use_bias=false`. Read from the serialized form (a field is at its default when the
    /// description without it reads back as the same layer), so it shows what a spec file
    /// would need and cannot drift from the configs. Nested layer lists (residual body,
    /// concat branches, block layers) are left out: `summary` shows those layers as rows of
    /// their own. `None` when no field is left.
    pub fn details(&self) -> Option<String> {
        // Through a string, not `serde_json::to_value`: the writer prints an f32 as the
        // shortest decimal that reads back as it (0.1), a `Value` would hold its f64
        // widening (0.10000000149011612); and reading the string back keeps field order.
        let Fields(fields) = serde_json::from_str(&serde_json::to_string(self).ok()?).ok()?;
        let at_default = |skip: usize| {
            let rest = fields.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, (k, v))| (k.clone(), v.clone()));
            serde_json::from_value::<LayerSpec>(serde_json::Value::Object(rest.collect())).is_ok_and(|back| back == *self)
        };
        let shown: Vec<String> = fields
            .iter()
            .enumerate()
            .filter(|&(i, (key, value))| key != "type" && !holds_layers(value) && !at_default(i))
            .map(|(_, (key, value))| match value {
                serde_json::Value::String(s) => format!("{key}={s}"),
                other => format!("{key}={other}"),
            })
            .collect();
        (!shown.is_empty()).then(|| shown.join(" "))
    }
}

/// Whether a serialized field holds layer descriptions (objects, possibly in lists).
fn holds_layers(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(_) => true,
        serde_json::Value::Array(items) => items.iter().any(holds_layers),
        _ => false,
    }
}

/// A JSON object's fields in the order they were written (`serde_json::Map` sorts them).
struct Fields(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(InOrder)
    }
}
