//! Plain row loops for two standard operators whose tract kernels are slow on the short rows of a classifier's
//! output (`[N, classes]`, classes = 2..~100): `Softmax` and `ArgMax` over the last axis. [`swap_in`] replaces
//! them in an optimised plan, where the shapes are concrete; everything else stays tract's.
//!
//! Measured on digits_mlp (`[256, 10]` batches, crates/eval/examples/eval_phases.rs): tract's `f32` softmax calls
//! three SIMD kernels per row (max, exp-sum, scale), each with its own setup, about 0.6 µs per 10-value row,
//! 60% of the model's time, more than both matrix products; its `ArgMax` folds through an ndarray view per row.
//!
//! Both compute in a fixed order, so they give the same bits on every run, batch size and IEEE-754 machine:
//!
//! - softmax of a row `x`: `m = max x`; `e_j = exp(x_j - m)` in `f32`; `s = sum_j e_j` in `f32`, in column order;
//!   `y_j = e_j * (1 / s)`. This is onnxruntime's CPU order (MLAS: exp of `x - max`, sum, multiply by the
//!   reciprocal), which tract's kernel follows too. `exp` is our own (`exp`: a polynomial of plain `f32`
//!   operations, within 2 ulp), not the platform's, so the softmax does not depend on the machine's libm.
//! - argmax of a row: the first index of its maximum (ONNX `select_last_index = 0`), or the last one with
//!   `select_last_index = 1`; tract's own rule, starting from `f32::MIN` and keeping an index only when its
//!   value is strictly greater (or equal, for the last one), so a row of NaNs gives 0 as tract's does.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};

/// Rows longer than this keep tract's softmax kernel, which is fast on long rows.
const SHORT_ROW: usize = 256;

/// Replaces, in an optimised model, each `f32` `Softmax` over the last axis of rows of at most `SHORT_ROW`
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

/// `values` holds whole rows of `len`; each becomes its softmax: each row's maximum subtracted, then [`exp`]
/// over the whole buffer at once (a long loop the compiler vectorises; short rows alone would not be), then
/// each row scaled by the reciprocal of its sum.
pub(crate) fn softmax_rows(values: &mut [f32], len: usize) {
    for row in values.chunks_exact_mut(len) {
        let max = row
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        row.iter_mut().for_each(|v| *v -= max);
    }
    exp_all(values);
    for row in values.chunks_exact_mut(len) {
        let mut sum = 0f32;
        for v in row.iter() {
            sum += *v;
        }
        let scale = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= scale);
    }
}

/// [`exp`] of every value, in place: compiled for AVX2 where the CPU has it (the same operations, so the same
/// bits), else for the baseline.
fn exp_all(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2(values: &mut [f32]) {
            values.iter_mut().for_each(|v| *v = exp(*v));
        }
        // SAFETY: the CPU has AVX2 (just checked).
        return unsafe { avx2(values) };
    }
    values.iter_mut().for_each(|v| *v = exp(*v));
}

/// `e^x` for `x <= 0` (a softmax's shifted values), within 2 ulp, from plain IEEE-754 `f32` operations only (no
/// platform `exp`, no FMA), so it gives the same bits on every machine: `x = n ln 2 + r` with `n` rounded to
/// nearest (the 1.5 * 2^23 trick) and `ln 2` split in two (Cody and Waite), Cephes' degree-5 polynomial for
/// `e^r - 1 - r` on `|r| <= ln 2 / 2`, and `2^n` built from its exponent bits. Below -87.3 (where `e^x` is
/// subnormal) it is 0; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * 0.693_359_4) - n * -2.121_944_4e-4;
    let z = r * r;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * z
        + r
        + 1.0;
    let scale = f32::from_bits((((n as i32).max(-126) + 127) as u32) << 23);
    if x < -87.3 { 0.0 } else { p * scale }
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
    if take_last {
        argmax_by::<true>(row)
    } else {
        argmax_by::<false>(row)
    }
}

/// [`argmax`] as selects rather than branches (the branches mispredicted on every row).
#[inline(always)]
fn argmax_by<const LAST: bool>(row: &[f32]) -> usize {
    let (mut best, mut top) = (0, f32::MIN);
    for (j, &v) in row.iter().enumerate() {
        // `>=` is `> || ==` (both false for NaN).
        let better = if LAST { v >= top } else { v > top };
        best = if better { j } else { best };
        top = if better { v } else { top };
    }
    best
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
        let mut out = Tensor::zero::<i64>(&out_shape)?;
        let mut plain = out.try_as_plain_ram_mut()?;
        let labels = plain.as_slice_mut::<i64>()?;
        for (label, row) in labels.iter_mut().zip(x.chunks_exact(len)) {
            *label = argmax(row, self.take_last) as i64;
        }
        Ok(tvec!(out.into_tvalue()))
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
    fn exp_is_within_two_ulp_of_the_exact_value() {
        let mut worst = 0u32;
        for i in 0..=2_000_000u32 {
            let x = -87.0 * i as f32 / 2_000_000.0;
            let exact = (x as f64).exp() as f32;
            worst = worst.max(exp(x).to_bits().abs_diff(exact.to_bits()));
        }
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
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
