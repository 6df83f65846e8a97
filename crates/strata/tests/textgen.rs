//! Language models on a small fixture text (tests/data/lighthouse.txt, an original story):
//! they beat the unigram baseline, predict the next word the text makes obvious, survive a
//! save/load, and the CLI trains and samples.

use std::path::{Path, PathBuf};
use strata::text::{self, LanguageModel, Level, LmConfig, LmTrainOptions, Vocab};

fn fixture() -> String {
    text::read_corpus(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lighthouse.txt"))).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-textgen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Trains a small model on the fixture; returns it with its held-out bits and the unigram's.
fn train(level: Level, cell: &str, epochs: usize, streams: usize, seq_len: usize) -> (LanguageModel, f64, f64) {
    let corpus = fixture();
    let (train, heldout) = text::split_heldout(&corpus, 0.1, 200).unwrap();
    let vocab = Vocab::build(&train, level, None, 1);
    let (tr, ho) = (vocab.encode(&train), vocab.encode(&heldout));
    let unigram = text::unigram_bits(&tr, &ho, vocab.len());
    let cfg = LmConfig { cell: cell.into(), embed: 16, hidden: 64, layers: 1 };
    let mut model = LanguageModel::new(cfg, vocab, 7).unwrap();
    let opts = LmTrainOptions { epochs, streams, seq_len, lr: 1e-2, lr_decay: 0.9, ..Default::default() };
    let history = text::train_lm(&mut model, &tr, &ho, &opts, |_| {}).unwrap();
    let bits = history.last().unwrap().heldout_bits;
    (model, bits, unigram)
}

#[test]
fn character_models_beat_the_unigram_baseline_on_held_out_text() {
    for cell in ["lstm", "gru"] {
        let (model, bits, unigram) = train(Level::Char, cell, 25, 8, 32);
        // measured: ~4.2 bits/char for the unigram, ~2.4-2.6 for both models
        assert!(bits < unigram - 1.0, "{cell}: held-out {bits:.3} bits/char vs unigram {unigram:.3}");
        let s = text::generate(&model, "The keeper", 80, 0.5, &mut strata::Rng::seeded(1)).unwrap();
        assert!(s.starts_with("The keeper") && s.chars().count() == 90, "{s}");
    }
}

#[test]
fn a_word_model_predicts_the_obvious_next_word_and_survives_save_and_load() {
    let (model, bits, unigram) = train(Level::Word, "lstm", 40, 4, 16);
    assert!(bits < unigram, "held-out {bits:.3} bits/word vs unigram {unigram:.3}");
    // "climbed the stairs" four times in the text, "climbed the" nothing else but "rocks"/"wall"
    let top = text::next_tokens(&model, "every evening the keeper climbed the", 3).unwrap();
    assert_eq!(top[0].0, "stairs", "{top:?}");
    let dir = temp_dir("save");
    let file = dir.join("model.safetensors");
    model.save(&file).unwrap();
    let back = LanguageModel::load(&file).unwrap();
    assert_eq!(back.vocab, model.vocab);
    let ids = model.vocab.encode(&fixture());
    let (a, b) = (text::evaluate_bits(&model, &ids, 4, 50).unwrap(), text::evaluate_bits(&back, &ids, 4, 50).unwrap());
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    // unknown words map to <unk> and never come out of the generator
    assert_eq!(model.vocab.decode(&model.vocab.encode("the zeppelin")), "the <unk>");
    let s = text::generate(&model, "the dog", 40, 1.0, &mut strata::Rng::seeded(3)).unwrap();
    assert!(!s.contains("<unk>"), "{s}");
    std::fs::remove_dir_all(&dir).unwrap();
}
