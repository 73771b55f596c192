//! Running a model over a dataset in fixed batches, and turning its outputs into a [`Report`].

use crate::data::{Dataset, Values};
use crate::error::{EvalError, EvalResult};
use crate::metrics;
use crate::model::{DEFAULT_MAX_MODEL_BYTES, Model};
use crate::report::{Metrics, Report, TOOL, Task};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

/// How to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalConfig {
    /// The task; `None` infers it: classification when the model has an integer output, a classifier
    /// operator or a `[N, K]` float output with K >= 2 (a PyTorch classifier's scores), else regression.
    pub task: Option<Task>,
    /// Rows per model run (default 256, at most the row count). Batches are cut in row order; the last one
    /// is padded to the same shape and the padding's outputs dropped.
    pub batch_size: usize,
    /// The model size limit (default [`DEFAULT_MAX_MODEL_BYTES`]).
    pub max_model_bytes: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            task: None,
            batch_size: 256,
            max_model_bytes: DEFAULT_MAX_MODEL_BYTES,
        }
    }
}

impl EvalConfig {
    /// Sets the task.
    pub fn with_task(mut self, task: Task) -> Self {
        self.task = Some(task);
        self
    }

    /// Sets the batch size (at least 1).
    pub fn with_batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// Sets the model size limit.
    pub fn with_max_model_bytes(mut self, bytes: u64) -> Self {
        self.max_model_bytes = bytes;
        self
    }
}

/// What the model predicted, row by row.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Class labels and, when the model gives them, probabilities (row-major, one column per class).
    Classification {
        /// The predicted label of each row.
        labels: Vec<i64>,
        /// Per-class probabilities, `labels.len() * classes` values.
        probabilities: Option<Vec<f32>>,
        /// The classes, in column order.
        classes: Vec<i64>,
    },
    /// One value per row.
    Regression {
        /// The predicted values.
        values: Vec<f32>,
    },
}

impl Predictions {
    /// SHA-256 of the predictions' bytes (labels as i64 LE, then probabilities or values as f32 LE).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        match self {
            Predictions::Classification {
                labels,
                probabilities,
                ..
            } => {
                labels.iter().for_each(|l| h.update(l.to_le_bytes()));
                probabilities
                    .iter()
                    .flatten()
                    .for_each(|p| h.update(p.to_le_bytes()));
            }
            Predictions::Regression { values } => {
                values.iter().for_each(|v| h.update(v.to_le_bytes()))
            }
        }
        const_hex::encode(h.finalize())
    }
}

/// An evaluation: the report, the predictions it was computed from, and how long the model runs took.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The report.
    pub report: Report,
    /// The predictions.
    pub predictions: Predictions,
    /// Seconds spent building the plan and running the model (not loading the files); not in the report,
    /// which must not vary between runs.
    pub seconds: f64,
}

/// Loads nothing: evaluates a loaded `model` on a loaded `data`.
pub fn evaluate(model: &Model, data: &Dataset, config: &EvalConfig) -> EvalResult<Evaluation> {
    evaluate_with_progress(model, data, config, &mut |_| {})
}

/// [`evaluate`], calling `progress` with the number of rows done after each batch (for a progress bar).
pub fn evaluate_with_progress(
    model: &Model,
    data: &Dataset,
    config: &EvalConfig,
    progress: &mut dyn FnMut(usize),
) -> EvalResult<Evaluation> {
    let started = std::time::Instant::now();
    let (columns, widths, types) = bind_inputs(model, data)?;
    let rows = data.rows();
    // Every batch has the same shape: the last one is padded with copies of the last row, whose outputs are
    // dropped. A model with a fixed batch axis gets that size.
    let fixed_batch = model
        .inputs
        .iter()
        .find_map(|i| i.dims.first().copied().flatten());
    let batch = fixed_batch.unwrap_or_else(|| config.batch_size.max(1).min(rows.max(1)));
    let plan = model.plan(batch, &widths, &types)?;
    let run_err = |e: TractError| EvalError::Model {
        path: model.path.clone(),
        message: e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": "),
    };
    // Each batch's inputs are filled in place, row-major in the input's type, straight into the tensor the
    // plan takes (no copy of the whole dataset, no buffer copied per batch); the last batch is padded with
    // copies of the last row.
    let mut state = plan.spawn().map_err(run_err)?;
    let mut outputs: Vec<Vec<Tensor>> = vec![vec![]; model.outputs.len()];
    let mut start = 0;
    while start < rows {
        let end = (start + batch).min(rows);
        let mut inputs: TVec<TValue> = tvec![];
        for ((cols, &w), &dt) in columns.iter().zip(&widths).zip(&types) {
            let mut t = Tensor::zero_dt(dt, &[batch, w]).map_err(run_err)?;
            let mut plain = t.try_as_plain_ram_mut().map_err(run_err)?;
            if dt == f64::datum_type() {
                fill(
                    plain.as_slice_mut::<f64>().map_err(run_err)?,
                    data,
                    cols,
                    start,
                    end,
                    |x| x,
                );
            } else {
                fill(
                    plain.as_slice_mut::<f32>().map_err(run_err)?,
                    data,
                    cols,
                    start,
                    end,
                    |x| x as f32,
                );
            }
            inputs.push(t.into_tvalue());
        }
        let out = state.run(inputs).map_err(run_err)?;
        for (acc, t) in outputs.iter_mut().zip(out) {
            let t = t.into_tensor();
            let t = if end - start < batch && t.rank() > 0 && t.shape()[0] == batch {
                t.slice(0, 0, end - start).map_err(run_err)?
            } else {
                t
            };
            acc.push(t);
        }
        progress(end);
        start = end;
    }
    let task = config.task.unwrap_or_else(|| {
        let int_output = outputs
            .iter()
            .any(|o| o.first().is_some_and(|t| is_integer(t.datum_type())));
        let scores = outputs.iter().any(|o| {
            o.first()
                .is_some_and(|t| t.datum_type().is_float() && t.rank() == 2 && t.shape()[1] >= 2)
        });
        if model.classes.is_some() || int_output || scores {
            Task::Classification
        } else {
            Task::Regression
        }
    });
    let predictions = match task {
        Task::Classification => classification_outputs(model, &outputs, rows)?,
        Task::Regression => regression_outputs(model, &outputs, rows)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let metrics = match &predictions {
        Predictions::Classification {
            labels,
            probabilities,
            classes,
        } => {
            let index = |label: i64| classes.iter().position(|&c| c == label);
            let mut truth = Vec::with_capacity(rows);
            for (r, &y) in data.labels.iter().enumerate() {
                let class = (y.fract() == 0.0).then_some(y as i64).and_then(index).ok_or_else(|| {
                    EvalError::Mismatch(format!(
                        "{} row {}: label {y} is not one of the model's classes {classes:?}; a classification \
                         label must be one of them (or use --task regression)",
                        data.path.display(),
                        r + 1
                    ))
                })?;
                truth.push(class);
            }
            let predicted: Vec<usize> = labels
                .iter()
                .map(|&l| {
                    index(l).ok_or_else(|| {
                        EvalError::Unsupported(format!(
                            "the model predicted label {l}, not one of its classes {classes:?}"
                        ))
                    })
                })
                .collect::<EvalResult<_>>()?;
            let probabilities = probabilities
                .as_deref()
                .filter(|p| are_probabilities(p, classes.len()));
            Metrics::Classification(metrics::classification(
                classes,
                &truth,
                &predicted,
                probabilities,
            ))
        }
        Predictions::Regression { values } => {
            let yhat: Vec<f64> = values.iter().map(|&v| v as f64).collect();
            Metrics::Regression(metrics::regression(&data.labels, &yhat))
        }
    };
    let report = Report {
        tool: TOOL.to_string(),
        model: model.digest.clone(),
        data: data.digest.clone(),
        labels: data.labels_digest.clone(),
        task,
        rows,
        label: data.label.clone(),
        features: columns
            .iter()
            .flatten()
            .map(|&c| data.columns[c].clone())
            .collect(),
        batch_size: batch,
        predictions_sha256: predictions.sha256(),
        metrics,
        subject: None,
    };
    Ok(Evaluation {
        report,
        predictions,
        seconds,
    })
}

/// Log loss needs probabilities: every value in [0, 1] and each row summing to 1 within 1e-3 (f32 outputs
/// of a softmax or a normalisation). SVM decision values without Platt scaling are not.
fn are_probabilities(p: &[f32], k: usize) -> bool {
    p.chunks_exact(k).all(|row| {
        row.iter().all(|v| (0.0..=1.0).contains(v))
            && (row.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-3
    })
}

/// Fills `buffer` (`[batch, cols.len()]` row-major) with rows `start..end` of the dataset's columns `cols`,
/// then the rows after `end - start` with copies of the last one.
fn fill<T: Copy>(
    buffer: &mut [T],
    data: &Dataset,
    cols: &[usize],
    start: usize,
    end: usize,
    convert: impl Fn(f64) -> T,
) {
    let width = data.columns.len();
    match &data.values {
        Values::F32(v) => fill_from(buffer, v, width, cols, start, end, |x| convert(x as f64)),
        Values::F64(v) => fill_from(buffer, v, width, cols, start, end, convert),
    }
    let (w, n) = (cols.len(), end - start);
    for r in n..buffer.len() / w.max(1) {
        buffer.copy_within((n - 1) * w..n * w, r * w);
    }
}

/// [`fill`]'s rows from `values` (`width` columns). When `cols` are all the columns in order (an `[N, F]`
/// input), the rows are one contiguous conversion the compiler vectorises.
fn fill_from<S: Copy, T>(
    buffer: &mut [T],
    values: &[S],
    width: usize,
    cols: &[usize],
    start: usize,
    end: usize,
    convert: impl Fn(S) -> T,
) {
    let w = cols.len();
    let n = end - start;
    let all = w == width && cols.iter().enumerate().all(|(j, &c)| j == c);
    if all {
        for (to, &x) in buffer[..n * w].iter_mut().zip(&values[start * w..end * w]) {
            *to = convert(x);
        }
    } else {
        for (r, to) in buffer[..n * w].chunks_exact_mut(w.max(1)).enumerate() {
            let row = &values[(start + r) * width..][..width];
            for (to, &c) in to.iter_mut().zip(cols) {
                *to = convert(row[c]);
            }
        }
    }
}

type Binding = (Vec<Vec<usize>>, Vec<usize>, Vec<DatumType>);

/// Which dataset columns feed which model input: one `[N, F]` input takes all feature columns; several
/// inputs of `[N, 1]` each take the column of their name.
fn bind_inputs(model: &Model, data: &Dataset) -> EvalResult<Binding> {
    let mut types = vec![];
    for input in &model.inputs {
        types.push(match input.elem_type.as_str() {
            "FLOAT" => f32::datum_type(),
            "DOUBLE" => f64::datum_type(),
            other => {
                return Err(EvalError::Mismatch(format!(
                    "the model's input `{}` is of type {other}; only float and double inputs are fed from a dataset",
                    input.name
                )));
            }
        });
        if input.dims.len() != 2 {
            return Err(EvalError::Mismatch(format!(
                "the model's input `{}` has {} axes ({:?}); a dataset feeds [rows, features] inputs",
                input.name,
                input.dims.len(),
                input.dims
            )));
        }
    }
    let listed = || {
        let mut s = data
            .columns
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if data.columns.len() > 12 {
            s.push_str(", ...");
        }
        s
    };
    if let [input] = model.inputs.as_slice() {
        let f = data.columns.len();
        if let Some(w) = input.dims[1]
            && w != f
        {
            return Err(EvalError::Mismatch(format!(
                "the model's input `{}` takes {w} features per row, but {} has {f} feature columns ({}) besides \
                 the label `{}`: pass --features with the {w} columns the model was trained on, in its order",
                input.name,
                data.path.display(),
                listed(),
                data.label
            )));
        }
        return Ok((vec![(0..f).collect()], vec![f], types));
    }
    let mut columns = vec![];
    for input in &model.inputs {
        let at = data.columns.iter().position(|c| *c == input.name).ok_or_else(|| {
            EvalError::Mismatch(format!(
                "the model has {} inputs ({}) and {} has no column `{}` (its feature columns: {}): a model with \
                 several inputs takes one column per input, by name",
                model.inputs.len(),
                model.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
                data.path.display(),
                input.name,
                listed()
            ))
        })?;
        if input.dims[1].is_some_and(|w| w != 1) {
            return Err(EvalError::Mismatch(format!(
                "the model's input `{}` takes {:?} values per row; fed from the column of its name it must take 1",
                input.name, input.dims[1]
            )));
        }
        columns.push(vec![at]);
    }
    let widths = vec![1; columns.len()];
    Ok((columns, widths, types))
}

/// Integer outputs; tract reads ONNX int64 values as TDim where they may be shapes.
fn is_integer(dt: DatumType) -> bool {
    dt.is_integer() || dt == TDim::datum_type()
}

fn concat_f32(parts: &[Tensor]) -> TractResult<(Vec<f32>, Vec<usize>)> {
    let mut values = Vec::with_capacity(parts.iter().map(Tensor::len).sum());
    let mut shape = parts
        .first()
        .map(|t| t.shape().to_vec())
        .unwrap_or_default();
    for t in parts {
        let t = t.cast_to::<f32>()?;
        values.extend_from_slice(t.try_as_plain_ram()?.as_slice::<f32>()?);
    }
    if let Some(first) = shape.first_mut() {
        *first = parts.iter().map(|t| t.shape()[0]).sum();
    }
    Ok((values, shape))
}

fn concat_i64(parts: &[Tensor]) -> TractResult<Vec<i64>> {
    let mut values = Vec::with_capacity(parts.iter().map(Tensor::len).sum());
    for t in parts {
        let t = t.cast_to::<i64>()?;
        values.extend_from_slice(t.try_as_plain_ram()?.as_slice::<i64>()?);
    }
    Ok(values)
}

fn classification_outputs(
    model: &Model,
    outputs: &[Vec<Tensor>],
    rows: usize,
) -> EvalResult<Predictions> {
    let err = |e: TractError| EvalError::Model {
        path: model.path.clone(),
        message: e.to_string(),
    };
    let first = |o: &Vec<Tensor>| o.first().map(|t| (t.datum_type(), t.rank()));
    let label_at = outputs
        .iter()
        .position(|o| first(o).is_some_and(|(dt, r)| is_integer(dt) && r <= 2));
    let proba_at = outputs
        .iter()
        .position(|o| first(o).is_some_and(|(dt, r)| dt.is_float() && r == 2));
    let probabilities = proba_at
        .map(|i| concat_f32(&outputs[i]))
        .transpose()
        .map_err(err)?;
    let k = probabilities.as_ref().map(|(_, s)| s[1]);
    let classes = match (&model.classes, k) {
        (Some(c), Some(k)) if c.len() != k => {
            return Err(EvalError::Unsupported(format!(
                "the model names {} classes but its probability output has {k} columns",
                c.len()
            )));
        }
        (Some(c), _) => c.clone(),
        (None, Some(k)) => (0..k as i64).collect(),
        (None, None) => {
            return Err(EvalError::Unsupported(
                "a classifier without probabilities must name its classes (classlabels_*) in the graph".into(),
            ));
        }
    };
    let labels = match label_at {
        Some(i) => concat_i64(&outputs[i]).map_err(err)?,
        None => {
            let Some((p, _)) = &probabilities else {
                return Err(EvalError::Unsupported(
                    "the model has neither an integer label output nor a [N, classes] float output"
                        .into(),
                ));
            };
            p.chunks_exact(classes.len())
                .map(|row| {
                    let mut best = 0;
                    for (j, v) in row.iter().enumerate() {
                        if *v > row[best] {
                            best = j;
                        }
                    }
                    classes[best]
                })
                .collect()
        }
    };
    if labels.len() != rows {
        return Err(EvalError::Unsupported(format!(
            "the model gave {} labels for {rows} rows",
            labels.len()
        )));
    }
    Ok(Predictions::Classification {
        labels,
        probabilities: probabilities.map(|(p, _)| p),
        classes,
    })
}

fn regression_outputs(
    model: &Model,
    outputs: &[Vec<Tensor>],
    rows: usize,
) -> EvalResult<Predictions> {
    let err = |e: TractError| EvalError::Model {
        path: model.path.clone(),
        message: e.to_string(),
    };
    let at = outputs
        .iter()
        .position(|o| o.first().is_some_and(|t| t.datum_type().is_float()))
        .ok_or_else(|| EvalError::Unsupported("a regression model needs a float output".into()))?;
    let (values, shape) = concat_f32(&outputs[at]).map_err(err)?;
    if values.len() != rows {
        return Err(EvalError::Unsupported(format!(
            "the regression output `{}` has shape {shape:?}: one value per row is needed (multi-target regression \
             is not supported)",
            model.outputs[at]
        )));
    }
    Ok(Predictions::Regression { values })
}
