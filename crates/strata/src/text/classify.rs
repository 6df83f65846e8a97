//! Sentence and document classification from a CSV with a text column: the texts and
//! their labels ([`read_text_table`]), their encoding as padded word-id sequences or bags
//! of words ([`TextEncoding`], vocabulary built on the training texts only), and the
//! networks that read them ([`text_classifier`]: Kim's 1-D convolutional network, an LSTM
//! or a GRU over word embeddings).

use super::vocab::{Level, Vocab, tokenize};
use crate::model::Sequential;
use crate::nn::{Activation, Concat, Conv2d, Dense, Dropout, Embedding, Flatten, Gru, Layer, Lstm, MaxPool2d, Unflatten};
use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The networks [`text_classifier`] builds.
pub const TEXT_MODELS: &[&str] = &["textcnn", "lstm", "gru"];

/// The texts of a CSV and their labels, in file order.
#[derive(Clone, Debug)]
pub struct TextTable {
    /// One text per row.
    pub texts: Vec<String>,
    /// Each row's label, as written.
    pub labels: Vec<String>,
    /// The label column's name.
    pub label_column: String,
}

/// Reads `path` (a CSV with a header row): the column `text_column` and the labels in
/// `label_column` (default: the last column that is not the text column).
///
/// Errors (one line naming the file): a file that cannot be read or parsed, a missing
/// text or label column (the columns it has are listed), no data rows, a row whose text
/// is empty or blank, a row without a label.
pub fn read_text_table(path: &Path, text_column: &str, label_column: Option<&str>) -> Result<TextTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let delimiter = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(&bytes[..]);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::data(path, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let columns = || headers.join(", ");
    let text_at = headers
        .iter()
        .position(|h| h == text_column)
        .ok_or_else(|| Error::data(path, format!("no text column '{text_column}' (columns: {})", columns())))?;
    let label_at = match label_column {
        Some(name) => headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::data(path, format!("no label column '{name}' (columns: {})", columns())))?,
        None => (0..headers.len())
            .rev()
            .find(|&i| i != text_at)
            .ok_or_else(|| Error::data(path, format!("no label column besides the text column '{text_column}'")))?,
    };
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::data(path, format!("line {line}: {e}")))?;
        let text = record.get(text_at).unwrap_or("");
        if text.trim().is_empty() {
            return Err(Error::data(path, format!("line {line}: empty text in column '{text_column}'")));
        }
        let label = record.get(label_at).unwrap_or("").trim();
        if label.is_empty() {
            return Err(Error::data(path, format!("line {line}: no label in column '{}'", headers[label_at])));
        }
        texts.push(text.to_string());
        labels.push(label.to_string());
    }
    if texts.is_empty() {
        return Err(Error::data(path, "no data rows (a header row and at least one text are needed)"));
    }
    Ok(TextTable { texts, labels, label_column: headers[label_at].clone() })
}

/// How texts become network inputs; saved with the model so evaluation and prediction
/// encode new texts exactly as the training texts were.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TextEncoding {
    /// The CSV column holding the texts.
    pub text_column: String,
    /// The CSV column holding the labels.
    pub label_column: String,
    /// The words of the training texts (lower-cased; punctuation marks are words);
    /// id 0 is the unknown word, and id `vocab.len()` pads short texts.
    pub vocab: Vocab,
    /// Texts are cut to this many words, shorter ones padded at the end.
    pub max_len: usize,
    /// Bags of words (one input per vocabulary word: 1 when it occurs) instead of id
    /// sequences: the input of the linear baseline.
    pub bag_of_words: bool,
    /// The fraction of rows held out as the test set, and its seed (so `eval` on the same
    /// file evaluates the same rows).
    pub test_split: f32,
    /// See `test_split`.
    pub seed: u64,
    /// The training file (its canonical path), to recognize it at evaluation.
    #[serde(default)]
    pub data_file: Option<String>,
}

/// Words kept in the vocabulary at most (the most frequent ones).
pub const MAX_VOCAB: usize = 30_000;

impl TextEncoding {
    /// The encoding fitted on the training texts: their words (seen at least `min_count`
    /// times, at most [`MAX_VOCAB`]); `max_len` words per text (default: the 95th percentile
    /// of the training texts' lengths, from 5 to 400 — longer texts are cut, which keeps
    /// batches small at little cost in accuracy).
    ///
    /// Errors: `max_len` of 0 or above 10,000, or no training text.
    pub fn fit(train: &[String], max_len: Option<usize>, min_count: usize, bag_of_words: bool) -> Result<TextEncoding> {
        if train.is_empty() {
            return Err(Error::invalid("text data", "no training texts"));
        }
        if let Some(m) = max_len
            && !(1..=10_000).contains(&m)
        {
            return Err(Error::invalid("max-len", format!("{m} is not from 1 to 10000")));
        }
        let vocab = Vocab::build(&train.join("\n"), Level::Word, Some(MAX_VOCAB), min_count.max(1));
        let max_len = max_len.unwrap_or_else(|| {
            let mut lens: Vec<usize> = train.iter().map(|t| tokenize(t, Level::Word).len()).collect();
            lens.sort_unstable();
            lens[(lens.len() - 1) * 95 / 100].clamp(5, 400)
        });
        Ok(TextEncoding {
            text_column: String::new(),
            label_column: String::new(),
            vocab,
            max_len,
            bag_of_words,
            test_split: 0.2,
            seed: 1,
            data_file: None,
        })
    }

    /// The encoding as read back from a saved description (its vocabulary's index rebuilt).
    pub fn reindexed(self) -> TextEncoding {
        TextEncoding { vocab: self.vocab.reindex(), ..self }
    }
    /// The id that pads short texts (one past the vocabulary).
    pub fn pad_id(&self) -> usize {
        self.vocab.len()
    }
    /// Rows of an embedding table: the vocabulary and the padding id.
    pub fn embedding_rows(&self) -> usize {
        self.vocab.len() + 1
    }
    /// The per-sample input shape: `[max_len]` ids, or `[vocabulary]` for bags of words.
    pub fn input_shape(&self) -> Vec<usize> {
        vec![if self.bag_of_words { self.vocab.len() } else { self.max_len }]
    }

    /// `texts` as network inputs: `[N, max_len]` word ids (unknown words 0, padding
    /// [`TextEncoding::pad_id`]) or `[N, vocabulary]` bags of words.
    pub fn encode(&self, texts: &[String]) -> Result<Tensor> {
        let width = self.input_shape()[0];
        let mut x = Vec::with_capacity(texts.len() * width);
        for t in texts {
            let ids = self.vocab.encode(t);
            if self.bag_of_words {
                let mut row = vec![0.0f32; width];
                ids.iter().filter(|&&i| i != 0).for_each(|&i| row[i as usize] = 1.0);
                x.extend(row);
            } else {
                x.extend(ids.iter().take(self.max_len).map(|&i| i as f32));
                x.extend(std::iter::repeat_n(self.pad_id() as f32, self.max_len.saturating_sub(ids.len())));
            }
        }
        Tensor::from_vec(x, &[texts.len(), width])
    }
}

/// Settings of the text networks.
#[derive(Clone, Copy, Debug)]
pub struct TextNetOptions {
    /// Word vector size (default 64).
    pub embed: usize,
    /// Feature maps per filter width of `textcnn` (default 64).
    pub filters: usize,
    /// Hidden units of `lstm`/`gru` (default 64).
    pub hidden: usize,
    /// Dropout before the output layer (default 0.5, Kim's).
    pub dropout: f32,
}

impl Default for TextNetOptions {
    fn default() -> Self {
        TextNetOptions { embed: 64, filters: 64, hidden: 64, dropout: 0.5 }
    }
}

/// The network `name` ([`TEXT_MODELS`]) for word ids `[max_len]` from a vocabulary of
/// `vocab_rows` ids (padding included), with `classes` outputs (logits), not yet built:
///
/// - `textcnn` (Kim 2014, "CNN-rand"): word vectors as channels `[E, T]` (the embedding
///   with `channels_first`), seen as an `[E, T, 1]` map; three parallel 1-D convolutions
///   over time of widths 3, 4 and 5 words (2-D convolutions with `w x 1` kernels and E
///   input channels), ReLU; max-over-time pooling (a max pool over all `T - w + 1`
///   positions); the 3 x filters features joined, dropout, a dense output layer.
/// - `lstm`, `gru`: embeddings, one recurrent layer (its last state), dropout, dense.
///
/// Returns `None` for other names.
///
/// Errors: `max_len` shorter than the widest filter (5) for `textcnn`.
pub fn text_classifier(
    name: &str,
    vocab_rows: usize,
    max_len: usize,
    classes: usize,
    opts: TextNetOptions,
) -> Result<Option<Sequential>> {
    let e = opts.embed;
    let embedding = Embedding::new(vocab_rows, e).channels_first(name == "textcnn");
    let model = Sequential::new().name(name).add(embedding);
    let model = match name {
        "textcnn" => {
            if max_len < 5 {
                return Err(Error::invalid(
                    "max-len",
                    format!("{max_len}: textcnn needs texts of at least 5 words (its widest filter)"),
                ));
            }
            let branch = |w: usize| -> Vec<Box<dyn Layer>> {
                vec![
                    Box::new(Conv2d::new(opts.filters, 1).kernel_size((w, 1)).activation(Activation::Relu)),
                    Box::new(MaxPool2d::new(1).window((max_len - w + 1, 1))),
                ]
            };
            model.add(Unflatten::new(&[e, max_len, 1])).add(Concat::new(vec![branch(3), branch(4), branch(5)])).add(Flatten)
        }
        "lstm" => model.add(Lstm::new(opts.hidden)),
        "gru" => model.add(Gru::new(opts.hidden)),
        _ => return Ok(None),
    };
    Ok(Some(model.add(Dropout::new(opts.dropout)).add(Dense::new(classes))))
}
