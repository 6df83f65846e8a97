//! `strata lab`: the lectures' experiments, each run end to end with a verdict.

use clap::Args;
use std::path::PathBuf;
use strata::lab::{LABS, LabOptions, find, run_lab};

#[derive(Args, Debug)]
#[command(after_help = lab_list())]
pub struct LabArgs {
    /// The experiments to run (see --list), one after the other; `all` runs every one.
    #[arg(value_name = "NAME", required_unless_present = "list")]
    names: Vec<String>,
    /// Name the experiments and the claims they test, and exit.
    #[arg(long)]
    list: bool,
    /// Folder for NAME.json (every run's figures) and NAME.png (the comparison chart).
    #[arg(long, default_value = "runs/lab")]
    out: PathBuf,
    /// The small version: subsets and few epochs, under a minute each (for tests).
    #[arg(long)]
    quick: bool,
    /// The image dataset of the experiments that need one: a name or an MNIST-format folder.
    #[arg(long, default_value = "fashion-mnist")]
    data: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The experiments and their claims, for `--list` and `--help`.
fn lab_list() -> String {
    let width = LABS.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let lines: Vec<String> = LABS.iter().map(|l| format!("  {:width$}  {}", l.name, l.claim)).collect();
    format!("Experiments:\n{}", lines.join("\n"))
}

pub fn run(a: LabArgs) -> anyhow::Result<()> {
    if a.list {
        println!("{}", lab_list());
        return Ok(());
    }
    let names: Vec<&str> = if a.names.iter().any(|n| n == "all") {
        LABS.iter().map(|l| l.name).collect()
    } else {
        a.names.iter().map(String::as_str).collect()
    };
    // Every name is checked before the first experiment starts (they can take minutes).
    for name in &names {
        find(name)?;
    }
    let opts = LabOptions { quick: a.quick, data: a.data.clone(), seed: a.seed };
    for name in names {
        let lab = find(name)?;
        println!("{name}: {}{}", lab.claim, if a.quick { " (quick)" } else { "" });
        let report = run_lab(name, &opts, &a.out, |run| println!("  {}", run.summary()))?;
        println!("wrote {} and {} ({:.1} s)", report.json_path.display(), report.png_path.display(), report.seconds);
        println!("{}", report.verdict.line());
    }
    Ok(())
}
