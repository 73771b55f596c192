//! Datasets: a CSV with a header and a label column, or a pair of NPY files (features, labels). Every value
//! used is checked to be a finite number when loaded, with its row and column named when it is not.

use crate::error::{EvalError, EvalResult};
use crate::npy;
use crate::report::FileDigest;
use std::path::{Path, PathBuf};

/// A loaded dataset: named feature columns and a label per row, as `f64`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The features file.
    pub path: PathBuf,
    /// The features file's digest.
    pub digest: FileDigest,
    /// The labels file's digest, for NPY (a CSV holds its labels).
    pub labels_digest: Option<FileDigest>,
    /// The label column's name (`labels` for NPY).
    pub label: String,
    /// Feature column names (`x0`, `x1`, ... for NPY), in file order.
    pub columns: Vec<String>,
    /// The feature values, row-major: row `r` is `values[r * columns.len()..][..columns.len()]` (the layout
    /// a model's `[N, F]` input takes, so a batch is one contiguous conversion).
    pub values: Values,
    /// The label of each row.
    pub labels: Vec<f64>,
}

impl Dataset {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Loads a CSV with a header row. `label` names the label column; `features`, when given, names the
    /// feature columns (in the model's order), else every other column is a feature.
    pub fn from_csv(path: &Path, label: &str, features: Option<&[String]>) -> EvalResult<Dataset> {
        let bytes = read(path)?;
        let digest = FileDigest::of(path, &bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(&bytes[..]);
        let data_err = |message: String| EvalError::Data {
            path: path.to_owned(),
            message,
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| data_err(format!("cannot read the CSV header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let label_at =
            header
                .iter()
                .position(|c| c == label)
                .ok_or_else(|| EvalError::MissingLabel {
                    path: path.to_owned(),
                    label: label.to_string(),
                    columns: header.join(", "),
                })?;
        let feature_at: Vec<usize> = match features {
            Some(names) => names
                .iter()
                .map(|n| {
                    header.iter().position(|c| c == n).ok_or_else(|| {
                        data_err(format!(
                            "no feature column `{n}` (its columns: {})",
                            header.join(", ")
                        ))
                    })
                })
                .collect::<EvalResult<_>>()?,
            None => (0..header.len()).filter(|&i| i != label_at).collect(),
        };
        if feature_at.is_empty() {
            return Err(data_err("no feature columns besides the label".into()));
        }
        let mut values = vec![];
        let mut labels = vec![];
        for (i, record) in reader.records().enumerate() {
            let row = i + 1;
            let record = record.map_err(|e| data_err(format!("row {row}: {e}")))?;
            if record.len() != header.len() {
                return Err(data_err(format!(
                    "row {row} has {} fields, the header {}: every row needs one value per column",
                    record.len(),
                    header.len()
                )));
            }
            for &at in &feature_at {
                values.push(number(path, row, &header[at], &record[at])?);
            }
            labels.push(number(path, row, label, &record[label_at])?);
        }
        if labels.is_empty() {
            return Err(data_err("no data rows after the header".into()));
        }
        Ok(Dataset {
            path: path.to_owned(),
            digest,
            labels_digest: None,
            label: label.to_string(),
            columns: feature_at.iter().map(|&i| header[i].clone()).collect(),
            values: Values::narrowest(values),
            labels,
        })
    }

    /// Loads features from an NPY of shape `[N, F]` (or `[N]`) and labels from one of shape `[N]` or `[N, 1]`.
    pub fn from_npy(features: &Path, labels: &Path) -> EvalResult<Dataset> {
        let x_bytes = read(features)?;
        let y_bytes = read(labels)?;
        let x = npy::parse(features, &x_bytes)?;
        let y = npy::parse(labels, &y_bytes)?;
        let rows = x.shape[0];
        let width = x.shape.get(1).copied().unwrap_or(1);
        if y.shape[0] != rows || y.shape.get(1).is_some_and(|&w| w != 1) {
            return Err(EvalError::Mismatch(format!(
                "{} has {rows} rows but {} has shape {:?}: the labels must be one per row, shape [{rows}] or [{rows}, 1]",
                features.display(),
                labels.display(),
                y.shape
            )));
        }
        let columns: Vec<String> = (0..width).map(|j| format!("x{j}")).collect();
        if let Some(at) = x.values.iter().position(|v| !v.is_finite()) {
            finite(
                features,
                at / width.max(1) + 1,
                &columns[at % width.max(1)],
                x.values[at],
            )?;
        }
        for (i, &v) in y.values.iter().enumerate() {
            finite(labels, i + 1, "labels", v)?;
        }
        Ok(Dataset {
            path: features.to_owned(),
            digest: FileDigest::of(features, &x_bytes),
            labels_digest: Some(FileDigest::of(labels, &y_bytes)),
            label: "labels".into(),
            columns,
            values: Values::narrowest(x.values),
            labels: y.values,
        })
    }
}

/// A dataset's feature values: `f32` when every one of them is exactly an `f32` (a float32 NPY, integer or
/// pixel data), which halves the memory and the bytes each batch reads, else `f64`.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Every value is exactly an `f32`.
    F32(Vec<f32>),
    /// Some value is not.
    F64(Vec<f64>),
}

impl Values {
    /// `values` as `f32` if that loses nothing.
    pub fn narrowest(values: Vec<f64>) -> Values {
        if values.iter().all(|&v| v as f32 as f64 == v) {
            Values::F32(values.into_iter().map(|v| v as f32).collect())
        } else {
            Values::F64(values)
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn read(path: &Path) -> EvalResult<Vec<u8>> {
    std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_owned(),
        source,
    })
}

fn number(path: &Path, row: usize, column: &str, text: &str) -> EvalResult<f64> {
    let bad = |problem: String| EvalError::BadValue {
        path: path.to_owned(),
        row,
        column: column.to_string(),
        problem,
    };
    if text.is_empty() {
        return Err(bad("the value is empty".into()));
    }
    let v: f64 = text
        .parse()
        .map_err(|_| bad(format!("`{text}` is not a number")))?;
    finite(path, row, column, v)?;
    Ok(v)
}

fn finite(path: &Path, row: usize, column: &str, v: f64) -> EvalResult<()> {
    if v.is_finite() {
        return Ok(());
    }
    let what = if v.is_nan() { "NaN" } else { "infinite" };
    Err(EvalError::BadValue {
        path: path.to_owned(),
        row,
        column: column.to_string(),
        problem: format!("the value is {what} (impute or drop missing values first)"),
    })
}
