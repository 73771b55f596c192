//! Our predictions equal onnxruntime's (labels exactly; probabilities and values within
//! 1e-5 * max(1, |onnxruntime's|), f32 rounding), our metrics computed from onnxruntime's predictions equal
//! sklearn.metrics' to 1e-9 relative, and two runs give bit-identical reports.

use crate::common::{CASES, dataset, reference, run};
use scal3ml_eval::{Metrics, Predictions, classification_metrics, regression_metrics};
use serde_json::Value;

const PREDICTION_TOLERANCE: f64 = 1e-5;
const METRIC_TOLERANCE: f64 = 1e-9;

fn close(ours: f64, theirs: f64, rel: f64) -> bool {
    (ours - theirs).abs() <= rel * theirs.abs().max(1.0)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn predictions_equal_onnxruntimes() {
    for case in CASES {
        let r = reference(case);
        let ours = run(case).predictions;
        match ours {
            Predictions::Classification {
                labels,
                probabilities,
                classes,
            } => {
                assert_eq!(classes, ints(&r["classes"]), "{case}: classes");
                assert_eq!(labels, ints(&r["ort"]["labels"]), "{case}: labels");
                let theirs: Vec<f64> = r["ort"]["probabilities"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(floats)
                    .collect();
                let ours = probabilities.expect("probabilities");
                assert_eq!(ours.len(), theirs.len(), "{case}");
                let worst = ours
                    .iter()
                    .zip(&theirs)
                    .map(|(&a, &b)| (a as f64 - b).abs())
                    .fold(0f64, f64::max);
                for (i, (&a, &b)) in ours.iter().zip(&theirs).enumerate() {
                    assert!(
                        close(a as f64, b, PREDICTION_TOLERANCE),
                        "{case}: probability {i}: {a} vs {b}"
                    );
                }
                eprintln!("{case}: labels equal, worst probability difference {worst:e}");
            }
            Predictions::Regression { values } => {
                let theirs = floats(&r["ort"]["predictions"]);
                assert_eq!(values.len(), theirs.len(), "{case}");
                let worst = values
                    .iter()
                    .zip(&theirs)
                    .map(|(&a, &b)| (a as f64 - b).abs())
                    .fold(0f64, f64::max);
                for (i, (&a, &b)) in values.iter().zip(&theirs).enumerate() {
                    assert!(
                        close(a as f64, b, PREDICTION_TOLERANCE),
                        "{case}: prediction {i}: {a} vs {b}"
                    );
                }
                eprintln!("{case}: worst prediction difference {worst:e}");
            }
        }
    }
}

#[test]
fn metrics_from_onnxruntimes_predictions_equal_sklearns() {
    for case in CASES {
        let r = reference(case);
        let sk = &r["sklearn"];
        let data = dataset(case);
        if r["task"] == "classification" {
            let classes = ints(&r["classes"]);
            let index = |l: i64| classes.iter().position(|&c| c == l).unwrap();
            let truth: Vec<usize> = data.labels.iter().map(|&y| index(y as i64)).collect();
            let predicted: Vec<usize> = ints(&r["ort"]["labels"]).into_iter().map(index).collect();
            let p: Vec<f32> = r["ort"]["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(floats)
                .map(|v| v as f32)
                .collect();
            let m = classification_metrics(&classes, &truth, &predicted, Some(&p));
            assert!(
                close(
                    m.accuracy,
                    sk["accuracy"].as_f64().unwrap(),
                    METRIC_TOLERANCE
                ),
                "{case} accuracy"
            );
            assert!(
                close(
                    m.f1_macro,
                    sk["f1_macro"].as_f64().unwrap(),
                    METRIC_TOLERANCE
                ),
                "{case} f1"
            );
            let ll = sk["log_loss"].as_f64().unwrap();
            assert!(
                close(m.log_loss.unwrap(), ll, METRIC_TOLERANCE),
                "{case} log loss {:?} vs {ll}",
                m.log_loss
            );
            let cm: Vec<Vec<u64>> = sk["confusion_matrix"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| ints(r).iter().map(|&v| v as u64).collect())
                .collect();
            assert_eq!(m.confusion_matrix, cm, "{case} confusion matrix");
            for (i, c) in m.per_class.iter().enumerate() {
                assert!(
                    close(c.precision, floats(&sk["precision"])[i], METRIC_TOLERANCE),
                    "{case} precision {i}"
                );
                assert!(
                    close(c.recall, floats(&sk["recall"])[i], METRIC_TOLERANCE),
                    "{case} recall {i}"
                );
                assert!(
                    close(c.f1, floats(&sk["f1"])[i], METRIC_TOLERANCE),
                    "{case} f1 {i}"
                );
                assert_eq!(
                    c.support,
                    ints(&sk["support"])[i] as u64,
                    "{case} support {i}"
                );
            }
        } else {
            let yhat = floats(&r["ort"]["predictions"]);
            let m = regression_metrics(&data.labels, &yhat);
            for (name, ours) in [("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)] {
                let theirs = sk[name].as_f64().unwrap();
                assert!(
                    close(ours, theirs, METRIC_TOLERANCE),
                    "{case} {name}: {ours} vs {theirs}"
                );
            }
        }
    }
}

#[test]
fn end_to_end_metrics_match_sklearns_within_prediction_rounding() {
    for case in CASES {
        let sk = reference(case)["sklearn"].clone();
        match run(case).report.metrics {
            Metrics::Classification(m) => {
                // Labels equal onnxruntime's, so the counting figures are sklearn's to 1e-9.
                assert!(
                    close(
                        m.accuracy,
                        sk["accuracy"].as_f64().unwrap(),
                        METRIC_TOLERANCE
                    ),
                    "{case}"
                );
                assert!(
                    close(
                        m.f1_macro,
                        sk["f1_macro"].as_f64().unwrap(),
                        METRIC_TOLERANCE
                    ),
                    "{case}"
                );
                let ll = sk["log_loss"].as_f64().unwrap();
                assert!(
                    close(m.log_loss.unwrap(), ll, 1e-4),
                    "{case} log loss {:?} vs {ll}",
                    m.log_loss
                );
            }
            Metrics::Regression(m) => {
                for (name, ours) in [("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)] {
                    let theirs = sk[name].as_f64().unwrap();
                    assert!(
                        (ours - theirs).abs() <= 1e-4 * theirs.abs().max(1.0),
                        "{case} {name}: {ours} vs {theirs}"
                    );
                }
            }
        }
    }
}

#[test]
fn two_runs_are_bit_identical() {
    for case in CASES {
        let (a, b) = (run(case), run(case));
        assert_eq!(a.predictions, b.predictions, "{case}");
        let (ja, jb) = (
            serde_json::to_string(&a.report).unwrap(),
            serde_json::to_string(&b.report).unwrap(),
        );
        assert_eq!(ja, jb, "{case}");
        assert_eq!(a.report.predictions_sha256, b.report.predictions_sha256);
    }
}

#[test]
fn batch_size_does_not_change_predictions() {
    // Our operators (trees, SVMs, matrix products, convolutions, softmax, argmax) compute each row alone in a
    // fixed order, so cutting batches differently gives the same bits.
    use scal3ml_eval::{EvalConfig, Model, evaluate};
    // Not iris_knn: its distances run tract's Scan and ReduceSum, whose sums follow the batch's shape.
    for &case in CASES.iter().filter(|&&c| c != "iris_knn") {
        let model = Model::load(
            &crate::common::fixtures().join(format!("{case}.onnx")),
            1 << 30,
        )
        .unwrap();
        let data = dataset(case);
        let one = evaluate(&model, &data, &EvalConfig::default().with_batch_size(7)).unwrap();
        let all = evaluate(
            &model,
            &data,
            &EvalConfig::default().with_batch_size(10_000),
        )
        .unwrap();
        assert_eq!(one.predictions, all.predictions, "{case}");
    }
}

#[test]
fn report_names_the_files_by_digest() {
    let e = run("iris_logreg");
    let json: Value = serde_json::to_value(&e.report).unwrap();
    assert_eq!(json["model"]["name"], "iris_logreg.onnx");
    assert_eq!(json["model"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(json["data"]["name"], "iris_logreg.csv");
    assert_eq!(json["task"], "classification");
    assert_eq!(json["features"][0], "sepal_length");
    assert!(
        json["metrics"]["classification"]["per_class"]
            .as_array()
            .unwrap()
            .len()
            == 3
    );
    let npy = run("digits_mlp").report;
    assert_eq!(npy.labels.unwrap().name, "digits_mlp.y.npy");
}
