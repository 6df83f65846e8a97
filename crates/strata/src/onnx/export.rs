//! A saved strata model as an ONNX graph: the input preprocessing, then every layer as the
//! ONNX nodes that compute it in eval mode (dropout and noise vanish, batch norm uses its
//! running statistics), composite layers recursively; the output is the logits (the last
//! layer stops before a softmax/sigmoid), or probabilities with `softmax`.
//!
//! Mappings that are not one node: a fused activation is a node after the layer; L2 pooling
//! is `sqrt(AveragePool(x*x) * window area)` (strata's sum of squares with zero padding);
//! maxout is `MatMul`, `Add`, `Reshape [N, units, pieces]`, `ReduceMax`; an LRN of even size
//! is written out (`x / (k + alpha/n * window sum of x^2)^beta`), because ONNX's `LRN`
//! centres an even window one channel later than strata (and PyTorch) do; an embedding is
//! `Cast` to int64 then `Gather`; a locally connected layer is `Pad` (when it pads), one
//! strided `Slice` per kernel tap, `Concat` into patches `[N, KH*KW*C, OH, OW]`,
//! `Unsqueeze`, `Mul` by its weight `[O, KH*KW*C, OH, OW]`, `ReduceSum` over the patch axis
//! and `Add` of its bias `[O, OH, OW]`. A layer with no exact ONNX form would be refused,
//! naming the layer: no file is better than a wrong one.

use super::graph::{Attr, GraphBuilder};
use super::proto::{
    self, GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use crate::data::tabular::Scaling;
use crate::model::{ModelMeta, SavedModel};
use crate::nn::{Activation, Layer, LayerSpec, PoolKind, SubLayer};
use crate::{Error, Result, Tensor};
use std::collections::HashMap;

/// The lowest operator set strata writes (the form of `Softmax`, `Split` and `Squeeze` it
/// relies on).
pub const MIN_OPSET: i64 = 13;
/// The highest operator set strata writes.
pub const MAX_OPSET: i64 = 21;
/// The operator set written when none is asked for.
pub const DEFAULT_OPSET: i64 = 17;

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// ONNX operator set version, [`MIN_OPSET`]..=[`MAX_OPSET`].
    pub opset: i64,
    /// End with the class probabilities (softmax; sigmoid for a single output) instead of
    /// the logits.
    pub softmax: bool,
}

impl ExportOptions {
    /// Errors unless the operator set is one strata writes (reported as `invalid opset`).
    pub fn check(&self) -> Result<()> {
        if !(MIN_OPSET..=MAX_OPSET).contains(&self.opset) {
            return Err(Error::invalid(
                "opset",
                format!("{} is not supported (strata writes opsets {MIN_OPSET} to {MAX_OPSET})", self.opset),
            ));
        }
        Ok(())
    }
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { opset: DEFAULT_OPSET, softmax: false }
    }
}

/// The IR version that goes with an operator set (the lowest that allows it).
fn ir_version(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        _ => 10,
    }
}

/// The ONNX model of `saved`. Errors name the layer that cannot be exported exactly.
pub fn to_onnx(saved: &SavedModel, options: &ExportOptions) -> Result<ModelProto> {
    let ExportOptions { opset, softmax } = *options;
    options.check()?;
    let (model, meta) = (&saved.model, &saved.meta);
    if meta.baseline.is_some() {
        return Err(Error::Model(format!("{} is not a network (only networks export to ONNX)", meta.name)));
    }
    let input_shape = meta.input_shape.clone();
    let mut g = GraphBuilder::new(opset);
    let mut x = preprocess(&mut g, meta, &input_shape)?;
    let layers = model.layers();
    let shapes = model.shapes.clone();
    let last = layers.len().saturating_sub(1);
    let mut shape = input_shape.clone();
    for (i, layer) in layers.iter().enumerate() {
        let out_shape = shapes.get(i).cloned().ok_or_else(|| Error::Model("the model is not built".into()))?;
        let hint = format!("{i:03}.{}", layer.kind().to_ascii_lowercase());
        let mut e = Exporter { g: &mut g };
        x = e
            .layer(layer.as_ref(), &x, &shape, &hint, i == last)
            .map_err(|err| Error::Model(format!("layer {} ({}): {err}", i + 1, layer.kind())))?;
        shape = out_shape;
    }
    let output_name = if softmax {
        let single = shape.last() == Some(&1);
        x = if single { g.node("Sigmoid", "probabilities", &[&x], &[]) } else { g.node("Softmax", "probabilities", &[&x], &[]) };
        "probabilities"
    } else {
        "logits"
    };
    // The graph's own names for its input and output.
    rename(&mut g, &x, output_name);
    let graph = GraphProto {
        node: g.nodes,
        name: Some(meta.name.clone()),
        initializer: g.initializers,
        input: vec![value_info("input", &input_shape)],
        output: vec![value_info(output_name, &shape)],
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: Some(ir_version(opset)),
        producer_name: Some("strata".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!("{} exported by strata", meta.name)),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
        metadata_props: metadata(meta, output_name),
        ..Default::default()
    })
}

/// The model as ONNX protobuf bytes.
pub fn to_onnx_bytes(saved: &SavedModel, options: &ExportOptions) -> Result<Vec<u8>> {
    use prost::Message;
    Ok(to_onnx(saved, options)?.encode_to_vec())
}

/// Renames the value `from` (made by the last node that outputs it) to `to`.
fn rename(g: &mut GraphBuilder, from: &str, to: &str) {
    if from == "input" {
        // The network is the identity: give the output a node of its own.
        g.nodes.push(proto::NodeProto {
            input: vec!["input".into()],
            output: vec![to.into()],
            op_type: Some("Identity".into()),
            ..Default::default()
        });
        return;
    }
    for n in g.nodes.iter_mut() {
        for o in n.output.iter_mut().chain(n.input.iter_mut()) {
            if o == from {
                *o = to.to_string();
            }
        }
    }
}

/// A float32 tensor of `[N, ...shape]` with a symbolic batch size `N`.
fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    let mut dim = vec![Dimension { value: Some(dimension::Value::DimParam("N".into())) }];
    dim.extend(shape.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d as i64)) }));
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(proto::FLOAT),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: None,
    }
}

/// What the input is and how the graph prepares it, in words and as JSON, for
/// `metadata_props`.
fn metadata(meta: &ModelMeta, output: &str) -> Vec<StringStringEntryProto> {
    let entry = |k: &str, v: String| StringStringEntryProto { key: Some(k.into()), value: Some(v) };
    let mut props = vec![
        entry("strata.model", meta.name.clone()),
        entry("strata.input_shape", serde_json::to_string(&meta.input_shape).unwrap_or_default()),
        entry("strata.output", output.into()),
    ];
    let input = if meta.tabular.is_some() {
        "float32 rows [N, features]: the table's columns encoded as strata encodes them (one-hot categories, NaN for a missing value), before scaling"
    } else if meta.input_shape.len() == 3 {
        "float32 images NCHW, pixels scaled to [0, 1]"
    } else {
        "float32 [N, ...input_shape], as strata's datasets hold it"
    };
    // Through the structs themselves, so f32 values print as written (0.286, not 0.28600001).
    #[derive(serde::Serialize)]
    struct Preprocessing<'a> {
        input: &'a str,
        /// Whether the graph applies `standardize` and the table's scaling itself (it does).
        applied_in_graph: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        standardize: Option<&'a crate::data::normalize::Standardizer>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tabular: Option<&'a crate::data::tabular::TabularMeta>,
    }
    let pre =
        Preprocessing { input, applied_in_graph: true, standardize: meta.standardize.as_ref(), tabular: meta.tabular.as_ref() };
    let pre = serde_json::to_string(&pre).unwrap_or_default();
    props.push(entry("strata.preprocessing", pre));
    if let Some(names) = &meta.class_names {
        props.push(entry("strata.class_names", serde_json::to_string(names).unwrap_or_default()));
    }
    props
}

/// The preprocessing strata applies to `[0, 1]` pixels (standardization) or to encoded table
/// rows (scaling, then missing values to 0), as nodes; returns the prepared value.
fn preprocess(g: &mut GraphBuilder, meta: &ModelMeta, shape: &[usize]) -> Result<String> {
    let mut x = "input".to_string();
    // (offset, scale) pairs, global or per feature, applied as (x - offset) * scale
    let safe = |s: f64| if s > 0.0 && s.is_finite() { s as f32 } else { 1.0 };
    let affine = |g: &mut GraphBuilder, x: &str, offset: &[f32], scale: Vec<f32>, hint: &str| -> Result<String> {
        let cshape: Vec<usize> = if offset.len() == 1 {
            vec![]
        } else if offset.len() == shape.iter().product::<usize>() {
            let mut s = vec![1];
            s.extend(shape);
            s
        } else {
            return Err(Error::Model(format!("{hint}: {} values for an input of {shape:?}", offset.len())));
        };
        let o = g.constant(&format!("{hint}.offset"), &cshape, offset);
        let s = g.constant(&format!("{hint}.scale"), &cshape, &scale);
        let d = g.node("Sub", hint, &[x, &o], &[]);
        Ok(g.node("Mul", hint, &[&d, &s], &[]))
    };
    if let Some(s) = &meta.standardize {
        let inv = s.std.iter().map(|&v| 1.0 / safe(v as f64)).collect();
        x = affine(g, &x, &s.mean, inv, "standardize")?;
    }
    if let Some(t) = &meta.tabular {
        match &t.scaling {
            Scaling::Standard(s) => {
                let inv = s.std.iter().map(|&v| 1.0 / safe(v as f64)).collect();
                x = affine(g, &x, &s.mean, inv, "scaling")?;
            }
            Scaling::MinMax(m) => {
                let inv = m.min.iter().zip(&m.max).map(|(&lo, &hi)| 1.0 / safe(hi as f64 - lo as f64)).collect();
                x = affine(g, &x, &m.min, inv, "scaling")?;
            }
            Scaling::None => {}
        }
        // missing values (NaN) become 0, as strata imputes them
        let nan = g.node("IsNaN", "missing", &[&x], &[]);
        let zero = g.scalar("zero", 0.0);
        x = g.node("Where", "imputed", &[&nan, &zero, &x], &[]);
    }
    Ok(x)
}

/// One layer's tensors by name (parameters and buffers).
fn tensors(layer: &dyn Layer) -> HashMap<String, Tensor> {
    let mut m: HashMap<String, Tensor> = layer.named_params().into_iter().map(|(n, p)| (n, p.value.clone())).collect();
    m.extend(layer.named_buffers());
    m
}

/// Writes layers as nodes.
struct Exporter<'a> {
    g: &'a mut GraphBuilder,
}

impl Exporter<'_> {
    /// Emits `layer` on `x` (per-sample shape `input`); `logits`: the network's last
    /// layer, which stops before an output softmax/sigmoid. Returns the output value.
    fn layer(&mut self, layer: &dyn Layer, x: &str, input: &[usize], hint: &str, logits: bool) -> Result<String> {
        let t = tensors(layer);
        let get = |name: &str| t.get(name).ok_or_else(|| Error::Model(format!("missing tensor '{name}'")));
        let spec = layer.spec();
        let (y, activation) = match &spec {
            LayerSpec::Dense(c) => {
                let w = get("weight")?;
                let wn = self.g.constant(&format!("{hint}.weight"), w.shape(), w.data());
                let mut y = self.g.node("MatMul", hint, &[x, &wn], &[]);
                if let Some(b) = t.get("bias") {
                    let bn = self.g.constant(&format!("{hint}.bias"), b.shape(), b.data());
                    y = self.g.node("Add", hint, &[&y, &bn], &[]);
                }
                (y, c.activation)
            }
            LayerSpec::Conv2d(c) => {
                let [_, h, w] = *input else { return Err(Error::Model(format!("needs [C, H, W] input, got {input:?}"))) };
                let (k, s, d) = (c.kernel.get(), c.stride.get(), c.dilation.get());
                let (top, bottom, left, right) = c.padding.resolve(h, w, k, s, d);
                let wt = get("weight")?;
                let wn = self.g.constant(&format!("{hint}.weight"), wt.shape(), wt.data());
                let mut inputs = vec![x.to_string(), wn];
                if let Some(b) = t.get("bias") {
                    inputs.push(self.g.constant(&format!("{hint}.bias"), b.shape(), b.data()));
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let attrs = [
                    ("kernel_shape", Attr::Ints(vec![k.0 as i64, k.1 as i64])),
                    ("strides", Attr::Ints(vec![s.0 as i64, s.1 as i64])),
                    ("dilations", Attr::Ints(vec![d.0 as i64, d.1 as i64])),
                    ("pads", Attr::Ints(vec![top as i64, left as i64, bottom as i64, right as i64])),
                    ("group", Attr::Int(c.groups as i64)),
                ];
                (self.g.node("Conv", hint, &refs, &attrs), c.activation)
            }
            LayerSpec::Pool2d(c) => {
                let (k, s, p) = (c.window.get(), c.stride.unwrap_or(c.window).get(), c.padding.get());
                let attrs = || {
                    vec![
                        ("kernel_shape", Attr::Ints(vec![k.0 as i64, k.1 as i64])),
                        ("strides", Attr::Ints(vec![s.0 as i64, s.1 as i64])),
                        ("pads", Attr::Ints(vec![p.0 as i64, p.1 as i64, p.0 as i64, p.1 as i64])),
                    ]
                };
                let y = match c.pool {
                    PoolKind::Max => self.g.node("MaxPool", hint, &[x], &attrs()),
                    PoolKind::Min => {
                        // min(x) = -max(-x); padded cells never win either way
                        let neg = self.g.node("Neg", &format!("{hint}.negate"), &[x], &[]);
                        let max = self.g.node("MaxPool", hint, &[&neg], &attrs());
                        self.g.node("Neg", hint, &[&max], &[])
                    }
                    PoolKind::Avg => {
                        let mut a = attrs();
                        a.push(("count_include_pad", Attr::Int(1)));
                        self.g.node("AveragePool", hint, &[x], &a)
                    }
                    PoolKind::L2 => {
                        // sqrt(sum of squares) = sqrt(mean of squares over the whole window * area)
                        let sq = self.g.node("Mul", &format!("{hint}.square"), &[x, x], &[]);
                        let mut a = attrs();
                        a.push(("count_include_pad", Attr::Int(1)));
                        let mean = self.g.node("AveragePool", hint, &[&sq], &a);
                        let area = self.g.scalar(&format!("{hint}.area"), (k.0 * k.1) as f32);
                        let sum = self.g.node("Mul", &format!("{hint}.sum"), &[&mean, &area], &[]);
                        self.g.node("Sqrt", hint, &[&sum], &[])
                    }
                };
                (y, Activation::Linear)
            }
            LayerSpec::GlobalAvgPool2d(_) => {
                let p = self.g.node("GlobalAveragePool", hint, &[x], &[]);
                (self.g.node("Flatten", hint, &[&p], &[("axis", Attr::Int(1))]), Activation::Linear)
            }
            LayerSpec::Flatten(_) => (self.g.node("Flatten", hint, &[x], &[("axis", Attr::Int(1))]), Activation::Linear),
            LayerSpec::Unflatten(c) => {
                let mut shape = vec![-1i64];
                shape.extend(c.shape.iter().map(|&d| d as i64));
                (self.g.reshape(x, &shape, hint), Activation::Linear)
            }
            // an auxiliary classifier's head runs in training only: inference passes through
            LayerSpec::Dropout(_) | LayerSpec::Noise(_) | LayerSpec::AuxClassifier(_) => (x.to_string(), Activation::Linear),
            LayerSpec::Activation(c) => (x.to_string(), c.activation),
            LayerSpec::BatchNorm(c) => {
                let names = ["gamma", "beta", "running_mean", "running_var"];
                let mut inputs = vec![x.to_string()];
                for n in names {
                    let v = get(n)?;
                    inputs.push(self.g.constant(&format!("{hint}.{n}"), v.shape(), v.data()));
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                (self.g.node("BatchNormalization", hint, &refs, &[("epsilon", Attr::Float(c.eps))]), Activation::Linear)
            }
            LayerSpec::LocalResponseNorm(c) => (self.lrn(x, input, c.size, c.alpha, c.beta, c.k, hint)?, Activation::Linear),
            LayerSpec::Maxout(c) => {
                let (w, b) = (get("weight")?, get("bias")?);
                let wn = self.g.constant(&format!("{hint}.weight"), w.shape(), w.data());
                let bn = self.g.constant(&format!("{hint}.bias"), b.shape(), b.data());
                let y = self.g.node("MatMul", hint, &[x, &wn], &[]);
                let y = self.g.node("Add", hint, &[&y, &bn], &[]);
                let y = self.g.reshape(&y, &[0, c.units as i64, c.pieces as i64], &format!("{hint}.pieces"));
                (self.g.reduce_max(&y, &[2], hint), Activation::Linear)
            }
            LayerSpec::Embedding(c) => {
                let w = get("weight")?;
                let wn = self.g.constant(&format!("{hint}.weight"), w.shape(), w.data());
                let ids = self.g.node("Cast", &format!("{hint}.ids"), &[x], &[("to", Attr::Int(proto::INT64 as i64))]);
                let gathered = self.g.node("Gather", &format!("{hint}.gather"), &[&wn, &ids], &[("axis", Attr::Int(0))]);
                if c.channels_first {
                    // [N, ..., dim] -> [N, dim, ...] as the layer computes it
                    let last = input.len() as i64 + 1;
                    let perm: Vec<i64> = [0, last].into_iter().chain(1..last).collect();
                    (self.g.node("Transpose", hint, &[&gathered], &[("perm", Attr::Ints(perm))]), Activation::Linear)
                } else {
                    (gathered, Activation::Linear)
                }
            }
            LayerSpec::Upsample2d(c) => {
                let (fh, fw) = c.factor.get();
                let scales = self.g.constant(&format!("{hint}.scales"), &[4], &[1.0, 1.0, fh as f32, fw as f32]);
                let attrs = [
                    ("mode", Attr::Str("nearest".into())),
                    ("coordinate_transformation_mode", Attr::Str("asymmetric".into())),
                    ("nearest_mode", Attr::Str("floor".into())),
                ];
                (self.g.node("Resize", hint, &[x, "", &scales], &attrs), Activation::Linear)
            }
            LayerSpec::Rnn(_) | LayerSpec::Lstm(_) | LayerSpec::Gru(_) => {
                let cfg: crate::nn::RecurrentConfig = match spec.clone() {
                    LayerSpec::Rnn(c) => c.into(),
                    LayerSpec::Lstm(c) => c.into(),
                    LayerSpec::Gru(c) => c.into(),
                    _ => unreachable!("matched above"),
                };
                (super::recurrent::emit(self.g, &cfg, &t, x, input, hint)?, Activation::Linear)
            }
            LayerSpec::Residual(c) => {
                let children = layer.children();
                let body = self.chain(&children, "body", x, hint)?;
                let short = if c.shortcut.is_empty() { x.to_string() } else { self.chain(&children, "shortcut", x, hint)? };
                (self.g.node("Add", hint, &[&body, &short], &[]), c.activation)
            }
            LayerSpec::Concat(c) => {
                let children = layer.children();
                let mut outs = Vec::new();
                for j in 0..c.branches.len() {
                    outs.push(if c.branches[j].is_empty() {
                        x.to_string()
                    } else {
                        self.chain(&children, &format!("branch{j}"), x, hint)?
                    });
                }
                let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
                (self.g.node("Concat", hint, &refs, &[("axis", Attr::Int(1))]), Activation::Linear)
            }
            LayerSpec::Block(_) => {
                let children = layer.children();
                (self.chain(&children, "", x, hint)?, Activation::Linear)
            }
            LayerSpec::LocallyConnected2d(c) => {
                let (w, b) = (get("weight")?, t.get("bias"));
                (self.locally_connected(c, w, b, x, input, hint)?, c.activation)
            }
            LayerSpec::ChannelMaxout(c) => {
                let [ch, h, w] = *input else { return Err(Error::Model(format!("needs [C, H, W] input, got {input:?}"))) };
                let p = c.pieces.max(1);
                let pieces = self.g.reshape(x, &[0, (ch / p) as i64, p as i64, h as i64, w as i64], &format!("{hint}.pieces"));
                (self.g.reduce_max(&pieces, &[2], hint), Activation::Linear)
            }
            LayerSpec::SparseConv2d(c) => {
                // the dense kernel with zeros off the table computes the same sums
                let &[ch, ..] = input else { return Err(Error::Model(format!("needs [C, H, W] input, got {input:?}"))) };
                let dense = crate::nn::sparse_conv_dense_kernel(c, ch, get("weight")?)?;
                let wn = self.g.constant(&format!("{hint}.weight"), dense.shape(), dense.data());
                let mut inputs = vec![x.to_string(), wn];
                if let Some(b) = t.get("bias") {
                    inputs.push(self.g.constant(&format!("{hint}.bias"), b.shape(), b.data()));
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let k = c.kernel.get();
                let attrs = [("kernel_shape", Attr::Ints(vec![k.0 as i64, k.1 as i64]))];
                (self.g.node("Conv", hint, &refs, &attrs), c.activation)
            }
            LayerSpec::Subsampling2d(c) => {
                // coefficient * (window area * mean) + bias, per map
                let (coef, bias) = (get("coefficient")?, get("bias")?);
                let k = c.window as i64;
                let attrs = [("kernel_shape", Attr::Ints(vec![k, k])), ("strides", Attr::Ints(vec![k, k]))];
                let mean = self.g.node("AveragePool", hint, &[x], &attrs);
                let scaled: Vec<f32> = coef.data().iter().map(|v| v * (k * k) as f32).collect();
                let cn = self.g.constant(&format!("{hint}.coefficient"), &[1, scaled.len(), 1, 1], &scaled);
                let bn = self.g.constant(&format!("{hint}.bias"), &[1, bias.numel(), 1, 1], bias.data());
                let y = self.g.node("Mul", hint, &[&mean, &cn], &[]);
                (self.g.node("Add", hint, &[&y, &bn], &[]), c.activation)
            }
            LayerSpec::Rbf(_) => {
                // -(|x|^2 - 2 x.c + |c|^2): |x|^2 as a product with a column of ones (no
                // ReduceSum, whose form changed between opsets)
                let c = get("centres")?;
                let (units, f) = (c.shape()[0], c.shape()[1]);
                let mut two_ct = vec![0.0; f * units];
                for u in 0..units {
                    for j in 0..f {
                        two_ct[j * units + u] = 2.0 * c.data()[u * f + j];
                    }
                }
                let norms: Vec<f32> = (0..units).map(|u| c.data()[u * f..(u + 1) * f].iter().map(|v| v * v).sum()).collect();
                let ctn = self.g.constant(&format!("{hint}.centres"), &[f, units], &two_ct);
                let ones = self.g.constant(&format!("{hint}.ones"), &[f, 1], &vec![1.0; f]);
                let cc = self.g.constant(&format!("{hint}.centre_norms"), &[units], &norms);
                let xc = self.g.node("MatMul", hint, &[x, &ctn], &[]);
                let sq = self.g.node("Mul", &format!("{hint}.square"), &[x, x], &[]);
                let xx = self.g.node("MatMul", &format!("{hint}.norm"), &[&sq, &ones], &[]);
                let y = self.g.node("Sub", hint, &[&xc, &xx], &[]);
                (self.g.node("Sub", hint, &[&y, &cc], &[]), Activation::Linear)
            }
        };
        // the network's last layer stops where strata's `forward_logits` does
        if logits && layer.output_activation().is_some() {
            return Ok(y);
        }
        self.activation(&y, activation, hint)
    }

    /// The sub-layers of `children` under `prefix` (`"body"`, `"branch2"`, `""` for a
    /// block) in order, applied to `x`.
    fn chain(&mut self, children: &[SubLayer<'_>], prefix: &str, x: &str, hint: &str) -> Result<String> {
        let mut y = x.to_string();
        for c in children {
            let (head, index) = c.path.rsplit_once('.').unwrap_or(("", &c.path));
            if head != prefix {
                continue;
            }
            let sub = format!(
                "{hint}.{}{}.{}",
                if prefix.is_empty() { String::new() } else { format!("{prefix}.") },
                index,
                c.layer.kind().to_ascii_lowercase()
            );
            y = self
                .layer(c.layer, &y, &c.input, &sub, false)
                .map_err(|e| Error::Model(format!("{} ({}): {e}", c.path, c.layer.kind())))?;
        }
        Ok(y)
    }

    /// An activation function as a node (none for the identity).
    fn activation(&mut self, x: &str, a: Activation, hint: &str) -> Result<String> {
        let g = &mut *self.g;
        Ok(match a {
            Activation::Linear => x.to_string(),
            Activation::Relu => g.node("Relu", hint, &[x], &[]),
            Activation::Sigmoid => g.node("Sigmoid", hint, &[x], &[]),
            Activation::Tanh => g.node("Tanh", hint, &[x], &[]),
            Activation::ScaledTanh => {
                let (a, s) = crate::nn::SCALED_TANH;
                let (an, sn) = (g.scalar(&format!("{hint}.amplitude"), a), g.scalar(&format!("{hint}.slope"), s));
                let inner = g.node("Mul", &format!("{hint}.slope"), &[x, &sn], &[]);
                let t = g.node("Tanh", hint, &[&inner], &[]);
                g.node("Mul", hint, &[&t, &an], &[])
            }
            Activation::LeakyRelu(alpha) => g.node("LeakyRelu", hint, &[x], &[("alpha", Attr::Float(alpha))]),
            Activation::Elu(alpha) => g.node("Elu", hint, &[x], &[("alpha", Attr::Float(alpha))]),
            Activation::Softmax => g.node("Softmax", hint, &[x], &[("axis", Attr::Int(-1))]),
        })
    }

    /// A locally connected layer, exactly: the (padded) input's KH*KW taps as strided
    /// `Slice`s `[N, C, OH, OW]`, `Concat`ed on axis 1 into patches `[N, KH*KW*C, OH, OW]`
    /// (tap-major), `Unsqueeze`d to `[N, 1, K, OH, OW]`, times the weight `[O, K, OH, OW]`
    /// (strata's `[O, C*KH*KW, OH*OW]` with its K axis reordered to tap-major), `ReduceSum`
    /// over K, plus the bias `[O, OH, OW]`.
    fn locally_connected(
        &mut self,
        c: &crate::nn::LocallyConnected2dConfig,
        w: &Tensor,
        bias: Option<&Tensor>,
        x: &str,
        input: &[usize],
        hint: &str,
    ) -> Result<String> {
        let [ch, h, wd] = *input else { return Err(Error::Model(format!("needs [C, H, W] input, got {input:?}"))) };
        let ((kh, kw), (sh, sw)) = (c.kernel.get(), c.stride.get());
        let (top, bottom, left, right) = c.padding.resolve(h, wd, (kh, kw), (sh, sw), (1, 1));
        let (hp, wp) = (h + top + bottom, wd + left + right);
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || hp < kh || wp < kw {
            return Err(Error::Model(format!("a {kh}x{kw} kernel does not fit input {input:?}")));
        }
        let (oh, ow) = ((hp - kh) / sh + 1, (wp - kw) / sw + 1);
        let (o, taps, p) = (c.filters, kh * kw, oh * ow);
        let k = ch * taps;
        if w.shape() != [o, k, p] {
            return Err(Error::Model(format!("weight {:?}, expected {:?}", w.shape(), [o, k, p])));
        }
        let mut x = x.to_string();
        if top + bottom + left + right > 0 {
            let pads = [0, 0, top, left, 0, 0, bottom, right].map(|v| v as i64);
            let pn = self.g.ints(&format!("{hint}.pads"), &pads);
            x = self.g.node("Pad", &format!("{hint}.pad"), &[&x, &pn], &[("mode", Attr::Str("constant".into()))]);
        }
        let axes = self.g.ints(&format!("{hint}.axes"), &[2, 3]);
        let steps = self.g.ints(&format!("{hint}.steps"), &[sh as i64, sw as i64]);
        let mut cols = Vec::with_capacity(taps);
        for i in 0..kh {
            for j in 0..kw {
                let starts = self.g.ints(&format!("{hint}.starts"), &[i as i64, j as i64]);
                let ends = [i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1].map(|v| v as i64);
                let ends = self.g.ints(&format!("{hint}.ends"), &ends);
                cols.push(self.g.node("Slice", &format!("{hint}.tap"), &[&x, &starts, &ends, &axes, &steps], &[]));
            }
        }
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let patches = self.g.node("Concat", &format!("{hint}.patches"), &refs, &[("axis", Attr::Int(1))]);
        let one = self.g.ints(&format!("{hint}.unsqueeze"), &[1]);
        let patches = self.g.node("Unsqueeze", &format!("{hint}.patches"), &[&patches, &one], &[]);
        // strata's K index is (channel, tap); the patches' is (tap, channel)
        let src = w.data();
        let mut data = vec![0.0f32; src.len()];
        for oi in 0..o {
            for cc in 0..ch {
                for t in 0..taps {
                    let from = (oi * k + cc * taps + t) * p;
                    let to = (oi * k + t * ch + cc) * p;
                    data[to..to + p].copy_from_slice(&src[from..from + p]);
                }
            }
        }
        let wn = self.g.constant(&format!("{hint}.weight"), &[o, k, oh, ow], &data);
        let prod = self.g.node("Mul", hint, &[&patches, &wn], &[]);
        let sum_axes = self.g.ints(&format!("{hint}.sum_axes"), &[2]);
        let mut y = self.g.node("ReduceSum", hint, &[&prod, &sum_axes], &[("keepdims", Attr::Int(0))]);
        if let Some(b) = bias {
            if b.numel() != o * p {
                return Err(Error::Model(format!("bias {:?}, expected {:?}", b.shape(), [o, p])));
            }
            let bn = self.g.constant(&format!("{hint}.bias"), &[o, oh, ow], b.data());
            y = self.g.node("Add", hint, &[&y, &bn], &[]);
        }
        Ok(y)
    }

    /// Local response normalization across channels (axis 1), strata's window: ONNX `LRN`
    /// for an odd size on images, written out otherwise.
    #[allow(clippy::too_many_arguments)]
    fn lrn(&mut self, x: &str, input: &[usize], size: usize, alpha: f32, beta: f32, k: f32, hint: &str) -> Result<String> {
        if size % 2 == 1 && input.len() == 3 {
            let attrs = [
                ("size", Attr::Int(size as i64)),
                ("alpha", Attr::Float(alpha)),
                ("beta", Attr::Float(beta)),
                ("bias", Attr::Float(k)),
            ];
            return Ok(self.g.node("LRN", hint, &[x], &attrs));
        }
        let c = input[0];
        // band[c][c'] = 1 where c' is in c's window [c - size/2, c + (size-1)/2]
        let mut band = vec![0.0f32; c * c];
        for i in 0..c {
            let (lo, hi) = (i.saturating_sub(size / 2), (i + (size - 1) / 2 + 1).min(c));
            band[i * c + lo..i * c + hi].fill(1.0);
        }
        let sq = self.g.node("Mul", &format!("{hint}.square"), &[x, x], &[]);
        let sum = match input.len() {
            1 => {
                // [N, C] x band^T (band is symmetric only for odd sizes)
                let mut t = vec![0.0f32; c * c];
                for i in 0..c {
                    for j in 0..c {
                        t[j * c + i] = band[i * c + j];
                    }
                }
                let b = self.g.constant(&format!("{hint}.window"), &[c, c], &t);
                self.g.node("MatMul", &format!("{hint}.sum"), &[&sq, &b], &[])
            }
            3 => {
                let b = self.g.constant(&format!("{hint}.window"), &[c, c, 1, 1], &band);
                self.g.node("Conv", &format!("{hint}.sum"), &[&sq, &b], &[("kernel_shape", Attr::Ints(vec![1, 1]))])
            }
            _ => return Err(Error::Model(format!("an LRN of even size on input {input:?} has no ONNX form strata writes"))),
        };
        let scale = self.g.scalar(&format!("{hint}.alpha"), alpha / size as f32);
        let kk = self.g.scalar(&format!("{hint}.k"), k);
        let bb = self.g.scalar(&format!("{hint}.beta"), beta);
        let s = self.g.node("Mul", hint, &[&sum, &scale], &[]);
        let s = self.g.node("Add", hint, &[&s, &kk], &[]);
        let d = self.g.node("Pow", hint, &[&s, &bb], &[]);
        Ok(self.g.node("Div", hint, &[x, &d], &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::metrics::Metric;
    use crate::model::{Sequential, model_meta};
    use crate::nn::{Dense, Flatten, LocallyConnected2d, LocallyConnected2dConfig};
    use prost::Message;

    fn saved(model: Sequential, input: &[usize]) -> SavedModel {
        let mut model = model.input_shape(input);
        model.build(input).unwrap();
        model.compile(crate::optim::Sgd::new(0.1), Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
        let meta = model_meta(&model, None, Some(vec!["a".into(), "b".into(), "c".into()])).unwrap();
        SavedModel { model, meta }
    }

    fn ops(m: &ModelProto) -> Vec<String> {
        m.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn a_dense_network_reads_back_with_a_dynamic_batch_and_its_class_names() {
        let s = saved(
            Sequential::new().add(Dense::new(4).activation(Activation::Relu)).add(Dense::new(3).activation(Activation::Softmax)),
            &[5],
        );
        let bytes = to_onnx_bytes(&s, &ExportOptions::default()).unwrap();
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(m.opset_import[0].version, Some(DEFAULT_OPSET));
        assert_eq!(ops(&m), ["MatMul", "Add", "Relu", "MatMul", "Add"], "the output softmax is left out of the logits");
        let g = m.graph.as_ref().unwrap();
        let dims = |v: &ValueInfoProto| match &v.r#type.as_ref().unwrap().value {
            Some(type_proto::Value::TensorType(t)) => {
                t.shape.as_ref().unwrap().dim.iter().map(|d| d.value.clone().unwrap()).collect::<Vec<_>>()
            }
            None => panic!("no tensor type"),
        };
        assert_eq!(dims(&g.input[0]), [dimension::Value::DimParam("N".into()), dimension::Value::DimValue(5)]);
        assert_eq!(g.output[0].name.as_deref(), Some("logits"));
        let names = m.metadata_props.iter().find(|p| p.key.as_deref() == Some("strata.class_names")).unwrap();
        assert_eq!(names.value.as_deref(), Some(r#"["a","b","c"]"#));
        let probs = to_onnx(&s, &ExportOptions { softmax: true, ..ExportOptions::default() }).unwrap();
        assert_eq!(ops(&probs).last().map(String::as_str), Some("Softmax"));
        assert_eq!(probs.graph.unwrap().output[0].name.as_deref(), Some("probabilities"));
    }

    /// A value of the reference evaluator: shape and row-major data.
    type Value = (Vec<usize>, Vec<f32>);

    /// The value of `shape` whose element at each multi-index is `f(index)`.
    fn generate(shape: &[usize], f: impl Fn(&[usize]) -> f32) -> Value {
        let n: usize = shape.iter().product();
        let mut idx = vec![0; shape.len()];
        let mut data = Vec::with_capacity(n);
        for _ in 0..n {
            data.push(f(&idx));
            for a in (0..shape.len()).rev() {
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
        (shape.to_vec(), data)
    }

    /// The element of `v` at `idx` (broadcast: `idx` right-aligned, size-1 axes read at 0).
    fn at(v: &Value, idx: &[usize]) -> f32 {
        let skip = idx.len() - v.0.len();
        let mut off = 0;
        for (a, &d) in v.0.iter().enumerate() {
            off = off * d + if d == 1 { 0 } else { idx[skip + a] };
        }
        v.1[off]
    }

    /// Runs the graph of `m` on `x` with a tiny evaluator of the ops a locally connected
    /// layer exports to (Pad, Slice, Concat, Unsqueeze, Mul, ReduceSum, Add, activations),
    /// written from the ONNX operator definitions.
    fn evaluate(m: &ModelProto, x: &Tensor) -> Value {
        let g = m.graph.as_ref().unwrap();
        let mut vals: HashMap<String, Value> = HashMap::new();
        let mut ints: HashMap<String, Vec<i64>> = HashMap::new();
        for t in &g.initializer {
            let raw = t.raw_data.as_ref().unwrap();
            let name = t.name.clone().unwrap();
            if t.data_type == Some(proto::INT64) {
                ints.insert(name, raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect());
            } else {
                let shape = t.dims.iter().map(|&d| d as usize).collect();
                vals.insert(name, (shape, raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()));
            }
        }
        vals.insert("input".into(), (x.shape().to_vec(), x.data().to_vec()));
        for n in &g.node {
            let op = n.op_type.as_deref().unwrap();
            let input = |i: usize| &vals[&n.input[i]];
            let int = |i: usize| ints[&n.input[i]].iter().map(|&v| v as usize).collect::<Vec<_>>();
            let out = match op {
                "Pad" => {
                    let (v, pads) = (input(0), int(1));
                    let r = v.0.len();
                    let shape: Vec<usize> = (0..r).map(|a| v.0[a] + pads[a] + pads[r + a]).collect();
                    generate(&shape, |i| {
                        let j: Option<Vec<usize>> = (0..r).map(|a| i[a].checked_sub(pads[a]).filter(|&k| k < v.0[a])).collect();
                        j.map(|j| at(v, &j)).unwrap_or(0.0)
                    })
                }
                "Slice" => {
                    let (v, starts, ends, axes, steps) = (input(0), int(1), int(2), int(3), int(4));
                    let mut shape = v.0.clone();
                    for (k, &a) in axes.iter().enumerate() {
                        shape[a] = (ends[k].min(v.0[a]) - starts[k]).div_ceil(steps[k]);
                    }
                    generate(&shape, |i| {
                        let mut j = i.to_vec();
                        for (k, &a) in axes.iter().enumerate() {
                            j[a] = starts[k] + i[a] * steps[k];
                        }
                        at(v, &j)
                    })
                }
                "Concat" => {
                    assert_eq!(n.attribute[0].i, Some(1));
                    let parts: Vec<&Value> = (0..n.input.len()).map(input).collect();
                    let mut shape = parts[0].0.clone();
                    shape[1] = parts.iter().map(|p| p.0[1]).sum();
                    generate(&shape, |i| {
                        let (mut j, mut c) = (i.to_vec(), i[1]);
                        for p in &parts {
                            if c < p.0[1] {
                                j[1] = c;
                                return at(p, &j);
                            }
                            c -= p.0[1];
                        }
                        unreachable!()
                    })
                }
                "Unsqueeze" => {
                    let (mut v, a) = (input(0).clone(), int(1));
                    v.0.insert(a[0], 1);
                    v
                }
                "Mul" | "Add" => {
                    let (a, b) = (input(0), input(1));
                    let r = a.0.len().max(b.0.len());
                    let dim = |v: &Value, k: usize| (k + v.0.len()).checked_sub(r).map(|k| v.0[k]).unwrap_or(1);
                    let shape: Vec<usize> = (0..r).map(|k| dim(a, k).max(dim(b, k))).collect();
                    generate(&shape, |i| if op == "Mul" { at(a, i) * at(b, i) } else { at(a, i) + at(b, i) })
                }
                "ReduceSum" => {
                    let (v, axes) = (input(0), int(1));
                    assert_eq!(axes.len(), 1);
                    let mut shape = v.0.clone();
                    let d = shape.remove(axes[0]);
                    generate(&shape, |i| {
                        let mut j = i.to_vec();
                        j.insert(axes[0], 0);
                        (0..d)
                            .map(|k| {
                                j[axes[0]] = k;
                                at(v, &j)
                            })
                            .sum()
                    })
                }
                "Relu" | "Tanh" => {
                    let (shape, d) = input(0).clone();
                    (shape, d.into_iter().map(|v| if op == "Relu" { v.max(0.0) } else { v.tanh() }).collect())
                }
                _ => panic!("the evaluator has no {op}"),
            };
            vals.insert(n.output[0].clone(), out);
        }
        vals.remove(g.output[0].name.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn a_locally_connected_layer_exports_exactly_as_slices_mul_and_reduce_sum() {
        let x = {
            let mut rng = crate::Rng::seeded(4);
            Tensor::from_vec((0..2 * 2 * 7 * 6).map(|_| rng.uniform() - 0.5).collect(), &[2, 2, 7, 6]).unwrap()
        };
        let variants = [
            LocallyConnected2d::new(3, 3),
            LocallyConnected2d::new(3, 3).padding((1, 2)).stride(2).activation(Activation::Relu),
            LocallyConnected2d::from_config(LocallyConnected2dConfig {
                kernel: (3, 2).into(),
                stride: (2, 1).into(),
                padding: crate::nn::Padding::Named(crate::nn::conv::PaddingMode::Same),
                use_bias: false,
                activation: Activation::Tanh,
                ..LocallyConnected2dConfig::new(4, 1)
            }),
        ];
        for (v, layer) in variants.into_iter().enumerate() {
            let mut s = saved(Sequential::new().add(layer), &[2, 7, 6]);
            // non-zero biases, so that their layout matters
            for p in s.model.params_mut() {
                if p.name == "bias" {
                    let b: Vec<f32> = (0..p.value.numel()).map(|i| (i as f32 * 0.37).sin()).collect();
                    p.value = Tensor::from_vec(b, p.value.shape()).unwrap();
                }
            }
            let want = s.model.predict_logits(&x).unwrap();
            for opset in [MIN_OPSET, DEFAULT_OPSET, MAX_OPSET] {
                let m = to_onnx(&s, &ExportOptions { opset, softmax: false }).unwrap();
                let o = ops(&m);
                assert_eq!(o.iter().filter(|o| *o == "Slice").count(), if v == 2 { 6 } else { 9 }, "{o:?}");
                assert_eq!(o.contains(&"Pad".to_string()), v > 0, "{o:?}");
                let (shape, got) = evaluate(&m, &x);
                assert_eq!(shape, want.shape(), "variant {v}");
                let diff = got.iter().zip(want.data()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(diff <= 1e-5, "variant {v}, opset {opset}: max difference {diff}");
            }
        }
    }

    #[test]
    fn unknown_opsets_are_refused() {
        let s = saved(Sequential::new().add(LocallyConnected2d::new(2, 3)).add(Flatten).add(Dense::new(3)), &[1, 5, 5]);
        assert!(to_onnx(&s, &ExportOptions::default()).is_ok());
        let s = saved(Sequential::new().add(Dense::new(3)), &[2]);
        let err = to_onnx(&s, &ExportOptions { opset: 12, softmax: false }).unwrap_err().to_string();
        assert!(err.contains("opset"), "{err}");
    }
}
