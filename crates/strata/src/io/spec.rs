//! Model spec files (TOML): networks defined Keras-style without writing Rust.
//!
//! ```toml
//! name = "my-mlp"
//! [[layers]]
//! type = "flatten"
//! [[layers]]
//! type = "dense"
//! units = 128
//! activation = "relu"
//! [[layers]]
//! type = "dropout"
//! rate = 0.2
//! [[layers]]
//! type = "dense"
//! units = 10
//! ```
//! The input shape comes from the data; an optional `input = [1, 28, 28]` pins it, and an
//! optional `[training]` table sets the default recipe (optimizer, lr, momentum, ...).

use crate::nn::LayerSpec;
use crate::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// Training defaults a spec file (or a zoo model) suggests; command-line flags override them.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    #[serde(default = "Recipe::default_optimizer")]
    pub optimizer: String,
    #[serde(default = "Recipe::default_lr")]
    pub lr: f32,
    #[serde(default)]
    pub momentum: f32,
    #[serde(default)]
    pub weight_decay: f32,
    #[serde(default = "Recipe::default_batch")]
    pub batch_size: usize,
    #[serde(default = "Recipe::default_epochs")]
    pub epochs: usize,
    /// Learning-rate schedule, e.g. "step:5:0.5" (see `optim::schedule_from_str`).
    #[serde(default)]
    pub schedule: Option<String>,
}

impl Recipe {
    fn default_optimizer() -> String {
        "sgd".into()
    }
    fn default_lr() -> f32 {
        0.05
    }
    fn default_batch() -> usize {
        128
    }
    fn default_epochs() -> usize {
        10
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            optimizer: "sgd".into(),
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 0.0,
            batch_size: 128,
            epochs: 10,
            schedule: None,
        }
    }
}

/// A parsed spec file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub input: Option<Vec<usize>>,
    pub layers: Vec<LayerSpec>,
    #[serde(default)]
    pub loss: Option<crate::loss::Loss>,
    #[serde(default)]
    pub training: Option<Recipe>,
}

impl ModelSpec {
    /// Parses TOML text; errors carry the line and column TOML reports.
    pub fn parse(text: &str, origin: &Path) -> Result<ModelSpec> {
        let spec: ModelSpec =
            toml::from_str(text).map_err(|e| Error::data(origin, e.to_string().replace('\n', " ").trim().to_string()))?;
        if spec.layers.is_empty() {
            return Err(Error::data(origin, "the spec lists no layers"));
        }
        Ok(spec)
    }
    pub fn read(path: &Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ModelSpec::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;

    #[test]
    fn parses_layers_and_reports_bad_fields() {
        let text = r#"
            name = "tiny"
            [[layers]]
            type = "flatten"
            [[layers]]
            type = "dense"
            units = 16
            activation = "leaky_relu:0.1"
            [[layers]]
            type = "dense"
            units = 3
            [training]
            lr = 0.1
        "#;
        let s = ModelSpec::parse(text, Path::new("t.toml")).unwrap();
        assert_eq!(s.layers.len(), 3);
        assert!(
            matches!(s.layers[1], LayerSpec::Dense { units: 16, activation: Activation::LeakyRelu(a), .. } if (a - 0.1).abs() < 1e-6)
        );
        assert_eq!(s.training.unwrap().lr, 0.1);
        let bad = ModelSpec::parse("[[layers]]\ntype = \"dense\"\nunits = 4\nactivaton = \"relu\"\n", Path::new("bad.toml"));
        let msg = bad.unwrap_err().to_string();
        assert!(msg.contains("bad.toml") && msg.contains("activaton"), "{msg}");
        assert!(ModelSpec::parse("[[layers]]\ntype = \"warp\"\n", Path::new("w.toml")).is_err());
    }
}
