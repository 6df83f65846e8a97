//! The data of an experiment: an image dataset (a name such as `fashion-mnist` or an
//! MNIST-format folder) with its own train/test split, or a CSV/ARFF table with a target
//! column, a seeded stratified test split and a scaling fitted on the training rows only.
//! What was fitted on the training data (standardization, the table's schema and scaling)
//! is kept, saved with the model and applied again to new inputs.

use crate::data::normalize::Standardizer;
use crate::data::split::train_test_split;
use crate::data::tabular::{Scaling, TabularMeta, is_tabular_path, read_table};
use crate::data::{Dataset, mnist};
use crate::model::ModelMeta;
use crate::{Error, Result, Rng, Tensor};
use std::path::Path;

/// How to read a table: which column to predict, how much to hold out, how to scale.
#[derive(Clone, Debug)]
pub struct TableOptions {
    /// The column to predict (default: the last one).
    pub target: Option<String>,
    /// Fraction of the rows held out as the test set (stratified).
    pub test_split: f32,
    /// Seeds the split.
    pub seed: u64,
    /// Per-feature scaling fitted on the training rows: `standard`, `minmax` or `none`.
    pub scaling: String,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { target: None, test_split: 0.2, seed: 1, scaling: "standard".into() }
    }
}

/// Training and test data with what was fitted on the training part.
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// The training part.
    pub train: Dataset,
    /// The test part.
    pub test: Dataset,
    /// Image standardization fitted on `train` (applied to both parts), if any.
    pub standardize: Option<Standardizer>,
    /// A table's schema and fitted scaling (applied to both parts already).
    pub tabular: Option<TabularMeta>,
    /// Training images in [0, 1] before standardization, when a learner needs them
    /// (pretraining); see `Learner::prepare`.
    pub raw_train: Option<Tensor>,
    /// Test images in [0, 1] before standardization (pictures of reconstructions).
    pub raw_test: Option<Tensor>,
}

impl TrainingData {
    /// Two datasets used as they are.
    pub fn from_parts(train: Dataset, test: Dataset) -> TrainingData {
        TrainingData { train, test, standardize: None, tabular: None, raw_train: None, raw_test: None }
    }
    /// Loads `data`: images with their pixels in [0, 1] (not yet standardized: see
    /// `Learner::prepare`), or a table split and scaled by `table`.
    pub fn load(data: &str, table: &TableOptions) -> Result<TrainingData> {
        if !is_tabular_path(data) {
            if table.target.is_some() {
                return Err(Error::invalid("target", format!("applies to CSV/ARFF data, not to '{data}'")));
            }
            let (train, test) = mnist::load(data)?;
            return TrainingData::from_parts(train, test).checked(data);
        }
        let path = Path::new(data);
        let (all, schema) = read_table(path)?.to_dataset(table.target.as_deref())?;
        if schema.target.classes.is_none() {
            return Err(Error::data(path, format!("target '{}' is numeric but not class labels (whole numbers below 10^6); train needs classes", schema.target.name)));
        }
        let f = table.test_split;
        if !(f > 0.0 && f < 1.0) {
            return Err(Error::invalid("test split", format!("{f} is not in (0, 1)")));
        }
        let (mut train, mut test) = train_test_split(&all, f, &mut Rng::seeded(table.seed))?;
        let scaler = Scaling::fit(&table.scaling, &train.inputs)?;
        scaler.apply(&mut train.inputs)?;
        scaler.apply(&mut test.inputs)?;
        let tabular = TabularMeta {
            schema,
            scaling: scaler,
            data_file: Some(canonical(data)),
            test_split: Some(f),
            split_seed: table.seed,
        };
        TrainingData { tabular: Some(tabular), ..TrainingData::from_parts(train, test) }.checked(data)
    }
    /// Both parts must hold samples: figures of an empty test set would read as a result.
    fn checked(self, data: &str) -> Result<TrainingData> {
        for (part, d) in [("training", &self.train), ("test", &self.test)] {
            if d.is_empty() {
                return Err(Error::data(data, format!("the {part} part has no samples")));
            }
        }
        Ok(self)
    }
    /// Standardizes the images with statistics of the training part (one mean and standard
    /// deviation over all pixels), and keeps the standardizer.
    pub fn standardize_images(&mut self) -> Result<()> {
        let s = Standardizer::fit_global(&self.train.inputs)?;
        s.apply(&mut self.train.inputs)?;
        s.apply(&mut self.test.inputs)?;
        self.standardize = Some(s);
        Ok(())
    }
}

fn canonical(path: &str) -> String {
    std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
}

/// The data to evaluate a saved model on, preprocessed as its training data was. For a
/// table: the rows the model held out when `data` is its training file (same split), else
/// every row; the note says which.
pub fn load_for_eval(data: &str, meta: &ModelMeta) -> Result<(Dataset, Option<String>)> {
    if !is_tabular_path(data) {
        let (_, mut test) = mnist::load(data)?;
        if let Some(s) = &meta.standardize {
            s.apply(&mut test.inputs)?;
        }
        return Ok((test, None));
    }
    let t = trained_on_table(meta, data)?;
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
pub fn table_inputs(path: &Path, meta: &ModelMeta) -> Result<Tensor> {
    let t = trained_on_table(meta, &path.display().to_string())?;
    let table = read_table(path)?;
    let mut x = t.schema.encode_inputs(&table)?;
    t.scaling.apply(&mut x)?;
    Ok(x)
}

fn trained_on_table<'a>(meta: &'a ModelMeta, data: &str) -> Result<&'a TabularMeta> {
    meta.tabular
        .as_ref()
        .ok_or_else(|| Error::Model(format!("'{}' was not trained on a table; it cannot read {data}", meta.name)))
}
