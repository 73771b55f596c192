//! Times `scal3ml_eval::evaluate` on a model and dataset (bench/eval/run.sh drives it): prints one JSON line
//! with rows, the best seconds of `--repeat` runs (plan build and batched runs, the files already loaded) and
//! rows per second.
//!
//! `eval_bench MODEL DATA LABEL [REPEAT]`: DATA is a CSV (LABEL a column) or an NPY (LABEL the labels NPY).

use scal3ml_eval::{Dataset, EvalConfig, Model, evaluate};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: eval_bench MODEL DATA LABEL [REPEAT]".into());
    }
    let repeat: usize = args.get(4).map(|r| r.parse()).transpose()?.unwrap_or(3);
    let config = EvalConfig::default();
    let model = Model::load(Path::new(&args[1]), config.max_model_bytes)?;
    let data = if args[2].ends_with(".npy") {
        Dataset::from_npy(Path::new(&args[2]), Path::new(&args[3]))?
    } else {
        Dataset::from_csv(Path::new(&args[2]), &args[3], None)?
    };
    let mut best = f64::INFINITY;
    let mut digest = String::new();
    for _ in 0..repeat.max(1) {
        let e = evaluate(&model, &data, &config)?;
        best = best.min(e.seconds);
        digest = e.report.predictions_sha256;
    }
    let rows = data.rows();
    println!(
        "{{\"rows\": {rows}, \"seconds\": {best}, \"rows_per_s\": {}, \"predictions_sha256\": \"{digest}\"}}",
        rows as f64 / best
    );
    Ok(())
}
