//! CSV (and TSV) files with a header row: each column is numeric when every present value
//! parses as a number, else categorical (categories in order of first appearance).
//! Quoted fields (with commas, doubled quotes, line breaks) follow RFC 4180.
//! Missing values: an empty field, `?`, `NA`, `N/A` or `NaN`.
//!
//! ```
//! let text = "x,colour,label\n1.5,red,yes\n2.5,\"blue, dark\",no\n";
//! let t = strata::data::csv::parse_csv(text.as_bytes(), "inline.csv".as_ref(), b',').unwrap();
//! assert_eq!(t.rows(), 2);
//! assert_eq!(t.columns[1].name, "colour");
//! ```

use super::tabular::{Column, ColumnData, Table};
use crate::{Error, Result};
use std::path::Path;

/// True for the spellings of a missing value.
fn is_missing(s: &str) -> bool {
    matches!(s, "" | "?" | "NA" | "N/A" | "NaN" | "nan")
}

/// Reads a CSV file (tab-separated when the name ends in `.tsv`, any case).
///
/// Errors: as for [`parse_csv`], or the file cannot be read.
pub fn read_csv(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let tsv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    parse_csv(&bytes, path, if tsv { b'\t' } else { b',' })
}

/// Parses CSV text whose fields are separated by `delimiter` (e.g. `b','`, `b'\t'`);
/// `origin` names the file in errors. Fields are trimmed; blank lines are skipped.
///
/// Errors: no header or no data rows, an unnamed or repeated column name, a row with a
/// different number of fields than the header, or a stray word in a column that is mostly
/// numbers (the message names the line at fault).
pub fn parse_csv(bytes: &[u8], origin: &Path, delimiter: u8) -> Result<Table> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .trim(::csv::Trim::All)
        .comment(None)
        .from_reader(bytes);
    let err = |line: u64, msg: String| Error::data(origin, format!("line {line}: {msg}"));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| err(1, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(Error::data(origin, "the file is empty (expected a header row of column names)"));
    }
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(err(1, format!("column {} has no name in the header", i + 1)));
        }
        if header[..i].contains(h) {
            return Err(err(1, format!("column {} repeats the name '{h}'", i + 1)));
        }
    }
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.kind() {
            ::csv::ErrorKind::UnequalLengths { pos, len, expected_len } => {
                err(pos.as_ref().map_or(0, |p| p.line()), format!("{len} fields, but the header has {expected_len} columns"))
            }
            _ => Error::data(origin, e.to_string()),
        })?;
        let line = record.position().map_or(0, |p| p.line()) as usize;
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        for (c, field) in record.iter().enumerate() {
            cells[c].push(field.to_string());
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(Error::data(origin, "no data rows after the header"));
    }
    let columns = header
        .iter()
        .zip(cells)
        .enumerate()
        .map(|(c, (name, values))| type_column(origin, c, name, &values, &lines))
        .collect::<Result<Vec<_>>>()?;
    Table::new(origin, columns, lines)
}

/// Numeric when every present value is a number; categorical when most are not. A column
/// that is mostly numbers with a few stray words is a malformed file: the first stray value
/// is reported with its line and column.
fn type_column(origin: &Path, c: usize, name: &str, values: &[String], lines: &[usize]) -> Result<Column> {
    let parsed: Vec<Option<std::result::Result<f64, ()>>> = values
        .iter()
        .map(|v| {
            (!is_missing(v)).then(|| v.parse::<f64>().map_err(|_| ()).and_then(|x| if x.is_finite() { Ok(x) } else { Err(()) }))
        })
        .collect();
    let present = parsed.iter().flatten().count();
    let numbers = parsed.iter().flatten().filter(|p| p.is_ok()).count();
    if numbers == present {
        return Ok(Column::numeric(name, parsed.into_iter().map(|p| p.and_then(|r| r.ok())).collect()));
    }
    if numbers * 2 > present {
        let r = parsed.iter().position(|p| matches!(p, Some(Err(_)))).unwrap_or(0);
        return Err(Error::data(
            origin,
            format!(
                "line {}, column {} ('{name}'): '{}' is not a number (the column is numeric elsewhere)",
                lines[r],
                c + 1,
                values[r]
            ),
        ));
    }
    let mut categories: Vec<String> = Vec::new();
    let codes = values
        .iter()
        .map(|v| {
            (!is_missing(v)).then(|| match categories.iter().position(|k| k == v) {
                Some(k) => k as u32,
                None => {
                    categories.push(v.clone());
                    (categories.len() - 1) as u32
                }
            })
        })
        .collect();
    Ok(Column { name: name.to_string(), data: ColumnData::Nominal { categories, values: codes } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Table> {
        parse_csv(text.as_bytes(), Path::new("t.csv"), b',')
    }

    #[test]
    fn quoted_fields_and_missing_values() {
        let t = parse("\"a, b\",n\n\"x \"\"q\"\"\",1\n\"two\nlines\",\ny,3e2\n").unwrap();
        assert_eq!(t.columns[0].name, "a, b");
        assert_eq!(t.lines, vec![2, 3, 5]);
        match &t.columns[0].data {
            ColumnData::Nominal { categories, values } => {
                assert_eq!(categories, &["x \"q\"", "two\nlines", "y"]);
                assert_eq!(values, &[Some(0), Some(1), Some(2)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.columns[1].data, ColumnData::Numeric(vec![Some(1.0), None, Some(300.0)]));
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let msg = parse("a,b,c\n1,2,3\n4,5\n").unwrap_err().to_string();
        assert!(msg.starts_with("t.csv: line 3:") && msg.contains("2 fields") && msg.contains("3 columns"), "{msg}");
        let msg = parse("a,b\n1,2\n3,4\n5,x7\n").unwrap_err().to_string();
        assert!(msg.contains("line 4, column 2 ('b')") && msg.contains("'x7'"), "{msg}");
        assert!(parse("").is_err());
        assert!(parse("a,b\n").unwrap_err().to_string().contains("no data rows"));
        assert!(parse("a,a\n1,2\n").unwrap_err().to_string().contains("repeats"));
    }
}
