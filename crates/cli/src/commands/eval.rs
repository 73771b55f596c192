//! `scal3ml eval`: evaluate an ONNX model on a local dataset and print the report (metrics, per-class figures,
//! the files' SHA-256). Rows per second go to stderr. Evaluating published assets by id comes later.

use anyhow::Context as _;
use clap::Args;
use scal3ml_eval::{Dataset, EvalConfig, Metrics, Model, Task, evaluate};
use std::path::PathBuf;

/// Flags of `scal3ml eval`.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct EvalArgs {
    /// The ONNX model, e.g. exported from scikit-learn by skl2onnx (`to_onnx(model, X[:1])`) or by torch.onnx.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The dataset: a CSV with a header row, or an NPY array of features `[rows, features]` (float32/64).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// For a CSV, the label column's name; for an NPY dataset, the NPY file of labels (`[rows]`).
    #[arg(long, value_name = "COLUMN|FILE")]
    label: String,
    /// The CSV columns to feed the model, comma-separated, in the order it was trained on
    /// [default: every column but the label, in file order].
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// classification or regression [default: classification when the model outputs integer labels or has
    /// a classifier operator, else regression].
    #[arg(long, value_name = "TASK")]
    task: Option<Task>,
    /// Rows per model run. Figures do not depend on it for tree, SVM and linear ONNX-ML models; for graphs
    /// with matrix products it is recorded in the report.
    #[arg(long, default_value_t = 256, value_name = "ROWS")]
    batch_size: usize,
    /// Refuse models larger than this many bytes.
    #[arg(long, default_value_t = scal3ml_eval::DEFAULT_MAX_MODEL_BYTES, value_name = "BYTES")]
    max_model_bytes: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

const AFTER_HELP: &str = "\
Examples:
  scal3ml eval --model iris.onnx --data iris.csv --label species
  scal3ml eval --model digits.onnx --data x_test.npy --label y_test.npy --json > report.json
  scal3ml eval --model house.onnx --data test.csv --label price --features rooms,area,age --task regression

Classification: accuracy, macro-F1, log-loss (from the model's probabilities output), the confusion matrix and
precision/recall/F1 per class. Labels must be integers among the model's classes. Regression: RMSE, MAE, R^2.

The report names the model and data by SHA-256 and carries predictions_sha256: two runs of the same files give
bit-identical figures on one machine; across machines see docs/eval.md (Determinism).

Operators: tract's ONNX set, plus the ONNX-ML operators scikit-learn pipelines need (Scaler, SVMClassifier,
SVMRegressor, TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap). See docs/eval.md for formats and limits.";

pub(crate) fn run(args: EvalArgs) -> anyhow::Result<()> {
    let mut config = EvalConfig::default()
        .with_batch_size(args.batch_size)
        .with_max_model_bytes(args.max_model_bytes);
    if let Some(task) = args.task {
        config = config.with_task(task);
    }
    let model = Model::load(&args.model, config.max_model_bytes)?;
    let is_npy = args
        .data
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let data = if is_npy {
        if args.features.is_some() {
            anyhow::bail!("--features chooses CSV columns; an NPY dataset feeds all its columns");
        }
        Dataset::from_npy(&args.data, args.label.as_ref())?
    } else {
        Dataset::from_csv(&args.data, &args.label, args.features.as_deref())?
    };
    let evaluation = evaluate(&model, &data, &config)?;
    let report = &evaluation.report;
    let rate = report.rows as f64 / evaluation.seconds.max(1e-9);
    eprintln!(
        "evaluated {} rows in {:.3} s ({rate:.0} rows/s)",
        report.rows, evaluation.seconds
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).context("serialising the report")?
        );
        return Ok(());
    }
    println!(
        "model     {} (sha256 {})",
        report.model.name, report.model.sha256
    );
    println!(
        "data      {} (sha256 {})",
        report.data.name, report.data.sha256
    );
    if let Some(labels) = &report.labels {
        println!("labels    {} (sha256 {})", labels.name, labels.sha256);
    }
    println!("rows      {}", report.rows);
    match &report.metrics {
        Metrics::Classification(m) => {
            println!("task      classification, {} classes", m.classes.len());
            println!("accuracy  {}", m.accuracy);
            println!("f1_macro  {}", m.f1_macro);
            match m.log_loss {
                Some(l) => println!("log_loss  {l}"),
                None => println!("log_loss  - (the model gives no probabilities)"),
            }
            println!();
            println!(
                "{:>8} {:>10} {:>10} {:>10} {:>8}",
                "class", "precision", "recall", "f1", "support"
            );
            for c in &m.per_class {
                println!(
                    "{:>8} {:>10.4} {:>10.4} {:>10.4} {:>8}",
                    c.class, c.precision, c.recall, c.f1, c.support
                );
            }
            println!();
            println!("confusion matrix (rows: true class, columns: predicted)");
            let head: Vec<String> = m.classes.iter().map(|c| format!("{c:>6}")).collect();
            println!("{:>8} {}", "", head.join(""));
            for (c, row) in m.classes.iter().zip(&m.confusion_matrix) {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
                println!("{c:>8} {}", cells.join(""));
            }
        }
        Metrics::Regression(m) => {
            println!("task      regression");
            println!("rmse      {}", m.rmse);
            println!("mae       {}", m.mae);
            println!("r2        {}", m.r2);
        }
    }
    println!("predictions sha256 {}", report.predictions_sha256);
    Ok(())
}
