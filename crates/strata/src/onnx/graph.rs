//! [`GraphBuilder`]: ONNX nodes and constant tensors appended in order, each value under a
//! fresh name, for the exporter to compose layers from.

use super::proto::{self, AttributeProto, NodeProto, TensorProto, attribute_type};

/// A node attribute, by value.
pub(crate) enum Attr {
    /// `INT`.
    Int(i64),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `FLOAT`.
    Float(f32),
    /// `STRING`.
    Str(String),
    /// `STRINGS`.
    Strs(Vec<String>),
}

impl Attr {
    fn to_proto(&self, name: &str) -> AttributeProto {
        let mut a = AttributeProto { name: Some(name.to_string()), ..Default::default() };
        match self {
            Attr::Int(v) => {
                a.i = Some(*v);
                a.r#type = Some(attribute_type::INT);
            }
            Attr::Ints(v) => {
                a.ints = v.clone();
                a.r#type = Some(attribute_type::INTS);
            }
            Attr::Float(v) => {
                a.f = Some(*v);
                a.r#type = Some(attribute_type::FLOAT);
            }
            Attr::Str(v) => {
                a.s = Some(v.as_bytes().to_vec());
                a.r#type = Some(attribute_type::STRING);
            }
            Attr::Strs(v) => {
                a.strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
                a.r#type = Some(attribute_type::STRINGS);
            }
        }
        a
    }
}

/// The nodes and constants of a graph under construction, in topological order (a node is
/// appended after the nodes that make its inputs).
pub(crate) struct GraphBuilder {
    /// The nodes so far.
    pub nodes: Vec<NodeProto>,
    /// The constant tensors (weights, shapes) so far.
    pub initializers: Vec<TensorProto>,
    /// The operator set the nodes are written for.
    pub opset: i64,
    counter: usize,
}

impl GraphBuilder {
    /// An empty graph for `opset`.
    pub fn new(opset: i64) -> GraphBuilder {
        GraphBuilder { nodes: Vec::new(), initializers: Vec::new(), opset, counter: 0 }
    }

    /// A name not used before, from a readable hint (`"conv"` -> `"conv_7"`).
    pub fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        let hint: String =
            hint.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' }).collect();
        format!("{hint}_{}", self.counter)
    }

    /// A float32 constant of `shape` holding `data` (row-major).
    pub fn constant(&mut self, hint: &str, shape: &[usize], data: &[f32]) -> String {
        let name = self.fresh(hint);
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(proto::FLOAT),
            name: Some(name.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    /// A float32 scalar constant.
    pub fn scalar(&mut self, hint: &str, value: f32) -> String {
        self.constant(hint, &[], &[value])
    }

    /// An int64 vector constant (shapes, axes).
    pub fn ints(&mut self, hint: &str, data: &[i64]) -> String {
        let name = self.fresh(hint);
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: Some(proto::INT64),
            name: Some(name.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    /// Appends a node of `op` with `inputs` and `attrs`, and `outputs` fresh outputs named
    /// after `hint`; returns their names.
    pub fn node_n(&mut self, op: &str, hint: &str, inputs: &[&str], attrs: &[(&str, Attr)], outputs: usize) -> Vec<String> {
        let outs: Vec<String> = (0..outputs).map(|_| self.fresh(hint)).collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outs.clone(),
            name: Some(format!("{op}:{}", outs.first().map(String::as_str).unwrap_or(hint))),
            op_type: Some(op.to_string()),
            attribute: attrs.iter().map(|(n, a)| a.to_proto(n)).collect(),
            ..Default::default()
        });
        outs
    }

    /// Appends a node with one output; returns its name.
    pub fn node(&mut self, op: &str, hint: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        self.node_n(op, hint, inputs, attrs, 1).remove(0)
    }

    /// `Reshape(x, shape)` (0 in `shape` copies the input's size there, -1 is inferred).
    pub fn reshape(&mut self, x: &str, shape: &[i64], hint: &str) -> String {
        let s = self.ints(&format!("{hint}.shape"), shape);
        self.node("Reshape", hint, &[x, &s], &[])
    }

    /// `Transpose(x, perm)`.
    pub fn transpose(&mut self, x: &str, perm: &[i64], hint: &str) -> String {
        self.node("Transpose", hint, &[x], &[("perm", Attr::Ints(perm.to_vec()))])
    }

    /// `ReduceMax` over `axes` without keeping them, in the form of this opset (axes became
    /// an input in opset 18).
    pub fn reduce_max(&mut self, x: &str, axes: &[i64], hint: &str) -> String {
        if self.opset >= 18 {
            let a = self.ints(&format!("{hint}.axes"), axes);
            self.node("ReduceMax", hint, &[x, &a], &[("keepdims", Attr::Int(0))])
        } else {
            self.node("ReduceMax", hint, &[x], &[("axes", Attr::Ints(axes.to_vec())), ("keepdims", Attr::Int(0))])
        }
    }
}
