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

/// Every zoo model builds for gray 28x28 and colour 32x32 input (CIFAR-style stems), and
/// the ImageNet-style ones for 3x224x224 with their reference stems (shapes only: no
/// forward pass).
#[test]
fn every_zoo_model_builds_for_gray_and_colour_inputs() {
    // The zoo's names, as the error for an unknown one lists them.
    let (code, _, err) = strata(&["summary", "--model", "no-such-model"]);
    assert_ne!(code, 0);
    let known = err.split("known: ").nth(1).and_then(|r| r.split(';').next()).expect("the known names");
    let names: Vec<&str> = known.split(", ").map(str::trim).collect();
    for must in [
        "resnet20",
        "resnet56",
        "vgg11",
        "googlenet",
        "resnet50",
        "alexnet",
        "lenet5-1998",
        "zfnet",
        "alexnet-2012",
        "vgg11-lrn",
        "vgg13",
        "vgg16-c",
        "googlenet-aux",
        "resnet101",
        "resnet152",
    ] {
        assert!(names.contains(&must), "{must} not in {names:?}");
    }
    let imagenet = [
        "alexnet",
        "alexnet-2012",
        "zfnet",
        "vgg11",
        "vgg11-lrn",
        "vgg13",
        "vgg16",
        "vgg16-c",
        "vgg19",
        "nin",
        "googlenet",
        "googlenet-aux",
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
    ];
    for name in &names {
        let mut inputs = vec!["1x28x28", "3x32x32"];
        if imagenet.contains(name) {
            inputs.push("3x224x224");
        }
        for input in inputs {
            let (code, out, err) = strata(&["summary", "--model", name, "--input", input, "--classes", "10", "--json"]);
            assert_eq!(code, 0, "{name} at {input}: {err}");
            let j = last_json(&out);
            let shape: Vec<usize> = input.split('x').map(|d| d.parse().unwrap()).collect();
            assert_eq!(j["input_shape"], serde_json::json!(shape), "{name} at {input}");
            assert!(j["params"].as_u64().unwrap() > 0, "{name} at {input}");
            let last = j["layers"].as_array().unwrap().last().unwrap()["output_shape"].clone();
            assert!(last == serde_json::json!([10]) || name.contains("autoencoder"), "{name} at {input}: output {last}");
        }
    }
    // The CIFAR ResNets keep their 3x3 stem at 32x32; resnet56 is three times resnet20's depth.
    let (code, out, err) = strata(&["summary", "--model", "resnet56", "--input", "3x32x32", "--json"]);
    assert_eq!(code, 0, "{err}");
    let j = last_json(&out);
    assert_eq!(j["model"], "resnet56");
    let params = j["params"].as_u64().unwrap();
    assert!((850_000..870_000).contains(&params), "resnet56 has about 0.85 M parameters, not {params}");
}

/// `summary --json` gives the published counts of the lectures' definitions (issue 19).
#[test]
fn summary_counts_the_published_parameters() {
    for (name, input, classes, params) in [
        ("vgg13", "3x224x224", "1000", 133_047_848u64),
        ("resnet101", "3x224x224", "1000", 44_549_160),
        ("resnet152", "3x224x224", "1000", 60_192_808),
        ("googlenet-aux", "3x224x224", "1000", 13_004_888),
        ("googlenet", "3x224x224", "1000", 6_624_904),
        ("zfnet", "3x224x224", "1000", 62_357_608),
        ("alexnet-2012", "3x224x224", "1000", 60_965_224),
        // 60,000 as published up to F6, plus the 840 learned RBF centres (see its note)
        ("lenet5-1998", "1x28x28", "10", 60_840),
    ] {
        let (code, out, err) = strata(&["summary", "--model", name, "--input", input, "--classes", classes, "--json"]);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(last_json(&out)["params"].as_u64(), Some(params), "{name}");
        if name == "lenet5-1998" {
            assert!(out.contains("bitmaps") || err.contains("bitmaps"), "the note on the RBF centres: {out}{err}");
        }
    }
}
