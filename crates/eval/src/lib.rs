//! Evaluation of ONNX models on local datasets (CSV with a label column, or NPY arrays), with deterministic
//! metrics in a serde report, the ONNX-ML operators scikit-learn exports that tract lacks, and the rule a re-run
//! endorses or disputes an attested value by ([`Claim`]). Not for fetching or paying for assets, nor for sending
//! attestations on-chain: callers do that with the files this reads.
//!
//! ```no_run
//! use scal3ml_eval::{Dataset, EvalConfig, Model, evaluate};
//! let config = EvalConfig::default();
//! let model = Model::load("iris.onnx".as_ref(), config.max_model_bytes)?;
//! let data = Dataset::from_csv("iris.csv".as_ref(), "label", None)?;
//! let report = evaluate(&model, &data, &config)?.report;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok::<(), scal3ml_eval::EvalError>(())
//! ```
//!
//! Determinism: rows are cut into batches in file order, the model runs on one thread, and every figure is an
//! `f64` sum accumulated sequentially in row order. Two runs on one machine give bit-identical predictions and
//! reports. Across machines, see docs/eval.md: our operators are plain scalar code, but tract picks its `f32`
//! matrix-multiply kernels per CPU, so graphs with MatMul/Gemm may differ in the last bits between CPUs; the
//! report's `predictions_sha256` says whether two runs saw the same predictions.

mod data;
mod error;
mod evaluate;
mod metrics;
mod model;
pub mod npy;
pub mod ops;
mod report;
mod verify;

pub use data::{Dataset, Values};
pub use error::{EvalError, EvalResult};
pub use evaluate::{EvalConfig, Evaluation, Predictions, evaluate, evaluate_with_progress};
pub use metrics::{classification as classification_metrics, regression as regression_metrics};
pub use model::{DEFAULT_MAX_MODEL_BYTES, Model, ModelInput};
pub use report::{
    AssetFile, ClassFigures, ClassificationMetrics, FileDigest, Metrics, RegressionMetrics, Report,
    Subject, TOOL, Task, fixed_text, to_fixed,
};
pub use verify::{ATTEST_DECIMALS, Claim, Verdict};
