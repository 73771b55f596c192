//! What can go wrong in an evaluation, each saying what was wrong with the input and what to do.

use std::path::PathBuf;

/// An evaluation error.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The model file is larger than the limit.
    #[error(
        "{path} is {bytes} bytes, over the model size limit of {limit} bytes: raise it with --max-model-bytes if you \
         trust the file"
    )]
    ModelTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The model file is not an ONNX model.
    #[error(
        "{path} is not an ONNX model ({reason}): pass a .onnx file, e.g. one exported by skl2onnx or torch.onnx"
    )]
    NotOnnx {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// tract could not load or run the model.
    #[error("cannot run model {path}: {message}")]
    Model {
        /// The file.
        path: PathBuf,
        /// tract's explanation, with its causes.
        message: String,
    },
    /// The model uses something the evaluator does not handle.
    #[error("{0}")]
    Unsupported(String),
    /// The dataset is not readable as a table.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        message: String,
    },
    /// The label column is not in the CSV header.
    #[error(
        "{path} has no column `{label}` (its columns: {columns}): pass --label with one of them"
    )]
    MissingLabel {
        /// The file.
        path: PathBuf,
        /// The requested label column.
        label: String,
        /// The header, comma-separated.
        columns: String,
    },
    /// A value that must be a number is not.
    #[error(
        "{path}: row {row}, column `{column}`: {problem}; every feature and label value must be a finite number"
    )]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The data row, counted from 1 after the header (line row + 1 of a CSV).
        row: usize,
        /// The column name (or index for NPY).
        column: String,
        /// What the value is.
        problem: String,
    },
    /// The dataset does not fit the model's inputs.
    #[error("the dataset does not fit the model: {0}")]
    Mismatch(String),
    /// An attested value, or a tolerance, that cannot be compared (see [`crate::Claim`]).
    #[error("{0}")]
    Claim(String),
}

/// The result of an evaluation step.
pub type EvalResult<T> = Result<T, EvalError>;
