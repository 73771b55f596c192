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
            sha256: const_hex::encode(Sha256::digest(bytes)),
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
    /// The published assets evaluated, for a report of assets rather than local files.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<Subject>,
}

/// One file of one version of a published asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetFile {
    /// The asset id.
    pub asset: u64,
    /// The version index (0 is the first).
    pub version: u64,
    /// The version's content CID (of the ciphertext, for an encrypted asset).
    pub content_cid: String,
    /// The file's path inside the asset, as its card lists it.
    pub file: String,
}

/// What a report of published assets evaluated, and with what, so that anyone can fetch the same files and
/// run it again: with the report's `label`, `features`, `task` and `batch_size` these are all the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The command that fetched the assets and wrote the report (`scal3ml X.Y.Z`); [`Report::tool`] names the
    /// evaluator and its inference engine.
    pub client: String,
    /// The model file.
    pub model: AssetFile,
    /// The dataset's data file (the features file for NPY).
    pub dataset: AssetFile,
    /// For an NPY dataset, the labels file's path inside the dataset asset.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub labels_file: Option<String>,
}

impl Report {
    /// The report as canonical JSON: the fields in their declared order, no whitespace, every `f64` as the
    /// shortest decimal that reads back to the same bits. Equal reports give equal bytes (and equal CIDs).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a report serializes")
    }

    /// The named figure: `accuracy`, `f1_macro`, `log_loss` for classification, `rmse`, `mae`, `r2` for
    /// regression. `None` when the report has no such figure (e.g. log-loss of a model without probabilities).
    pub fn metric(&self, name: &str) -> Option<f64> {
        match (&self.metrics, name) {
            (Metrics::Classification(m), "accuracy") => Some(m.accuracy),
            (Metrics::Classification(m), "f1_macro") => Some(m.f1_macro),
            (Metrics::Classification(m), "log_loss") => m.log_loss,
            (Metrics::Regression(m), "rmse") => Some(m.rmse),
            (Metrics::Regression(m), "mae") => Some(m.mae),
            (Metrics::Regression(m), "r2") => Some(m.r2),
            _ => None,
        }
    }

    /// The figures [`Report::metric`] knows for this report's task.
    pub fn metric_names(&self) -> &'static [&'static str] {
        match self.metrics {
            Metrics::Classification(_) => &["accuracy", "f1_macro", "log_loss"],
            Metrics::Regression(_) => &["rmse", "mae", "r2"],
        }
    }

    /// The figure attested when none is chosen: accuracy for classification, RMSE for regression.
    pub fn default_metric(&self) -> &'static str {
        match self.metrics {
            Metrics::Classification(_) => "accuracy",
            Metrics::Regression(_) => "rmse",
        }
    }
}

/// `x` as a fixed-point integer with `decimals` decimals (`round(x * 10^decimals)`), rounding half away from
/// zero, computed exactly from the `f64`'s bits (no floating-point multiplication), so every machine gets the
/// same integer. `None` for a non-finite `x`, more than 18 decimals, or a result beyond `i128`.
pub fn to_fixed(x: f64, decimals: u8) -> Option<i128> {
    if !x.is_finite() || decimals > 18 {
        return None;
    }
    if x == 0.0 {
        return Some(0);
    }
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // x = mantissa * 2^exp exactly.
    let (mantissa, exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    // mantissa < 2^53 and 10^18 < 2^60: the product fits in 2^113.
    let scaled = i128::from(mantissa) * 10i128.pow(u32::from(decimals));
    let magnitude = if exp >= 0 {
        if exp >= 127 {
            return None;
        }
        scaled.checked_mul(1i128 << exp)?
    } else {
        let shift = (-exp) as u32;
        if shift >= 127 {
            // scaled < 2^113, so scaled / 2^127 < 1/2: rounds to 0.
            0
        } else {
            (scaled + (1i128 << (shift - 1))) >> shift
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A fixed-point integer with `decimals` decimals as a decimal string: `966667, 6` is `0.966667`.
pub fn fixed_text(value: i128, decimals: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let d = usize::from(decimals);
    let sign = if value < 0 { "-" } else { "" };
    if d == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_rounds_half_away_from_zero_exactly() {
        assert_eq!(to_fixed(0.9666666666666667, 6), Some(966_667));
        assert_eq!(to_fixed(1.0, 6), Some(1_000_000));
        assert_eq!(to_fixed(0.0, 6), Some(0));
        // 2^-7 = 0.0078125 exactly: 7812.5 at 6 decimals, a true tie.
        assert_eq!(to_fixed(0.0078125, 6), Some(7_813));
        assert_eq!(to_fixed(-0.0078125, 6), Some(-7_813));
        // 0.1234565 is just below the tie as an f64 (0.12345649999...): rounds down.
        assert_eq!(to_fixed(0.1234565, 6), Some(123_456));
        assert_eq!(to_fixed(52.75, 2), Some(5_275));
        assert_eq!(to_fixed(123456.5, 0), Some(123_457));
        assert_eq!(to_fixed(1e-300, 6), Some(0));
        assert_eq!(to_fixed(f64::NAN, 6), None);
        assert_eq!(to_fixed(1e300, 6), None);
    }

    #[test]
    fn fixed_text_places_the_point() {
        assert_eq!(fixed_text(966_667, 6), "0.966667");
        assert_eq!(fixed_text(-7_813, 6), "-0.007813");
        assert_eq!(fixed_text(52_340_000, 6), "52.340000");
        assert_eq!(fixed_text(5, 0), "5");
    }
}
