//! What can go wrong in a diff, each saying what was wrong with the input and what to do.

use std::path::PathBuf;

/// A diff error.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// One side is a file and the other a folder.
    #[error("{old} is a {old_kind} but {new} is a {new_kind}: compare two files or two folders")]
    KindMismatch {
        /// The old path.
        old: PathBuf,
        /// What it is.
        old_kind: &'static str,
        /// The new path.
        new: PathBuf,
        /// What it is.
        new_kind: &'static str,
    },
    /// A table (CSV, JSON Lines) that does not parse.
    #[error("{path} line {line}: {message}")]
    Table {
        /// The file.
        path: PathBuf,
        /// The 1-based line (or row) number.
        line: u64,
        /// What is wrong there.
        message: String,
    },
    /// The key column is missing from one side.
    #[error(
        "key column {key:?} is not in {path}: its columns are {columns}; pick one both versions have, or leave out \
         --key to compare rows by content"
    )]
    KeyMissing {
        /// The file.
        path: PathBuf,
        /// The key asked for.
        key: String,
        /// The columns the file has, comma-separated.
        columns: String,
    },
    /// The key column has the same value twice in one file.
    #[error(
        "key column {key:?} is not unique in {path}: {value} appears again in row {row}; pick a column whose \
         values are unique, or leave out --key to compare rows by content"
    )]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// The key column.
        key: String,
        /// The repeated value, as JSON.
        value: String,
        /// The 1-based data row where it repeats.
        row: u64,
    },
    /// An NPY array this reader does not support, or a malformed one.
    #[error("{path}: {message}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model file (ONNX, safetensors) that does not parse.
    #[error("{path} is not a valid {format} file: {message}")]
    Model {
        /// The file.
        path: PathBuf,
        /// `ONNX` or `safetensors`.
        format: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Results of this crate.
pub type DiffResult<T> = Result<T, DiffError>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DiffError + '_ {
    move |source| DiffError::Io {
        path: path.to_owned(),
        source,
    }
}
