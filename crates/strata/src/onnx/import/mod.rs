//! ONNX files read as strata models: the graph becomes a [`Sequential`] of strata layers
//! with the file's weights, so an imported network evaluates, predicts, trains, saves and
//! exports like one built in strata.
//!
//! Supported: the operators PyTorch's `torch.onnx.export` and Keras' exporters write for
//! feed-forward, convolutional, residual and recurrent classifiers ([`SUPPORTED_OPS`]):
//! `Gemm`/`MatMul` (+ `Add`) become dense layers, `Conv` a convolution (batch norm folded
//! into it or kept as `BatchNormalization`), pools, activations, LRN, dropout, residual
//! `Add` and channel `Concat` joins, `LSTM`/`GRU`/`RNN` with the reshapes, transposes and
//! last-step `Gather`/`Slice` around them; the shape arithmetic PyTorch writes (`Shape`,
//! `Gather`, `Unsqueeze`, `Concat`, `ConstantOfShape`, ...) is computed at import, the
//! batch size left symbolic. Reshapes within a sample cost nothing in strata and become
//! layers only where the next layer needs the shape.
//!
//! Anything else is refused with one line naming the file, the node, its operator and the
//! opset: a model strata cannot compute exactly is never loaded as a different one.
//!
//! The input: an imported model receives what strata's datasets hold, pixels in `[0, 1]`
//! (torchvision's `ToTensor`). An affine map of the input by per-channel constants at the
//! start of the graph (strata's own exports standardize in the graph) becomes the model's
//! standardization; otherwise give the one the network was trained with (`--normalize`,
//! [`normalize_from_str`]). Class names come from `metadata_props` `strata.class_names`
//! when present (strata's exports write them).

mod recurrent;
mod values;
mod walk;

use super::proto::{ModelProto, NodeProto, tensor_shape_proto::dimension, type_proto};
use crate::data::normalize::Standardizer;
use crate::loss::Loss;
use crate::model::{SavedModel, Sequential, model_meta};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use values::{Val, Value, decode_tensor, dtype_name};
use walk::{Chain, Fail, Walker};

/// The operators the import reads (default domain). Other nodes are refused by name.
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "LRN",
    "Dropout",
    "Flatten",
    "Reshape",
    "Transpose",
    "Concat",
    "Identity",
    "Constant",
    "Cast",
    "Squeeze",
    "Unsqueeze",
    "Slice",
    "Gather",
    "Shape",
    "ConstantOfShape",
    "RNN",
    "LSTM",
    "GRU",
];

/// Reads the ONNX model at `path` as a strata model named after the file's stem. Errors
/// are one line naming the file (and the node, for a graph strata cannot represent).
pub fn import_file(path: &Path) -> Result<SavedModel> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    import_bytes(&bytes, path)
}

/// [`import_file`] on the file's bytes; `path` names the model and the errors.
pub fn import_bytes(bytes: &[u8], path: &Path) -> Result<SavedModel> {
    use prost::Message;
    let m = ModelProto::decode(bytes).map_err(|e| Error::data(path, format!("not an ONNX model (truncated or corrupt: {e})")))?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("onnx").to_string();
    import_model(&m, &name).map_err(|msg| Error::data(path, msg))
}

/// Whether `path` names an ONNX file (by its extension).
pub fn is_onnx_path(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Parses `--normalize`: `MEAN/STD` with one value each (all channels) or one per channel,
/// comma-separated (`0.2860/0.3530`, `0.485,0.456,0.406/0.229,0.224,0.225`), for images of
/// `channels` channels: the standardization `(x - mean) / std` the network was trained
/// with, applied to pixels in `[0, 1]`.
pub fn normalize_from_str(s: &str, channels: usize) -> Result<Standardizer> {
    let bad = |why: String| {
        Error::invalid(
            "--normalize",
            format!("'{s}': {why} (expected MEAN/STD, e.g. 0.2860/0.3530 or 0.485,0.456,0.406/0.229,0.224,0.225)"),
        )
    };
    let (m, d) = s.split_once('/').ok_or_else(|| bad("no '/' between the means and the standard deviations".into()))?;
    let parse = |part: &str| -> Result<Vec<f32>> {
        part.split(',')
            .map(|v| v.trim().parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| bad(format!("'{v}' is not a number"))))
            .collect()
    };
    let (mean, std) = (parse(m)?, parse(d)?);
    if mean.len() != std.len() {
        return Err(bad(format!("{} means but {} standard deviations", mean.len(), std.len())));
    }
    if mean.len() != 1 && mean.len() != channels {
        return Err(bad(format!("{} values for images of {channels} channel(s)", mean.len())));
    }
    if std.iter().any(|&v| v <= 0.0) {
        return Err(bad("a standard deviation that is not positive".into()));
    }
    Ok(Standardizer { per_channel: mean.len() > 1, mean, std })
}

/// `node 'NAME' (op OP, opset N)`.
fn describe(node: &NodeProto, opset: i64) -> String {
    let name = node.name.clone().filter(|n| !n.is_empty()).or_else(|| node.output.first().cloned()).unwrap_or_default();
    format!("node '{name}' (op {}, opset {opset})", node.op_type.as_deref().unwrap_or("?"))
}

/// The model of a decoded file; errors are the message after the file's name.
fn import_model(m: &ModelProto, name: &str) -> std::result::Result<SavedModel, String> {
    let opset = m
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
        .and_then(|o| o.version)
        .ok_or("no opset for the default ONNX domain")?;
    let g = m.graph.as_ref().ok_or("no graph")?;
    let nodes = &g.node;
    for node in nodes {
        let op = node.op_type.as_deref().unwrap_or("");
        let domain_ok = matches!(node.domain.as_deref(), None | Some("") | Some("ai.onnx"));
        if !domain_ok || !SUPPORTED_OPS.contains(&op) {
            return Err(format!("{} is not supported by strata's ONNX import", describe(node, opset)));
        }
    }
    // constants, each checked where it is used so an error can name the node
    let mut consts = HashMap::new();
    for t in &g.initializer {
        let tname = t.name.clone().unwrap_or_default();
        let user = nodes.iter().find(|n| n.input.contains(&tname));
        let at = |msg: String| match user {
            Some(n) => format!("{}: {msg}", describe(n, opset)),
            None => format!("initializer '{tname}': {msg}"),
        };
        if t.data_location == Some(1) {
            return Err(at(format!("tensor '{tname}' is stored in an external file (not supported)")));
        }
        let value = Value::Const(decode_tensor(t).map_err(at)?);
        consts.insert(tname, value);
    }
    let inputs: Vec<_> = g.input.iter().filter(|i| !consts.contains_key(i.name.as_deref().unwrap_or(""))).collect();
    let [input] = inputs[..] else {
        return Err(format!("the graph has {} inputs; strata imports networks with one", inputs.len()));
    };
    let input_name = input.name.clone().unwrap_or_default();
    let Some(type_proto::Value::TensorType(tt)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(format!("input '{input_name}' is not a tensor"));
    };
    let elem = tt.elem_type.unwrap_or(0);
    let dims: Vec<Option<i64>> = tt
        .shape
        .as_ref()
        .map(|s| {
            s.dim.iter().map(|d| match &d.value {
                Some(dimension::Value::DimValue(v)) if *v > 0 => Some(*v),
                _ => None,
            })
        })
        .into_iter()
        .flatten()
        .collect();
    let sample: Option<Vec<usize>> = dims.iter().skip(1).map(|d| d.map(|v| v as usize)).collect();
    let shape_text = format!(
        "[{}]",
        dims.iter()
            .enumerate()
            .map(|(i, d)| d.map(|v| v.to_string()).unwrap_or(if i == 0 { "N".into() } else { "?".into() }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let input_shape = match (elem, sample) {
        (super::proto::FLOAT, Some(s)) if s.len() == 3 || s.len() == 2 => s,
        _ => {
            return Err(format!(
                "input '{input_name}' is {} {shape_text}, not an image batch float32 [N, C, H, W] (or rows of one, [N, T, F])",
                dtype_name(elem)
            ));
        }
    };
    let [output] = &g.output[..] else {
        return Err(format!("the graph has {} outputs; strata imports networks with one", g.output.len()));
    };
    let output_name = output.name.clone().unwrap_or_default();
    let mut walker = Walker::new(nodes, opset, (&input_name, Val::batch_first(input_shape.clone())), &output_name, consts);
    let mut chain = Chain::new(input_shape.clone());
    let at = |f: Fail| match f.node {
        Some(i) => format!("{}: {}", describe(&nodes[i], opset), f.msg),
        None => f.msg,
    };
    walker.walk(&input_name, &output_name, &mut chain).map_err(at)?;
    let out = match walker_output(&walker, &output_name) {
        Some(v) if v.batch_axis == 0 => v,
        _ => return Err(format!("the output '{output_name}' is not a batch-first tensor")),
    };
    if chain.layers.is_empty() {
        return Err("the graph has no layer strata can train (it only reshapes its input)".into());
    }
    let last = nodes.iter().rposition(|n| n.output.contains(&output_name)).unwrap_or(0);
    if chain.shape != out.dims {
        let spec = if out.dims.len() == 1 {
            crate::nn::LayerSpec::Flatten(Default::default())
        } else {
            crate::nn::LayerSpec::Unflatten(crate::nn::UnflattenConfig { shape: out.dims.clone() })
        };
        chain.layers.push(walk::Emitted { spec, tensors: HashMap::new() });
    }
    let specs: Vec<_> = chain.layers.iter().map(|l| l.spec.clone()).collect();
    let mut model = Sequential::from_specs(&specs).name(name);
    model.build(&input_shape).map_err(|e| format!("{}: {e}", describe(&nodes[last], opset)))?;
    for (i, (layer, emitted)) in model.layers.iter_mut().zip(chain.layers.iter_mut()).enumerate() {
        let mut t = std::mem::take(&mut emitted.tensors);
        let kind = layer.kind();
        for (pname, p) in layer.named_params_mut() {
            let v = t.remove(&pname).ok_or_else(|| format!("layer {} ({kind}): no weights for '{pname}'", i + 1))?;
            if v.shape() != p.value.shape() {
                return Err(format!(
                    "layer {} ({kind}): '{pname}' is {:?}, the layer needs {:?}",
                    i + 1,
                    v.shape(),
                    p.value.shape()
                ));
            }
            p.value = v;
        }
        let buffers: Vec<String> = layer.named_buffers().into_iter().map(|(n, _)| n).collect();
        for b in buffers {
            let v = t.remove(&b).ok_or_else(|| format!("layer {} ({kind}): no values for '{b}'", i + 1))?;
            layer.set_buffer(&b, v).map_err(|e| format!("layer {} ({kind}): {e}", i + 1))?;
        }
        if let Some(extra) = t.keys().next() {
            return Err(format!("layer {} ({kind}): '{extra}' is not one of its tensors", i + 1));
        }
    }
    let classes = match out.dims[..] {
        [k] => k,
        _ => 0,
    };
    let loss = match classes {
        1 => Loss::BinaryCrossEntropy,
        0 => Loss::Mse,
        _ => Loss::SoftmaxCrossEntropy,
    };
    model.compile(crate::optim::Sgd::new(0.01), loss, &[crate::metrics::Metric::Accuracy]);
    let class_names = m
        .metadata_props
        .iter()
        .find(|p| p.key.as_deref() == Some("strata.class_names"))
        .and_then(|p| serde_json::from_str::<Vec<String>>(p.value.as_deref().unwrap_or("")).ok())
        .filter(|n| n.len() == classes);
    let standardize = walker.standardize.take().map(|(mean, std)| Standardizer { per_channel: mean.len() > 1, mean, std });
    let mut meta = model_meta(&model, standardize, class_names).map_err(|e| e.to_string())?;
    if classes == 0 {
        meta.num_classes = None;
    }
    Ok(SavedModel { model, meta })
}

fn walker_output(w: &Walker, name: &str) -> Option<Val> {
    w.data(name)
}
