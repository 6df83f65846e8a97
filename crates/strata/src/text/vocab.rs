//! Tokens and vocabularies: text <-> ids, at the level of characters or of words.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The token that stands for everything outside the vocabulary (always id 0).
pub const UNK: &str = "<unk>";

/// What one token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every character is a token (nothing is out of vocabulary for long).
    Char,
    /// Lower-cased words and punctuation marks (the lectures' next-word prediction).
    Word,
}

impl std::str::FromStr for Level {
    type Err = Error;
    /// `"char"` or `"word"`.
    fn from_str(s: &str) -> Result<Level> {
        match s {
            "char" => Ok(Level::Char),
            "word" => Ok(Level::Word),
            other => Err(Error::invalid("level", format!("'{other}' (expected char or word)"))),
        }
    }
}

/// Splits `text` into tokens. Word level: runs of letters, digits and inner apostrophes,
/// lower-cased; every other visible character is a token of its own; whitespace separates.
///
/// ```
/// use strata::text::{tokenize, Level};
/// assert_eq!(tokenize("Don't panic, Arthur!", Level::Word), ["don't", "panic", ",", "arthur", "!"]);
/// assert_eq!(tokenize("ab c", Level::Char), ["a", "b", " ", "c"]);
/// ```
pub fn tokenize(text: &str, level: Level) -> Vec<String> {
    match level {
        Level::Char => text.chars().map(String::from).collect(),
        Level::Word => {
            let mut out = Vec::new();
            let mut word = String::new();
            let chars: Vec<char> = text.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                let inner_apostrophe = c == '\'' && !word.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                if c.is_alphanumeric() || inner_apostrophe {
                    word.extend(c.to_lowercase());
                    continue;
                }
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                if !c.is_whitespace() {
                    out.push(c.to_string());
                }
            }
            if !word.is_empty() {
                out.push(word);
            }
            out
        }
    }
}

/// The tokens a model knows, each with an id; id 0 is [`UNK`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    /// What one token is; [`Vocab::encode`] splits text at this level.
    pub level: Level,
    tokens: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocab {
    /// The tokens of `text` seen at least `min_count` times, most frequent first (ties by
    /// token, for determinism), at most `max_size` of them besides [`UNK`].
    pub fn build(text: &str, level: Level, max_size: Option<usize>, min_count: usize) -> Vocab {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in tokenize(text, level) {
            *counts.entry(t).or_default() += 1;
        }
        let mut by_count: Vec<(String, usize)> = counts.into_iter().filter(|(_, c)| *c >= min_count.max(1)).collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_count.truncate(max_size.unwrap_or(usize::MAX));
        let mut tokens = vec![UNK.to_string()];
        tokens.extend(by_count.into_iter().map(|(t, _)| t).filter(|t| t != UNK));
        Vocab::from_tokens(level, tokens)
    }

    /// A vocabulary from its token list (as saved); [`UNK`] must be first.
    fn from_tokens(level: Level, tokens: Vec<String>) -> Vocab {
        let index = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        Vocab { level, tokens, index }
    }

    /// Rebuilds the lookup table after deserialization.
    pub(super) fn reindex(self) -> Vocab {
        Vocab::from_tokens(self.level, self.tokens)
    }

    /// Number of tokens, [`UNK`] included: ids run from 0 to `len() - 1`.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    /// True for a vocabulary without tokens (one made by [`Vocab::build`] always has [`UNK`]).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// Every token, in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
    /// The id of `token` ([`UNK`]'s, 0, when it is unknown).
    pub fn id(&self, token: &str) -> u32 {
        self.index.get(token).copied().unwrap_or(0)
    }
    /// The token of `id` ([`UNK`] for an id outside the vocabulary).
    pub fn token(&self, id: u32) -> &str {
        self.tokens.get(id as usize).map(String::as_str).unwrap_or(UNK)
    }
    /// The ids of `text`'s tokens (see [`tokenize`]); unknown tokens become 0 ([`UNK`]).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        tokenize(text, self.level).iter().map(|t| self.id(t)).collect()
    }
    /// Text from ids: characters joined as they are; words joined by spaces, without one
    /// before closing punctuation.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        for &id in ids {
            let t = self.token(id);
            if self.level == Level::Word && !out.is_empty() && !matches!(t, "." | "," | "!" | "?" | ";" | ":" | ")" | "'") {
                out.push(' ');
            }
            out.push_str(t);
        }
        out
    }
}

/// Bits per token of a unigram model (token frequencies of `train`, add-one smoothed over
/// `vocab_size` tokens) on `heldout`: the baseline a sequence model must beat.
pub fn unigram_bits(train: &[u32], heldout: &[u32], vocab_size: usize) -> f64 {
    let mut counts = vec![1.0f64; vocab_size.max(1)];
    for &t in train {
        if let Some(c) = counts.get_mut(t as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let bits: f64 = heldout.iter().map(|&t| -(counts.get(t as usize).copied().unwrap_or(1.0) / total).log2()).sum();
    bits / heldout.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_round_trip_unknowns_and_baseline() {
        let v = Vocab::build("the cat sat on the mat. the end", Level::Word, None, 1);
        assert_eq!(v.token(0), UNK);
        assert_eq!(v.token(1), "the"); // most frequent first
        let ids = v.encode("The cat ate the mat.");
        assert_eq!(v.decode(&ids), "the cat <unk> the mat.");
        let c = Vocab::build("abba", Level::Char, None, 1);
        assert_eq!(c.len(), 3);
        assert_eq!(c.decode(&c.encode("abz")), "ab<unk>");
        // a uniform unigram over 4 equally frequent tokens (plus unk) costs log2(5) - a bit
        let bits = unigram_bits(&[1, 2, 3, 4], &[1, 2, 3, 4], 5);
        assert!((bits - (9.0f64 / 2.0).log2()).abs() < 1e-9, "{bits}");
        assert!(Vocab::build("aaa b", Level::Char, Some(1), 1).len() == 2);
    }
}
