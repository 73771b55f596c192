//! Plain row loops for two standard operators whose tract kernels are slow on the short rows of a classifier's
//! output (`[N, classes]`, classes = 2..~100): `Softmax` and `ArgMax` over the last axis. [`swap_in`] replaces
//! them in an optimised plan, where the shapes are concrete; everything else stays tract's.
//!
//! Measured on digits_mlp (`[256, 10]` batches, crates/eval/examples/eval_phases.rs): tract's `f32` softmax calls
//! three SIMD kernels per row (max, exp-sum, scale), each with its own setup, about 0.6 µs per 10-value row,
//! 60% of the model's time, more than both matrix products; its `ArgMax` folds through an ndarray view per row.
//!
//! Both are scalar and sequential in a fixed order, so they give the same bits on every run, batch size and
//! IEEE-754 machine (with the same libm `expf` for the softmax):
//!
//! - softmax of a row `x`: `m = max x`; `e_j = exp(x_j - m)` in `f32`; `s = sum_j e_j` in `f32`, in column order;
//!   `y_j = e_j * (1 / s)`. This is onnxruntime's CPU order (MLAS: exp of `x - max`, sum, multiply by the
//!   reciprocal), which tract's kernel follows too; only `exp`'s last bit can differ (libm's against MLAS's and
//!   tract's polynomial approximations).
//! - argmax of a row: the first index of its maximum (ONNX `select_last_index = 0`), or the last one with
//!   `select_last_index = 1`; tract's own rule, starting from `f32::MIN` and keeping an index only when its
//!   value is strictly greater (or equal, for the last one), so a row of NaNs gives 0 as tract's does.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};

/// Rows longer than this keep tract's softmax kernel, which is fast on long rows.
const SHORT_ROW: usize = 256;

/// Replaces, in an optimised model, each `f32` `Softmax` over the last axis of rows of at most [`SHORT_ROW`]
/// values, and each `f32` `ArgMax` over the last axis, by the loops of this module. Returns how many.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let [input] = node.inputs.as_slice() else {
            continue;
        };
        let fact = model.outlet_fact(*input)?;
        if fact.datum_type != f32::datum_type() || fact.rank() == 0 {
            continue;
        }
        let last = fact.rank() - 1;
        let row = fact.shape[last].to_usize().ok();
        let op: Option<Box<dyn TypedOp>> = if let Some(s) = node.op_as::<Softmax>() {
            (s.kind == SoftmaxKind::Softmax
                && s.quant_output_dt.is_none()
                && *s.axes == [last]
                && row.is_some_and(|r| r <= SHORT_ROW))
            .then(|| Box::new(RowSoftmax) as _)
        } else if let Some(r) = node.op_as::<Reduce>() {
            match r.reducer {
                Reducer::ArgMax(take_last) if *r.axes == [last] => {
                    Some(Box::new(RowArgMax { take_last }) as _)
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(op) = op {
            // Only where the replacement's output is exactly what tract had typed.
            let before = &model.node(id).outputs;
            let after = op.output_facts(&[model.outlet_fact(*input)?])?;
            if before.len() == 1 && after.len() == 1 && after[0] == before[0].fact {
                model.node_mut(id).op = op;
                swapped += 1;
            }
        }
    }
    Ok(swapped)
}

/// Softmax over the last axis of an `f32` tensor, row by row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RowSoftmax;

/// `values` holds whole rows of `len`; each becomes its softmax.
pub(crate) fn softmax_rows(values: &mut [f32], len: usize) {
    for row in values.chunks_exact_mut(len) {
        let max = row
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        let mut sum = 0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let scale = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= scale);
    }
}

impl Op for RowSoftmax {
    fn name(&self) -> StaticName {
        "RowSoftmax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for RowSoftmax {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        // The input is usually ours alone (the matrix product's output): then no copy.
        let mut t = input.into_tensor();
        let len = *t.shape().last().context("softmax of a scalar")?;
        if len > 0 {
            softmax_rows(t.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?, len);
        }
        Ok(tvec!(t.into_tvalue()))
    }
}

impl TypedOp for RowSoftmax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// ArgMax over the last axis of an `f32` tensor, keeping it (length 1), as tract's `Reduce<ArgMax>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RowArgMax {
    take_last: bool,
}

/// The index of the maximum of `row` by tract's rule (see the module documentation).
pub(crate) fn argmax(row: &[f32], take_last: bool) -> usize {
    let mut best = (0, f32::MIN);
    for (j, &v) in row.iter().enumerate() {
        if v > best.1 || (take_last && v == best.1) {
            best = (j, v);
        }
    }
    best.0
}

impl Op for RowArgMax {
    fn name(&self) -> StaticName {
        "RowArgMax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for RowArgMax {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        let len = *shape.last().context("argmax of a scalar")?;
        ensure!(len > 0, "argmax over an empty axis");
        let mut out_shape: TVec<usize> = shape.into();
        *out_shape.last_mut().unwrap() = 1;
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let labels: Vec<i64> = x
            .chunks_exact(len)
            .map(|row| argmax(row, self.take_last) as i64)
            .collect();
        Ok(tvec!(
            Tensor::from_shape(&out_shape, &labels)?.into_tvalue()
        ))
    }
}

impl TypedOp for RowArgMax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        *shape.last_mut().context("argmax of a scalar")? = 1.to_dim();
        Ok(tvec!(i64::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum_unless_told_the_last() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2], false), 1);
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2], true), 2);
        assert_eq!(argmax(&[f32::NAN, f32::NAN], false), 0);
        assert_eq!(argmax(&[f32::NAN, 1.0], false), 1);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut v = [1.0f32, 2.0, 3.0, -1000.0, 0.0, 1000.0];
        softmax_rows(&mut v, 3);
        let s: f32 = v[..3].iter().sum();
        assert!((s - 1.0).abs() < 1e-6, "{v:?}");
        assert!(v[0] < v[1] && v[1] < v[2]);
        assert_eq!(&v[3..], &[0.0, 0.0, 1.0]);
    }
}
