//! Fixture loading shared by the tests.

use scal3ml_eval::{Dataset, EvalConfig, Evaluation, Model, evaluate};
use serde_json::Value;
use std::path::PathBuf;

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every case make.py wrote.
pub(crate) const CASES: &[&str] = &[
    "iris_logreg",
    "iris_svc",
    "iris_knn",
    "cancer_forest",
    "cancer_gbc",
    "iris_gbc",
    "cancer_svc_linear",
    "digits_mlp",
    "digits_cnn",
    "diabetes_linear",
    "diabetes_gbr",
    "diabetes_forest",
    "diabetes_svr",
];

pub(crate) fn reference(case: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{case}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn dataset(case: &str) -> Dataset {
    let r = reference(case);
    let data = r["data"].as_str().unwrap();
    if data.ends_with(".npy") {
        let y = data.replace(".x.npy", ".y.npy");
        Dataset::from_npy(&fixtures().join(data), &fixtures().join(y)).unwrap()
    } else {
        Dataset::from_csv(&fixtures().join(data), r["label"].as_str().unwrap(), None).unwrap()
    }
}

pub(crate) fn run(case: &str) -> Evaluation {
    let config = EvalConfig::default();
    let model = Model::load(
        &fixtures().join(format!("{case}.onnx")),
        config.max_model_bytes,
    )
    .unwrap();
    evaluate(&model, &dataset(case), &config).unwrap_or_else(|e| panic!("{case}: {e}"))
}
