//! WEKA's ARFF files: `%` comments, `@RELATION`, one `@ATTRIBUTE name type` per column
//! (`NUMERIC`, `REAL`, `INTEGER`, or a nominal `{a, b, 'c d'}`), then `@DATA` rows of
//! comma-separated values with `?` for a missing value. Keywords are case-insensitive.
//! String, date, relational attributes and sparse rows (`{0 1.5, 3 x}`) are rejected
//! with an error naming the line.
//!
//! ```
//! let text = "@relation t\n@attribute x numeric\n@attribute y {no,yes}\n@data\n1.5,yes\n?,no\n";
//! let t = strata::data::arff::parse_arff(text, "t.arff".as_ref()).unwrap();
//! assert_eq!((t.rows(), t.columns.len()), (2, 2));
//! ```

use super::tabular::{Column, ColumnData, Table};
use crate::{Error, Result};
use std::path::Path;

enum Kind {
    Numeric,
    Nominal(Vec<String>),
}

/// Reads an ARFF file.
///
/// Errors: as for [`parse_arff`], or the file cannot be read.
pub fn read_arff(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_arff(&text, path)
}

/// Splits `s` at top-level commas, honouring '...' and "..." quotes (with `\` escapes).
/// Returns the trimmed, unquoted fields, or the 1-based character column of an
/// unterminated quote.
fn split_fields(s: &str) -> std::result::Result<Vec<String>, usize> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.char_indices().peekable();
    let mut quoted_field = false;
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\'' | '"' if cur.trim().is_empty() => {
                cur.clear();
                quoted_field = true;
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                cur.push(e);
                            }
                        }
                        c if c == ch => {
                            closed = true;
                            break;
                        }
                        c => cur.push(c),
                    }
                }
                if !closed {
                    return Err(i + 1);
                }
            }
            ',' => {
                fields.push(if quoted_field { std::mem::take(&mut cur) } else { cur.trim().to_string() });
                cur.clear();
                quoted_field = false;
            }
            c if quoted_field => {
                if !c.is_whitespace() {
                    return Err(i + 1); // text after a closing quote
                }
            }
            c => cur.push(c),
        }
    }
    fields.push(if quoted_field { cur } else { cur.trim().to_string() });
    Ok(fields)
}

/// The first word of `s` (quoted or not) and the rest.
fn name_and_rest(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let q = s.chars().next()?;
    if q == '\'' || q == '"' {
        let end = s[1..].find(q)? + 1;
        Some((s[1..end].to_string(), &s[end + 1..]))
    } else {
        let end = s.find(|c: char| c.is_whitespace() || c == '{').unwrap_or(s.len());
        Some((s[..end].to_string(), &s[end..]))
    }
}

/// Parses ARFF text; `origin` names the file in errors. A numeric attribute becomes a
/// [`ColumnData::Numeric`] column, a nominal one a [`ColumnData::Nominal`] column with the
/// declared categories.
///
/// Errors: anything outside the subset described in the [module docs](crate::data::arff),
/// a duplicate attribute, a row with the wrong number of values, a value that is not a
/// number or not one of its attribute's categories, or no `@DATA` section; messages name
/// the line at fault.
pub fn parse_arff(text: &str, origin: &Path) -> Result<Table> {
    let err = |line: usize, msg: String| Error::data(origin, format!("line {line}: {msg}"));
    let mut attrs: Vec<(String, Kind)> = Vec::new();
    let mut in_data = false;
    let mut cols: Vec<Vec<Option<f64>>> = Vec::new();
    let mut noms: Vec<Vec<Option<u32>>> = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        if !in_data {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("@relation") {
                continue;
            } else if lower.starts_with("@data") {
                if attrs.is_empty() {
                    return Err(err(line_no, "@DATA before any @ATTRIBUTE".into()));
                }
                in_data = true;
                cols = vec![Vec::new(); attrs.len()];
                noms = vec![Vec::new(); attrs.len()];
            } else if lower.starts_with("@attribute") {
                let (name, rest) =
                    name_and_rest(&line["@attribute".len()..]).ok_or_else(|| err(line_no, "@ATTRIBUTE without a name".into()))?;
                let ty = rest.trim();
                let kind = if ty.starts_with('{') {
                    let inner = ty
                        .strip_prefix('{')
                        .and_then(|t| t.strip_suffix('}'))
                        .ok_or_else(|| err(line_no, format!("nominal attribute '{name}' needs its values in {{...}}")))?;
                    let values = split_fields(inner).map_err(|c| err(line_no, format!("unterminated quote at column {c}")))?;
                    Kind::Nominal(values.into_iter().filter(|v| !v.is_empty()).collect())
                } else {
                    match ty.to_ascii_lowercase().split_whitespace().next().unwrap_or("") {
                        "numeric" | "real" | "integer" => Kind::Numeric,
                        "" => return Err(err(line_no, format!("attribute '{name}' has no type"))),
                        other => {
                            return Err(err(
                                line_no,
                                format!(
                                    "attribute '{name}' has type '{other}'; only numeric and nominal attributes are supported"
                                ),
                            ));
                        }
                    }
                };
                if attrs.iter().any(|(n, _)| *n == name) {
                    return Err(err(line_no, format!("attribute '{name}' is declared twice")));
                }
                attrs.push((name, kind));
            } else {
                return Err(err(line_no, format!("expected @RELATION, @ATTRIBUTE or @DATA, found '{line}'")));
            }
            continue;
        }
        if line.starts_with('{') {
            return Err(err(line_no, "sparse ARFF rows are not supported".into()));
        }
        let fields = split_fields(line).map_err(|c| err(line_no, format!("unterminated quote at column {c}")))?;
        if fields.len() != attrs.len() {
            return Err(err(line_no, format!("{} values, but {} attributes are declared", fields.len(), attrs.len())));
        }
        for (c, (field, (name, kind))) in fields.iter().zip(&attrs).enumerate() {
            let at = |msg: String| Error::data(origin, format!("line {line_no}, column {} ('{name}'): {msg}", c + 1));
            let missing = field == "?";
            match kind {
                Kind::Numeric => cols[c].push(if missing {
                    None
                } else {
                    Some(
                        field
                            .parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| at(format!("'{field}' is not a number")))?,
                    )
                }),
                Kind::Nominal(values) => noms[c].push(if missing {
                    None
                } else {
                    Some(
                        values
                            .iter()
                            .position(|v| v == field)
                            .ok_or_else(|| at(format!("'{field}' is not one of {{{}}}", values.join(","))))?
                            as u32,
                    )
                }),
            }
        }
        lines.push(line_no);
    }
    if !in_data {
        return Err(Error::data(origin, "no @DATA section"));
    }
    let columns = attrs
        .into_iter()
        .zip(cols.into_iter().zip(noms))
        .map(|((name, kind), (num, nom))| match kind {
            Kind::Numeric => Column { name, data: ColumnData::Numeric(num) },
            Kind::Nominal(categories) => Column { name, data: ColumnData::Nominal { categories, values: nom } },
        })
        .collect();
    Table::new(origin, columns, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_and_values() {
        let text = "% c\n@RELATION 'my data'\n@ATTRIBUTE 'a b' REAL\n@attribute c {'x y', z}\n@DATA\n1, 'x y'\n2,z % trailing\n";
        let t = parse_arff(text, Path::new("q.arff"));
        // '%' inside a data row is not a comment in ARFF: "z % trailing" is not a category
        assert!(t.unwrap_err().to_string().contains("line 7, column 2 ('c')"));
        let t = parse_arff(&text.replace(" % trailing", ""), Path::new("q.arff")).unwrap();
        assert_eq!(t.columns[0].name, "a b");
        assert_eq!(
            t.columns[1].data,
            ColumnData::Nominal { categories: vec!["x y".into(), "z".into()], values: vec![Some(0), Some(1)] }
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let head = "@relation r\n@attribute x numeric\n@attribute y {a,b}\n@data\n";
        let e = |body: &str| parse_arff(&format!("{head}{body}"), Path::new("e.arff")).unwrap_err().to_string();
        assert!(e("1,a\nx,b\n").contains("e.arff: line 6, column 1 ('x'): 'x' is not a number"));
        assert!(e("1,c\n").contains("line 5, column 2 ('y'): 'c' is not one of {a,b}"));
        assert!(e("1\n").contains("line 5: 1 values, but 2 attributes"));
        assert!(e("{0 1}\n").contains("sparse"));
        assert!(e("1,'a\n").contains("unterminated quote"));
        let s = parse_arff("@relation r\n@attribute s string\n@data\n", Path::new("s.arff")).unwrap_err().to_string();
        assert!(s.contains("line 2") && s.contains("string"), "{s}");
        assert!(parse_arff("@relation r\n@attribute x numeric\n", Path::new("n.arff")).is_err());
    }
}
