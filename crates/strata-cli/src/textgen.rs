//! `strata textgen`: train a recurrent language model on a text, and generate from it.

use super::output::print_json;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use strata::text::{self, LanguageModel, Level, LmConfig, LmStats, LmTrainOptions, Vocab};

#[derive(Args, Debug)]
pub struct TextgenArgs {
    #[command(subcommand)]
    command: TextgenCommand,
}

#[derive(Subcommand, Debug)]
enum TextgenCommand {
    /// Train a language model on a text file (or a directory of them) and save it.
    Train(TrainArgs),
    /// Generate text from a trained model.
    Sample(SampleArgs),
    /// Show the most likely next tokens after a prompt (next-word prediction).
    Next(NextArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Text file, or a directory whose files are read in name order (lines holding only
    /// "%", fortune-file separators, are dropped).
    #[arg(long)]
    text: PathBuf,
    /// Output directory (model.safetensors + model.json).
    #[arg(long)]
    out: PathBuf,
    /// Token level: char or word.
    #[arg(long, default_value = "char")]
    level: String,
    /// Recurrent cell: lstm or gru.
    #[arg(long, default_value = "lstm")]
    cell: String,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 32)]
    embed: usize,
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    epochs: usize,
    /// Truncation length of backpropagation through time (steps per window).
    #[arg(long, default_value_t = 64)]
    seq_len: usize,
    /// Parallel streams per batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3, value_parser = crate::train_flags::finite)]
    lr: f32,
    /// Learning-rate factor applied after each epoch.
    #[arg(long, default_value_t = 0.7, value_parser = crate::train_flags::finite)]
    lr_decay: f32,
    /// Clip gradients to this global norm (0: no clipping).
    #[arg(long, default_value_t = 5.0, value_parser = crate::train_flags::finite)]
    clip_norm: f32,
    /// Fraction of the text held out for evaluation (every k-th block of ~4 KB).
    #[arg(long, default_value_t = 0.05)]
    heldout: f64,
    /// Word level: keep at most this many words (the rest become the unknown-word token).
    #[arg(long, default_value_t = 10000)]
    vocab_size: usize,
    /// Use only the first N characters of the text.
    #[arg(long)]
    max_chars: Option<usize>,
    /// Stop each epoch after this many steps.
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Generate this many tokens from the trained model at the end (0: none).
    #[arg(long, default_value_t = 300, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1_000_000))]
    sample: usize,
    /// Print a JSON summary as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// No per-epoch output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A model saved by `strata textgen train` (DIR/model.safetensors).
    #[arg(long)]
    model_file: PathBuf,
    /// Text to start from.
    #[arg(long, default_value = "")]
    prompt: String,
    /// Tokens to generate.
    #[arg(long, default_value_t = 300, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    length: usize,
    /// Sampling temperature: below 1 is more conservative, 0 always takes the likeliest.
    #[arg(long, default_value_t = 0.7, value_parser = crate::train_flags::finite)]
    temperature: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args, Debug)]
struct NextArgs {
    /// A model saved by `strata textgen train`.
    #[arg(long)]
    model_file: PathBuf,
    #[arg(long)]
    prompt: String,
    /// How many candidates to show.
    #[arg(long, default_value_t = 5)]
    top: usize,
}

pub fn run(a: TextgenArgs) -> anyhow::Result<()> {
    match a.command {
        TextgenCommand::Train(a) => train(a),
        TextgenCommand::Sample(a) => {
            let model = LanguageModel::load(&a.model_file)?;
            let mut rng = strata::Rng::seeded(a.seed);
            println!("{}", text::generate(&model, &a.prompt, a.length, a.temperature, &mut rng)?);
            Ok(())
        }
        TextgenCommand::Next(a) => {
            let model = LanguageModel::load(&a.model_file)?;
            for (token, p) in text::next_tokens(&model, &a.prompt, a.top)? {
                println!("{p:.4}  {token:?}");
            }
            Ok(())
        }
    }
}

fn train(a: TrainArgs) -> anyhow::Result<()> {
    if a.clip_norm < 0.0 {
        anyhow::bail!("invalid --clip-norm {}: must be 0 (no clipping) or positive", a.clip_norm);
    }
    let level: Level = a.level.parse()?;
    let mut corpus = text::read_corpus(&a.text)?;
    if let Some(n) = a.max_chars {
        corpus = corpus.chars().take(n).collect();
    }
    // Held out: every k-th block of the text (k = 1 / fraction; blocks of up to 4 KB, smaller
    // for a short text), so the held-out text samples the whole corpus.
    let block = ((corpus.len() as f64 * a.heldout / 8.0) as usize).clamp(200, 4096);
    let (train_text, heldout_text) = text::split_heldout(&corpus, a.heldout, block)?;
    let (train_text, heldout_text) = (train_text.as_str(), heldout_text.as_str());
    let max_size = (level == Level::Word).then_some(a.vocab_size);
    let vocab = Vocab::build(train_text, level, max_size, 1);
    let (train_ids, heldout_ids) = (vocab.encode(train_text), vocab.encode(heldout_text));
    let unigram = text::unigram_bits(&train_ids, &heldout_ids, vocab.len());
    let chars_per_token = heldout_text.chars().count() as f64 / heldout_ids.len().max(1) as f64;

    let config = LmConfig { cell: a.cell.clone(), embed: a.embed, hidden: a.hidden, layers: a.layers };
    let mut model = LanguageModel::new(config, vocab, a.seed)
        .map_err(|e| anyhow::anyhow!("a model of --embed {} --hidden {} --layers {}: {e}", a.embed, a.hidden, a.layers))?;
    let opts = LmTrainOptions {
        epochs: a.epochs,
        streams: a.batch_size,
        seq_len: a.seq_len,
        lr: a.lr,
        lr_decay: a.lr_decay,
        clip_norm: (a.clip_norm > 0.0).then_some(a.clip_norm),
        max_steps_per_epoch: a.max_steps,
        seed: a.seed,
    };
    let unit = if level == Level::Char { "char" } else { "word" };
    if !a.quiet {
        println!(
            "training a {}-level {} {}x{} ({} parameters) on {}: {} train / {} held-out tokens, vocabulary {}; unigram baseline {unigram:.3} bits/{unit}",
            unit,
            a.cell,
            a.layers,
            a.hidden,
            model.num_params(),
            a.text.display(),
            train_ids.len(),
            heldout_ids.len(),
            model.vocab.len()
        );
    }
    let quiet = a.quiet;
    let history = text::train_lm(&mut model, &train_ids, &heldout_ids, &opts, |e| {
        if !quiet {
            println!(
                "epoch {}/{}: train {:.3} bits/{unit}, held-out {:.3} bits/{unit} ({:.3} below unigram), {:.1}s, {:.0} tokens/s",
                e.epoch,
                opts.epochs,
                e.train_bits,
                e.heldout_bits,
                unigram - e.heldout_bits,
                e.seconds,
                e.tokens_per_sec
            );
        }
    })?;
    let last = history.last().context("no epoch ran")?;
    model.stats = Some(LmStats {
        heldout_bits: last.heldout_bits,
        unigram_bits: unigram,
        chars_per_token,
        train_tokens: train_ids.len(),
        heldout_tokens: heldout_ids.len(),
        epochs: history.len(),
        seconds: history.iter().map(|e| e.seconds).sum(),
    });
    strata::io::create_dir(&a.out)?;
    let file = a.out.join("model.safetensors");
    model.save(&file)?;
    let sample = if a.sample > 0 {
        let prompt = if level == Level::Char { "The " } else { "the" };
        Some(text::generate(&model, prompt, a.sample, 0.7, &mut strata::Rng::seeded(a.seed))?)
    } else {
        None
    };
    if !a.quiet {
        println!(
            "held-out {:.3} bits/{unit} vs unigram {unigram:.3} ({:.3} better); saved {}",
            last.heldout_bits,
            unigram - last.heldout_bits,
            file.display()
        );
        if level == Level::Word {
            println!(
                "  perplexity {:.1} vs {:.1}; {:.3} vs {:.3} bits per character ({chars_per_token:.2} chars/word, <unk> counted as one token)",
                2f64.powf(last.heldout_bits),
                2f64.powf(unigram),
                last.heldout_bits / chars_per_token,
                unigram / chars_per_token
            );
        }
        if let Some(s) = &sample {
            println!("sample (temperature 0.7):\n{s}");
        }
    }
    if a.json {
        print_json(&serde_json::json!({
            "level": unit,
            "cell": a.cell,
            "hidden": a.hidden,
            "layers": a.layers,
            "params": model.num_params(),
            "vocab": model.vocab.len(),
            "heldout_bits": last.heldout_bits,
            "unigram_bits": unigram,
            "improvement_bits": unigram - last.heldout_bits,
            "chars_per_token": chars_per_token,
            "history": history,
            "sample": sample,
            "model_file": file,
        }));
    }
    Ok(())
}
