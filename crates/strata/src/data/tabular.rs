//! Tables (rows of numeric and categorical columns, as read from CSV or ARFF) and how they
//! become a [`Dataset`]: choosing the target column, one-hot encoding nominal inputs, and
//! [`Scaling`] fitted on training rows only.
//!
//! ```
//! use strata::data::tabular::{Column, ColumnData, Table};
//! let table = Table::new(
//!     "inline",
//!     vec![
//!         Column::numeric("x", vec![Some(1.0), Some(2.0), None]),
//!         Column::nominal("colour", vec!["red".into(), "blue".into()], vec![Some(0), Some(1), Some(0)]),
//!         Column::nominal("label", vec!["no".into(), "yes".into()], vec![Some(0), Some(1), Some(1)]),
//!     ],
//!     vec![2, 3, 4],
//! ).unwrap();
//! let (data, schema) = table.to_dataset(None).unwrap(); // target: the last column
//! assert_eq!(data.sample_shape(), &[3]); // x, colour=red, colour=blue
//! assert_eq!(schema.target.name, "label");
//! assert!(data.inputs.data()[6].is_nan()); // the missing x stays NaN until scaling
//! ```

pub use super::scaling::Scaling;
use super::{Dataset, MAX_CLASSES, Target};
use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The most categories a categorical input column may have: each becomes an input of its
/// own (one-hot), and a column with more is an identifier or free text, not a category.
pub const MAX_CATEGORIES: usize = 1_000;

/// The values of one column: numbers, or category indices into `categories`.
/// `None` is a missing value (`?` in ARFF, empty or `?`/`NA` in CSV).
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    /// One number per row.
    Numeric(Vec<Option<f64>>),
    /// One category per row.
    Nominal {
        /// The category names, in the order the file declares (ARFF) or first uses (CSV).
        categories: Vec<String>,
        /// Each row's category, an index into `categories`.
        values: Vec<Option<u32>>,
    },
}

/// A named column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The column's name, from the header (CSV) or `@ATTRIBUTE` line (ARFF).
    pub name: String,
    /// Its values, one per row.
    pub data: ColumnData,
}

impl Column {
    /// A numeric column (`None`: missing).
    pub fn numeric(name: &str, values: Vec<Option<f64>>) -> Column {
        Column { name: name.into(), data: ColumnData::Numeric(values) }
    }
    /// A categorical column: `values` index into `categories` (`None`: missing);
    /// [`Table::new`] checks that they are in range.
    pub fn nominal(name: &str, categories: Vec<String>, values: Vec<Option<u32>>) -> Column {
        Column { name: name.into(), data: ColumnData::Nominal { categories, values } }
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Nominal { values, .. } => values.len(),
        }
    }
    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A table read from a file: columns of equal length.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file it was read from, named in errors.
    pub source: PathBuf,
    /// The columns, in file order.
    pub columns: Vec<Column>,
    /// `lines[r]` is the (1-based) file line where row `r` starts, named in errors.
    pub lines: Vec<usize>,
}

/// How one input column becomes features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputColumn {
    /// One feature; a missing value is NaN until scaling imputes the training mean.
    Numeric {
        /// The column's name.
        name: String,
    },
    /// One feature per category (1 for the row's category, 0 elsewhere; all 0 if missing).
    OneHot {
        /// The column's name.
        name: String,
        /// The categories seen in training, in feature order; others are an error.
        categories: Vec<String>,
    },
}

/// The column a model predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetColumn {
    /// The column's name.
    pub name: String,
    /// Class names; `None` for a numeric (regression) target.
    pub classes: Option<Vec<String>>,
}

/// How a table's columns map to model inputs and targets; saved with a model so `predict`
/// encodes new rows exactly as the training rows were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularSchema {
    /// The input columns, in feature order.
    pub inputs: Vec<InputColumn>,
    /// The predicted column.
    pub target: TargetColumn,
}

/// What a saved model needs to read a table again: the schema and the fitted scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularMeta {
    /// How rows are encoded.
    pub schema: TabularSchema,
    /// The scaling fitted on the training rows, applied to every row encoded later.
    pub scaling: Scaling,
    /// The file trained on, so that evaluating on the same file can hold out the same
    /// test rows.
    #[serde(default)]
    pub data_file: Option<String>,
    /// The fraction of `data_file`'s rows held out for testing, if any.
    #[serde(default)]
    pub test_split: Option<f32>,
    /// The seed of the shuffle that chose the held-out rows.
    #[serde(default)]
    pub split_seed: u64,
}

/// True for file names the tabular readers handle (`.csv`, `.tsv`, `.arff`, any case).
pub fn is_tabular_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".csv", ".tsv", ".arff"].iter().any(|e| lower.ends_with(e))
}

/// Reads an ARFF file (name ending in `.arff`) or else a CSV file (tab-separated for
/// `.tsv`); see [`csv`](super::csv) and [`arff`](super::arff) for the formats.
///
/// Errors: the file cannot be read, or is malformed (the message names the line).
pub fn read_table(path: &Path) -> Result<Table> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".arff") { super::arff::read_arff(path) } else { super::csv::read_csv(path) }
}

impl Table {
    /// A table from columns of equal length; `lines` gives each row's file line.
    ///
    /// Errors: a column whose length differs from `lines.len()`, or a category index outside
    /// its column's categories.
    pub fn new(source: impl Into<PathBuf>, columns: Vec<Column>, lines: Vec<usize>) -> Result<Table> {
        let source = source.into();
        if let Some(c) = columns.iter().find(|c| c.len() != lines.len()) {
            return Err(Error::data(&source, format!("column '{}' has {} rows, expected {}", c.name, c.len(), lines.len())));
        }
        for c in &columns {
            if let ColumnData::Nominal { categories, values } = &c.data
                && let Some((r, k)) =
                    values.iter().enumerate().find_map(|(r, v)| v.filter(|&k| k as usize >= categories.len()).map(|k| (r, k)))
            {
                let reason =
                    format!("line {}: column '{}' has {} categories, no category {k}", lines[r], c.name, categories.len());
                return Err(Error::data(&source, reason));
            }
        }
        Ok(Table { source, columns, lines })
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }
    /// Index of the column called `name` (exact, else ASCII case-insensitive).
    ///
    /// Errors: no such column (the message lists the columns).
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .or_else(|| self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
            .ok_or_else(|| {
                let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
                Error::data(&self.source, format!("no column '{name}' (columns: {})", names.join(", ")))
            })
    }

    /// The schema for predicting `target` (default: the last column) from every other column.
    /// A nominal target gives classes; a numeric one gives classes when all its values are
    /// whole numbers below 10^6 in magnitude (named by value, in increasing order), else a
    /// regression target.
    ///
    /// Errors: fewer than two columns, no column called `target`, a categorical input with
    /// more than [`MAX_CATEGORIES`] values, a target with a single class or more than
    /// [`MAX_CLASSES`].
    pub fn schema(&self, target: Option<&str>) -> Result<TabularSchema> {
        self.schema_for(target, None)
    }

    /// [`Table::schema`] with the kind of target chosen: `None` decides as `schema` does,
    /// `Some(true)` makes a numeric target a regression target even when its values are
    /// whole numbers, `Some(false)` asks for classes.
    ///
    /// Errors: as for `schema`; for `Some(true)` a categorical target; for `Some(false)` a
    /// numeric target that is not class-like (fractional values, or 10^6 and beyond).
    pub fn schema_for(&self, target: Option<&str>, regression: Option<bool>) -> Result<TabularSchema> {
        if self.columns.len() < 2 {
            return Err(Error::data(&self.source, "needs at least one input column and a target column"));
        }
        let t = match target {
            Some(name) => self.column_index(name)?,
            None => self.columns.len() - 1,
        };
        let inputs = (self.columns.iter().enumerate().filter(|(i, _)| *i != t))
            .map(|(_, c)| match &c.data {
                ColumnData::Numeric(_) => Ok(InputColumn::Numeric { name: c.name.clone() }),
                ColumnData::Nominal { categories, .. } if categories.len() > MAX_CATEGORIES => Err(Error::data(
                    &self.source,
                    format!(
                        "column '{}' has {} distinct values, more than the {MAX_CATEGORIES} a one-hot input may have \
                         (an identifier? drop the column)",
                        c.name,
                        categories.len()
                    ),
                )),
                ColumnData::Nominal { categories, .. } => {
                    Ok(InputColumn::OneHot { name: c.name.clone(), categories: categories.clone() })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let col = &self.columns[t];
        let classes = match (&col.data, regression) {
            (ColumnData::Nominal { .. }, Some(true)) => {
                let reason = format!("target '{}' is categorical; regression needs numbers", col.name);
                return Err(Error::data(&self.source, reason));
            }
            (ColumnData::Numeric(_), Some(true)) => None,
            (ColumnData::Nominal { categories, .. }, _) => Some(categories.clone()),
            (ColumnData::Numeric(v), _) => {
                let whole = v.iter().flatten().all(|x| x.fract() == 0.0 && x.abs() < 1e6);
                whole.then(|| {
                    let mut distinct: Vec<i64> = v.iter().flatten().map(|&x| x as i64).collect();
                    distinct.sort_unstable();
                    distinct.dedup();
                    distinct.iter().map(|d| d.to_string()).collect()
                })
            }
        };
        if regression == Some(false) && classes.is_none() {
            let reason = format!(
                "target '{}' is numeric but not class labels (whole numbers below 10^6): a regression \
                 target (--task regression)",
                col.name
            );
            return Err(Error::data(&self.source, reason));
        }
        match classes.as_deref() {
            Some([only]) => {
                let reason = format!("target '{}' has a single class ('{only}'): there is nothing to learn", col.name);
                return Err(Error::data(&self.source, reason));
            }
            Some(many) if many.len() > MAX_CLASSES => {
                let reason = format!("target '{}' has {} classes, more than {MAX_CLASSES}", col.name, many.len());
                return Err(Error::data(&self.source, reason));
            }
            _ => {}
        }
        Ok(TabularSchema { inputs, target: TargetColumn { name: col.name.clone(), classes } })
    }

    /// The dataset for `target` (default: the last column) and the schema that made it
    /// (see [`Table::schema`] and [`TabularSchema::dataset`]). Rows whose target is missing
    /// are left out (as WEKA does when training).
    pub fn to_dataset(&self, target: Option<&str>) -> Result<(Dataset, TabularSchema)> {
        let schema = self.schema(target)?;
        let data = schema.dataset(self)?;
        Ok((data, schema))
    }
}

impl TabularSchema {
    /// Number of features a row becomes: one per numeric column, one per category of a
    /// one-hot column.
    pub fn width(&self) -> usize {
        self.inputs
            .iter()
            .map(|c| match c {
                InputColumn::Numeric { .. } => 1,
                InputColumn::OneHot { categories, .. } => categories.len(),
            })
            .sum()
    }

    /// Encodes the input columns of `table` (which need not have the target column):
    /// `[rows, width]`, NaN where a numeric value is missing.
    ///
    /// Errors: a schema column missing from `table`, of the other kind (numeric where
    /// categories are expected, or the reverse), or holding a category the schema lacks.
    pub fn encode_inputs(&self, table: &Table) -> Result<Tensor> {
        let (n, width) = (table.rows(), self.width());
        let mut out = vec![0.0f32; n * width];
        let mut offset = 0;
        for spec in &self.inputs {
            let (name, categories) = match spec {
                InputColumn::Numeric { name } => (name, None),
                InputColumn::OneHot { name, categories } => (name, Some(categories)),
            };
            let col = &table.columns[table.column_index(name)?];
            match (&col.data, categories) {
                (ColumnData::Numeric(v), None) => {
                    for (r, x) in v.iter().enumerate() {
                        out[r * width + offset] = x.map_or(f32::NAN, |x| x as f32);
                    }
                    offset += 1;
                }
                (ColumnData::Nominal { categories: have, values }, Some(want)) => {
                    // Map the file's category indices onto the schema's.
                    let map: Vec<Option<usize>> = have.iter().map(|h| want.iter().position(|w| w == h)).collect();
                    for (r, v) in values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let k = map[*v as usize].ok_or_else(|| {
                            Error::data(
                                &table.source,
                                format!(
                                    "line {}: column '{name}' has category '{}', unknown to the model (known: {})",
                                    table.lines[r],
                                    have[*v as usize],
                                    want.join(", ")
                                ),
                            )
                        })?;
                        out[r * width + offset + k] = 1.0;
                    }
                    offset += want.len();
                }
                (_, None) => {
                    return Err(Error::data(&table.source, format!("column '{name}' is categorical, the model expects numbers")));
                }
                (_, Some(_)) => {
                    return Err(Error::data(&table.source, format!("column '{name}' is numeric, the model expects categories")));
                }
            }
        }
        Tensor::from_vec(out, &[n, width])
    }

    /// Encodes the target column: class indices (rows with a missing target are `None`).
    fn encode_target(&self, table: &Table) -> Result<Vec<Option<f32>>> {
        let col = &table.columns[table.column_index(&self.target.name)?];
        Ok(match (&col.data, &self.target.classes) {
            (ColumnData::Numeric(v), None) => v.iter().map(|x| x.map(|x| x as f32)).collect(),
            (ColumnData::Numeric(v), Some(classes)) => {
                let mut out = Vec::with_capacity(v.len());
                for (r, x) in v.iter().enumerate() {
                    out.push(match x {
                        None => None,
                        Some(x) => Some(classes.iter().position(|c| *c == (*x as i64).to_string()).ok_or_else(|| {
                            Error::data(
                                &table.source,
                                format!("line {}: class {x} of '{}' is unknown to the model", table.lines[r], col.name),
                            )
                        })? as f32),
                    });
                }
                out
            }
            (ColumnData::Nominal { categories, values }, Some(classes)) => {
                let map: Vec<Option<usize>> = categories.iter().map(|h| classes.iter().position(|w| w == h)).collect();
                let mut out = Vec::with_capacity(values.len());
                for (r, v) in values.iter().enumerate() {
                    out.push(match v {
                        None => None,
                        Some(v) => Some(map[*v as usize].ok_or_else(|| {
                            Error::data(
                                &table.source,
                                format!(
                                    "line {}: class '{}' of '{}' is unknown to the model",
                                    table.lines[r], categories[*v as usize], col.name
                                ),
                            )
                        })? as f32),
                    });
                }
                out
            }
            (ColumnData::Nominal { .. }, None) => {
                return Err(Error::data(
                    &table.source,
                    format!("target '{}' is categorical, the model predicts numbers", col.name),
                ));
            }
        })
    }

    /// The dataset of `table` under this schema, unscaled (missing inputs NaN); rows with a
    /// missing target are skipped. Classes get the target's class names.
    ///
    /// Errors: as for [`TabularSchema::encode_inputs`]; a target column missing, of the
    /// other kind, or holding a class the schema lacks; no row with a target.
    pub fn dataset(&self, table: &Table) -> Result<Dataset> {
        let x = self.encode_inputs(table)?;
        let y = self.encode_target(table)?;
        let keep: Vec<usize> = (0..y.len()).filter(|&r| y[r].is_some()).collect();
        if keep.is_empty() {
            return Err(Error::data(&table.source, format!("no row has a value for the target '{}'", self.target.name)));
        }
        let x = if keep.len() == y.len() { x } else { x.gather_rows(&keep)? };
        let values: Vec<f32> = keep.iter().filter_map(|&r| y[r]).collect();
        let targets = match &self.target.classes {
            Some(classes) => Target::Classes { labels: values.iter().map(|&v| v as u32).collect(), num_classes: classes.len() },
            None => Target::Values(Tensor::from_vec(values, &[keep.len(), 1])?),
        };
        let mut data = Dataset::new(x, targets)?;
        data.class_names = self.target.classes.clone();
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::new(
            "t.csv",
            vec![
                Column::numeric("a", vec![Some(1.0), None, Some(3.0), Some(5.0)]),
                Column::nominal("c", vec!["x".into(), "y".into()], vec![Some(1), Some(0), None, Some(1)]),
                Column::numeric("class", vec![Some(2.0), Some(0.0), None, Some(2.0)]),
            ],
            vec![2, 3, 4, 5],
        )
        .unwrap()
    }

    #[test]
    fn one_hot_missing_values_and_numeric_classes() {
        let (d, s) = table().to_dataset(Some("class")).unwrap();
        assert_eq!(s.target.classes, Some(vec!["0".to_string(), "2".to_string()]));
        // the row with a missing class is dropped
        assert_eq!(d.len(), 3);
        assert_eq!(d.targets, Target::Classes { labels: vec![1, 0, 1], num_classes: 2 });
        let x = d.inputs.data();
        assert_eq!(&x[0..3], &[1.0, 0.0, 1.0]);
        assert!(x[3].is_nan());
        assert_eq!(&x[4..6], &[1.0, 0.0]);
        assert_eq!(&x[6..9], &[5.0, 0.0, 1.0]);
    }

    #[test]
    fn unknown_column_and_category_are_named() {
        let t = table();
        let msg = t.to_dataset(Some("nope")).unwrap_err().to_string();
        assert!(msg.contains("t.csv") && msg.contains("nope") && msg.contains("class"), "{msg}");
        let schema = TabularSchema {
            inputs: vec![InputColumn::OneHot { name: "c".into(), categories: vec!["x".into()] }],
            target: TargetColumn { name: "class".into(), classes: None },
        };
        let msg = schema.encode_inputs(&t).unwrap_err().to_string();
        assert!(msg.contains("line 2") && msg.contains("'y'"), "{msg}");
        // A category index outside its column's categories is refused up front.
        let bad = Table::new("b.csv", vec![Column::nominal("c", vec!["x".into()], vec![Some(0), Some(1)])], vec![2, 3]);
        let msg = bad.unwrap_err().to_string();
        assert!(msg.contains("line 3") && msg.contains("no category 1"), "{msg}");
    }

    #[test]
    fn the_kind_of_target_can_be_chosen() {
        let t = table();
        // automatic: whole numbers are classes
        assert!(t.schema_for(Some("class"), None).unwrap().target.classes.is_some());
        // regression on the same column: its values, rows without one skipped
        let s = t.schema_for(Some("class"), Some(true)).unwrap();
        assert_eq!(s.target.classes, None);
        let d = s.dataset(&t).unwrap();
        assert_eq!(d.targets, Target::Values(Tensor::from_vec(vec![2.0, 0.0, 2.0], &[3, 1]).unwrap()));
        // a categorical target cannot be a regression target
        let msg = t.schema_for(Some("c"), Some(true)).unwrap_err().to_string();
        assert!(msg.contains("t.csv") && msg.contains("'c' is categorical"), "{msg}");
        // fractional values are not classes
        let real = Table::new(
            "r.csv",
            vec![Column::numeric("a", vec![Some(1.0), Some(2.0)]), Column::numeric("y", vec![Some(0.5), Some(1.0)])],
            vec![2, 3],
        )
        .unwrap();
        assert_eq!(real.schema(None).unwrap().target.classes, None);
        let msg = real.schema_for(None, Some(false)).unwrap_err().to_string();
        assert!(msg.contains("r.csv") && msg.contains("'y' is numeric but not class labels"), "{msg}");
    }

    #[test]
    fn single_classes_and_identifier_columns_are_refused() {
        let one = Table::new(
            "one.csv",
            vec![Column::numeric("a", vec![Some(1.0), Some(2.0)]), Column::numeric("class", vec![Some(3.0), Some(3.0)])],
            vec![2, 3],
        )
        .unwrap();
        let msg = one.schema(None).unwrap_err().to_string();
        assert!(msg.contains("one.csv") && msg.contains("single class ('3')"), "{msg}");
        let n = MAX_CATEGORIES + 1;
        let ids = Column::nominal("id", (0..n).map(|i| format!("v{i}")).collect(), (0..n as u32).map(Some).collect());
        let labels = Column::numeric("class", (0..n).map(|i| Some((i % 2) as f64)).collect());
        let wide = Table::new("wide.csv", vec![ids, labels], (2..n + 2).collect()).unwrap();
        let msg = wide.schema(None).unwrap_err().to_string();
        assert!(msg.contains("wide.csv") && msg.contains("column 'id' has 1001 distinct values"), "{msg}");
    }
}
