//! Our operators for tract: the ONNX-ML ones scikit-learn pipelines need, and fixed-order loops swapped in for
//! tract's kernels where those were slow or CPU-dependent.
//!
//! ONNX-ML operators that skl2onnx emits and tract 0.23 does not run: `Scaler`, `SVMClassifier`, `SVMRegressor`,
//! `TreeEnsembleRegressor` and `ZipMap`, registered beside tract's own, and `TreeEnsembleClassifier`, which
//! replaces tract's (whose binary labels are wrong, see `tree`). Each is a plain row-by-row loop on `f32` (with
//! the `f64` sums onnxruntime uses where it uses them), in the order onnxruntime's CPU kernels compute, so our
//! outputs match onnxruntime's to float rounding; none uses threads or SIMD, so each gives the same bits on any
//! IEEE-754 machine with the same `exp`/`tanh`/`powf`.
//!
//! Swapped in after tract has typed the model ([`swap_in_decluttered`], [`swap_in_optimized`]): `cnn` (Conv,
//! Relu, MaxPool), `matmul` (dense products with their bias and Relu) and `rows` (Softmax, ArgMax), over the
//! vectors of `simd`; each gives the same bits on any IEEE-754 machine and batch size.

pub mod cnn;
mod fuse;
pub mod labels;
pub mod matmul;
mod row_op;
pub mod rows;
mod scaler;
mod simd;
mod svm;
mod tree;
mod zipmap;

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::prelude::{TractResult, TypedModel};

/// The operators this crate adds, by ONNX `op_type`.
pub const EXTENSIONS: &[&str] = &[
    "Scaler",
    "SVMClassifier",
    "SVMRegressor",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "ZipMap",
];

/// Swaps our loops for tract's in a decluttered model, before tract optimises it: a small image's `Conv`, `Relu`
/// and `MaxPool` ([`cnn`]) and dense matrix products ([`matmul`]). Returns how many nodes it replaced.
pub fn swap_in_decluttered(model: &mut TypedModel) -> TractResult<usize> {
    Ok(cnn::swap_in(model)? + matmul::swap_in(model)?)
}

/// Swaps our loops for tract's in an optimised model: `Softmax` and `ArgMax` on short rows ([`rows`]), and
/// integer labels cast as `i64` rather than `TDim` ([`labels`]). Returns how many nodes it changed.
pub fn swap_in_optimized(model: &mut TypedModel) -> TractResult<usize> {
    Ok(rows::swap_in(model)? + labels::swap_in(model)?)
}

/// tract's ONNX front end with our ONNX-ML operators registered.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    register(&mut onnx.op_register);
    onnx
}

/// Registers the operators of [`EXTENSIONS`] in `reg` (replacing any of the same name).
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Scaler", scaler::build);
    reg.insert("SVMClassifier", svm::build_classifier);
    reg.insert("SVMRegressor", svm::build_regressor);
    reg.insert("TreeEnsembleClassifier", tree::build_classifier);
    reg.insert("TreeEnsembleRegressor", tree::build);
    reg.insert("ZipMap", zipmap::build);
}
