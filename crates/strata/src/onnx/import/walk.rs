//! The graph walk: from the input to the output along the data, each node becoming a
//! strata layer, a change to the layer before it (a bias, a fused activation, a recurrent
//! layer's "last step only"), or nothing (a reshape strata does not need: see [`Chain`]).
//!
//! Where a value feeds several nodes the paths must meet again at one `Add` (a
//! [`Residual`](crate::nn::Residual): identity or projection shortcut) or one `Concat` along
//! the channels (a [`Concat`](crate::nn::Concat)); each path is walked on its own into the
//! composite's branches. Anything else is refused naming the node.

use super::recurrent::{OnnxWeights, strata_tensors};
use super::values::{
    Const, Data, Val, Value, attr, attr_float, attr_int, attr_ints, attr_str, attr_strs, fold, normalize_axis, slice_ranges,
};
use crate::nn::conv::{PaddingMode, Pair};
use crate::nn::recurrent::Cell;
use crate::nn::{
    Activation, ActivationConfig, Conv2dConfig, DenseConfig, DropoutConfig, GlobalAvgPool2dConfig, LayerSpec, Padding,
    Pool2dConfig, PoolKind, RecurrentConfig, ResidualConfig,
};
use crate::onnx::proto::NodeProto;
use crate::{Rng, Tensor};
use std::collections::{HashMap, HashSet};

/// Why the walk stopped: the node (index) it was at, if any, and what is wrong.
pub(super) struct Fail {
    /// The node.
    pub node: Option<usize>,
    /// One line.
    pub msg: String,
}

type R<T> = std::result::Result<T, Fail>;

fn fail<T>(node: usize, msg: impl Into<String>) -> R<T> {
    Err(Fail { node: Some(node), msg: msg.into() })
}

/// A layer made from nodes: its description and its tensors by parameter/buffer name.
pub(super) struct Emitted {
    /// What it is.
    pub spec: LayerSpec,
    /// Its weights, named as the built layer names them.
    pub tensors: HashMap<String, Tensor>,
}

/// Layers in order with the strata shape they produce. The graph's own view of a value
/// (its [`Val`]) may differ from `shape` by a reshape: reshapes cost nothing in strata,
/// so they are only made (as `Flatten` or `Unflatten`) where the next layer needs the
/// graph's shape.
pub(super) struct Chain {
    /// The layers.
    pub layers: Vec<Emitted>,
    /// The input shape of each layer.
    inputs: Vec<Vec<usize>>,
    /// Per-sample shape after the last layer.
    pub shape: Vec<usize>,
}

impl Chain {
    /// An empty chain on input `shape`.
    pub fn new(shape: Vec<usize>) -> Chain {
        Chain { layers: Vec::new(), inputs: Vec::new(), shape }
    }

    /// Appends a layer; its output shape comes from strata building it.
    fn push(&mut self, node: usize, spec: LayerSpec, tensors: HashMap<String, Tensor>) -> R<()> {
        let mut layer = spec.to_layer();
        let out = layer
            .build(&self.shape, &mut Rng::seeded(0))
            .or_else(|e| fail(node, format!("as a strata {} on {:?}: {e}", spec.variant(), self.shape)))?;
        self.inputs.push(std::mem::replace(&mut self.shape, out));
        self.layers.push(Emitted { spec, tensors });
        Ok(())
    }

    /// Replaces the last layer's description (rebuilt on the same input).
    fn replace_last(&mut self, node: usize, spec: LayerSpec) -> R<()> {
        let (Some(last), Some(input)) = (self.layers.pop(), self.inputs.pop()) else { return fail(node, "no layer to change") };
        self.shape = input;
        self.push(node, spec, last.tensors)
    }

    /// Makes strata's shape `dims` (the graph's view), with a `Flatten` or `Unflatten`.
    fn materialize(&mut self, node: usize, dims: &[usize]) -> R<()> {
        if self.shape == dims {
            return Ok(());
        }
        let spec = if dims.len() == 1 {
            LayerSpec::Flatten(Default::default())
        } else {
            LayerSpec::Unflatten(crate::nn::UnflattenConfig { shape: dims.to_vec() })
        };
        self.push(node, spec, HashMap::new())
    }

    /// The last layer's description, if the current value is its output unchanged.
    fn last_at(&self, dims: &[usize]) -> Option<&LayerSpec> {
        (self.shape == dims).then(|| self.layers.last().map(|l| &l.spec)).flatten()
    }
}

/// The walk over one graph.
pub(super) struct Walker<'a> {
    nodes: &'a [NodeProto],
    opset: i64,
    /// The node that makes each value.
    producer: HashMap<&'a str, usize>,
    /// The nodes that compute with each data value (not `Shape`, which only reads its shape).
    users: HashMap<&'a str, Vec<usize>>,
    /// What is known of each value so far.
    values: HashMap<String, Value>,
    /// The graph's output.
    output: String,
    /// Still at the input, before any layer: an affine map of the input with per-channel
    /// constants here is the model's standardization, not a layer.
    at_input: bool,
    /// `(mean, std)` per channel (or one) of the input's standardization, if any.
    pub standardize: Option<(Vec<f32>, Vec<f32>)>,
    /// Adaptations, in words.
    pub notes: Vec<String>,
}

impl<'a> Walker<'a> {
    /// A walk over `nodes` (in the topological order ONNX requires) from `input` (a data
    /// value) to `output`, with the constants `consts` (initializers).
    pub fn new(nodes: &'a [NodeProto], opset: i64, input: (&str, Val), output: &str, consts: HashMap<String, Value>) -> Self {
        let mut producer = HashMap::new();
        let mut users: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut data: HashSet<&str> = HashSet::from([input.0]);
        // Nodes are in topological order: one pass finds every value computed from the input.
        let input_name: &'a str =
            nodes.iter().flat_map(|n| n.input.iter()).find(|i| i.as_str() == input.0).map(String::as_str).unwrap_or("");
        if !input_name.is_empty() {
            data.insert(input_name);
        }
        for (i, n) in nodes.iter().enumerate() {
            for o in &n.output {
                producer.insert(o.as_str(), i);
            }
            let op = n.op_type.as_deref().unwrap_or("");
            if matches!(op, "Shape" | "Size") {
                continue;
            }
            let mut is_data = false;
            for inp in &n.input {
                if data.contains(inp.as_str()) {
                    is_data = true;
                    let u = users.entry(inp.as_str()).or_default();
                    if !u.contains(&i) {
                        u.push(i);
                    }
                }
            }
            if is_data {
                data.extend(n.output.iter().map(String::as_str));
            }
        }
        let mut values = consts;
        values.insert(input.0.to_string(), Value::Data(input.1));
        Walker {
            nodes,
            opset,
            producer,
            users,
            values,
            output: output.to_string(),
            at_input: true,
            standardize: None,
            notes: Vec::new(),
        }
    }

    /// The shape of data value `name`, once walked.
    pub fn data(&self, name: &str) -> Option<Val> {
        match self.values.get(name) {
            Some(Value::Data(v)) => Some(v.clone()),
            _ => None,
        }
    }

    fn op(&self, n: usize) -> &'a str {
        self.nodes[n].op_type.as_deref().unwrap_or("")
    }

    fn users_of(&self, v: &str) -> Vec<usize> {
        self.users.get(v).cloned().unwrap_or_default()
    }

    /// Whether the value is used by a node or is the output.
    fn used(&self, v: &str) -> bool {
        !v.is_empty() && (v == self.output || !self.users_of(v).is_empty())
    }

    /// The value `name`, folding the constant nodes that make it; `None` for an absent
    /// optional input (`""`).
    fn value(&mut self, name: &str, at: usize) -> R<Option<Value>> {
        if name.is_empty() {
            return Ok(None);
        }
        if let Some(v) = self.values.get(name) {
            return Ok(Some(v.clone()));
        }
        let Some(&p) = self.producer.get(name) else { return fail(at, format!("input '{name}' is not defined in the graph")) };
        let node = &self.nodes[p];
        let v = if self.op(p) == "Shape" {
            let x = self.value(&node.input[0], p)?;
            let Some(Value::Data(x)) = x else {
                return fail(p, "Shape of a value that is not computed from the input is not supported");
            };
            let dims: Vec<Option<i64>> = x.onnx_dims().iter().map(|d| d.map(|v| v as i64)).collect();
            let r = dims.len() as i64;
            let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (clampi(attr_int(node, "start", 0)), clampi(attr_int(node, "end", r)));
            Value::Const(Const::ints(dims[s..e.max(s)].to_vec()))
        } else {
            let mut ins = Vec::new();
            for i in &node.input {
                ins.push(self.value(i, p)?);
            }
            if ins.iter().flatten().any(|v| matches!(v, Value::Data(_))) {
                return fail(p, "computed from the input where strata needs a constant");
            }
            let refs: Vec<Option<&Value>> = ins.iter().map(Option::as_ref).collect();
            fold(node, &refs, self.opset).or_else(|e| fail(p, e))?
        };
        for o in &node.output {
            self.values.insert(o.clone(), v.clone());
        }
        Ok(Some(v))
    }

    /// A constant input `i` of node `n` (`None` when absent).
    fn const_input(&mut self, n: usize, i: usize) -> R<Option<Const>> {
        let name = self.nodes[n].input.get(i).cloned().unwrap_or_default();
        match self.value(&name, n)? {
            None => Ok(None),
            Some(Value::Const(c)) => Ok(Some(c)),
            Some(Value::Fill { .. }) => fail(n, format!("input {i} ('{name}') has a shape that depends on the batch size")),
            Some(Value::Data(_)) => {
                fail(n, format!("input {i} ('{name}') is computed from the input; strata needs a constant here"))
            }
        }
    }

    /// A float32 constant input (weights).
    fn weights(&mut self, n: usize, i: usize) -> R<Const> {
        let c = self.const_input(n, i)?.ok_or_else(|| Fail { node: Some(n), msg: format!("input {i} is missing") })?;
        if !matches!(c.data, Data::F32(_)) {
            let name = &self.nodes[n].input[i];
            return fail(n, format!("weights '{name}' are integers, not float32"));
        }
        Ok(c)
    }

    fn data_val(&self, v: &str, n: usize) -> R<Val> {
        match self.values.get(v) {
            Some(Value::Data(x)) => Ok(x.clone()),
            _ => fail(n, format!("'{v}' is not known yet (the graph's branches are not supported)")),
        }
    }

    fn set(&mut self, name: &str, v: Val) {
        self.values.insert(name.to_string(), Value::Data(v));
    }

    /// Walks from data value `start` to `end`, appending layers to `chain`.
    pub fn walk(&mut self, start: &str, end: &str, chain: &mut Chain) -> R<()> {
        let mut cur = start.to_string();
        while cur != end {
            let users = self.users_of(&cur);
            cur = match users.len() {
                0 => {
                    let at = self.producer.get(cur.as_str()).copied();
                    return Err(Fail { node: at, msg: format!("value '{cur}' leads nowhere (it does not reach the output)") });
                }
                1 => self.apply(users[0], &cur, chain)?,
                _ => self.fork(&cur, &users, chain)?,
            };
        }
        Ok(())
    }

    /// Every data node reachable from node `n` (itself included).
    fn reach(&self, n: usize) -> HashSet<usize> {
        let mut seen = HashSet::from([n]);
        let mut stack = vec![n];
        while let Some(k) = stack.pop() {
            for o in &self.nodes[k].output {
                for &u in self.users.get(o.as_str()).into_iter().flatten() {
                    if seen.insert(u) {
                        stack.push(u);
                    }
                }
            }
        }
        seen
    }

    /// `cur` feeds several nodes: the paths must meet at one `Add` or `Concat`, which becomes
    /// a residual block or a concatenation. Returns the join's output.
    fn fork(&mut self, cur: &str, users: &[usize], chain: &mut Chain) -> R<String> {
        self.at_input = false;
        let first = users[0];
        let reaches: Vec<HashSet<usize>> = users.iter().map(|&u| self.reach(u)).collect();
        let join = (0..self.nodes.len())
            .find(|k| reaches.iter().all(|r| r.contains(k)))
            .ok_or_else(|| Fail { node: Some(first), msg: format!("the paths from '{cur}' never meet again") })?;
        let jop = self.op(join);
        let node = &self.nodes[join];
        if !matches!(jop, "Add" | "Concat" | "Sum") {
            return fail(join, format!("paths from '{cur}' meet here; strata joins branches only at Add (residual) or Concat"));
        }
        let inputs: Vec<String> = node.input.clone();
        // each join input: the user that starts its path (None: the identity)
        let mut starts: Vec<Option<usize>> = Vec::new();
        let mut claimed = vec![false; users.len()];
        for v in &inputs {
            if v == cur {
                starts.push(None);
                continue;
            }
            let Some(&p) = self.producer.get(v.as_str()) else {
                return fail(join, format!("input '{v}' is not computed from '{cur}'"));
            };
            let owners: Vec<usize> = (0..users.len()).filter(|&k| users[k] == p || reaches[k].contains(&p)).collect();
            let [k] = owners[..] else {
                return fail(join, format!("input '{v}' does not come from exactly one path out of '{cur}'"));
            };
            if claimed[k] {
                return fail(join, format!("two inputs come from one path out of '{cur}'"));
            }
            claimed[k] = true;
            starts.push(Some(users[k]));
        }
        if claimed.iter().zip(users).any(|(&c, &u)| !c && u != join) {
            return fail(join, format!("a path out of '{cur}' does not end here"));
        }
        // the branches start from the graph's view of `cur`
        let start = self.data_val(cur, first)?;
        if start.batch_axis == 0 {
            chain.materialize(first, &start.dims)?;
        }
        let mut branches: Vec<(Chain, Val)> = Vec::new();
        for (v, s) in inputs.iter().zip(&starts) {
            let mut b = Chain::new(chain.shape.clone());
            if let Some(u) = *s {
                let out = self.apply(u, cur, &mut b)?;
                self.walk(&out, v, &mut b)?;
            }
            let val = self.data_val(v, join)?;
            if val.batch_axis != 0 {
                return fail(join, "joins values that are not batch-first");
            }
            branches.push((b, val));
        }
        let out_name = node.output[0].clone();
        let kind = |e: &Emitted| e.spec.to_layer().kind().to_ascii_lowercase();
        let named = |prefix: &str, layers: Vec<Emitted>, tensors: &mut HashMap<String, Tensor>| -> Vec<LayerSpec> {
            let mut specs = Vec::new();
            for (i, e) in layers.into_iter().enumerate() {
                let k = kind(&e);
                for (name, t) in e.tensors {
                    tensors.insert(format!("{prefix}.{i}.{k}.{name}"), t);
                }
                specs.push(e.spec);
            }
            specs
        };
        let mut tensors = HashMap::new();
        if jop == "Concat" {
            let axis = attr_int(node, "axis", 0);
            let mut specs = Vec::new();
            let mut dims = branches[0].1.dims.clone();
            for (j, (mut b, val)) in branches.into_iter().enumerate() {
                if val.feature_axis(axis).or_else(|e| fail(join, e))? != 0 {
                    return fail(join, format!("Concat on axis {axis}: strata concatenates along the channels (axis 1)"));
                }
                b.materialize(join, &val.dims)?;
                if j > 0 {
                    dims[0] += val.dims[0];
                }
                specs.push(named(&format!("branch{j}"), b.layers, &mut tensors));
            }
            chain.push(join, LayerSpec::Concat(crate::nn::ConcatConfig { branches: specs }), tensors)?;
            self.set(&out_name, Val::batch_first(dims));
        } else {
            let [(mut a, va), (mut b, vb)]: [(Chain, Val); 2] =
                branches.try_into().map_err(|_| Fail { node: Some(join), msg: "an Add of more than two values".into() })?;
            if va.dims != vb.dims {
                return fail(join, format!("adds {:?} to {:?} (strata's residual sum needs equal shapes)", va.dims, vb.dims));
            }
            a.materialize(join, &va.dims)?;
            b.materialize(join, &vb.dims)?;
            // the body is the longer path; an empty path is the identity shortcut
            if b.layers.len() > a.layers.len() {
                std::mem::swap(&mut a, &mut b);
            }
            if a.layers.is_empty() {
                return fail(join, "adds a value to itself");
            }
            let body = named("body", a.layers, &mut tensors);
            let shortcut = named("shortcut", b.layers, &mut tensors);
            let spec = LayerSpec::Residual(ResidualConfig { body, shortcut, activation: Activation::Linear });
            chain.push(join, spec, tensors)?;
            self.set(&out_name, va);
        }
        Ok(out_name)
    }

    /// Applies node `n`, whose one data input is `cur`; returns the output to go on from.
    fn apply(&mut self, n: usize, cur: &str, chain: &mut Chain) -> R<String> {
        let node = &self.nodes[n];
        let op = self.op(n);
        let x = self.data_val(cur, n)?;
        if node.input.iter().any(|i| i != cur && self.users.get(i.as_str()).is_some_and(|u| u.contains(&n))) {
            return fail(
                n,
                "combines two values computed from the input where strata expects one path (only Add and Concat join branches)",
            );
        }
        if matches!(op, "LSTM" | "GRU" | "RNN") {
            return self.recurrent(n, cur, x, chain);
        }
        let out = node.output.first().cloned().unwrap_or_default();
        if node.output.iter().skip(1).any(|o| self.used(o)) && op != "Dropout" {
            return fail(n, "a second output is used; strata keeps the first only");
        }
        if op == "Dropout" && node.output.get(1).is_some_and(|o| self.used(o)) {
            return fail(n, "the dropout mask is used");
        }
        let in_channels_last = |v: &Val| v.batch_axis != 0;
        match op {
            "Identity" => self.set(&out, x),
            "Cast" => {
                if attr_int(node, "to", 1) != 1 {
                    return fail(n, "casts the data to a type other than float32");
                }
                self.set(&out, x);
            }
            "Dropout" => {
                let ratio = match self.const_input(n, 1)? {
                    Some(r) => r.floats().ok().and_then(|v| v.first().copied()).unwrap_or(0.5),
                    None => attr_float(node, "ratio", 0.5),
                };
                if ratio > 0.0 {
                    self.at_input = false;
                    chain.push(n, LayerSpec::Dropout(DropoutConfig { rate: ratio }), HashMap::new())?;
                }
                self.set(&out, x);
            }
            "Flatten" => {
                let axis = normalize_axis(attr_int(node, "axis", 1), x.rank()).or_else(|e| fail(n, e))?;
                if x.batch_axis != 0 || axis != 1 {
                    return fail(n, format!("Flatten at axis {axis} would merge the batch axis with others"));
                }
                self.set(&out, Val::batch_first(vec![x.dims.iter().product()]));
            }
            "Reshape" => {
                let target = self.const_input(n, 1)?.ok_or_else(|| Fail { node: Some(n), msg: "no shape".into() })?;
                let target = target.int_values().or_else(|e| fail(n, format!("shape {e}")))?;
                let v = reshape(&x, &target, attr_int(node, "allowzero", 0) == 1).or_else(|e| fail(n, e))?;
                self.set(&out, v);
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = if self.opset >= 13 {
                    self.const_input(n, 1)?.map(|c| c.known_ints()).transpose().or_else(|e| fail(n, format!("axes {e}")))?
                } else {
                    attr_ints(node, "axes")
                };
                let mut d = x.onnx_dims();
                if op == "Squeeze" {
                    let axes: Vec<usize> = match axes {
                        Some(a) => {
                            a.iter().map(|&a| normalize_axis(a, d.len())).collect::<Result<_, _>>().or_else(|e| fail(n, e))?
                        }
                        None => (0..d.len()).filter(|&i| d[i] == Some(1)).collect(),
                    };
                    if axes.iter().any(|&a| d[a] != Some(1)) {
                        return fail(n, "squeezes an axis that is not of size 1");
                    }
                    d = d.into_iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, v)| v).collect();
                } else {
                    let axes = axes.ok_or_else(|| Fail { node: Some(n), msg: "no axes".into() })?;
                    let rank = d.len() + axes.len();
                    let mut axes: Vec<usize> =
                        axes.iter().map(|&a| normalize_axis(a, rank)).collect::<Result<_, _>>().or_else(|e| fail(n, e))?;
                    axes.sort_unstable();
                    for a in axes {
                        d.insert(a, Some(1));
                    }
                }
                self.set(&out, Val::from_onnx(&d).or_else(|e| fail(n, e))?);
            }
            "Transpose" => {
                let d = x.onnx_dims();
                let perm: Vec<usize> = match attr_ints(node, "perm") {
                    Some(p) => p.iter().map(|&a| normalize_axis(a, d.len())).collect::<Result<_, _>>().or_else(|e| fail(n, e))?,
                    None => (0..d.len()).rev().collect(),
                };
                let moved: Vec<Option<usize>> = perm.iter().map(|&p| d[p]).collect();
                // only the batch axis and axes of size 1 may move: the samples' values keep their order
                let order = |dims: &[Option<usize>], idx: &[usize]| -> Vec<usize> {
                    idx.iter().copied().filter(|&i| dims[i].is_some_and(|s| s > 1)).collect()
                };
                let before = order(&d, &(0..d.len()).collect::<Vec<_>>());
                let after = order(&d, &perm);
                if before != after {
                    return fail(
                        n,
                        format!(
                            "Transpose {perm:?} reorders the values of a sample (strata supports moving the batch axis only)"
                        ),
                    );
                }
                self.set(&out, Val::from_onnx(&moved).or_else(|e| fail(n, e))?);
            }
            "Gather" | "Slice" => {
                let v = self.select(n, &x, chain)?;
                self.set(&out, v);
            }
            "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Elu" | "Softmax" | "LogSoftmax" => {
                self.at_input = false;
                let a = match op {
                    "Relu" => Activation::Relu,
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    "LeakyRelu" => Activation::LeakyRelu(attr_float(node, "alpha", 0.01)),
                    "Elu" => Activation::Elu(attr_float(node, "alpha", 1.0)),
                    _ => {
                        let default = if self.opset >= 13 { -1 } else { 1 };
                        let axis = x.feature_axis(attr_int(node, "axis", default)).or_else(|e| fail(n, e))?;
                        if in_channels_last(&x) || axis + 1 != x.dims.len() {
                            return fail(n, format!("{op} over an axis other than the last"));
                        }
                        if op == "LogSoftmax" {
                            if out != self.output {
                                return fail(n, "LogSoftmax inside the network (strata has it only as the output's softmax)");
                            }
                            self.notes.push(
                                "the output LogSoftmax is read as a softmax: the same classes and probabilities, logits shifted per sample"
                                    .into(),
                            );
                        }
                        chain.materialize(n, &x.dims)?;
                        Activation::Softmax
                    }
                };
                self.activation(n, a, &x, chain)?;
                self.set(&out, x);
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let v = self.arithmetic(n, cur, &x, chain)?;
                self.set(&out, v);
            }
            "Gemm" | "MatMul" => {
                self.at_input = false;
                let v = self.dense(n, cur, &x, chain)?;
                self.set(&out, v);
            }
            "Conv" => {
                self.at_input = false;
                let v = self.conv(n, &x, chain)?;
                self.set(&out, v);
            }
            "MaxPool" | "AveragePool" => {
                self.at_input = false;
                let v = self.pool(n, &x, chain)?;
                self.set(&out, v);
            }
            "GlobalAveragePool" => {
                self.at_input = false;
                if x.batch_axis != 0 || x.dims.len() != 3 {
                    return fail(n, format!("needs images [N, C, H, W], got {:?}", x.onnx_dims()));
                }
                chain.materialize(n, &x.dims)?;
                chain.push(n, LayerSpec::GlobalAvgPool2d(GlobalAvgPool2dConfig {}), HashMap::new())?;
                // strata's output is [C]; the graph's [C, 1, 1] is the same values
                self.set(&out, Val::batch_first(vec![x.dims[0], 1, 1]));
            }
            "BatchNormalization" => {
                self.at_input = false;
                if attr_int(node, "training_mode", 0) != 0 || node.output.iter().skip(1).any(|o| self.used(o)) {
                    return fail(n, "batch norm in training mode");
                }
                if x.batch_axis != 0 || x.dims.is_empty() || x.dims.len() > 3 {
                    return fail(n, format!("batch norm on {:?}", x.onnx_dims()));
                }
                chain.materialize(n, &x.dims)?;
                let c = x.dims[0];
                let mut tensors = HashMap::new();
                for (i, name) in [(1, "gamma"), (2, "beta"), (3, "running_mean"), (4, "running_var")] {
                    let w = self.weights(n, i)?;
                    if w.len() != c {
                        return fail(n, format!("{name} has {} values for {c} channels", w.len()));
                    }
                    tensors.insert(name.to_string(), tensor(&[c], w.floats().unwrap_or_default(), n)?);
                }
                let eps = attr_float(node, "epsilon", 1e-5);
                // ONNX keeps the old statistics' weight; strata (and PyTorch) the new batch's
                let momentum = (1.0 - attr_float(node, "momentum", 0.9)).clamp(0.0, 1.0);
                chain.push(n, LayerSpec::BatchNorm(crate::nn::BatchNormConfig { momentum, eps }), tensors)?;
                self.set(&out, x);
            }
            "LRN" => {
                self.at_input = false;
                let size = attr_int(node, "size", 0);
                if size <= 0 || size % 2 == 0 {
                    return fail(n, format!("an LRN of size {size} (ONNX centres an even window differently from strata)"));
                }
                if x.batch_axis != 0 {
                    return fail(n, "LRN on a value that is not batch-first");
                }
                chain.materialize(n, &x.dims)?;
                let spec = crate::nn::LocalResponseNormConfig {
                    size: size as usize,
                    alpha: attr_float(node, "alpha", 1e-4),
                    beta: attr_float(node, "beta", 0.75),
                    k: attr_float(node, "bias", 1.0),
                };
                chain.push(n, LayerSpec::LocalResponseNorm(spec), HashMap::new())?;
                self.set(&out, x);
            }
            _ => return fail(n, "is not supported by strata's ONNX import"),
        }
        Ok(out)
    }

    /// An activation: into the layer before it where that layer has none (dense, conv,
    /// residual sum), else as a layer.
    fn activation(&mut self, n: usize, a: Activation, x: &Val, chain: &mut Chain) -> R<()> {
        let fused = match chain.last_at(&x.dims).cloned() {
            Some(LayerSpec::Dense(mut c)) if c.activation == Activation::Linear => {
                c.activation = a;
                Some(LayerSpec::Dense(c))
            }
            Some(LayerSpec::Conv2d(mut c)) if c.activation == Activation::Linear && a != Activation::Softmax => {
                c.activation = a;
                Some(LayerSpec::Conv2d(c))
            }
            Some(LayerSpec::Residual(mut c)) if c.activation == Activation::Linear && a != Activation::Softmax => {
                c.activation = a;
                Some(LayerSpec::Residual(c))
            }
            _ => None,
        };
        match fused {
            Some(spec) => chain.replace_last(n, spec),
            None => chain.push(n, LayerSpec::Activation(ActivationConfig { activation: a }), HashMap::new()),
        }
    }

    /// `Add`/`Sub`/`Mul`/`Div` of data and a constant: the input's standardization (at the
    /// input), or a bias added to the dense/conv/batch-norm layer before it.
    fn arithmetic(&mut self, n: usize, cur: &str, x: &Val, chain: &mut Chain) -> R<Val> {
        let node = &self.nodes[n];
        let op = self.op(n);
        let (ci, data_first) = if node.input[0] == cur { (1, true) } else { (0, false) };
        let c = self.weights(n, ci)?;
        let values = c.floats().or_else(|e| fail(n, e))?;
        let channels = if x.batch_axis == 0 && x.dims.len() == 3 { x.dims[0] } else { 0 };
        // the constant per channel (or one value), if it broadcasts so
        let per_channel = |dims: &[usize]| -> Option<usize> {
            let d: Vec<usize> = dims.iter().copied().skip_while(|&v| v == 1).collect();
            match d.len() {
                0 => Some(1),
                3 if d[0] == channels && d[1] == 1 && d[2] == 1 => Some(channels),
                _ => None,
            }
        };
        if self.at_input {
            if !data_first && op != "Add" && op != "Mul" {
                return fail(n, format!("{op} with the input on the right"));
            }
            let Some(k) = per_channel(&c.dims) else {
                return fail(n, format!("{op} of a constant {:?} on the input (strata standardizes per channel)", c.dims));
            };
            let (mut mean, mut std) = self.standardize.take().unwrap_or((vec![0.0; k.max(1)], vec![1.0; k.max(1)]));
            if mean.len() < k {
                mean = vec![mean[0]; k];
                std = vec![std[0]; k];
            }
            let m = mean.len();
            let at = |i: usize| values[if values.len() == 1 { 0 } else { i }];
            // now x' = (x - mean) / std
            for i in 0..m {
                match op {
                    "Sub" => mean[i] += at(i) * std[i],
                    "Add" => mean[i] -= at(i) * std[i],
                    "Mul" => std[i] /= at(i),
                    _ => std[i] *= at(i),
                }
            }
            self.standardize = Some((mean, std));
            return Ok(x.clone());
        }
        if !data_first && op != "Add" {
            return fail(n, format!("{op} with the data on the right"));
        }
        if op == "Mul" || op == "Div" {
            return fail(n, format!("{op} by a constant inside the network (only at the input, as standardization)"));
        }
        let sign = if op == "Sub" { -1.0 } else { 1.0 };
        let last = chain.last_at(&x.dims).cloned();
        let width = match &last {
            Some(LayerSpec::Dense(d)) if d.activation == Activation::Linear => Some(d.units),
            Some(LayerSpec::Conv2d(d)) if d.activation == Activation::Linear => Some(d.filters),
            Some(LayerSpec::BatchNorm(_)) if x.dims.len() == 1 || x.dims.len() == 3 => Some(x.dims[0]),
            _ => None,
        };
        let fits = match (&last, width) {
            (Some(LayerSpec::Dense(_)), Some(w)) => {
                let d: Vec<usize> = c.dims.iter().copied().skip_while(|&v| v == 1).collect();
                d.is_empty() || d == [w]
            }
            (_, Some(w)) if x.dims.len() == 3 => per_channel(&c.dims).is_some_and(|k| k == 1 || k == w),
            (_, Some(w)) => {
                let d: Vec<usize> = c.dims.iter().copied().skip_while(|&v| v == 1).collect();
                d.is_empty() || d == [w]
            }
            _ => false,
        };
        let (Some(spec), Some(w), true) = (last, width, fits) else {
            return fail(n, format!("{op} of a constant that is not the bias of a dense, conv or batch norm layer before it"));
        };
        let add: Vec<f32> = (0..w).map(|i| sign * values[if values.len() == 1 { 0 } else { i }]).collect();
        let Some(layer) = chain.layers.last_mut() else { return fail(n, "no layer") };
        let key = if matches!(spec, LayerSpec::BatchNorm(_)) { "beta" } else { "bias" };
        let mut bias = layer.tensors.get(key).map(|t| t.data().to_vec()).unwrap_or_else(|| vec![0.0; w]);
        for (b, a) in bias.iter_mut().zip(&add) {
            *b += a;
        }
        layer.tensors.insert(key.into(), tensor(&[w], bias, n)?);
        let spec = match spec {
            LayerSpec::Dense(mut d) if !d.use_bias => {
                d.use_bias = true;
                Some(LayerSpec::Dense(d))
            }
            LayerSpec::Conv2d(mut d) if !d.use_bias => {
                d.use_bias = true;
                Some(LayerSpec::Conv2d(d))
            }
            _ => None,
        };
        if let Some(s) = spec {
            chain.replace_last(n, s)?;
        }
        Ok(x.clone())
    }

    /// `Gemm` or `MatMul` by a constant: a dense layer.
    fn dense(&mut self, n: usize, cur: &str, x: &Val, chain: &mut Chain) -> R<Val> {
        let node = &self.nodes[n];
        let op = self.op(n);
        if x.batch_axis != 0 || node.input[0] != cur {
            return fail(n, "the data must be the first operand, batch first");
        }
        let b = self.weights(n, 1)?;
        let [r, c] = b.dims[..] else { return fail(n, format!("weights of shape {:?} (strata needs a matrix)", b.dims)) };
        let w = b.floats().unwrap_or_default();
        let (trans_b, alpha, beta) = if op == "Gemm" {
            if attr_int(node, "transA", 0) != 0 {
                return fail(n, "Gemm with transA");
            }
            if x.dims.len() != 1 {
                return fail(n, format!("Gemm on {:?}", x.onnx_dims()));
            }
            (attr_int(node, "transB", 0) != 0, attr_float(node, "alpha", 1.0), attr_float(node, "beta", 1.0))
        } else {
            (false, 1.0, 1.0)
        };
        let (k, units) = if trans_b { (c, r) } else { (r, c) };
        let fan_in = *x.dims.last().unwrap_or(&0);
        if fan_in != k {
            return fail(n, format!("weights {:?} for {} input features", b.dims, fan_in));
        }
        // strata's weight is [in, out]
        let weight: Vec<f32> = if trans_b {
            (0..k * units).map(|i| alpha * w[(i % units) * k + i / units]).collect()
        } else {
            w.iter().map(|v| alpha * v).collect()
        };
        let mut tensors = HashMap::from([("weight".to_string(), tensor(&[k, units], weight, n)?)]);
        let bias = self.const_input(n, 2)?;
        if let Some(bias) = &bias {
            let v = bias.floats().or_else(|e| fail(n, e))?;
            let d: Vec<usize> = bias.dims.iter().copied().skip_while(|&v| v == 1).collect();
            if !(d.is_empty() || d == [units]) {
                return fail(n, format!("a bias of shape {:?} for {units} units", bias.dims));
            }
            let v: Vec<f32> = (0..units).map(|i| beta * v[if v.len() == 1 { 0 } else { i }]).collect();
            tensors.insert("bias".into(), tensor(&[units], v, n)?);
        }
        chain.materialize(n, &x.dims)?;
        let mut cfg = DenseConfig::new(units);
        cfg.use_bias = bias.is_some();
        chain.push(n, LayerSpec::Dense(cfg), tensors)?;
        let mut dims = x.dims.clone();
        if let Some(l) = dims.last_mut() {
            *l = units;
        }
        Ok(Val::batch_first(dims))
    }

    /// `Conv`: a 2-D convolution.
    fn conv(&mut self, n: usize, x: &Val, chain: &mut Chain) -> R<Val> {
        let node = &self.nodes[n];
        if x.batch_axis != 0 || x.dims.len() != 3 {
            return fail(n, format!("a convolution of {:?} (strata's are 2-D, on [N, C, H, W])", x.onnx_dims()));
        }
        let w = self.weights(n, 1)?;
        let [o, ig, kh, kw] = w.dims[..] else { return fail(n, format!("weights of shape {:?}", w.dims)) };
        let groups = attr_int(node, "group", 1).max(1) as usize;
        if ig * groups != x.dims[0] {
            return fail(n, format!("weights {:?} in {groups} groups for {} channels", w.dims, x.dims[0]));
        }
        let pair = |name: &str| -> R<(usize, usize)> {
            match attr_ints(node, name).as_deref() {
                None => Ok((1, 1)),
                Some(&[a, b]) if a > 0 && b > 0 => Ok((a as usize, b as usize)),
                Some(v) => fail(n, format!("{name} {v:?}")),
            }
        };
        let (s, d) = (pair("strides")?, pair("dilations")?);
        let padding = self.padding(n, &x.dims, (kh, kw), s, d)?;
        let mut cfg = Conv2dConfig::new(o, (kh, kw));
        cfg.kernel = if kh == kw { Pair::Same(kh) } else { Pair::PerAxis([kh, kw]) };
        cfg.stride = if s.0 == s.1 { Pair::Same(s.0) } else { Pair::PerAxis([s.0, s.1]) };
        cfg.dilation = if d.0 == d.1 { Pair::Same(d.0) } else { Pair::PerAxis([d.0, d.1]) };
        cfg.padding = padding;
        cfg.groups = groups;
        let mut tensors = HashMap::from([("weight".to_string(), tensor(&w.dims, w.floats().unwrap_or_default(), n)?)]);
        let bias = self.const_input(n, 2)?;
        if let Some(b) = &bias {
            if b.len() != o {
                return fail(n, format!("a bias of {} values for {o} filters", b.len()));
            }
            tensors.insert("bias".into(), tensor(&[o], b.floats().or_else(|e| fail(n, e))?, n)?);
        }
        cfg.use_bias = bias.is_some();
        chain.materialize(n, &x.dims)?;
        chain.push(n, LayerSpec::Conv2d(cfg), tensors)?;
        Ok(Val::batch_first(chain.shape.clone()))
    }

    /// A convolution's or pool's padding as strata's (symmetric per axis, or "same").
    fn padding(&self, n: usize, dims: &[usize], k: (usize, usize), s: (usize, usize), d: (usize, usize)) -> R<Padding> {
        let node = &self.nodes[n];
        let auto = attr_str(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        let same = Padding::Named(PaddingMode::Same);
        let (t, b, l, r) = match auto.as_str() {
            "NOTSET" => match attr_ints(node, "pads").as_deref() {
                None => (0, 0, 0, 0),
                Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&v| v >= 0) => (t as usize, b as usize, l as usize, r as usize),
                Some(p) => return fail(n, format!("pads {p:?}")),
            },
            "VALID" => (0, 0, 0, 0),
            "SAME_UPPER" => return Ok(same),
            "SAME_LOWER" => {
                let (t, b, l, r) = same.resolve(dims[1], dims[2], k, s, d);
                if t != b || l != r {
                    return fail(n, "auto_pad SAME_LOWER with uneven padding (strata puts the extra row at the end)");
                }
                (t, b, l, r)
            }
            other => return fail(n, format!("auto_pad {other}")),
        };
        if t == b && l == r {
            return Ok(if t == 0 && l == 0 {
                Padding::Named(PaddingMode::Valid)
            } else if t == l {
                Padding::Explicit(Pair::Same(t))
            } else {
                Padding::Explicit(Pair::PerAxis([t, l]))
            });
        }
        if same.resolve(dims[1], dims[2], k, s, d) == (t, b, l, r) {
            return Ok(same);
        }
        fail(n, format!("uneven padding (top {t}, bottom {b}, left {l}, right {r}) that strata's convolution does not have"))
    }

    /// `MaxPool` / `AveragePool`.
    fn pool(&mut self, n: usize, x: &Val, chain: &mut Chain) -> R<Val> {
        let node = &self.nodes[n];
        let op = self.op(n);
        if x.batch_axis != 0 || x.dims.len() != 3 {
            return fail(n, format!("pooling of {:?} (strata pools images [N, C, H, W])", x.onnx_dims()));
        }
        let k = match attr_ints(node, "kernel_shape").as_deref() {
            Some(&[a, b]) if a > 0 && b > 0 => (a as usize, b as usize),
            other => return fail(n, format!("kernel_shape {other:?}")),
        };
        let s = match attr_ints(node, "strides").as_deref() {
            None => (1, 1),
            Some(&[a, b]) if a > 0 && b > 0 => (a as usize, b as usize),
            Some(v) => return fail(n, format!("strides {v:?}")),
        };
        if attr_ints(node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return fail(n, "dilated pooling");
        }
        if node.output.get(1).is_some_and(|o| self.used(o)) {
            return fail(n, "the pooling indices are used");
        }
        let pad = match self.padding(n, &x.dims, k, s, (1, 1))? {
            Padding::Named(PaddingMode::Valid) => (0, 0),
            Padding::Explicit(p) => p.get(),
            Padding::Named(PaddingMode::Same) => {
                let (t, b, l, r) = Padding::Named(PaddingMode::Same).resolve(x.dims[1], x.dims[2], k, s, (1, 1));
                if t != b || l != r {
                    return fail(n, "uneven \"same\" padding in pooling");
                }
                (t, l)
            }
        };
        let kind = if op == "MaxPool" { PoolKind::Max } else { PoolKind::Avg };
        if kind == PoolKind::Avg && pad != (0, 0) && attr_int(node, "count_include_pad", 0) == 0 {
            return fail(n, "average pooling that leaves the padding out of the count (strata counts it)");
        }
        let cfg = Pool2dConfig {
            pool: kind,
            window: if k.0 == k.1 { Pair::Same(k.0) } else { Pair::PerAxis([k.0, k.1]) },
            stride: Some(if s.0 == s.1 { Pair::Same(s.0) } else { Pair::PerAxis([s.0, s.1]) }),
            padding: if pad.0 == pad.1 { Pair::Same(pad.0) } else { Pair::PerAxis([pad.0, pad.1]) },
        };
        if attr_int(node, "ceil_mode", 0) != 0 {
            // the same as floor where the windows fit exactly
            let fits = |size: usize, k: usize, s: usize, p: usize| (size + 2 * p).saturating_sub(k).is_multiple_of(s);
            if !(fits(x.dims[1], k.0, s.0, pad.0) && fits(x.dims[2], k.1, s.1, pad.1)) {
                return fail(n, "ceil_mode pooling with a partial window at the edge");
            }
        }
        chain.materialize(n, &x.dims)?;
        chain.push(n, LayerSpec::Pool2d(cfg), HashMap::new())?;
        Ok(Val::batch_first(chain.shape.clone()))
    }

    /// `Gather`/`Slice` on data: the last step of a recurrent layer's sequence (the layer
    /// then returns only that), or a pick on an axis of size 1 (nothing).
    fn select(&mut self, n: usize, x: &Val, chain: &mut Chain) -> R<Val> {
        let node = &self.nodes[n];
        let op = self.op(n);
        let (axis, keep, index) = if op == "Gather" {
            let idx = self.const_input(n, 1)?.ok_or_else(|| Fail { node: Some(n), msg: "no indices".into() })?;
            let v = idx.known_ints().or_else(|e| fail(n, format!("indices {e}")))?;
            let [i] = v[..] else { return fail(n, format!("gathers {} indices (strata supports one, the last step)", v.len())) };
            let axis = x.feature_axis(attr_int(node, "axis", 0)).or_else(|e| fail(n, e))?;
            (axis, !idx.dims.is_empty(), i)
        } else {
            let get = |s: &mut Self, i: usize, a: &str| -> R<Option<Vec<i64>>> {
                if s.opset >= 10 {
                    s.const_input(n, i)?.map(|c| c.known_ints()).transpose().or_else(|e| fail(n, e))
                } else {
                    Ok(attr_ints(&s.nodes[n], a))
                }
            };
            let starts = get(self, 1, "starts")?.unwrap_or_default();
            let ends = get(self, 2, "ends")?.unwrap_or_default();
            let axes = get(self, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps =
                if self.opset >= 10 { get(self, 4, "")?.unwrap_or_else(|| vec![1; starts.len()]) } else { vec![1; starts.len()] };
            let d: Vec<usize> = x.onnx_dims().iter().map(|v| v.unwrap_or(usize::MAX >> 1)).collect();
            let ranges = slice_ranges(&d, &starts, &ends, &axes, &steps).or_else(|e| fail(n, e))?;
            // the axes that change
            let changed: Vec<usize> = (0..d.len()).filter(|&a| ranges[a].len() != d[a]).collect();
            match changed[..] {
                [] => return Ok(x.clone()),
                [a] if a != x.batch_axis && ranges[a].len() == 1 => {
                    let axis = if a < x.batch_axis { a } else { a - 1 };
                    (axis, true, ranges[a][0] as i64)
                }
                _ => return fail(n, "a slice that keeps more than one step (strata supports the last step only)"),
            }
        };
        let size = x.dims[axis];
        let i = if index < 0 { index + size as i64 } else { index };
        let mut dims = x.dims.clone();
        let out = |dims: &mut Vec<usize>| {
            if keep {
                dims[axis] = 1;
            } else {
                dims.remove(axis);
            }
        };
        let batch_axis = if !keep && axis < x.batch_axis { x.batch_axis - 1 } else { x.batch_axis };
        if size == 1 && i == 0 {
            out(&mut dims);
            return Ok(Val { batch_axis, dims });
        }
        // the last step of the recurrent layer just before, read along its time axis
        let last_rnn = match chain.layers.last().map(|l| &l.spec) {
            Some(LayerSpec::Lstm(c)) => Some(RecurrentConfig::from(c.clone())),
            Some(LayerSpec::Gru(c)) => Some(RecurrentConfig::from(c.clone())),
            Some(LayerSpec::Rnn(c)) => Some(RecurrentConfig::from(c.clone())),
            _ => None,
        };
        let is_time = axis == 0 && chain.shape.len() == 2 && chain.shape[0] == size;
        match last_rnn {
            Some(mut cfg) if cfg.return_sequences && is_time && i == size as i64 - 1 => {
                if cfg.bidirectional {
                    return fail(
                        n,
                        "the last step of a bidirectional layer's sequence (its backward half is not its final state)",
                    );
                }
                cfg.return_sequences = false;
                chain.replace_last(n, cfg.spec())?;
                out(&mut dims);
                Ok(Val { batch_axis, dims })
            }
            _ => fail(
                n,
                format!(
                    "{op} of index {index} on an axis of {size} (strata supports the last step of a recurrent layer's output)"
                ),
            ),
        }
    }

    /// `RNN` / `LSTM` / `GRU`: a one-layer strata recurrent layer.
    fn recurrent(&mut self, n: usize, cur: &str, x: Val, chain: &mut Chain) -> R<String> {
        self.at_input = false;
        let node = &self.nodes[n];
        let op = self.op(n);
        if node.input.first().map(String::as_str) != Some(cur) {
            return fail(n, "the data must be the sequence input X");
        }
        let layout = attr_int(node, "layout", 0);
        let want_batch_axis = if layout == 0 { 1 } else { 0 };
        if x.dims.len() != 2 || x.batch_axis != want_batch_axis {
            return fail(n, format!("a sequence of shape {:?} with layout {layout}", x.onnx_dims()));
        }
        let (t, f) = (x.dims[0], x.dims[1]);
        let h = attr_int(node, "hidden_size", 0);
        if h <= 0 {
            return fail(n, "no hidden_size");
        }
        let h = h as usize;
        let direction = attr_str(node, "direction").unwrap_or_else(|| "forward".into());
        let dirs = match direction.as_str() {
            "forward" => 1,
            "bidirectional" => 2,
            other => return fail(n, format!("direction '{other}' (strata runs forward or bidirectional)")),
        };
        if attr(node, "clip").is_some() {
            return fail(n, "a clipped cell");
        }
        if attr_int(node, "input_forget", 0) != 0 {
            return fail(n, "input_forget (coupled gates)");
        }
        let acts: Vec<String> =
            attr_strs(node, "activations").unwrap_or_default().iter().map(|a| a.to_ascii_lowercase()).collect();
        let check_acts = |want: &[&str]| acts.is_empty() || acts.chunks(want.len()).all(|c| c == want);
        let cell = match op {
            "LSTM" if check_acts(&["sigmoid", "tanh", "tanh"]) => Cell::Lstm,
            "GRU" if check_acts(&["sigmoid", "tanh"]) => {
                if attr_int(node, "linear_before_reset", 0) != 1 {
                    return fail(
                        n,
                        "a GRU with linear_before_reset = 0 (strata's GRU, like PyTorch's, resets after the recurrent product)",
                    );
                }
                Cell::Gru
            }
            "RNN" if check_acts(&["tanh"]) => Cell::RnnTanh,
            "RNN" if check_acts(&["relu"]) => Cell::RnnRelu,
            _ => return fail(n, format!("activations {acts:?} (strata's cells have the standard ones)")),
        };
        let g = match cell {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            _ => 1,
        };
        let w = self.weights(n, 1)?;
        let r = self.weights(n, 2)?;
        if w.dims != [dirs, g * h, f] || r.dims != [dirs, g * h, h] {
            return fail(n, format!("W {:?} and R {:?} for {dirs} direction(s), {h} units, {f} features", w.dims, r.dims));
        }
        let b = self.const_input(n, 3)?;
        if let Some(b) = &b
            && b.dims != [dirs, 2 * g * h]
        {
            return fail(n, format!("B of shape {:?}", b.dims));
        }
        let lens = self.value(node.input.get(4).map(String::as_str).unwrap_or(""), n)?;
        if let Some(v) = lens {
            let all_full = matches!(&v, Value::Const(c) if c.known_ints().is_ok_and(|l| l.iter().all(|&l| l == t as i64)));
            if !all_full {
                return fail(n, "sequence_lens (strata's import reads full sequences)");
            }
        }
        for i in [5, 6] {
            let name = node.input.get(i).cloned().unwrap_or_default();
            match self.value(&name, n)? {
                None => {}
                Some(Value::Fill { value: 0.0 }) => {}
                Some(Value::Const(c)) if c.floats().is_ok_and(|v| v.iter().all(|&x| x == 0.0)) => {}
                Some(_) => return fail(n, format!("an initial state '{name}' that is not zero")),
            }
        }
        let p = if cell == Cell::Lstm { self.const_input(n, 7)? } else { None };
        if let Some(p) = &p
            && p.dims != [dirs, 3 * h]
        {
            return fail(n, format!("P of shape {:?}", p.dims));
        }
        let (wv, rv) = (w.floats().unwrap_or_default(), r.floats().unwrap_or_default());
        let bv = b.as_ref().map(|b| b.floats().unwrap_or_default());
        let pv = p.as_ref().map(|p| p.floats().unwrap_or_default());
        let weights = OnnxWeights { w: &wv, r: &rv, b: bv.as_deref(), p: pv.as_deref() };
        let tensors = strata_tensors(cell, h, dirs, f, &weights).or_else(|e| fail(n, e.to_string()))?;
        let outs: Vec<String> = node.output.clone();
        let used: Vec<bool> = (0..3).map(|k| outs.get(k).is_some_and(|o| self.used(o))).collect();
        if used[2] {
            return fail(n, "the final cell state Y_c is used (strata's layer gives its hidden states)");
        }
        let (sequences, out) = match (used[0], used[1]) {
            (true, false) => (true, outs[0].clone()),
            (false, true) => (false, outs[1].clone()),
            (true, true) => return fail(n, "both the sequence Y and the final state Y_h are used"),
            (false, false) => return fail(n, "no output is used"),
        };
        let mut cfg = RecurrentConfig::new(cell, h);
        cfg.bidirectional = dirs == 2;
        cfg.return_sequences = sequences;
        cfg.peephole = p.is_some();
        chain.materialize(n, &x.dims)?;
        chain.push(n, cfg.spec(), tensors)?;
        // Y [T, D, N, H] (layout 1: [N, T, D, H]); Y_h [D, N, H] (layout 1: [N, D, H])
        let v = match (sequences, layout) {
            (true, 0) => Val { batch_axis: 2, dims: vec![t, dirs, h] },
            (true, _) => Val { batch_axis: 0, dims: vec![t, dirs, h] },
            (false, 0) => Val { batch_axis: 1, dims: vec![dirs, h] },
            (false, _) => Val { batch_axis: 0, dims: vec![dirs, h] },
        };
        self.set(&out, v);
        Ok(out)
    }
}

/// `Reshape` of data: the batch axis must stay where it is with the same dimensions before
/// it (a reshape within each sample); `target` holds `None` for the batch size, `0` for
/// "as the input" (unless `allowzero`), `-1` for "the rest".
fn reshape(x: &Val, target: &[Option<i64>], allowzero: bool) -> Result<Val, String> {
    let input = x.onnx_dims();
    let per_sample: usize = x.dims.iter().product();
    let mut out: Vec<Option<Option<usize>>> = Vec::new(); // None: -1 (to infer); Some(None): batch
    for (i, &t) in target.iter().enumerate() {
        out.push(match t {
            None => Some(None),
            Some(0) if !allowzero => Some(*input.get(i).ok_or("a 0 beyond the input's rank")?),
            Some(-1) => None,
            Some(v) if v > 0 => Some(Some(v as usize)),
            Some(v) => return Err(format!("a dimension {v} in the shape")),
        });
    }
    let batches = out.iter().filter(|d| matches!(d, Some(None))).count();
    let infer = out.iter().filter(|d| d.is_none()).count();
    let known: usize = out.iter().map(|d| d.flatten().unwrap_or(1)).product();
    let dims: Vec<Option<usize>> = match (batches, infer) {
        (1, 0) => out.iter().map(|d| d.flatten()).collect(),
        (1, 1) => {
            if known == 0 || !per_sample.is_multiple_of(known) {
                return Err(format!("cannot reshape {input:?} to {target:?}"));
            }
            out.iter()
                .map(|d| match d {
                    None => Some(per_sample / known),
                    Some(v) => *v,
                })
                .collect()
        }
        // -1 is the batch: the rest is one sample
        (0, 1) if known == per_sample => out.iter().map(|d| d.and_then(|v| v)).collect(),
        _ => return Err(format!("a reshape to {target:?} that does not keep the batch size apart")),
    };
    let v = Val::from_onnx(&dims)?;
    if v.dims.iter().product::<usize>() != per_sample {
        return Err(format!("cannot reshape {input:?} to {target:?}"));
    }
    if v.batch_axis != x.batch_axis || v.dims[..v.batch_axis] != x.dims[..x.batch_axis] {
        return Err(format!("a reshape of {input:?} to {target:?} that mixes samples"));
    }
    Ok(v)
}

fn tensor(dims: &[usize], v: Vec<f32>, n: usize) -> R<Tensor> {
    Tensor::from_vec(v, dims).or_else(|e| fail(n, e.to_string()))
}
