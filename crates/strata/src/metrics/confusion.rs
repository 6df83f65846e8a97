//! The confusion matrix (rows: true class, columns: predicted class) and what follows from
//! it: per-class precision, recall, F1 and support, with macro and weighted averages.
//!
//! ```
//! use strata::metrics::ConfusionMatrix;
//! let m = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 2).unwrap();
//! assert_eq!(m.counts, vec![vec![1, 1], vec![0, 2]]);
//! assert_eq!(m.precision(1), 2.0 / 3.0);
//! assert_eq!(m.recall(0), 0.5);
//! ```

use crate::{Error, Result};
use serde::Serialize;

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfusionMatrix {
    /// `counts[t][p]`: samples of true class `t` predicted as `p`.
    pub counts: Vec<Vec<usize>>,
}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassReport {
    /// The class's name (or number).
    pub class: String,
    /// Of the samples predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the samples of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of samples whose true class this is.
    pub support: usize,
}

/// Per-class figures and their averages (macro: plain mean over classes; weighted: by support).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// One report per class, in class order.
    pub classes: Vec<ClassReport>,
    /// Fraction of all samples classified correctly.
    pub accuracy: f64,
    /// Plain mean of the per-class figures.
    pub macro_avg: ClassReport,
    /// Mean of the per-class figures weighted by support.
    pub weighted_avg: ClassReport,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl ConfusionMatrix {
    /// Counts `truth[i]` against `predicted[i]` over `classes` classes.
    pub fn new(truth: &[u32], predicted: &[usize], classes: usize) -> Result<ConfusionMatrix> {
        if truth.len() != predicted.len() {
            return Err(Error::ShapeMismatch { op: "confusion matrix", left: vec![truth.len()], right: vec![predicted.len()] });
        }
        let mut counts = vec![vec![0; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t as usize >= classes || p >= classes {
                return Err(Error::invalid("confusion matrix", format!("class {} is not below {classes}", (t as usize).max(p))));
            }
            counts[t as usize][p] += 1;
        }
        Ok(ConfusionMatrix { counts })
    }
    /// Number of classes (rows).
    pub fn classes(&self) -> usize {
        self.counts.len()
    }
    /// Number of samples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }
    /// Correct predictions over all samples.
    pub fn accuracy(&self) -> f64 {
        ratio((0..self.classes()).map(|c| self.counts[c][c]).sum(), self.total())
    }
    /// Samples of true class `c`.
    pub fn support(&self, c: usize) -> usize {
        self.counts[c].iter().sum()
    }
    /// Of the samples predicted as `c`, the fraction that are `c` (0 when none is).
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.counts.iter().map(|row| row[c]).sum())
    }
    /// Of the samples of class `c`, the fraction predicted as `c`.
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.support(c))
    }
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }

    fn name(names: Option<&[String]>, c: usize) -> String {
        names.and_then(|n| n.get(c).cloned()).unwrap_or_else(|| c.to_string())
    }

    /// Precision, recall, F1 and support per class, with averages.
    pub fn report(&self, names: Option<&[String]>) -> ClassificationReport {
        let classes: Vec<ClassReport> = (0..self.classes())
            .map(|c| ClassReport {
                class: Self::name(names, c),
                precision: self.precision(c),
                recall: self.recall(c),
                f1: self.f1(c),
                support: self.support(c),
            })
            .collect();
        let (k, n) = (classes.len().max(1) as f64, self.total().max(1) as f64);
        let avg = |label: &str, w: &dyn Fn(&ClassReport) -> f64, denom: f64| ClassReport {
            class: label.into(),
            precision: classes.iter().map(|r| w(r) * r.precision).sum::<f64>() / denom,
            recall: classes.iter().map(|r| w(r) * r.recall).sum::<f64>() / denom,
            f1: classes.iter().map(|r| w(r) * r.f1).sum::<f64>() / denom,
            support: self.total(),
        };
        let macro_avg = avg("macro avg", &|_| 1.0, k);
        let weighted_avg = avg("weighted avg", &|r| r.support as f64, n);
        ClassificationReport { accuracy: self.accuracy(), classes, macro_avg, weighted_avg }
    }

    /// The matrix as a text table with class names (rows: true, columns: predicted).
    pub fn to_table(&self, names: Option<&[String]>) -> String {
        let labels: Vec<String> = (0..self.classes()).map(|c| Self::name(names, c)).collect();
        let first = labels.iter().map(|l| l.len()).max().unwrap_or(0).max("true \\ predicted".len());
        let width =
            labels.iter().map(|l| l.len()).chain(self.counts.iter().flatten().map(|v| v.to_string().len())).max().unwrap_or(1);
        let mut s = format!("{:<first$}", "true \\ predicted");
        for l in &labels {
            s += &format!("  {l:>width$}");
        }
        s.push('\n');
        for (l, row) in labels.iter().zip(&self.counts) {
            s += &format!("{l:<first$}");
            for v in row {
                s += &format!("  {v:>width$}");
            }
            s.push('\n');
        }
        s
    }
}

impl ClassificationReport {
    /// The report as a text table (precision, recall, F1, support per class).
    pub fn to_table(&self) -> String {
        let w = self.classes.iter().map(|r| r.class.len()).max().unwrap_or(0).max(12);
        let mut s = format!("{:<w$}  {:>9}  {:>6}  {:>6}  {:>7}\n", "class", "precision", "recall", "f1", "support");
        let row = |r: &ClassReport| {
            format!("{:<w$}  {:>9.3}  {:>6.3}  {:>6.3}  {:>7}\n", r.class, r.precision, r.recall, r.f1, r.support)
        };
        for r in &self.classes {
            s += &row(r);
        }
        s += &format!("{:<w$}  {:>9}  {:>6}  {:>6.3}  {:>7}\n", "accuracy", "", "", self.accuracy, self.macro_avg.support);
        s += &row(&self.macro_avg);
        s += &row(&self.weighted_avg);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_per_class_figures_by_hand() {
        // truth:     0 0 0 1 1 2 2 2 2
        // predicted: 0 1 0 1 2 2 2 0 2
        let m = ConfusionMatrix::new(&[0, 0, 0, 1, 1, 2, 2, 2, 2], &[0, 1, 0, 1, 2, 2, 2, 0, 2], 3).unwrap();
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 0, 3]]);
        assert!((m.accuracy() - 6.0 / 9.0).abs() < 1e-12);
        assert!((m.precision(0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall(0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.precision(1) - 0.5).abs() < 1e-12);
        assert!((m.recall(2) - 0.75).abs() < 1e-12);
        assert!((m.f1(2) - 0.75).abs() < 1e-12); // precision 3/4, recall 3/4
        let r = m.report(Some(&["a".into(), "b".into(), "c".into()]));
        assert_eq!(r.classes[2].class, "c");
        assert_eq!(r.classes[2].support, 4);
        let macro_recall = (2.0 / 3.0 + 0.5 + 0.75) / 3.0;
        assert!((r.macro_avg.recall - macro_recall).abs() < 1e-12);
        // weighted recall equals accuracy
        assert!((r.weighted_avg.recall - m.accuracy()).abs() < 1e-12);
        let table = m.to_table(Some(&["a".into(), "b".into(), "c".into()]));
        assert_eq!(table.lines().nth(3).unwrap().split_whitespace().collect::<Vec<_>>(), vec!["c", "1", "0", "3"]);
        assert!(ConfusionMatrix::new(&[0, 3], &[0, 1], 3).is_err());
    }
}
