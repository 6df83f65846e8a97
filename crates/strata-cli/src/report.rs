//! `strata report RUN_DIR`: one self-contained HTML page for a `train --out` run — the
//! summary, learning curves, final metrics, every picture of `strata inspect`, the model's
//! layers, and the command and recipe that produced it.

use clap::Args;
use std::path::PathBuf;
use strata::inspect::{InspectOptions, RunReport, report_html};
use strata::model::History;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The folder `strata train --out` wrote (model.safetensors, model.json, history.csv,
    /// run.json).
    run_dir: PathBuf,
    /// The data to evaluate on (default: the run's own, from run.json).
    #[arg(long)]
    data: Option<String>,
    /// The layer whose filters and feature maps are shown (as `strata inspect --layer`).
    #[arg(long, value_name = "NAME|INDEX")]
    layer: Option<String>,
    /// Where to write the page (default RUN_DIR/report.html). Its pictures are also kept as
    /// PNG files in RUN_DIR/inspect/.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let dir = &a.run_dir;
    anyhow::ensure!(dir.is_dir(), "{}: not a folder (give the folder `strata train --out` wrote)", dir.display());
    let weights = dir.join("model.safetensors");
    anyhow::ensure!(weights.exists(), "{}: no model.safetensors (is it a `strata train --out` folder?)", dir.display());
    let record_path = dir.join("run.json");
    let record: Option<serde_json::Value> = match std::fs::read_to_string(&record_path) {
        Ok(text) => {
            Some(serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", record_path.display()))?)
        }
        Err(_) => None,
    };
    let field = |k: &str| record.as_ref().and_then(|r| r.get(k)).filter(|v| !v.is_null());
    let data = match (&a.data, field("data").and_then(|v| v.as_str())) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => anyhow::bail!("{}: no run.json naming the data; give --data", dir.display()),
    };
    let mut saved = strata::model::load_model(&weights)?;
    let images = strata::data::formats::LoadOptions {
        test_split: field("test_split").and_then(|v| v.as_f64()).unwrap_or(0.2) as f32,
        seed: saved.meta.seed,
        image_size: match field("image_size").and_then(|v| v.as_str()) {
            Some(s) => Some(
                super::train_flags::image_size(s).map_err(|e| anyhow::anyhow!("{}: image_size: {e}", record_path.display()))?,
            ),
            None => None,
        },
        channels: field("channels").and_then(|v| v.as_u64()).map(|c| c as usize),
        skip_bad: false,
        layout: field("layout").and_then(|v| v.as_str()).unwrap_or("nhwc").parse()?,
        cache_mb: None,
    };
    let opts = InspectOptions { layer: a.layer.clone(), ..InspectOptions::default() };
    let pictures_dir = dir.join("inspect");
    let found = super::inspect::inspect_model(&saved, &data, &images, &opts, &pictures_dir)?;

    let history_path = dir.join("history.csv");
    let history = match std::fs::read_to_string(&history_path) {
        Ok(text) => Some(History::from_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", history_path.display()))?),
        Err(_) => None,
    };
    let curves = match &history {
        Some(h) if !h.epochs.is_empty() => {
            let path = pictures_dir.join("curves.png");
            strata::plot::curves_png(h, &format!("{} on {}", saved.meta.name, super::output::short_name(&data)), &path)?;
            Some(path)
        }
        _ => None,
    };
    let summary = saved.model.summary()?;
    let training =
        field("training").cloned().or_else(|| serde_json::to_value(&saved.meta.training).ok().filter(|v| !v.is_null()));
    let mut facts = vec![("model".to_string(), saved.meta.name.clone()), ("data".to_string(), data.clone())];
    let setting = |k: &str| {
        training.as_ref().and_then(|t| t.get(k)).filter(|v| !v.is_null()).map(|v| match v.as_f64() {
            // f32 settings come back as 0.05000000074505806: as f32, they print as given.
            Some(x) => (x as f32).to_string(),
            None => v.to_string().trim_matches('"').to_string(),
        })
    };
    for (label, key) in [("epochs", "epochs"), ("batch size", "batch_size"), ("optimizer", "optimizer"), ("learning rate", "lr")]
    {
        if let Some(v) = setting(key) {
            facts.push((label.to_string(), v));
        }
    }
    if let Some(h) = &history {
        facts.push(("epochs trained".into(), h.epochs.len().to_string()));
        facts.push(("training time".into(), format!("{:.1} s", h.train_seconds())));
    }
    facts.push(("seed".into(), saved.meta.seed.to_string()));
    let command =
        field("command").and_then(|c| c.as_array()).map(|c| c.iter().map(|a| a.as_str().unwrap_or("").to_string()).collect());
    let page = report_html(&RunReport {
        title: format!("{} on {}", saved.meta.name, super::output::short_name(&data)),
        summary: &summary,
        history: history.as_ref(),
        curves: curves.as_deref(),
        command,
        recipe: training,
        facts,
        inspection: &found,
    })?;
    let out = a.out.clone().unwrap_or_else(|| dir.join("report.html"));
    strata::io::write_atomic(&out, page.as_bytes())?;
    println!(
        "{}: test accuracy {:.4}, test loss {:.4} on {} samples",
        saved.meta.name, found.report.accuracy, found.loss, found.samples
    );
    println!(
        "wrote {} ({} KiB, {} pictures inlined)",
        out.display(),
        page.len() / 1024,
        found.pictures.len() + curves.is_some() as usize
    );
    Ok(())
}
