//! Bad input: each a clear error naming what is wrong and what to do.

use crate::common::fixtures;
use scal3ml_eval::{Dataset, EvalConfig, EvalError, Model, evaluate};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn iris() -> Model {
    Model::load(&fixtures().join("iris_logreg.onnx"), 1 << 30).unwrap()
}

#[test]
fn missing_label_column_lists_the_columns() {
    let e = Dataset::from_csv(&fixtures().join("iris_logreg.csv"), "species", None).unwrap_err();
    assert!(matches!(e, EvalError::MissingLabel { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("no column `species`")
            && msg.contains("sepal_length")
            && msg.contains("--label"),
        "{msg}"
    );
}

#[test]
fn non_numeric_and_nan_values_name_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", "a,b,y\n1,2,0\n3,x,1\n");
    let msg = Dataset::from_csv(&p, "y", None).unwrap_err().to_string();
    assert!(
        msg.contains("row 2") && msg.contains("column `b`") && msg.contains("`x` is not a number"),
        "{msg}"
    );
    let p = write(dir.path(), "n.csv", "a,b,y\n1,2,0\n3,4,1\nNaN,4,1\n");
    let msg = Dataset::from_csv(&p, "y", None).unwrap_err().to_string();
    assert!(
        msg.contains("row 3") && msg.contains("column `a`") && msg.contains("NaN"),
        "{msg}"
    );
    let p = write(dir.path(), "e.csv", "a,b,y\n1,,0\n");
    let msg = Dataset::from_csv(&p, "y", None).unwrap_err().to_string();
    assert!(msg.contains("row 1") && msg.contains("empty"), "{msg}");
}

#[test]
fn feature_count_mismatch_names_both_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", "a,b,c,label\n1,2,3,0\n");
    let data = Dataset::from_csv(&p, "label", None).unwrap();
    let msg = evaluate(&iris(), &data, &EvalConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("input `X` takes 4 features") && msg.contains("has 3 feature columns"),
        "{msg}"
    );
    assert!(msg.contains("--features"), "{msg}");
}

#[test]
fn feature_columns_can_be_chosen_and_reordered() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        "id,petal_width,petal_length,sepal_width,sepal_length,label\nx,0.2,1.4,3.5,5.1,0\n",
    );
    let features: Vec<String> = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let data = Dataset::from_csv(&p, "label", Some(&features)).unwrap();
    let e = evaluate(&iris(), &data, &EvalConfig::default()).unwrap();
    assert_eq!(e.report.features, features);
    assert_eq!(e.report.rows, 1);
}

#[test]
fn label_outside_the_classes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", "a,b,c,d,label\n5.1,3.5,1.4,0.2,7\n");
    let data = Dataset::from_csv(&p, "label", None).unwrap();
    let msg = evaluate(&iris(), &data, &EvalConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("row 1")
            && msg.contains("label 7 is not one of the model's classes [0, 1, 2]"),
        "{msg}"
    );
}

#[test]
fn a_file_that_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("csv.onnx", &b"a,b,y\n1,2,0\n"[..]),
        ("empty.onnx", b""),
        ("zip.onnx", b"PK\x03\x04\x14\x00\x00\x00"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = Model::load(&p, 1 << 20).unwrap_err();
        assert!(matches!(e, EvalError::NotOnnx { .. }), "{name}: {e}");
        assert!(e.to_string().contains("is not an ONNX model"), "{e}");
    }
}

#[test]
fn an_oversized_model_states_the_limit() {
    let e = Model::load(&fixtures().join("diabetes_gbr.onnx"), 1000).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, EvalError::ModelTooLarge { limit: 1000, .. }));
    assert!(
        msg.contains("over the model size limit of 1000 bytes")
            && msg.contains("--max-model-bytes"),
        "{msg}"
    );
}

#[test]
fn npy_labels_of_the_wrong_length() {
    let msg = Dataset::from_npy(
        &fixtures().join("digits_mlp.x.npy"),
        &fixtures().join("iris_svc.onnx"),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("not an NPY file"), "{msg}");
}
