//! `strata predict`: classes of the images in an IDX file or an image file (PNG, JPEG, PGM,
//! BMP; converted to the model's channels, with a note saying so), or of table rows; a
//! regression model prints one number per row, in the target's units.

use super::output::print_json;
use clap::Args;
use std::path::PathBuf;
use strata::experiment::load_learner;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The model.safetensors written by `strata train`, or an .onnx file to import.
    #[arg(long)]
    model_file: PathBuf,
    /// An IDX images file (e.g. t10k-images-idx3-ubyte.gz), an image file, or (for a model
    /// trained on a table) a .csv/.arff file of rows.
    input: PathBuf,
    /// Show the K most likely classes per image.
    #[arg(long, default_value_t = 1)]
    top: usize,
    /// Print at most this many predictions (all go into the JSON).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print the predictions as JSON on the last line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    normalize: super::normalize::NormalizeFlag,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let (mut model, mut meta) = load_learner(&a.model_file)?;
    a.normalize.apply(&a.model_file, &mut meta)?;
    let x = if strata::data::tabular::is_tabular_path(&a.input.to_string_lossy()) {
        strata::experiment::table_inputs(&a.input, &meta)?
    } else if meta.tabular.is_some() || meta.text.is_some() {
        anyhow::bail!(
            "{}: {} was trained on table rows or texts; give it a .csv file with the same columns",
            a.input.display(),
            a.model_file.display()
        );
    } else {
        let (mut x, note) = strata::data::images::read_images_noted(&a.input, &meta.input_shape)?;
        if let Some(n) = note {
            eprintln!("note: {n}");
        }
        if let Some(s) = &meta.standardize {
            s.apply(&mut x)?;
        }
        x
    };
    if let Some(scaling) = &meta.target_scaling {
        let values = strata::experiment::to_target_units(&model.predict_values(&x)?, scaling);
        let mut rows = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if i < a.limit {
                println!("{i}: {v}");
            }
            rows.push(serde_json::json!({ "index": i, "value": v }));
        }
        if rows.len() > a.limit {
            println!("... {} more", rows.len() - a.limit);
        }
        if a.json {
            print_json(&serde_json::json!({ "predictions": rows }));
        }
        return Ok(());
    }
    let probs = model.predict_proba(&x)?;
    let c = probs.shape()[1];
    let name = |k: usize| meta.class_names.as_ref().and_then(|n| n.get(k).cloned()).unwrap_or_else(|| k.to_string());
    let mut rows = Vec::new();
    for (i, row) in probs.data().chunks_exact(c).enumerate() {
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&p, &q| row[q].total_cmp(&row[p]));
        let top: Vec<(usize, f32)> = order.iter().take(a.top.max(1)).map(|&k| (k, row[k])).collect();
        if i < a.limit {
            let shown: Vec<String> = top.iter().map(|&(k, p)| format!("{} ({:.3})", name(k), p)).collect();
            println!("{i}: {}", shown.join(", "));
        }
        rows.push(serde_json::json!({
            "index": i,
            "class": top[0].0,
            "name": name(top[0].0),
            "probability": top[0].1,
        }));
    }
    if rows.len() > a.limit {
        println!("... {} more", rows.len() - a.limit);
    }
    if a.json {
        print_json(&serde_json::json!({ "predictions": rows }));
    }
    Ok(())
}
