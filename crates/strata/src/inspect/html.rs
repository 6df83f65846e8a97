//! The run report as one self-contained HTML page: every picture inlined as a base64
//! `data:` URI, the styles in the page, no scripts and nothing fetched from elsewhere, so
//! the file can be mailed, archived or opened offline and shows the same.

use super::Inspection;
use crate::model::{History, Summary};
use crate::{Error, Result};
use std::fmt::Write;
use std::path::Path;

/// What a run's report shows besides the inspection's pictures.
pub struct RunReport<'a> {
    /// The page's heading, e.g. `lenet5 on fashion-mnist`.
    pub title: String,
    /// The model's layers.
    pub summary: &'a Summary,
    /// The per-epoch figures, when the run kept them.
    pub history: Option<&'a History>,
    /// The learning curves picture (PNG), when there is one.
    pub curves: Option<&'a Path>,
    /// The command line that trained the model.
    pub command: Option<Vec<String>>,
    /// The training settings used (the recipe with the flags over it), as JSON.
    pub recipe: Option<serde_json::Value>,
    /// Other facts of the run for the summary table (name, value).
    pub facts: Vec<(String, String)>,
    /// The pictures and figures of the test data.
    pub inspection: &'a Inspection,
}

/// Standard base64 (RFC 4648, with padding), for `data:` URIs.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `s` with the characters HTML gives a meaning escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A command line as a shell would take it back (arguments with spaces or quotes quoted).
fn shell_line(args: &[String]) -> String {
    let quote = |a: &String| {
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c)) {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// A figure with at most 6 decimals and no trailing zeros (JSON's f64 of an f32 prints
/// 0.05000000074505806).
fn short(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" || s.is_empty() { "0".into() } else { s.to_string() }
}

fn image(path: &Path, alt: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(format!("<img src=\"data:image/png;base64,{}\" alt=\"{}\">", base64(&bytes), escape(alt)))
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:16px auto;padding:0 16px;max-width:1280px;color:#222;background:#fff}\
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 10px;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}img{max-width:100%;height:auto;display:block;margin:8px 0;border:1px solid #eee}\
pre{background:#f6f6f6;padding:10px;overflow-x:auto;font-size:13px}p.note{color:#555;font-size:14px;margin:4px 0}\
nav a{margin-right:12px}.row{display:flex;gap:32px;align-items:flex-start;flex-wrap:wrap}summary{cursor:pointer;color:#555}";

/// The page.
pub fn report_html(r: &RunReport) -> Result<String> {
    let mut h = String::new();
    let ins = r.inspection;
    let w = |h: &mut String, s: String| h.push_str(&s);
    w(
        &mut h,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
<title>{0}</title><style>{STYLE}</style></head><body>\n<h1>{0}</h1>\n",
            escape(&r.title)
        ),
    );
    h.push_str("<nav><a href=\"#summary\">summary and metrics</a><a href=\"#curves\">learning curves</a>\
<a href=\"#confusion\">confusion matrix</a><a href=\"#roc\">ROC</a><a href=\"#mistakes\">misclassified</a><a href=\"#filters\">filters</a>\
<a href=\"#saliency\">saliency</a><a href=\"#embedding\">embedding</a><a href=\"#model\">model</a><a href=\"#command\">command</a></nav>\n");

    h.push_str("<h2 id=\"summary\">Summary and final metrics on the test data</h2>\n<div class=\"row\"><table>\n");
    let mut facts = r.facts.clone();
    facts.push(("test accuracy".into(), format!("{:.4}", ins.report.accuracy)));
    facts.push(("test loss".into(), format!("{:.4}", ins.loss)));
    if let Some(auc) = ins.auc {
        facts.push(("ROC AUC (one-vs-rest, macro)".into(), format!("{auc:.4}")));
    }
    facts.push(("macro F1".into(), format!("{:.4}", ins.report.macro_avg.f1)));
    facts.push(("test samples".into(), ins.samples.to_string()));
    facts.push(("parameters".into(), crate::model::thousands(r.summary.params as u64)));
    for (k, v) in &facts {
        let _ = writeln!(h, "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>", escape(k), escape(v));
    }
    h.push_str("</table>\n");
    h.push_str("<table><tr><th class=\"l\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
    let row = |h: &mut String, c: &crate::metrics::ClassReport, tag: &str| {
        let _ = writeln!(
            h,
            "<tr><{tag} class=\"l\">{}</{tag}><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
            escape(&c.class),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    };
    for c in &ins.report.classes {
        row(&mut h, c, "td");
    }
    row(&mut h, &ins.report.macro_avg, "th");
    row(&mut h, &ins.report.weighted_avg, "th");
    h.push_str("</table></div>\n");

    h.push_str("<h2 id=\"curves\">Learning curves</h2>\n");
    match r.curves {
        Some(p) => h.push_str(&image(p, "learning curves")?),
        None => h.push_str("<p class=\"note\">This run kept no per-epoch history.</p>"),
    }
    if let Some(hist) = r.history {
        h.push_str("\n<details><summary>per-epoch figures</summary><table><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val loss</th><th>val accuracy</th><th>learning rate</th><th>seconds</th></tr>\n");
        let o = |v: Option<f32>| v.map_or(String::from("&ndash;"), |v| format!("{v:.4}"));
        for e in &hist.epochs {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
                e.epoch,
                e.loss,
                o(e.accuracy),
                o(e.val_loss),
                o(e.val_accuracy),
                short(e.learning_rate as f64),
                e.seconds
            );
        }
        h.push_str("</table></details>\n");
    }

    for (id, kind, heading) in [
        ("confusion", "confusion", "Confusion matrix"),
        ("roc", "roc", "ROC curves"),
        ("mistakes", "misclassified", "Most confidently misclassified test images"),
        ("filters", "filters", "Filters"),
        ("maps", "feature_maps", "Feature maps"),
        ("saliency", "saliency", "Saliency maps"),
        ("embedding", "embedding", "Penultimate layer, PCA to 2-D"),
    ] {
        let _ = writeln!(h, "<h2 id=\"{id}\">{heading}</h2>");
        let mut any = false;
        for p in ins.pictures.iter().filter(|p| p.kind == kind) {
            let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&p.caption));
            h.push_str(&image(&p.path, &p.caption)?);
            any = true;
        }
        if !any {
            h.push_str("<p class=\"note\">Not drawn for this model or data.</p>\n");
        }
    }

    h.push_str("<h2 id=\"model\">Model</h2>\n<table><tr><th class=\"l\">layer</th><th class=\"l\">type</th><th>output shape</th><th>parameters</th><th>multiply-adds</th><th class=\"l\">configuration</th></tr>\n");
    for l in &r.summary.layers {
        let shape = l.output_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x");
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            "&nbsp;&nbsp;".repeat(l.depth),
            escape(&l.name),
            escape(&l.kind),
            shape,
            crate::model::thousands(l.params as u64),
            crate::model::thousands(l.macs),
            escape(l.details.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(
        h,
        "<tr><th class=\"l\" colspan=\"3\">total</th><th>{}</th><th>{}</th><th></th></tr></table>",
        crate::model::thousands(r.summary.params as u64),
        crate::model::thousands(r.summary.macs)
    );

    h.push_str("<h2 id=\"command\">Command and recipe</h2>\n");
    match &r.command {
        Some(c) => {
            let _ = writeln!(h, "<pre>{}</pre>", escape(&shell_line(c)));
        }
        None => h.push_str("<p class=\"note\">The run did not record its command (trained before run.json existed).</p>\n"),
    }
    if let Some(recipe) = &r.recipe {
        let text = serde_json::to_string_pretty(recipe).map_err(|e| Error::invalid("recipe", e.to_string()))?;
        let _ = writeln!(
            h,
            "<p class=\"note\">Training settings used (the model's recipe with the flags over it):</p><pre>{}</pre>",
            escape(&text)
        );
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn figures_are_short() {
        assert_eq!(short(0.05000000074505806), "0.05");
        assert_eq!(short(0.015000000596046448), "0.015");
        assert_eq!(short(3.0), "3");
        assert_eq!(short(-0.0000001), "0");
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let args: Vec<String> =
            ["strata", "train", "--data", "my photos/", "--out", "it's"].iter().map(|s| s.to_string()).collect();
        assert_eq!(shell_line(&args), "strata train --data 'my photos/' --out 'it'\\''s'");
    }
}
