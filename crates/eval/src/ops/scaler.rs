//! `Scaler` (ai.onnx.ml): `y = (x - offset) * scale`, per feature, as onnxruntime computes it in `f32`.
//! skl2onnx emits one for every StandardScaler, MinMaxScaler, MaxAbsScaler and RobustScaler.

use super::row_op::{Out, RowInfer, RowOp, floats};
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

pub(crate) fn build(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mut offset = floats(node, "offset")?;
    let mut scale = floats(node, "scale")?;
    if offset.is_empty() {
        offset = vec![0.0];
    }
    if scale.is_empty() {
        scale = vec![1.0];
    }
    ensure!(
        offset.len() == 1 || scale.len() == 1 || offset.len() == scale.len(),
        "Scaler: offset has {} values and scale {}: they must match or one must be a single value",
        offset.len(),
        scale.len()
    );
    Ok((expand(RowInfer(Scaler { offset, scale })), vec![]))
}

impl RowOp for Scaler {
    fn name(&self) -> &'static str {
        "Scaler"
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::LikeInput]
    }

    fn features(&self) -> Option<usize> {
        let n = self.offset.len().max(self.scale.len());
        (n > 1).then_some(n)
    }

    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>> {
        let at = |v: &[f32], j: usize| if v.len() == 1 { v[0] } else { v[j] };
        let mut y = Vec::with_capacity(n * f);
        for row in x.chunks_exact(f.max(1)).take(n) {
            for (j, v) in row.iter().enumerate() {
                y.push((v - at(&self.offset, j)) * at(&self.scale, j));
            }
        }
        Ok(vec![Tensor::from_shape(&[n, f], &y)?])
    }
}
