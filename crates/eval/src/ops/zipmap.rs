//! `ZipMap` (ai.onnx.ml) turns a `[N, C]` probability tensor into a sequence of maps {class: probability}, a
//! value tract has no type for. We pass the tensor through unchanged instead: its columns are in the order of
//! the ZipMap's `classlabels_int64s` (the order of the classifier's classes), which the evaluator reads from
//! the model file. Models exported with skl2onnx's `zipmap=False` have no ZipMap and give the same tensor.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ZipMap;

pub(crate) fn build(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    ensure!(
        node.get_attr_opt_vec::<&str>("classlabels_strings")?
            .is_none(),
        "ZipMap with string class labels is not supported: export the model with integer labels"
    );
    Ok((expand(ZipMap), vec![]))
}

impl Expansion for ZipMap {
    fn name(&self) -> StaticName {
        "ZipMap".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        _prefix: &str,
        _model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        Ok(tvec!(inputs[0]))
    }
}
