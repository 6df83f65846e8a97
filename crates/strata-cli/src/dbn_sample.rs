//! `strata dbn-sample`: class-conditional samples of a generative DBN (one written by
//! `strata train --model dbn --finetune up-down --out DIR` as DIR/dbn.safetensors) as a PNG
//! grid, one row per requested class.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use strata::pretrain::{GenerativeDbn, pictures};

#[derive(Args, Debug)]
pub struct DbnSampleArgs {
    /// The generative DBN: dbn.safetensors in the --out folder of
    /// `strata train --model dbn --finetune up-down`.
    #[arg(long)]
    dbn: PathBuf,
    /// Classes to sample (label numbers from 0, comma-separated or repeated); one grid row
    /// each, in the order given. Default: every class.
    #[arg(long = "class", value_name = "N", value_delimiter = ',')]
    classes: Vec<usize>,
    /// Samples per class (the grid's columns).
    #[arg(long, default_value_t = 10)]
    per_class: usize,
    /// Gibbs rounds in the top-level associative memory (label clamped) before the
    /// generative pass down.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Seed of the chains.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: DbnSampleArgs) -> anyhow::Result<()> {
    let dbn = GenerativeDbn::load(&a.dbn)?;
    let classes: Vec<usize> = if a.classes.is_empty() { (0..dbn.classes()).collect() } else { a.classes.clone() };
    if let Some(c) = classes.iter().find(|&&c| c >= dbn.classes()) {
        anyhow::bail!("invalid --class: {c} (the DBN in {} has classes 0 to {})", a.dbn.display(), dbn.classes() - 1);
    }
    if a.per_class == 0 || a.per_class > 100 {
        anyhow::bail!("invalid --per-class: {} (1 to 100)", a.per_class);
    }
    if a.steps > 1_000_000 {
        anyhow::bail!("invalid --steps: {} is more than 1000000", a.steps);
    }
    let image = pictures::image_shape(&[dbn.visible_units()])
        .with_context(|| format!("{}: its {} data units are not a square image", a.dbn.display(), dbn.visible_units()))?;
    pictures::save_class_samples(&a.out, &dbn, image, &classes, a.per_class, a.steps, a.seed)?;
    println!("wrote {} ({} rows: classes {:?}, {} samples each)", a.out.display(), classes.len(), classes, a.per_class);
    Ok(())
}
