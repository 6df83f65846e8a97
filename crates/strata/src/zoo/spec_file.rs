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
//! optional `[training]` table sets the model's recipe: any fields of `model::TrainConfig`
//! (optimizer, lr, momentum, epochs, schedule, ...), whose defaults fill the rest.

use crate::loss::Loss;
use crate::model::{ConfigLayer, ConfigSource};
use crate::nn::LayerSpec;
use crate::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// A parsed spec file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model's name (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Per-sample input shape the model is made for; the data must match it.
    #[serde(default)]
    pub input: Option<Vec<usize>>,
    /// The layers, in order (`[[layers]]` tables).
    pub layers: Vec<LayerSpec>,
    /// The loss (default softmax cross-entropy).
    #[serde(default)]
    pub loss: Option<Loss>,
    /// The model's training recipe: any fields of `model::TrainConfig`.
    #[serde(default)]
    pub training: Option<toml::Table>,
}

impl ModelSpec {
    /// Parses TOML text; errors carry the line and column TOML reports.
    pub fn parse(text: &str, origin: &Path) -> Result<ModelSpec> {
        let spec: ModelSpec =
            toml::from_str(text).map_err(|e| Error::data(origin, e.to_string().replace('\n', " ").trim().to_string()))?;
        if spec.layers.is_empty() {
            return Err(Error::data(origin, "the spec lists no layers"));
        }
        // The [training] table is checked now, so its errors name the file.
        spec.recipe(origin)?;
        Ok(spec)
    }
    /// The `[training]` table as the recipe layer of a `TrainConfig` (empty when absent).
    pub fn recipe(&self, origin: &Path) -> Result<ConfigLayer> {
        let empty = toml::Table::new();
        ConfigLayer::from_fields(ConfigSource::SpecFile(origin.to_path_buf()), self.training.as_ref().unwrap_or(&empty))
    }
    /// Reads and parses the spec file `path`.
    pub fn read(path: &Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ModelSpec::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, DenseConfig};

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
            matches!(s.layers[1], LayerSpec::Dense(DenseConfig { units: 16, activation: Activation::LeakyRelu(a), .. }) if (a - 0.1).abs() < 1e-6)
        );
        assert!(s.recipe(Path::new("t.toml")).unwrap().sets("lr"));
        let bad = ModelSpec::parse("[[layers]]\ntype = \"flatten\"\n[training]\nlrr = 0.1\n", Path::new("r.toml"));
        let msg = bad.unwrap_err().to_string();
        assert!(msg.contains("r.toml [training]") && msg.contains("'lrr'"), "{msg}");
        let bad = ModelSpec::parse("[[layers]]\ntype = \"dense\"\nunits = 4\nactivaton = \"relu\"\n", Path::new("bad.toml"));
        let msg = bad.unwrap_err().to_string();
        assert!(msg.contains("bad.toml") && msg.contains("activaton"), "{msg}");
        assert!(ModelSpec::parse("[[layers]]\ntype = \"warp\"\n", Path::new("w.toml")).is_err());
    }
}
