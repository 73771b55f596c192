//! `scal3ml eval` on local files: the committed skl2onnx fixtures of crates/eval, through the built binary.

use crate::common::bin;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../eval/fixtures")
        .join(name);
    p.to_str().unwrap().to_string()
}

fn eval(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("eval")
        .args(args)
        .output()
        .expect("run scal3ml eval")
}

fn reference(case: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{case}.json"))).unwrap())
        .unwrap()
}

#[test]
fn classification_report_as_json_matches_sklearn() {
    let out = eval(&[
        "--model",
        &fixture("iris_svc.onnx"),
        "--data",
        &fixture("iris_svc.csv"),
        "--label",
        "label",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sk = &reference("iris_svc")["sklearn"];
    let m = &report["metrics"]["classification"];
    assert_eq!(m["accuracy"], sk["accuracy"]);
    assert!((m["log_loss"].as_f64().unwrap() - sk["log_loss"].as_f64().unwrap()).abs() < 1e-6);
    assert_eq!(m["confusion_matrix"], sk["confusion_matrix"]);
    assert_eq!(report["model"]["name"], "iris_svc.onnx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rows/s"), "{stderr}");
}

#[test]
fn two_runs_print_identical_reports() {
    let args = [
        "--model",
        &fixture("digits_mlp.onnx"),
        "--data",
        &fixture("digits_mlp.x.npy"),
    ];
    let label = fixture("digits_mlp.y.npy");
    let a = eval(&[&args[..], &["--label", &label, "--json"]].concat());
    let b = eval(&[&args[..], &["--label", &label, "--json"]].concat());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn regression_table() {
    let out = eval(&[
        "--model",
        &fixture("diabetes_gbr.onnx"),
        "--data",
        &fixture("diabetes_gbr.csv"),
        "--label",
        "y",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("task      regression") && text.contains("rmse      58.97"),
        "{text}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = eval(&[
        "--model",
        &fixture("iris_logreg.onnx"),
        "--data",
        &fixture("iris_logreg.csv"),
        "--label",
        "y",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column `y`") && err.contains("petal_width"),
        "{err}"
    );

    let out = eval(&[
        "--model",
        &fixture("iris_logreg.csv"),
        "--data",
        &fixture("iris_logreg.csv"),
        "--label",
        "label",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an ONNX model"), "{err}");

    let out = eval(&[
        "--model",
        &fixture("iris_logreg.onnx"),
        "--data",
        &fixture("iris_logreg.csv"),
        "--label",
        "label",
        "--max-model-bytes",
        "100",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("over the model size limit of 100 bytes"),
        "{err}"
    );

    let out = eval(&[
        "--model",
        &fixture("iris_logreg.onnx"),
        "--data",
        &fixture("diabetes_gbr.csv"),
        "--label",
        "y",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("takes 4 features per row"),
        "{err}"
    );
}

#[test]
fn help_teaches_with_examples() {
    let out = eval(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--label") && text.contains("docs/eval.md"),
        "{text}"
    );
}
