//! Loading data for train/eval/predict: MNIST-format image directories as before, or a
//! CSV/ARFF table with a target column, a seeded stratified test split, and scaling fitted
//! on the training rows only (saved with the model, applied again at eval/predict time).

use super::common::{load_images, standardize};
use anyhow::Context;
use std::path::Path;
use strata::data::Dataset;
use strata::data::normalize::Standardizer;
use strata::data::split::train_test_split;
use strata::data::tabular::{Scaling, TabularMeta, is_tabular_path, read_table};
use strata::io::ModelMeta;
use strata::{Rng, Tensor};

/// Training and test data, preprocessed, with what must be saved to preprocess alike later.
pub struct Prepared {
    pub train: Dataset,
    pub test: Dataset,
    pub standardize: Option<Standardizer>,
    pub tabular: Option<TabularMeta>,
}

/// Images: the directory's own train/test split, global standardization (unchanged
/// behaviour). Tables: `test_split` of the rows held out (stratified, seeded), per-feature
/// `scaling` fitted on the rest.
pub fn load_for_training(
    data: &str,
    target: Option<&str>,
    test_split: f32,
    seed: u64,
    scaling: &str,
) -> anyhow::Result<Prepared> {
    if !is_tabular_path(data) {
        anyhow::ensure!(target.is_none(), "--target applies to CSV/ARFF data, not to '{data}'");
        let (mut train, mut test) = load_images(data)?;
        // Preprocessing is fitted on the training set only, then applied to both.
        let s = Standardizer::fit_global(&train.inputs)?;
        standardize(&mut train, &s)?;
        standardize(&mut test, &s)?;
        return Ok(Prepared { train, test, standardize: Some(s), tabular: None });
    }
    let table = read_table(Path::new(data))?;
    let (all, schema) = table.to_dataset(target)?;
    anyhow::ensure!(
        schema.target.classes.is_some(),
        "{data}: target '{}' has fractional values; train needs classes",
        schema.target.name
    );
    anyhow::ensure!(test_split > 0.0 && test_split < 1.0, "invalid --test-split: {test_split} is not in (0, 1)");
    let (mut train, mut test) = train_test_split(&all, test_split, &mut Rng::seeded(seed))?;
    let scaler = Scaling::fit(scaling, &train.inputs)?;
    scaler.apply(&mut train.inputs)?;
    scaler.apply(&mut test.inputs)?;
    let tabular =
        TabularMeta { schema, scaling: scaler, data_file: Some(canonical(data)), test_split: Some(test_split), split_seed: seed };
    Ok(Prepared { train, test, standardize: None, tabular: Some(tabular) })
}

fn canonical(path: &str) -> String {
    std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
}

/// The data to evaluate a saved model on. For a table: the rows the model held out when
/// `data` is its training file (same split), else every row; returns a note saying which.
pub fn load_for_eval(data: &str, meta: &ModelMeta) -> anyhow::Result<(Dataset, Option<String>)> {
    if !is_tabular_path(data) {
        let (_, mut test) = load_images(data)?;
        if let Some(s) = &meta.standardize {
            standardize(&mut test, s)?;
        }
        return Ok((test, None));
    }
    let t = meta
        .tabular
        .as_ref()
        .with_context(|| format!("model '{}' was not trained on a table; it cannot read {data}", meta.name))?;
    let table = read_table(Path::new(data))?;
    let all = t.schema.dataset(&table)?;
    let same_file = t.data_file.as_deref() == Some(canonical(data).as_str());
    let (mut test, note) = match (same_file, t.test_split) {
        (true, Some(f)) => {
            let (_, test) = train_test_split(&all, f, &mut Rng::seeded(t.split_seed))?;
            let n = test.len();
            (test, Some(format!("evaluating on the {n} rows held out in training (test split {f}, seed {})", t.split_seed)))
        }
        _ => (all, None),
    };
    t.scaling.apply(&mut test.inputs)?;
    Ok((test, note))
}

/// Rows of a CSV/ARFF file encoded and scaled as the model's training rows were.
pub fn table_inputs(path: &Path, meta: &ModelMeta) -> anyhow::Result<Tensor> {
    let t = meta
        .tabular
        .as_ref()
        .with_context(|| format!("model '{}' was not trained on a table; it cannot read {}", meta.name, path.display()))?;
    let table = read_table(path)?;
    let mut x = t.schema.encode_inputs(&table)?;
    t.scaling.apply(&mut x)?;
    Ok(x)
}

/// A dataset's name for chart titles: a file's name without its folders.
pub fn short_name(data: &str) -> String {
    Path::new(data).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| data.to_string())
}
