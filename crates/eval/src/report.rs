//! The evaluation report: what was run on what (names, sizes and SHA-256 of the files), by which tool, and the
//! figures. Serialised with serde; `f64`s print as the shortest decimal that reads back to the same bits, so two
//! reports' JSON compares equal exactly when their figures are bit-identical.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The tool that made a report, with the inference engine it used.
pub const TOOL: &str = concat!(
    "scal3ml-eval ",
    env!("CARGO_PKG_VERSION"),
    " (tract-onnx 0.23)"
);

/// A file by name, size and content hash (the path is not recorded: it differs between machines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file name, without its folder.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its content, lowercase hex.
    pub sha256: String,
}

impl FileDigest {
    /// The digest of `bytes`, read from `path`.
    pub fn of(path: &Path, bytes: &[u8]) -> FileDigest {
        FileDigest {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// Classification or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Integer class labels; the model outputs labels and/or per-class probabilities.
    Classification,
    /// Real-valued targets; the model outputs one value per row.
    Regression,
}

impl std::str::FromStr for Task {
    type Err = String;

    fn from_str(s: &str) -> Result<Task, String> {
        match s {
            "classification" => Ok(Task::Classification),
            "regression" => Ok(Task::Regression),
            other => Err(format!(
                "unknown task `{other}`: classification or regression"
            )),
        }
    }
}

/// One class's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFigures {
    /// The class label.
    pub class: i64,
    /// tp / (tp + fp), 0 when nothing was predicted as this class.
    pub precision: f64,
    /// tp / (tp + fn), 0 when the class has no rows.
    pub recall: f64,
    /// 2 tp / (2 tp + fp + fn), 0 when that is 0 / 0.
    pub f1: f64,
    /// Rows whose true label is this class.
    pub support: u64,
}

/// Classification figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// The classes, in the order of the probability columns and of the confusion matrix.
    pub classes: Vec<i64>,
    /// Correct rows / rows.
    pub accuracy: f64,
    /// The unweighted mean of the per-class F1 over all classes.
    pub f1_macro: f64,
    /// Mean of -ln p(true class), p clipped to [2^-52, 1 - 2^-52]; absent when the model gives no probabilities.
    pub log_loss: Option<f64>,
    /// `confusion_matrix[true][predicted]` counts, classes in `classes` order.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Precision, recall, F1 and support per class, in `classes` order.
    pub per_class: Vec<ClassFigures>,
}

/// Regression figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// sqrt(mean((y - ŷ)²)).
    pub rmse: f64,
    /// mean(|y - ŷ|).
    pub mae: f64,
    /// 1 - Σ(y - ŷ)² / Σ(y - ȳ)²; 1 for a perfect fit of constant labels, else 0 when the labels are constant.
    pub r2: f64,
}

/// The figures of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metrics {
    /// For [`Task::Classification`].
    Classification(ClassificationMetrics),
    /// For [`Task::Regression`].
    Regression(RegressionMetrics),
}

/// An evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`TOOL`].
    pub tool: String,
    /// The model file.
    pub model: FileDigest,
    /// The data file (the features file for NPY).
    pub data: FileDigest,
    /// The labels file, for NPY datasets.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub labels: Option<FileDigest>,
    /// The task evaluated.
    pub task: Task,
    /// Rows evaluated.
    pub rows: usize,
    /// The label column.
    pub label: String,
    /// The feature columns fed to the model, in order.
    pub features: Vec<String>,
    /// Rows per model run.
    pub batch_size: usize,
    /// SHA-256 of the model's predictions (labels as i64 LE, then probabilities or values as f32 LE, row by
    /// row): two reports with equal digests computed their figures from identical predictions.
    pub predictions_sha256: String,
    /// The figures.
    pub metrics: Metrics,
}
