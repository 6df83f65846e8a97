//! What a value of the graph is known to be before anything runs: a constant (an
//! initializer, a `Constant` node, or shape arithmetic folded from those), a fill of a
//! shape that may hold the batch size (`ConstantOfShape`), or data computed from the
//! input, of which only the shape is known.
//!
//! Integer constants may hold the batch size `N`, which is not known until a batch arrives
//! (PyTorch's `x.view(x.size(0), -1)` is `Shape`, `Gather 0`, `Unsqueeze`, `Concat`): it
//! is `None` in them, and survives only the operations that move it unchanged.

use super::super::proto::{self, AttributeProto, NodeProto, TensorProto};

/// A constant tensor, row-major.
#[derive(Clone, Debug)]
pub(super) struct Const {
    /// Its dimensions.
    pub dims: Vec<usize>,
    /// Its values.
    pub data: Data,
}

/// The values of a constant.
#[derive(Clone, Debug)]
pub(super) enum Data {
    /// float32 (weights).
    F32(Vec<f32>),
    /// Integers (shapes, axes, indices); `None` is the batch size.
    Int(Vec<Option<i64>>),
}

/// A value of the graph.
#[derive(Clone, Debug)]
pub(super) enum Value {
    /// Known now.
    Const(Const),
    /// Every element `value`, of a shape that holds the batch size (a recurrent layer's
    /// zero initial state).
    Fill { value: f32 },
    /// Computed from the input: a strata batch `[N, ...dims]` that the graph sees with the
    /// batch axis at `batch_axis` (a recurrent node's time-major views).
    Data(Val),
}

/// The shape of a data value: the graph's tensor is `dims` with the batch axis `N` inserted
/// at `batch_axis`; strata holds the same values as `[N, ...dims]` row-major (moving the
/// batch axis alone does not reorder a sample's values).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Val {
    /// Where the batch axis is in the graph's tensor.
    pub batch_axis: usize,
    /// The other dimensions, in order.
    pub dims: Vec<usize>,
}

impl Val {
    /// A batch-first value.
    pub fn batch_first(dims: Vec<usize>) -> Val {
        Val { batch_axis: 0, dims }
    }
    /// The graph's dimensions, `None` for the batch.
    pub fn onnx_dims(&self) -> Vec<Option<usize>> {
        let mut d: Vec<Option<usize>> = self.dims.iter().map(|&v| Some(v)).collect();
        d.insert(self.batch_axis.min(d.len()), None);
        d
    }
    /// The value of graph dimensions `d` (exactly one `None`).
    pub fn from_onnx(d: &[Option<usize>]) -> Result<Val, String> {
        let batch: Vec<usize> = d.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| i).collect();
        let [b] = batch[..] else { return Err(format!("a shape with {} batch axes", batch.len())) };
        Ok(Val { batch_axis: b, dims: d.iter().flatten().copied().collect() })
    }
    /// The graph's rank.
    pub fn rank(&self) -> usize {
        self.dims.len() + 1
    }
    /// Graph axis `axis` (negative from the end) as an index into `dims`; an error for the
    /// batch axis.
    pub fn feature_axis(&self, axis: i64) -> Result<usize, String> {
        let a = normalize_axis(axis, self.rank())?;
        match a.cmp(&self.batch_axis) {
            std::cmp::Ordering::Less => Ok(a),
            std::cmp::Ordering::Equal => Err(format!("axis {axis} is the batch axis")),
            std::cmp::Ordering::Greater => Ok(a - 1),
        }
    }
}

/// `axis` (negative from the end) for a tensor of `rank`.
pub(super) fn normalize_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) { Ok(a as usize) } else { Err(format!("axis {axis} is out of range for rank {rank}")) }
}

/// `TensorProto.DataType` names, for messages.
pub(super) fn dtype_name(t: i32) -> &'static str {
    match t {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "an unknown type",
    }
}

/// Decodes a tensor: float32 (weights) or int64/int32 (shapes, indices); other types are
/// refused (naming the type), so weights are never read as something they are not.
pub(super) fn decode_tensor(t: &TensorProto) -> Result<Const, String> {
    let name = t.name.as_deref().unwrap_or("");
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        dims.push(usize::try_from(d).map_err(|_| format!("tensor '{name}' has a negative dimension {d}"))?);
    }
    let n = crate::memory::checked_element_count("ONNX tensor", &dims).map_err(|e| format!("tensor '{name}': {e}"))?;
    let dtype = t.data_type.unwrap_or(0);
    let raw = t.raw_data.as_deref();
    let wrong_len = |got: usize| format!("tensor '{name}' holds {got} values for dimensions {dims:?}");
    let data = match dtype {
        proto::FLOAT => {
            let v: Vec<f32> = match raw {
                Some(b) if !b.is_empty() || t.float_data.is_empty() => {
                    if b.len() != n * 4 {
                        return Err(wrong_len(b.len() / 4));
                    }
                    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
                }
                _ => t.float_data.clone(),
            };
            if v.len() != n {
                return Err(wrong_len(v.len()));
            }
            Data::F32(v)
        }
        proto::INT64 | INT32 => {
            let width = if dtype == proto::INT64 { 8 } else { 4 };
            let v: Vec<i64> = match raw {
                Some(b) if !b.is_empty() || (t.int64_data.is_empty() && t.int32_data.is_empty()) => {
                    if b.len() != n * width {
                        return Err(wrong_len(b.len() / width));
                    }
                    if width == 8 {
                        b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect()
                    } else {
                        b.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect()
                    }
                }
                _ if dtype == proto::INT64 => t.int64_data.clone(),
                _ => t.int32_data.iter().map(|&v| v as i64).collect(),
            };
            if v.len() != n {
                return Err(wrong_len(v.len()));
            }
            Data::Int(v.into_iter().map(Some).collect())
        }
        other => {
            return Err(format!(
                "tensor '{name}' is {} ({other}); strata reads float32 weights and int64 shapes",
                dtype_name(other)
            ));
        }
    };
    Ok(Const { dims, data })
}

/// `TensorProto.DataType.INT32`.
pub(super) const INT32: i32 = 6;

impl Const {
    /// A float32 constant.
    pub fn f32(dims: Vec<usize>, v: Vec<f32>) -> Const {
        Const { dims, data: Data::F32(v) }
    }
    /// An integer vector.
    pub fn ints(v: Vec<Option<i64>>) -> Const {
        Const { dims: vec![v.len()], data: Data::Int(v) }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
    /// The values as float32 (integers converted); an error for the batch size.
    pub fn floats(&self) -> Result<Vec<f32>, String> {
        match &self.data {
            Data::F32(v) => Ok(v.clone()),
            Data::Int(v) => {
                v.iter().map(|x| x.map(|x| x as f32).ok_or_else(|| "depends on the batch size".to_string())).collect()
            }
        }
    }
    /// The values as integers (`None`: the batch size); an error for floats.
    pub fn int_values(&self) -> Result<Vec<Option<i64>>, String> {
        match &self.data {
            Data::Int(v) => Ok(v.clone()),
            Data::F32(_) => Err("is float32 where integers are expected".into()),
        }
    }
    /// The values as known integers.
    pub fn known_ints(&self) -> Result<Vec<i64>, String> {
        self.int_values()?.into_iter().map(|v| v.ok_or_else(|| "depends on the batch size".to_string())).collect()
    }
    /// Elements `idx` of each, as a new constant of `dims`.
    fn pick(&self, dims: Vec<usize>, idx: &[usize]) -> Const {
        let data = match &self.data {
            Data::F32(v) => Data::F32(idx.iter().map(|&i| v[i]).collect()),
            Data::Int(v) => Data::Int(idx.iter().map(|&i| v[i]).collect()),
        };
        Const { dims, data }
    }
}

/// A node's attribute by name.
pub(super) fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

/// An `INT` attribute, or `default`.
pub(super) fn attr_int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attr(node, name).and_then(|a| a.i).unwrap_or(default)
}

/// A `FLOAT` attribute, or `default`.
pub(super) fn attr_float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attr(node, name).and_then(|a| a.f).unwrap_or(default)
}

/// An `INTS` attribute, if present.
pub(super) fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

/// A `STRING` attribute, if present.
pub(super) fn attr_str(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).into_owned())
}

/// A `STRINGS` attribute, if present.
pub(super) fn attr_strs(node: &NodeProto, name: &str) -> Option<Vec<String>> {
    attr(node, name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// Folds a node whose inputs are all known (`ins`: `None` for an absent optional input).
/// `Shape` of data is folded by the caller, which knows the data's shape.
pub(super) fn fold(node: &NodeProto, ins: &[Option<&Value>], opset: i64) -> Result<Value, String> {
    let op = node.op_type.as_deref().unwrap_or("");
    let c = |i: usize| -> Result<&Const, String> {
        match ins.get(i).copied().flatten() {
            Some(Value::Const(c)) => Ok(c),
            Some(Value::Fill { .. }) => Err(format!("input {i} is a fill whose shape depends on the batch size")),
            Some(Value::Data(_)) => Err(format!("input {i} is computed from the network's input")),
            None => Err(format!("input {i} is missing")),
        }
    };
    let opt_ints = |i: usize, attr_name: &str| -> Result<Option<Vec<i64>>, String> {
        if opset >= 13 || matches!(op, "Slice") && opset >= 10 {
            match ins.get(i).copied().flatten() {
                Some(_) => Ok(Some(c(i)?.known_ints()?)),
                None => Ok(None),
            }
        } else {
            Ok(attr_ints(node, attr_name))
        }
    };
    Ok(Value::Const(match op {
        "Constant" => constant_attr(node)?,
        "Identity" => return ins.first().copied().flatten().cloned().ok_or_else(|| "no input".into()),
        "Cast" => {
            let x = c(0)?;
            match attr_int(node, "to", 1) as i32 {
                proto::FLOAT => Const::f32(x.dims.clone(), x.floats()?),
                proto::INT64 | INT32 => Const {
                    dims: x.dims.clone(),
                    data: Data::Int(match &x.data {
                        Data::Int(v) => v.clone(),
                        Data::F32(v) => v.iter().map(|&f| Some(f as i64)).collect(),
                    }),
                },
                t => return Err(format!("a cast to {}", dtype_name(t))),
            }
        }
        "ConstantOfShape" => {
            let dims = c(0)?.int_values()?;
            let value = match attr(node, "value").and_then(|a| a.t.as_ref()) {
                Some(t) => decode_tensor(t)?.floats()?.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            if dims.iter().any(Option::is_none) {
                return Ok(Value::Fill { value });
            }
            let d: Vec<usize> = dims.iter().map(|v| v.unwrap_or(0).max(0) as usize).collect();
            let n = d.iter().product();
            Const::f32(d, vec![value; n])
        }
        "Gather" => {
            let (x, idx) = (c(0)?, c(1)?);
            let axis = normalize_axis(attr_int(node, "axis", 0), x.dims.len())?;
            let n = x.dims[axis];
            let picks: Vec<usize> = idx
                .known_ints()?
                .into_iter()
                .map(|i| {
                    let j = if i < 0 { i + n as i64 } else { i };
                    if (0..n as i64).contains(&j) { Ok(j as usize) } else { Err(format!("index {i} is out of range")) }
                })
                .collect::<Result<_, String>>()?;
            let mut dims = x.dims[..axis].to_vec();
            dims.extend(&idx.dims);
            dims.extend(&x.dims[axis + 1..]);
            let (outer, inner): (usize, usize) = (x.dims[..axis].iter().product(), x.dims[axis + 1..].iter().product());
            let mut flat = Vec::new();
            for o in 0..outer {
                for &p in &picks {
                    flat.extend((0..inner).map(|k| (o * n + p) * inner + k));
                }
            }
            x.pick(dims, &flat)
        }
        "Unsqueeze" => {
            let x = c(0)?;
            let axes = opt_ints(1, "axes")?.ok_or("no axes")?;
            let rank = x.dims.len() + axes.len();
            let mut axes: Vec<usize> = axes.iter().map(|&a| normalize_axis(a, rank)).collect::<Result<_, _>>()?;
            axes.sort_unstable();
            let mut dims = x.dims.clone();
            for a in axes {
                dims.insert(a, 1);
            }
            Const { dims, data: x.data.clone() }
        }
        "Squeeze" => {
            let x = c(0)?;
            let dims = match opt_ints(1, "axes")? {
                Some(axes) => {
                    let axes: Vec<usize> = axes.iter().map(|&a| normalize_axis(a, x.dims.len())).collect::<Result<_, _>>()?;
                    x.dims.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
                }
                None => x.dims.iter().copied().filter(|&d| d != 1).collect(),
            };
            Const { dims, data: x.data.clone() }
        }
        "Reshape" => {
            let x = c(0)?;
            let target = c(1)?.known_ints()?;
            let n = x.len();
            let known: usize = target
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    if d == 0 {
                        x.dims.get(i).copied().unwrap_or(1)
                    } else if d < 0 {
                        1
                    } else {
                        d as usize
                    }
                })
                .product();
            let dims = target
                .iter()
                .enumerate()
                .map(|(i, &d)| match d {
                    0 => x.dims.get(i).copied().unwrap_or(0),
                    -1 => n / known.max(1),
                    d => d as usize,
                })
                .collect::<Vec<_>>();
            if dims.iter().product::<usize>() != n {
                return Err(format!("cannot reshape {:?} to {target:?}", x.dims));
            }
            Const { dims, data: x.data.clone() }
        }
        "Concat" => {
            let parts: Vec<&Const> = (0..ins.len()).map(c).collect::<Result<_, _>>()?;
            let first = parts.first().ok_or("no inputs")?;
            let axis = normalize_axis(attr_int(node, "axis", 0), first.dims.len())?;
            let outer: usize = first.dims[..axis].iter().product();
            let mut dims = first.dims.clone();
            dims[axis] = parts.iter().map(|p| p.dims.get(axis).copied().unwrap_or(0)).sum();
            let float = parts.iter().any(|p| matches!(p.data, Data::F32(_)));
            let (mut f, mut i) = (Vec::new(), Vec::new());
            for o in 0..outer {
                for p in &parts {
                    if p.dims.len() != first.dims.len() {
                        return Err("inputs of different ranks".into());
                    }
                    let block: usize = p.dims[axis..].iter().product();
                    let range = o * block..(o + 1) * block;
                    if float {
                        f.extend_from_slice(&p.floats()?[range]);
                    } else {
                        i.extend_from_slice(&p.int_values()?[range]);
                    }
                }
            }
            Const { dims, data: if float { Data::F32(f) } else { Data::Int(i) } }
        }
        "Slice" => {
            let x = c(0)?;
            let starts = opt_ints(1, "starts")?.ok_or("no starts")?;
            let ends = opt_ints(2, "ends")?.ok_or("no ends")?;
            let axes = opt_ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps =
                if opset >= 10 { opt_ints(4, "")?.unwrap_or_else(|| vec![1; starts.len()]) } else { vec![1; starts.len()] };
            let ranges = slice_ranges(&x.dims, &starts, &ends, &axes, &steps)?;
            let dims: Vec<usize> = ranges.iter().map(Vec::len).collect();
            let st = strides(&x.dims);
            let mut idx = vec![0usize];
            for (a, r) in ranges.iter().enumerate() {
                let step = st[a];
                idx = idx.iter().flat_map(|&base| r.iter().map(move |&k| base + k * step)).collect();
            }
            x.pick(dims, &idx)
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let (a, b) = (c(0)?, c(1)?);
            elementwise(op, a, b)?
        }
        _ => return Err("cannot be folded".into()),
    }))
}

/// The indices each axis keeps for ONNX `Slice` (`starts`/`ends` clamped, negative from the
/// end; `axes` default to the first ones).
pub(super) fn slice_ranges(
    dims: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
) -> Result<Vec<Vec<usize>>, String> {
    let mut ranges: Vec<Vec<usize>> = dims.iter().map(|&d| (0..d).collect()).collect();
    for (k, &a) in axes.iter().enumerate() {
        let a = normalize_axis(a, dims.len())?;
        let n = dims[a] as i64;
        let step = steps.get(k).copied().unwrap_or(1);
        if step == 0 {
            return Err("a slice step of 0".into());
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let fix = |v: i64| if v < 0 { v + n } else { v };
        let (s, e) = (starts.get(k).copied().unwrap_or(0), ends.get(k).copied().unwrap_or(i64::MAX));
        ranges[a] = if step > 0 {
            let (s, e) = (clamp(fix(s), 0, n), clamp(fix(e), 0, n));
            (s..e).step_by(step as usize).map(|v| v as usize).collect()
        } else {
            let (s, e) = (clamp(fix(s), -1, n - 1), clamp(fix(e), -1, n - 1));
            let mut v = Vec::new();
            let mut i = s;
            while i > e {
                v.push(i as usize);
                i += step;
            }
            v
        };
    }
    Ok(ranges)
}

/// Broadcast arithmetic on constants (shape arithmetic; a weight's scaling).
fn elementwise(op: &str, a: &Const, b: &Const) -> Result<Const, String> {
    let rank = a.dims.len().max(b.dims.len());
    let pad = |d: &[usize]| {
        let mut v = vec![1; rank - d.len()];
        v.extend(d);
        v
    };
    let (da, db) = (pad(&a.dims), pad(&b.dims));
    let mut dims = Vec::with_capacity(rank);
    for (&x, &y) in da.iter().zip(&db) {
        dims.push(match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(format!("shapes {:?} and {:?} do not broadcast", a.dims, b.dims)),
        });
    }
    let (sa, sb, so) = (strides(&da), strides(&db), strides(&dims));
    let n: usize = dims.iter().product();
    let index = |i: usize, d: &[usize], s: &[usize]| -> usize {
        (0..rank).map(|k| if d[k] == 1 { 0 } else { (i / so[k]) % dims[k] * s[k] }).sum()
    };
    if let (Data::Int(x), Data::Int(y)) = (&a.data, &b.data) {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (x[index(i, &da, &sa)], y[index(i, &db, &sb)]);
            out.push(match (p, q, op) {
                (Some(p), Some(q), "Add") => Some(p + q),
                (Some(p), Some(q), "Sub") => Some(p - q),
                (Some(p), Some(q), "Mul") => Some(p * q),
                (Some(p), Some(q), "Div") if q != 0 => Some(p.div_euclid(q)),
                // the batch size times or divided by one is the batch size
                (None, Some(1), "Mul" | "Div") | (Some(1), None, "Mul") => None,
                _ => return Err("arithmetic on the batch size".into()),
            });
        }
        return Ok(Const { dims, data: Data::Int(out) });
    }
    let (x, y) = (a.floats()?, b.floats()?);
    let out = (0..n)
        .map(|i| {
            let (p, q) = (x[index(i, &da, &sa)], y[index(i, &db, &sb)]);
            match op {
                "Add" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => p / q,
            }
        })
        .collect();
    Ok(Const::f32(dims, out))
}

/// The tensor of a `Constant` node.
fn constant_attr(node: &NodeProto) -> Result<Const, String> {
    let a = node.attribute.first().ok_or("a constant without a value")?;
    Ok(match a.name.as_deref().unwrap_or("") {
        "value" => decode_tensor(a.t.as_ref().ok_or("no tensor in 'value'")?)?,
        "value_float" => Const::f32(vec![], vec![a.f.unwrap_or(0.0)]),
        "value_floats" => Const::f32(vec![a.floats.len()], a.floats.clone()),
        "value_int" => Const { dims: vec![], data: Data::Int(vec![a.i]) },
        "value_ints" => Const::ints(a.ints.iter().map(|&v| Some(v)).collect()),
        other => return Err(format!("a constant given as '{other}'")),
    })
}
