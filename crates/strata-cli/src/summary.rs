//! `strata summary`: a model's layers, output shapes, parameters and MACs (and with
//! `--verbose`, each layer's configuration).

use super::output::print_json;
use clap::Args;

#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// Model name or TOML spec file.
    #[arg(long)]
    model: String,
    /// Per-sample input shape, CxHxW (e.g. 1x28x28) or a flat width (784).
    #[arg(long, default_value = "1x28x28")]
    input: String,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Print JSON on the last line.
    #[arg(long)]
    json: bool,
    /// Add a column with each layer's configuration (fields that differ from their defaults)
    /// and, for convolutions, the algorithm chosen for the input shape.
    #[arg(long)]
    verbose: bool,
}

/// Parses "3x224x224" into [3, 224, 224].
pub fn parse_shape(s: &str) -> anyhow::Result<Vec<usize>> {
    let dims: Result<Vec<usize>, _> = s.split(['x', 'X', ',']).map(|d| d.trim().parse::<usize>()).collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&v| v > 0) => match strata::memory::element_count(&d) {
            Some(_) => Ok(d),
            None => anyhow::bail!("invalid --input '{s}': more than 2^40 values per sample"),
        },
        _ => anyhow::bail!("invalid --input '{s}': expected positive sizes like 1x28x28"),
    }
}

pub fn run(a: SummaryArgs) -> anyhow::Result<()> {
    let input = parse_shape(&a.input)?;
    if a.classes == 0 {
        anyhow::bail!("invalid --classes: must be at least 1");
    }
    let mut choice = strata::zoo::choose(&a.model, &input, a.classes, 0).map_err(|e| match e {
        // A named model that cannot be built: the sizes asked for are at fault.
        strata::Error::Model(_) | strata::Error::TooLarge { .. } | strata::Error::BadShape { .. } => {
            anyhow::anyhow!("{} with --input {} and --classes {}: {e}", a.model, a.input, a.classes)
        }
        other => other.into(),
    })?;
    for n in &choice.notes {
        eprintln!("note: {n}");
    }
    let s = choice.model.summary()?;
    if a.verbose {
        println!("{s:#}");
    } else {
        println!("{s}");
    }
    if a.json {
        print_json(&serde_json::to_value(&s)?);
    }
    Ok(())
}
