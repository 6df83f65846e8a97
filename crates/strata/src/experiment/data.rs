//! The data of an experiment: an image dataset (a name such as `fashion-mnist` or an
//! MNIST-format folder) with its own train/test split, or a CSV/ARFF table with a target
//! column, a seeded stratified test split and a scaling fitted on the training rows only.
//! What was fitted on the training data (standardization, the table's schema and scaling,
//! a regression target's standardization) is kept, saved with the model and applied again
//! to new inputs.

use super::task::{Task, standardize_target};
use crate::data::Dataset;
use crate::data::formats::{self, Format, LoadOptions};
use crate::data::normalize::Standardizer;
use crate::data::split::train_test_split;
use crate::data::tabular::{Scaling, TabularMeta, is_tabular_path, read_table};
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
    /// Classification or regression; `None` decides from the target column (regression
    /// when it is numeric and not class-like, see [`crate::data::tabular::Table::schema`]).
    pub task: Option<Task>,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { target: None, test_split: 0.2, seed: 1, scaling: "standard".into(), task: None }
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
    /// For regression: the target's standardization, fitted on `train` and applied to both
    /// parts' targets (`None` for classes).
    pub target_scaling: Option<Standardizer>,
    /// What the user should know about the data (files skipped, a test part split off),
    /// as lines starting with `note:` or `warning:`.
    pub notes: Vec<String>,
    /// For texts: how they were encoded (fitted on the training texts; saved with the model).
    pub text: Option<crate::text::TextEncoding>,
}

impl TrainingData {
    /// Two datasets used as they are.
    pub fn from_parts(train: Dataset, test: Dataset) -> TrainingData {
        TrainingData {
            train,
            test,
            standardize: None,
            tabular: None,
            raw_train: None,
            raw_test: None,
            target_scaling: None,
            notes: Vec::new(),
            text: None,
        }
    }
    /// The task the data asks for: regression when the targets were standardized as
    /// values (see [`TrainingData::standardize_target`]), else classification.
    pub fn task(&self) -> Task {
        if self.target_scaling.is_some() { Task::Regression } else { Task::Classification }
    }
    /// Makes the data a regression problem: standardizes the targets (one value per
    /// sample) with the mean and standard deviation of the training part, and keeps the
    /// scaling (saved with the model, so predictions come back in the target's units).
    ///
    /// Errors: targets that are classes, or more than one value per sample.
    pub fn standardize_target(&mut self) -> Result<()> {
        self.target_scaling = Some(standardize_target(&mut self.train, &mut [&mut self.test])?);
        Ok(())
    }
    /// Loads `data`: images with their pixels in [0, 1] (not yet standardized: see
    /// `Learner::prepare`), or a table split and scaled by `table`.
    pub fn load(data: &str, table: &TableOptions) -> Result<TrainingData> {
        TrainingData::load_with(data, table, &LoadOptions::default())
    }
    /// [`load`](Self::load) with options for image data (any format [`formats::load`]
    /// reads); its test split and seed are `table`'s.
    pub fn load_with(data: &str, table: &TableOptions, images: &LoadOptions) -> Result<TrainingData> {
        if !is_tabular_path(data) {
            if table.target.is_some() {
                return Err(Error::invalid("target", format!("applies to CSV/ARFF data, not to '{data}'")));
            }
            if table.task == Some(Task::Regression) {
                return Err(Error::invalid(
                    "task",
                    format!("regression needs numeric targets (a CSV/ARFF table); '{data}' has classes"),
                ));
            }
            let opts = LoadOptions { test_split: table.test_split, seed: table.seed, ..images.clone() };
            let l = formats::load(data, &opts)?;
            let notes = l.notes;
            return TrainingData { notes, ..TrainingData::from_parts(l.train, l.test) }.checked(data);
        }
        let path = Path::new(data);
        let rows = read_table(path)?;
        let schema = rows.schema_for(table.target.as_deref(), Task::regression_flag(table.task))?;
        let all = schema.dataset(&rows)?;
        let regression = schema.target.classes.is_none();
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
        let mut out = TrainingData { tabular: Some(tabular), ..TrainingData::from_parts(train, test) }.checked(data)?;
        if regression {
            out.standardize_target()?;
        }
        Ok(out)
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
    /// deviation over all pixels; one per channel for colour images `[N, C > 1, H, W]`),
    /// and keeps the standardizer.
    ///
    /// A streamed training part is fitted from the statistics gathered when its pictures
    /// were opened (the same figures); the standardizer is then applied as batches are
    /// decoded.
    pub fn standardize_images(&mut self) -> Result<()> {
        if let Some(files) = self.train.files() {
            let s = files.fit_standardizer()?;
            for part in [&mut self.train, &mut self.test] {
                match part.files_mut() {
                    Some(f) => f.set_standardizer(s.clone()),
                    None => s.apply(&mut part.inputs)?,
                }
            }
            self.standardize = Some(s);
            return Ok(());
        }
        let x = &self.train.inputs;
        let colour = x.rank() == 4 && x.shape()[1] > 1;
        let s = if colour { Standardizer::fit_per_channel(x)? } else { Standardizer::fit_global(x)? };
        s.apply(&mut self.train.inputs)?;
        s.apply(&mut self.test.inputs)?;
        self.standardize = Some(s);
        Ok(())
    }
}

pub(super) fn canonical(path: &str) -> String {
    std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
}

/// The data to evaluate a saved model on, preprocessed as its training data was (a
/// regression target standardized with the model's `target_scaling`). For a table: the
/// rows the model held out when `data` is its training file (same split), else every row;
/// the note says which.
pub fn load_for_eval(data: &str, meta: &ModelMeta) -> Result<(Dataset, Option<String>)> {
    load_for_eval_with(data, meta, &LoadOptions { seed: meta.seed, ..LoadOptions::default() })
}

/// [`load_for_eval`] with options for image data. Pictures of a folder are resized and
/// converted to the model's input `[C, H, W]`, other images converted to its channels; a
/// folder without `test/` is split with `images.test_split` and `images.seed` (give the
/// model's seed to evaluate on the images it held out); classes are matched to the
/// model's by name.
pub fn load_for_eval_with(data: &str, meta: &ModelMeta, images: &LoadOptions) -> Result<(Dataset, Option<String>)> {
    if let Some(enc) = super::text_data::text_encoding(meta)? {
        return super::text_data::text_eval_data(data, meta, &enc);
    }
    if !is_tabular_path(data) {
        let (format, _) = formats::locate(data)?;
        let mut opts = images.clone();
        if let &[c, h, w] = meta.input_shape.as_slice()
            && (c == 1 || c == 3)
        {
            opts.channels = opts.channels.or(Some(c));
            if format == Format::ImageFolder {
                opts.image_size = opts.image_size.or(Some((h, w)));
            }
        }
        let l = formats::load(data, &opts)?;
        let mut test = l.test;
        if let (Some(model), Some(here)) = (&meta.class_names, &test.class_names)
            && model != here
        {
            test = classes_as_the_model(test, model, data)?;
        }
        if let Some(s) = &meta.standardize {
            s.apply(&mut test.inputs)?;
        }
        let note = l.split_off.then(|| l.notes.iter().map(|n| n.trim_start_matches("note: ")).collect::<Vec<_>>().join("; "));
        return Ok((test, note));
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
    if let (Some(s), crate::Target::Values(y)) = (&meta.target_scaling, &mut test.targets) {
        s.apply(y)?;
    }
    Ok((test, note))
}

/// Rows of a CSV/ARFF file encoded and scaled as the model's training rows were.
pub fn table_inputs(path: &Path, meta: &ModelMeta) -> Result<Tensor> {
    if let Some(enc) = super::text_data::text_encoding(meta)? {
        return super::text_data::text_inputs(path, &enc);
    }
    let t = trained_on_table(meta, &path.display().to_string())?;
    let table = read_table(path)?;
    let mut x = t.schema.encode_inputs(&table)?;
    t.scaling.apply(&mut x)?;
    Ok(x)
}

/// `test` with its labels renumbered to the model's classes, matched by name.
fn classes_as_the_model(mut test: Dataset, model: &[String], data: &str) -> Result<Dataset> {
    let here = test.class_names.clone().unwrap_or_default();
    let map = here
        .iter()
        .map(|name| {
            model.iter().position(|m| m == name).ok_or_else(|| {
                Error::data(data, format!("class '{name}' is not one of the model's classes ({})", model.join(", ")))
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    if let crate::Target::Classes { labels, .. } = &test.targets {
        let labels = labels.iter().map(|&l| map[l as usize] as u32).collect();
        test = Dataset::new(test.inputs, crate::Target::Classes { labels, num_classes: model.len() })?;
        test.class_names = Some(model.to_vec());
    }
    Ok(test)
}

fn trained_on_table<'a>(meta: &'a ModelMeta, data: &str) -> Result<&'a TabularMeta> {
    meta.tabular
        .as_ref()
        .ok_or_else(|| Error::Model(format!("'{}' was not trained on a table; it cannot read {data}", meta.name)))
}
