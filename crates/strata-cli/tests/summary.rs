//! `strata summary`: the table, its JSON, and `--verbose`'s column of layer configurations
//! (with the convolution algorithm each Conv2d chose for the input shape).

mod common;
use common::*;
use std::collections::BTreeSet;

#[test]
fn verbose_summary_shows_configurations_and_convolution_algorithms() {
    let (code, out, err) = strata(&["summary", "--model", "resnet20", "--input", "1x28x28", "--verbose", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json = last_json(&out);
    for key in ["model", "input_shape", "layers", "params", "macs"] {
        assert!(json.get(key).is_some(), "{key} missing from the summary");
    }
    let rows = json["layers"].as_array().expect("layer rows");
    for row in rows {
        for key in ["name", "kind", "output_shape", "params", "macs", "depth"] {
            assert!(row.get(key).is_some(), "{key} missing from {row}");
        }
    }
    let details: Vec<&str> = rows.iter().filter_map(|r| r["details"].as_str()).collect();
    assert!(details.iter().any(|d| d.contains("algorithm=winograd-f4x4")), "{details:?}");
    let algorithms: BTreeSet<&str> =
        details.iter().flat_map(|d| d.split(' ')).filter_map(|f| f.strip_prefix("algorithm=")).collect();
    assert!(algorithms.len() >= 2, "{algorithms:?}");
    assert!(details.iter().any(|d| d.starts_with("filters=16 kernel=3 padding=1")), "{details:?}");
    // Every convolution row names its algorithm; no other row does.
    for r in rows {
        let says = r["details"].as_str().is_some_and(|d| d.contains("algorithm="));
        assert_eq!(says, r["kind"] == "Conv2d", "{r}");
    }
    // The table gains the column too.
    assert!(out.contains("Details") && out.contains("algorithm=winograd-f4x4"), "{out}");

    // Without --verbose, the table is as it was: no column, no configurations.
    let (code, plain, err) = strata(&["summary", "--model", "resnet20", "--input", "1x28x28"]);
    assert_eq!(code, 0, "{err}");
    assert!(!plain.contains("Details") && !plain.contains("algorithm=") && !plain.contains("kernel="), "{plain}");
    let header = plain.lines().nth(1).expect("a header line");
    assert_eq!(header.trim_end(), header, "no trailing column");
    assert!(header.ends_with("MACs"), "{header}");
}
