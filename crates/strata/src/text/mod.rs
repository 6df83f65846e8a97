//! Text: language models and classifiers. Language models over text: vocabularies (characters or words), a recurrent language
//! model trained with truncated BPTT, held-out bits per token against a unigram baseline,
//! and generation.
//!
//! - [`read_corpus`], [`split_heldout`]: the text, and a held-out part of it.
//! - [`Vocab`], [`Level`], [`tokenize`]: text ↔ token ids.
//! - [`LanguageModel`], [`LmConfig`]: the model, saved and loaded with its vocabulary.
//! - [`train_lm`], [`LmTrainOptions`], [`evaluate_bits`], [`unigram_bits`]: training and
//!   held-out bits per token, against the unigram baseline.
//! - [`generate`], [`next_tokens`]: sampling and next-token predictions.
//! - Classification of texts from a CSV: [`read_text_table`], [`TextEncoding`] (vocabulary
//!   of the training texts, padded ids or bags of words), [`text_classifier`] (`textcnn`,
//!   `lstm`, `gru`).
//!
//! ```no_run
//! use strata::text::{self, Level, LanguageModel, LmConfig, LmTrainOptions, Vocab};
//! let corpus = std::fs::read_to_string("book.txt").unwrap();
//! let vocab = Vocab::build(&corpus, Level::Char, None, 1);
//! let ids = vocab.encode(&corpus);
//! let (train, heldout) = ids.split_at(ids.len() * 95 / 100);
//! let mut model = LanguageModel::new(LmConfig::default(), vocab, 1).unwrap();
//! text::train_lm(&mut model, train, heldout, &LmTrainOptions::default(), |e| println!("{e:?}")).unwrap();
//! println!("{}", text::generate(&model, "The ", 200, 0.7, &mut strata::Rng::seeded(1)).unwrap());
//! ```

mod classify;
mod lm;
mod sample;
mod train;
mod vocab;

pub use classify::{MAX_VOCAB, TEXT_MODELS, TextEncoding, TextNetOptions, TextTable, read_text_table, text_classifier};
pub use lm::{LanguageModel, LmConfig, LmStats};
pub use sample::{generate, next_tokens};
pub use train::{LmEpoch, LmTrainOptions, evaluate_bits, train_lm};
pub use vocab::{Level, UNK, Vocab, tokenize, unigram_bits};

use crate::{Error, Result};
use std::path::Path;

/// Reads a text corpus: a file, or every file of a directory (sorted by name; skipping
/// hidden files and the `.dat`/`.u8` indexes of a fortune database). Lines holding only
/// `%` — the separators of fortune files — are dropped; invalid UTF-8 is replaced by
/// U+FFFD; every line ends in `\n`.
///
/// Errors: a file or directory cannot be read, or there is no text.
pub fn read_corpus(path: &Path) -> Result<String> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.starts_with('.') && !name.ends_with(".dat") && !name.ends_with(".u8")
            })
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = String::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            if line.trim() != "%" {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if out.trim().is_empty() {
        return Err(Error::data(path, "holds no text"));
    }
    Ok(out)
}

/// Splits `text` into a training and a held-out part: the text is cut into blocks of about
/// `block` bytes at line breaks, and every k-th block (k = 1 / `fraction`, rounded) is held
/// out. Interleaving keeps the held-out text representative of a corpus made of many
/// different files (the tail of a fortune database is all Zippy the Pinhead). Returns
/// `(train, heldout)`.
///
/// Errors: `fraction` not strictly between 0 and 0.5, or a text too short to give both
/// parts.
pub fn split_heldout(text: &str, fraction: f64, block: usize) -> Result<(String, String)> {
    if !(fraction > 0.0 && fraction < 0.5) {
        return Err(Error::invalid("held-out fraction", format!("{fraction} (must be between 0 and 0.5)")));
    }
    let every = (1.0 / fraction).round().max(2.0) as usize;
    let (mut train, mut heldout) = (String::new(), String::new());
    let (mut start, mut k) = (0, 0);
    while start < text.len() {
        let mut end = (start + block.max(1)).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        end = text[end..].find('\n').map(|i| end + i + 1).unwrap_or(text.len());
        let part = &text[start..end];
        if k % every == every - 1 {
            heldout.push_str(part)
        } else {
            train.push_str(part)
        }
        start = end;
        k += 1;
    }
    if heldout.is_empty() || train.is_empty() {
        return Err(Error::invalid("text", format!("{} bytes are too few to hold out {fraction} of them", text.len())));
    }
    Ok((train, heldout))
}
