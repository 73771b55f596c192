//! The plumbing shared by our operators: each takes one `[N, F]` float input, computes row by row in `f32`
//! and returns tensors whose first axis is N. [`RowOp`] is what an operator implements; [`RowInfer`] (tract's
//! inference-time view) and [`RowTyped`] (the op in the optimised plan) wrap it.

use tract_onnx::tract_hir::internal::*;

/// What one output of a [`RowOp`] looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Out {
    /// `i64`, shape `[N]`.
    Labels,
    /// `f32`, shape `[N, k]`.
    Floats(usize),
    /// `f32`, the input's shape.
    LikeInput,
}

/// A row-wise operator on a float matrix.
pub(crate) trait RowOp: std::fmt::Debug + Clone + PartialEq + Send + Sync + 'static {
    /// The ONNX op_type.
    fn name(&self) -> &'static str;
    /// The outputs, in ONNX order.
    fn outputs(&self) -> Vec<Out>;
    /// The number of features a row must have, when the operator knows it.
    fn features(&self) -> Option<usize>;
    /// Computes the outputs for `n` rows of `f` features (row-major `x`).
    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>>;
}

/// The operator as tract's inference model sees it: type and shape rules, then wiring into the typed model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowInfer<T: RowOp>(pub(crate) T);

/// The operator in the typed (optimised, runnable) model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowTyped<T: RowOp>(pub(crate) T);

impl<T: RowOp> Expansion for RowInfer<T> {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.0.outputs().len())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        let outs = self.0.outputs();
        check_output_arity(outputs, outs.len())?;
        s.equals(&inputs[0].rank, 2)?;
        if let Some(f) = self.0.features() {
            s.equals(&inputs[0].shape[1], f.to_dim())?;
        }
        for (out, proxy) in outs.iter().zip(outputs) {
            match out {
                Out::Labels => {
                    s.equals(&proxy.datum_type, i64::datum_type())?;
                    s.equals(&proxy.rank, 1)?;
                    s.equals(&proxy.shape[0], &inputs[0].shape[0])?;
                }
                Out::Floats(k) => {
                    s.equals(&proxy.datum_type, f32::datum_type())?;
                    s.equals(&proxy.rank, 2)?;
                    s.equals(&proxy.shape[0], &inputs[0].shape[0])?;
                    s.equals(&proxy.shape[1], k.to_dim())?;
                }
                Out::LikeInput => {
                    s.equals(&proxy.datum_type, f32::datum_type())?;
                    s.equals(&proxy.rank, 2)?;
                    s.equals(&proxy.shape[0], &inputs[0].shape[0])?;
                    s.equals(&proxy.shape[1], &inputs[0].shape[1])?;
                }
            }
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            x = model.wire_node(
                format!("{prefix}.to_f32"),
                tract_onnx::tract_hir::tract_core::ops::cast::cast(f32::datum_type()),
                &[x],
            )?[0];
        }
        model.wire_node(prefix, RowTyped(self.0.clone()), &[x])
    }
}

// tract compares ops for equality (DynEq needs Eq); our ops hold f32 attributes compared bit for bit enough.
impl<T: RowOp> Eq for RowTyped<T> {}

impl<T: RowOp> Op for RowTyped<T> {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    op_as_typed_op!();
}

impl<T: RowOp> EvalOp for RowTyped<T> {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let input = input.cast_to::<f32>()?;
        ensure!(
            input.rank() == 2,
            "{} takes a [N, F] input, got shape {:?}",
            self.0.name(),
            input.shape()
        );
        let (n, f) = (input.shape()[0], input.shape()[1]);
        if let Some(expected) = self.0.features() {
            ensure!(
                f == expected,
                "{} takes {expected} features per row, got {f}",
                self.0.name()
            );
        }
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let outs = self.0.eval_rows(x, n, f)?;
        Ok(outs.into_iter().map(|t| t.into_tvalue()).collect())
    }
}

impl<T: RowOp> TypedOp for RowTyped<T> {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(self
            .0
            .outputs()
            .iter()
            .map(|out| match out {
                Out::Labels => i64::fact([n.clone()]),
                Out::Floats(k) => f32::fact([n.clone(), k.to_dim()]),
                Out::LikeInput => f32::fact(inputs[0].shape.clone()),
            })
            .collect())
    }

    as_op!();
}

/// Reads a float list attribute, empty when absent.
pub(crate) fn floats(node: &tract_onnx::pb::NodeProto, name: &str) -> TractResult<Vec<f32>> {
    Ok(node.get_attr_opt_vec::<f32>(name)?.unwrap_or_default())
}

/// Reads an integer list attribute, empty when absent.
pub(crate) fn ints(node: &tract_onnx::pb::NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

/// Fails unless `post_transform` is absent or `NONE`: the only one skl2onnx emits for these operators.
pub(crate) fn no_post_transform(node: &tract_onnx::pb::NodeProto) -> TractResult<()> {
    let pt: Option<&str> = node.get_attr_opt("post_transform")?;
    match pt {
        None | Some("NONE") => Ok(()),
        Some(other) => bail!(
            "{}: post_transform {other} is not supported (only NONE)",
            node.op_type
        ),
    }
}
