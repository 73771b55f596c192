//! Finding and fusing the operators that follow a swapped-in loop in a decluttered model (`ops::cnn` and
//! `ops::matmul` take in the `Relu`, the bias `Add` or the `MaxPool` after them).

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_hir::tract_core::ops::math::{Add, Max};

/// The node reading `id`'s only output, if it is the only reader and not a model output.
pub(crate) fn only_successor(model: &TypedModel, id: usize) -> Option<usize> {
    let node = model.node(id);
    match (node.outputs.len(), &node.outputs[0].successors[..]) {
        (1, [succ]) if !model.outputs.contains(&OutletId::new(id, 0)) => Some(succ.node),
        _ => None,
    }
}

/// The constant input of binary node `id` other than `from`'s output (`None` if `id` is not binary or that
/// input is not constant).
fn other_constant(model: &TypedModel, id: usize, from: usize) -> Option<(OutletId, Arc<Tensor>)> {
    let node = model.node(id);
    let [x, y] = node.inputs.as_slice() else {
        return None;
    };
    let other = match (x.node == from, y.node == from) {
        (true, false) => *y,
        (false, true) => *x,
        _ => return None,
    };
    Some((other, model.outlet_fact(other).ok()?.konst.clone()?))
}

/// Whether binary node `id` is a `B` of tract's (no output type override).
fn is_binary<B: BinMiniOp>(model: &TypedModel, id: usize) -> bool {
    model
        .node(id)
        .op_as::<TypedBinOp>()
        .is_some_and(|op| op.0.is::<B>() && op.1.is_none())
}

/// Whether node `id` is ONNX's `Relu` of `from`'s output as tract declutters it: `max(x, 0)` with the zero a
/// one-value `f32` constant.
pub(crate) fn is_relu(model: &TypedModel, id: usize, from: usize) -> bool {
    let zero = other_constant(model, id, from).is_some_and(|(_, k)| {
        k.len() == 1
            && k.try_as_plain_ram()
                .ok()
                .and_then(|v| v.as_slice::<f32>().ok().map(|v| v[0] == 0.0))
                == Some(true)
    });
    is_binary::<Max>(model, id) && zero
}

/// If node `id` adds a constant `f32` of `n` values along the last axis (shape `[n]` or `[1, .., 1, n]`) to
/// `from`'s output without changing its shape, that constant's outlet.
pub(crate) fn bias_of(model: &TypedModel, id: usize, from: usize, n: usize) -> Option<OutletId> {
    let (outlet, k) = other_constant(model, id, from)?;
    let shape = k.shape();
    let along_last = shape.last() == Some(&n) && shape[..shape.len() - 1].iter().all(|&d| d == 1);
    let same = model.outlet_fact(OutletId::new(id, 0)).ok()?.shape
        == model.outlet_fact(OutletId::new(from, 0)).ok()?.shape;
    (is_binary::<Add>(model, id) && k.datum_type() == f32::datum_type() && along_last && same)
        .then_some(outlet)
}

/// Replaces the nodes from `first` to `last` (a chain, each the only reader of the one before) by one node
/// running `op` on `inputs`.
pub(crate) fn replace_chain(
    model: &mut TypedModel,
    first: usize,
    last: usize,
    op: impl Into<Box<dyn TypedOp>>,
    inputs: &[OutletId],
) -> TractResult<()> {
    let mut patch = TypedModelPatch::default();
    let taps = patch.taps(model, inputs)?;
    let name = model.node(first).name.clone();
    let out = patch.wire_node(name, op, &taps)?;
    patch.shunt_outside(model, OutletId::new(last, 0), out[0])?;
    patch.apply(model)
}
