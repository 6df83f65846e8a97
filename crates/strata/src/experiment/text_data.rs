//! Text classification data: a CSV with a text column, split (stratified, seeded) into
//! training and test rows, the encoding ([`TextEncoding`]: the vocabulary of the training
//! texts only) fitted and applied to both; and the same encoding applied again when a saved
//! model evaluates or predicts.

use super::data::TrainingData;
use crate::data::Dataset;
use crate::data::split::train_test_split;
use crate::model::ModelMeta;
use crate::text::{TextEncoding, read_text_table};
use crate::{Error, Result, Rng, Target, Tensor};
use std::path::Path;

/// How to read a text CSV for [`load_text`].
#[derive(Clone, Debug)]
pub struct TextOptions {
    /// The column holding the texts.
    pub text_column: String,
    /// The column holding the labels (default: the last other column).
    pub label_column: Option<String>,
    /// Fraction of the rows held out as the test set (stratified).
    pub test_split: f32,
    /// Seeds the split.
    pub seed: u64,
    /// Words per text (default: see [`TextEncoding::fit`]).
    pub max_len: Option<usize>,
    /// Bags of words instead of word ids (for `logreg`).
    pub bag_of_words: bool,
}

/// The split of `n` rows with `labels` (as [`train_test_split`] splits a dataset).
fn split_rows(labels: &[u32], classes: usize, f: f32, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = labels.len();
    let rows = Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n, 1])?;
    let all = Dataset::new(rows, Target::Classes { labels: labels.to_vec(), num_classes: classes })?;
    let (train, test) = train_test_split(&all, f, &mut Rng::seeded(seed))?;
    let idx = |d: &Dataset| d.inputs.data().iter().map(|&v| v as usize).collect();
    Ok((idx(&train), idx(&test)))
}

/// Loads the texts and labels of `path`, holds out `opts.test_split` of the rows
/// (stratified, seeded), fits the encoding on the training texts and encodes both parts.
/// The classes are the labels' distinct values, sorted.
///
/// Errors: those of [`read_text_table`] and [`TextEncoding::fit`], a test split outside
/// (0, 1), a single class, or a part without rows.
pub fn load_text(path: &str, opts: &TextOptions) -> Result<TrainingData> {
    let table = read_text_table(Path::new(path), &opts.text_column, opts.label_column.as_deref())?;
    let f = opts.test_split;
    if !(f > 0.0 && f < 1.0) {
        return Err(Error::invalid("test split", format!("{f} is not in (0, 1)")));
    }
    let mut classes: Vec<String> = table.labels.clone();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(Error::data(path, format!("one class only ('{}') in column '{}'", classes[0], table.label_column)));
    }
    let labels: Vec<u32> = table.labels.iter().map(|l| classes.binary_search(l).unwrap_or(0) as u32).collect();
    let (train_rows, test_rows) = split_rows(&labels, classes.len(), f, opts.seed)?;
    let texts = |rows: &[usize]| rows.iter().map(|&r| table.texts[r].clone()).collect::<Vec<_>>();
    let mut encoding = TextEncoding::fit(&texts(&train_rows), opts.max_len, 1, opts.bag_of_words)?;
    encoding.text_column = opts.text_column.clone();
    encoding.label_column = table.label_column.clone();
    encoding.test_split = f;
    encoding.seed = opts.seed;
    encoding.data_file = Some(super::data::canonical(path));
    let part = |rows: &[usize]| -> Result<Dataset> {
        let x = encoding.encode(&texts(rows))?;
        let y = rows.iter().map(|&r| labels[r]).collect();
        let mut d = Dataset::new(x, Target::Classes { labels: y, num_classes: classes.len() })?;
        d.class_names = Some(classes.clone());
        Ok(d)
    };
    let (train, test) = (part(&train_rows)?, part(&test_rows)?);
    for (name, d) in [("training", &train), ("test", &test)] {
        if d.is_empty() {
            return Err(Error::data(path, format!("the {name} part has no rows")));
        }
    }
    let mut data = TrainingData::from_parts(train, test);
    data.text = Some(encoding);
    Ok(data)
}

/// A saved text classifier's encoding, from its description.
///
/// Errors: the model was not trained on texts, or its encoding does not parse.
pub fn text_encoding(meta: &ModelMeta) -> Result<Option<TextEncoding>> {
    match &meta.text {
        None => Ok(None),
        Some(v) => {
            let e: TextEncoding = serde_json::from_value(v.clone())
                .map_err(|e| Error::Model(format!("'{}': its text encoding does not parse: {e}", meta.name)))?;
            Ok(Some(e.reindexed()))
        }
    }
}

/// The test rows of `path` for a text classifier: the rows it held out when `path` is its
/// training file (the same split: same labels, test fraction and seed give the same
/// rows), else every row; classes matched to the model's by name.
///
/// Errors: those of [`read_text_table`], or a label the model does not know.
pub fn text_eval_data(path: &str, meta: &ModelMeta, enc: &TextEncoding) -> Result<(Dataset, Option<String>)> {
    let table = read_text_table(Path::new(path), &enc.text_column, Some(&enc.label_column))?;
    let classes = meta.class_names.clone().unwrap_or_default();
    let labels = table
        .labels
        .iter()
        .map(|l| {
            classes.iter().position(|c| c == l).map(|i| i as u32).ok_or_else(|| {
                Error::data(path, format!("label '{l}' is not one of the model's classes ({})", classes.join(", ")))
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    // The training split held out these rows when this file is the training file; the
    // split depends only on the labels, the fraction and the seed.
    let (_, test_rows) = split_rows(&labels, classes.len(), enc.test_split, enc.seed)?;
    let same_file = enc.data_file.as_deref() == Some(super::data::canonical(path).as_str());
    let (rows, note): (Vec<usize>, Option<String>) = if same_file {
        let n = test_rows.len();
        (
            test_rows,
            Some(format!("evaluating on the {n} rows held out in training (test split {}, seed {})", enc.test_split, enc.seed)),
        )
    } else {
        ((0..labels.len()).collect(), None)
    };
    let texts: Vec<String> = rows.iter().map(|&r| table.texts[r].clone()).collect();
    let mut d = Dataset::new(
        enc.encode(&texts)?,
        Target::Classes { labels: rows.iter().map(|&r| labels[r]).collect(), num_classes: classes.len() },
    )?;
    d.class_names = Some(classes);
    Ok((d, note))
}

/// The texts of `path` (its text column; labels not needed) encoded for the model.
///
/// Errors: a missing file or text column, an empty text.
pub fn text_inputs(path: &Path, enc: &TextEncoding) -> Result<Tensor> {
    let table = read_texts_only(path, &enc.text_column)?;
    enc.encode(&table)
}

/// The text column of `path` alone (prediction files need no labels).
fn read_texts_only(path: &Path, column: &str) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::data(path, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let at = headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| Error::data(path, format!("no text column '{column}' (columns: {})", headers.join(", "))))?;
    let mut out = Vec::new();
    for (i, r) in reader.records().enumerate() {
        let r = r.map_err(|e| Error::data(path, format!("line {}: {e}", i + 2)))?;
        let t = r.get(at).unwrap_or("");
        if t.trim().is_empty() {
            return Err(Error::data(path, format!("line {}: empty text in column '{column}'", i + 2)));
        }
        out.push(t.to_string());
    }
    if out.is_empty() {
        return Err(Error::data(path, "no data rows"));
    }
    Ok(out)
}
