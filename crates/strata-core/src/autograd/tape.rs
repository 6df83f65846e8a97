//! The tape (the record of one forward pass) and `Var`, a tensor on it.

use super::backward::run_backward;
use super::param::{Gradients, Param, ParamId};
use super::recorded_op::Op;
use crate::{Error, Result, Tensor};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

pub(crate) type NodeId = usize;

#[derive(Default)]
pub(crate) struct TapeData {
    /// Recorded ops in execution order (a topological order by construction).
    pub ops: Vec<Op>,
    /// Which node stands for which parameter.
    pub params: Vec<(ParamId, NodeId)>,
}

/// The record of one forward pass. Cheap to clone (a shared handle).
///
/// A tape made with [`Tape::no_grad`] records nothing: inference pays no bookkeeping.
#[derive(Clone)]
pub struct Tape {
    data: Rc<RefCell<TapeData>>,
    grad_enabled: bool,
}

impl Default for Tape {
    fn default() -> Self {
        Tape::new()
    }
}

impl Tape {
    /// A tape that records ops for backward.
    pub fn new() -> Tape {
        Tape { data: Rc::new(RefCell::new(TapeData::default())), grad_enabled: true }
    }
    /// A tape that records nothing (evaluation, prediction).
    pub fn no_grad() -> Tape {
        Tape { data: Rc::new(RefCell::new(TapeData::default())), grad_enabled: false }
    }
    /// False for a [`Tape::no_grad`] tape, whose ops record nothing and whose values
    /// therefore have no gradient.
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }
    /// Number of recorded ops (leaves included; 0 on a [`Tape::no_grad`] tape).
    pub fn len(&self) -> usize {
        self.data.borrow().ops.len()
    }
    /// True when no op has been recorded (always, on a [`Tape::no_grad`] tape).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A constant input: no gradient flows into it.
    pub fn input(&self, value: Tensor) -> Var {
        Var { value, node: None, tape: self.clone() }
    }
    /// An input whose gradient is wanted (see [`Var::backward_inputs`]).
    pub fn input_with_grad(&self, value: Tensor) -> Var {
        let node = self.push(Op::Leaf);
        Var { value, node, tape: self.clone() }
    }
    /// A trainable parameter: backward reports its gradient under its id.
    pub fn param(&self, p: &Param) -> Var {
        let node = self.push(Op::Leaf);
        if let Some(id) = node {
            self.data.borrow_mut().params.push((p.id(), id));
        }
        Var { value: p.value.clone(), node, tape: self.clone() }
    }

    fn push(&self, op: Op) -> Option<NodeId> {
        if !self.grad_enabled {
            return None;
        }
        let mut d = self.data.borrow_mut();
        d.ops.push(op);
        Some(d.ops.len() - 1)
    }

    /// Records `op` producing `value` if any input needs a gradient; otherwise returns a
    /// constant (nothing recorded).
    pub(crate) fn record(&self, value: Tensor, needs_grad: bool, op: impl FnOnce() -> Op) -> Var {
        let node = if needs_grad { self.push(op()) } else { None };
        Var { value, node, tape: self.clone() }
    }

    fn same(&self, other: &Tape) -> bool {
        Rc::ptr_eq(&self.data, &other.data)
    }
}

/// A tensor produced during a forward pass, with its place on the tape.
#[derive(Clone)]
pub struct Var {
    pub(crate) value: Tensor,
    pub(crate) node: Option<NodeId>,
    pub(crate) tape: Tape,
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var(node {:?}, {:?})", self.node, self.value)
    }
}

impl Var {
    /// The tensor this variable holds (computed eagerly, when the op ran).
    pub fn value(&self) -> &Tensor {
        &self.value
    }
    /// The tensor, without a copy; the tape keeps whatever it recorded.
    pub fn into_value(self) -> Tensor {
        self.value
    }
    /// Shape of [`Var::value`].
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
    /// Whether gradients flow through this value.
    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }
    /// The tape this variable belongs to (to add constants or inputs to the same pass).
    pub fn tape(&self) -> &Tape {
        &self.tape
    }
    /// A constant on the same tape (for targets, masks, ...).
    pub fn constant(&self, value: Tensor) -> Var {
        self.tape.input(value)
    }
    /// The same value with the gradient path cut.
    pub fn detach(&self) -> Var {
        self.tape.input(self.value.clone())
    }

    pub(crate) fn check_tape(&self, other: &Var, op: &'static str) -> Result<()> {
        if self.tape.same(&other.tape) || (self.node.is_none() && other.node.is_none()) {
            Ok(())
        } else {
            Err(Error::invalid(op, "operands come from different tapes"))
        }
    }

    /// Reverse pass from this scalar: gradients of every parameter it depends on.
    ///
    /// Errors if the value has more than one element, or if nothing it depends on is
    /// tracked (only constants, or a [`Tape::no_grad`] tape). May be called more than once.
    pub fn backward(&self) -> Result<Gradients> {
        let (grads, _) = self.backward_all(&[], &mut |_, _| Ok(()))?;
        Ok(grads)
    }

    /// [`Var::backward`], handing each parameter's gradient to `on_final` as soon as it is
    /// final, during the reverse pass: the last layer's first. A parameter recorded on more
    /// than one leaf of the tape is handed over once, after the pass. Returns all gradients,
    /// as [`Var::backward`] does.
    pub fn backward_streaming(&self, on_final: &mut dyn FnMut(ParamId, &Tensor) -> Result<()>) -> Result<Gradients> {
        let by_node: HashMap<NodeId, ParamId> = {
            let data = self.tape.data.borrow();
            let mut uses: HashMap<ParamId, usize> = HashMap::new();
            for &(pid, _) in &data.params {
                *uses.entry(pid).or_default() += 1;
            }
            data.params.iter().filter(|(pid, _)| uses[pid] == 1).map(|&(pid, node)| (node, pid)).collect()
        };
        let mut streamed = HashSet::new();
        let (grads, _) = self.backward_all(&[], &mut |node, node_grads| {
            if let (Some(&pid), Some(g)) = (by_node.get(&node), node_grads[node].as_ref()) {
                streamed.insert(pid);
                on_final(pid, g)?;
            }
            Ok(())
        })?;
        let params: Vec<ParamId> = self.tape.data.borrow().params.iter().map(|&(pid, _)| pid).collect();
        for pid in params {
            if let Some(g) = grads.get_by_id(pid)
                && streamed.insert(pid)
            {
                on_final(pid, g)?;
            }
        }
        Ok(grads)
    }

    /// Reverse pass returning the gradients of the given variables too (e.g. of inputs made
    /// with [`Tape::input_with_grad`], or of intermediate values); `None` for a variable the
    /// output does not depend on.
    pub fn backward_inputs(&self, wrt: &[&Var]) -> Result<(Gradients, Vec<Option<Tensor>>)> {
        // Only nodes of this tape: a node id from another tape names an unrelated op here.
        let wanted: Vec<Option<NodeId>> = wrt.iter().map(|v| v.node.filter(|_| v.tape.same(&self.tape))).collect();
        let keep: Vec<NodeId> = wanted.iter().flatten().copied().collect();
        let (grads, node_grads) = self.backward_all(&keep, &mut |_, _| Ok(()))?;
        let picked = wanted.iter().map(|n| n.and_then(|n| node_grads.get(n).cloned().flatten())).collect();
        Ok((grads, picked))
    }

    /// Runs the reverse pass; the gradients of the nodes in `keep` are kept in the returned
    /// slots even where they are not leaves (intermediate gradients are otherwise consumed).
    fn backward_all(
        &self,
        keep: &[NodeId],
        on_leaf: &mut dyn FnMut(NodeId, &[Option<Tensor>]) -> Result<()>,
    ) -> Result<(Gradients, Vec<Option<Tensor>>)> {
        if self.value.numel() != 1 {
            return Err(Error::bad_shape("backward", self.shape(), "needs a scalar (one-element) output"));
        }
        let Some(root) = self.node else {
            return Err(Error::invalid("backward", "the output does not depend on any parameter"));
        };
        let data = self.tape.data.borrow();
        let mut node_grads: Vec<Option<Tensor>> = vec![None; root + 1];
        node_grads[root] = Some(Tensor::full(self.shape(), 1.0));
        run_backward(&data.ops[..=root], &mut node_grads, keep, on_leaf)?;
        let mut grads = Gradients::default();
        for &(pid, node) in &data.params {
            if node <= root
                && let Some(g) = node_grads[node].take()
            {
                grads.insert(pid, g);
            }
        }
        Ok((grads, node_grads))
    }
}
