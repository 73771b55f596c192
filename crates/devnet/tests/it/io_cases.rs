//! Runs the request/response cases under testdata/rpc/ (the ethereum/execution-apis `.io` format: `>> ` a
//! request line, `<< ` the expected response line, `//` comments) against a fresh node per file. Responses
//! are compared as JSON values, so key order does not matter, but every field and value does.

use std::path::{Path, PathBuf};

use scal3ml_devnet::{DevnetConfig, spawn};
use serde_json::Value;

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "io") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn execution_apis_io_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rpc");
    let mut files = Vec::new();
    cases(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the .io cases under {}",
        root.display()
    );
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for file in &files {
        let node = spawn(DevnetConfig::test()).await.unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let mut pending: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let name = format!("{}:{}", file.strip_prefix(&root).unwrap().display(), n + 1);
            if let Some(request) = line.strip_prefix(">> ") {
                pending = Some(request.to_owned());
            } else if let Some(expected) = line.strip_prefix("<< ") {
                let request = pending
                    .take()
                    .unwrap_or_else(|| panic!("{name}: response without request"));
                let body = client
                    .post(node.http_url())
                    .header("content-type", "application/json")
                    .body(request.clone())
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let got: Value = serde_json::from_str(&body).unwrap();
                let want: Value =
                    serde_json::from_str(expected).unwrap_or_else(|e| panic!("{name}: {e}"));
                if got != want {
                    failures.push(format!(
                        "{name}\n  request:  {request}\n  expected: {want}\n  got:      {got}"
                    ));
                }
            } else if !(line.starts_with("//") || line.trim().is_empty()) {
                panic!("{name}: lines start with >>, << or //");
            }
        }
        node.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} of the .io cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
